// Tests for channels/http_client: the libcurl POST client, against the daemon's HTTP server on
// a local port.
#include "channels/http_client.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/unit/channels/local_server.hpp"

using namespace switchboard;
using namespace switchboard::channels;
using namespace std::chrono_literals;
using testing::LocalServer;
using testing::Recorder;

namespace {

HttpResponse text_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("http_client: posts body and headers, returns status, lower-cased headers and body",
          "[channels][http_client]") {
  Recorder recorder;
  LocalServer server([&](const HttpRequest& req) {
    recorder.add(req);
    return text_response(201, "created").set_header("X-Reply-Thing", "  a value ");
  });
  HttpClientRequest request;
  request.url = server.url("/hook?x=1");
  request.headers = {{"Content-Type", "application/json"}, {"X-Custom", "one"}, {"X-Empty", ""}};
  request.body = std::string(2048, 'b');  // over 1 KiB: curl would add "Expect: 100-continue"

  auto response = post(request);
  REQUIRE(response.ok());
  CHECK(response->status == 201);
  CHECK(response->body == "created");
  CHECK_FALSE(response->truncated);
  REQUIRE(response->header("X-REPLY-THING"));
  CHECK(*response->header("x-reply-thing") == "a value");
  for (const auto& [name, value] : response->headers) CHECK(name == Catch::toLower(name));

  auto seen = recorder.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/hook?x=1");
  CHECK(seen[0].body == request.body);
  REQUIRE(seen[0].header("X-Custom"));
  CHECK(*seen[0].header("X-Custom") == "one");
  REQUIRE(seen[0].header("X-Empty"));
  CHECK(seen[0].header("X-Empty")->empty());
  CHECK(*seen[0].header("Content-Type") == "application/json");
  CHECK_FALSE(seen[0].header("Expect"));
  CHECK_FALSE(seen[0].header("Authorization"));
}

TEST_CASE("http_client: basic auth is sent when set", "[channels][http_client]") {
  Recorder recorder;
  LocalServer server([&](const HttpRequest& req) {
    recorder.add(req);
    return text_response(200, "");
  });
  HttpClientRequest request;
  request.url = server.url();
  request.basic_auth = BasicAuth{"user", "pass"};
  REQUIRE(post(request).ok());
  auto seen = recorder.requests();
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0].header("Authorization"));
  CHECK(*seen[0].header("Authorization") == "Basic dXNlcjpwYXNz");  // base64("user:pass")
}

TEST_CASE("http_client: a body over the limit is truncated, not an error", "[channels][http_client]") {
  LocalServer server([](const HttpRequest&) { return text_response(200, std::string(100 * 1024, 'x')); });
  HttpClientRequest request;
  request.url = server.url();

  auto capped = post(request);
  REQUIRE(capped.ok());
  CHECK(capped->status == 200);
  CHECK(capped->body.size() == 64 * 1024);
  CHECK(capped->truncated);

  request.max_response_bytes = 10;
  auto small = post(request);
  REQUIRE(small.ok());
  CHECK(small->body == std::string(10, 'x'));
  CHECK(small->truncated);

  request.max_response_bytes = 200 * 1024;
  auto whole = post(request);
  REQUIRE(whole.ok());
  CHECK(whole->body.size() == 100 * 1024);
  CHECK_FALSE(whole->truncated);
}

TEST_CASE("http_client: redirects are answers, not followed", "[channels][http_client]") {
  Recorder recorder;
  LocalServer server([&](const HttpRequest& req) {
    recorder.add(req);
    return text_response(302, "").set_header("Location", "/elsewhere");
  });
  HttpClientRequest request;
  request.url = server.url("/start");
  auto response = post(request);
  REQUIRE(response.ok());
  CHECK(response->status == 302);
  CHECK(*response->header("location") == "/elsewhere");
  CHECK(recorder.requests().size() == 1);
}

TEST_CASE("http_client: a refused connection is a retryable transport error", "[channels][http_client]") {
  HttpClientRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/";
  auto response = post(request);
  REQUIRE_FALSE(response.ok());
  CHECK(response.error().kind == ErrorKind::unavailable);
  CHECK(response.error().code == "transport_error");
  CHECK_THAT(response.error().message, Catch::Contains("connect", Catch::CaseSensitive::No));
}

TEST_CASE("http_client: a peer slower than the timeout is retryable, with the request sent", "[channels][http_client]") {
  testing::Gate gate;
  LocalServer server([&](const HttpRequest&) {
    gate.wait();
    return text_response(200, "too late");
  });
  HttpClientRequest request;
  request.url = server.url();
  request.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto response = post(request);
  const auto took = std::chrono::steady_clock::now() - started;
  gate.open();
  REQUIRE_FALSE(response.ok());
  CHECK(response.error().kind == ErrorKind::unavailable);
  // The server had the whole request: it may have acted on it.
  CHECK(response.error().code == "request_sent_no_answer");
  CHECK_THAT(response.error().message, Catch::Contains("timed out"));
  CHECK(took >= 250ms);
  CHECK(took < 2s);
}

TEST_CASE("http_client: only http and https URLs are allowed", "[channels][http_client]") {
  for (const char* url : {"ftp://127.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1/", "127.0.0.1:80/", ""}) {
    HttpClientRequest request;
    request.url = url;
    auto response = post(request);
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().kind == ErrorKind::invalid);
    CHECK(response.error().code == "invalid_url");
  }
}

TEST_CASE("http_client: CR, LF or ':' in a header is refused before sending", "[channels][http_client]") {
  for (auto header : {std::pair<std::string, std::string>{"X-Ok", "a\r\nX-Injected: 1"},
                      {"X-Ok", "a\nb"},
                      {"X-Bad:Name", "v"},
                      {"", "v"}}) {
    HttpClientRequest request;
    request.url = "http://127.0.0.1:1/";
    request.headers = {header};
    auto response = post(request);
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().kind == ErrorKind::invalid);
    CHECK(response.error().code == "invalid_header");
  }
}
