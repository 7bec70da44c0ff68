// The route table: patterns, parameters, precedence, 404 and 405 with Allow, conflicts.
#include <catch2/catch.hpp>

#include <optional>

#include "channels/routes.hpp"

using namespace switchboard;
using namespace switchboard::channels;

namespace {

HttpRequest request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

// A handler that answers with its name and its parameters.
RouteHandler echo(std::string name) {
  return [name](const HttpRequest&, const PathParams& p) {
    HttpResponse r;
    r.body = name + "|" + std::string(p.get("id")) + "|" + std::string(p.get("sub"));
    return r;
  };
}

std::optional<std::string> allow(const HttpResponse& r) {
  for (const auto& [name, value] : r.headers)
    if (name == "Allow") return value;
  return std::nullopt;
}

}  // namespace

TEST_CASE("routes: literal and parameter segments, the most literal first", "[channels][routes]") {
  RouteTable t;
  REQUIRE(t.add("GET", "/healthz", echo("health")).ok());
  REQUIRE(t.add("GET", "/c/{id}", echo("one")).ok());
  REQUIRE(t.add("GET", "/c/{id}/messages", echo("messages")).ok());
  REQUIRE(t.add("POST", "/c/{id}/messages", echo("reply")).ok());
  REQUIRE(t.add("GET", "/c/new", echo("new")).ok());
  REQUIRE(t.add("GET", "/", echo("root")).ok());

  CHECK(t.dispatch(request("GET", "/healthz")).body == "health||");
  CHECK(t.dispatch(request("GET", "/c/42")).body == "one|42|");
  CHECK(t.dispatch(request("GET", "/c/new")).body == "new||");  // added later, still wins
  CHECK(t.dispatch(request("GET", "/c/42/messages")).body == "messages|42|");
  CHECK(t.dispatch(request("POST", "/c/42/messages")).body == "reply|42|");
  CHECK(t.dispatch(request("GET", "/")).body == "root||");
  // Parameters are passed as received: no decoding, but never empty and never across a '/'.
  CHECK(t.dispatch(request("GET", "/c/a%2Fb")).body == "one|a%2Fb|");
  for (const char* missing :
       {"/c/", "/c//messages", "/healthz/", "/c/42/messages/x", "/C/42", "", "healthz", "/healthz?x=1", "//"}) {
    INFO(missing);
    const auto r = t.dispatch(request("GET", missing));
    CHECK(r.status == 404);
    CHECK(r.body == R"({"error":{"code":"not_found","message":"no such resource"}})");
  }
}

TEST_CASE("routes: a trailing '/' is part of the pattern and of the path it matches", "[channels][routes]") {
  RouteTable t;
  REQUIRE(t.add("GET", "/console/", echo("index")).ok());
  REQUIRE(t.add("GET", "/console", echo("bare")).ok());
  REQUIRE(t.add("GET", "/console/assets/{id}", echo("asset")).ok());
  CHECK(t.dispatch(request("GET", "/console/")).body == "index||");
  CHECK(t.dispatch(request("GET", "/console")).body == "bare||");
  CHECK(t.dispatch(request("GET", "/console/assets/app-1.js")).body == "asset|app-1.js|");
  for (const char* missing : {"/console//", "/console/assets/", "/console/x", "/console/assets/a/"})
    CHECK(t.dispatch(request("GET", missing)).status == 404);
  CHECK_FALSE(t.add("GET", "/console/", echo("again")).ok());
}

TEST_CASE("routes: a known path with another method is 405 with Allow in the order added", "[channels][routes]") {
  RouteTable t;
  REQUIRE(t.add("GET", "/webhooks/x", echo("verify")).ok());
  REQUIRE(t.add("POST", "/webhooks/x", echo("events")).ok());
  REQUIRE(t.add("POST", "/c/new", echo("create")).ok());
  REQUIRE(t.add("GET", "/c/{id}", echo("one")).ok());
  REQUIRE(t.add("DELETE", "/c/{id}", echo("delete")).ok());

  auto r = t.dispatch(request("PUT", "/webhooks/x"));
  CHECK(r.status == 405);
  REQUIRE(allow(r));
  CHECK(*allow(r) == "GET, POST");
  // A method only the less literal pattern has still reaches it.
  CHECK(t.dispatch(request("GET", "/c/new")).body == "one|new|");
  r = t.dispatch(request("PATCH", "/c/new"));
  CHECK(r.status == 405);
  CHECK(*allow(r) == "POST, GET, DELETE");
  // Methods are matched exactly (HEAD is not GET here).
  CHECK(t.dispatch(request("HEAD", "/webhooks/x")).status == 405);
  CHECK(t.dispatch(request("get", "/webhooks/x")).status == 405);
}

TEST_CASE("routes: invalid patterns and clashing routes are refused with who added them", "[channels][routes]") {
  RouteTable t;
  REQUIRE(t.add("GET", "/c/{id}", echo("one"), "daemon").ok());
  for (const auto& [method, pattern] : std::vector<std::pair<std::string, std::string>>{{"GET", "c/{id}"},
                                                                                        {"GET", ""},
                                                                                        {"GET", "/a//b"},
                                                                                        {"GET", "/{}"},
                                                                                        {"GET", "/{a-b}"},
                                                                                        {"GET", "/x{id}"},
                                                                                        {"GET", "/{id}x"},
                                                                                        {"GET", "/{id}/{id}"},
                                                                                        {"get", "/a"},
                                                                                        {"", "/a"},
                                                                                        {"G T", "/a"}}) {
    INFO(method << " " << pattern);
    auto added = t.add(method, pattern, echo("x"), "meta");
    REQUIRE_FALSE(added.ok());
    CHECK(added.error().kind == ErrorKind::config);
    CHECK(added.error().code == "invalid_route");
    CHECK(added.error().message.rfind("meta: route ", 0) == 0);
  }
  auto taken = t.add("GET", "/c/{id}", echo("again"), "twilio");
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().code == "route_conflict");
  CHECK(taken.error().message == "twilio: route GET /c/{id} is taken by daemon");
  auto renamed = t.add("POST", "/c/{cid}", echo("other"), "twilio");
  REQUIRE_FALSE(renamed.ok());
  CHECK(renamed.error().code == "route_conflict");
  CHECK_FALSE(t.add("GET", "/c/x", RouteHandler{}, "twilio").ok());
  // The refused ones left nothing behind.
  CHECK(t.describe() == std::vector<std::string>{"GET /c/{id} (daemon)"});
  CHECK(t.owner("GET", "/c/7") == "daemon");
  CHECK(t.owner("POST", "/c/7").empty());
}
