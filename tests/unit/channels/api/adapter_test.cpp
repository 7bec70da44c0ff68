// Tests for channels/api: bearer-token authentication and the inbound JSON shape.
#include <catch2/catch.hpp>

#include "channels/api/adapter.hpp"

using namespace switchboard;
using namespace switchboard::channels;

namespace {

const Timestamp kNow = *parse_rfc3339("2027-03-30T10:00:00+02:00");

HttpRequest post(std::string body, std::string token = "shop-token") {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/api/v1/inbound";
  r.body = std::move(body);
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
  return r;
}

api::ApiAdapter make_adapter(const Clock& clock) {
  api::Options o;
  o.accounts = {{"shop", {"shop-token", "shop-token-next"}}, {"other", {"other-token"}}, {"b2", {"shared"}},
                {"b3", {"shared"}}};
  return api::ApiAdapter(o, clock);
}

const char* kValid =
    R"({"external_id":"ord-1","from":{"address":"jan@example.pl","name":"Jan Kowalski"},"text":"Dzień dobry"})";

}  // namespace

TEST_CASE("api: a valid message is parsed with its account and identity", "[channels][api]") {
  FixedClock clock(kNow);
  auto adapter = make_adapter(clock);
  auto events = adapter.parse_webhook(post(kValid));
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  const auto& m = std::get<InboundMessage>(events->front());
  CHECK(m.channel == Channel::api);
  CHECK(m.account == "shop");
  CHECK(m.external_id == "ord-1");
  CHECK(m.sender == "jan@example.pl");
  CHECK(m.display_name == "Jan Kowalski");
  CHECK(m.text == "Dzień dobry");
  CHECK(m.sent_at == kNow);
  REQUIRE(m.identities.size() == 1);
  CHECK(m.identities[0] == Identity{IdentityKind::email, "jan@example.pl"});
}

TEST_CASE("api: the second token of a rotation is accepted", "[channels][api]") {
  FixedClock clock(kNow);
  auto adapter = make_adapter(clock);
  CHECK(adapter.parse_webhook(post(kValid, "shop-token-next")).ok());
}

TEST_CASE("api: missing or unknown tokens are 401", "[channels][api]") {
  FixedClock clock(kNow);
  auto adapter = make_adapter(clock);
  auto missing = adapter.parse_webhook(post(kValid, ""));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::unauthorized);
  CHECK(missing.error().code == "missing_token");
  auto unknown = adapter.parse_webhook(post(kValid, "nope"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == "unknown_token");
}

TEST_CASE("api: a token used for another account is 403", "[channels][api]") {
  FixedClock clock(kNow);
  auto adapter = make_adapter(clock);
  auto r = adapter.parse_webhook(post(
      R"({"account":"other","external_id":"x","from":{"address":"a@example.pl"},"text":"t"})", "shop-token"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::forbidden);
  CHECK(r.error().message == "the token is not valid for account 'other'");
}

TEST_CASE("api: a token shared by accounts needs the account field", "[channels][api]") {
  FixedClock clock(kNow);
  auto adapter = make_adapter(clock);
  auto r = adapter.parse_webhook(post(R"({"external_id":"x","from":{"address":"a@example.pl"},"text":"t"})", "shared"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::invalid);
  auto ok = adapter.parse_webhook(
      post(R"({"account":"b3","external_id":"x","from":{"address":"a@example.pl"},"text":"t"})", "shared"));
  REQUIRE(ok.ok());
  CHECK(std::get<InboundMessage>(ok->front()).account == "b3");
}

TEST_CASE("api: bad bodies are rejected with a specific code", "[channels][api]") {
  struct Case {
    std::string body;
    std::string code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"{not json", "invalid_json", ""},
      {"[1,2]", "invalid_json", "request body must be a JSON object"},
      {"{\"external_id\":\"a\",\"from\":{\"address\":\"x\"},\"text\":\"\xff\xfe\"}", "invalid_utf8",
       "request body is not valid UTF-8"},
      {R"({"from":{"address":"a@b.pl"},"text":"t"})", "missing_field", "'external_id' is required"},
      {R"({"external_id":"","from":{"address":"a@b.pl"},"text":"t"})", "invalid_field",
       "'external_id' must be 1 to 255 bytes"},
      {R"({"external_id":")" + std::string(256, 'x') + R"(","from":{"address":"a@b.pl"},"text":"t"})",
       "invalid_field", "'external_id' must be 1 to 255 bytes"},
      {R"({"external_id":"a","text":"t"})", "missing_field", "'from' is required"},
      {R"({"external_id":"a","from":"a@b.pl","text":"t"})", "invalid_field", "'from' must be an object"},
      {R"({"external_id":"a","from":{},"text":"t"})", "missing_field", "'from.address' is required"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"}})", "missing_field", "'text' is required"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":""})", "invalid_field",
       "'text' may be empty only when attachments are present"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":5})", "invalid_field", "'text' must be a string"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":"a\u0000b"})", "invalid_field",
       "'text' contains a NUL character"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":"t","sent_at":"yesterday"})", "invalid_field",
       "'sent_at' must be an RFC 3339 time with an offset"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":"t","sent_at":"2027-03-30T10:00:00"})",
       "invalid_field", "'sent_at' must be an RFC 3339 time with an offset"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":"t","attachments":{}})", "invalid_field",
       "'attachments' must be an array"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":"t","attachments":[{"name":"x"}]})",
       "missing_field", "'attachments[0].url' is required"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":"t","attachments":[{"url":"u","size":-1}]})",
       "invalid_field", "'attachments[0].size' must be a non-negative integer"},
      {R"({"external_id":"a","from":{"address":"a@b.pl"},"text":"t","language":"p l"})", "invalid_field",
       "'language' must be a language tag such as 'pl'"},
  };
  FixedClock clock(kNow);
  auto adapter = make_adapter(clock);
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = adapter.parse_webhook(post(c.body));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().code == c.code);
    if (!c.message.empty()) CHECK(r.error().message == c.message);
  }
}

TEST_CASE("api: optional fields, attachments and unknown fields", "[channels][api]") {
  FixedClock clock(kNow);
  auto adapter = make_adapter(clock);
  auto r = adapter.parse_webhook(post(
      R"({"external_id":"a","from":{"address":"+48 600 100 200"},"text":"","sent_at":"2027-03-29T08:00:00Z",)"
      R"("language":"pl","extra":{"ignored":true},)"
      R"("attachments":[{"url":"https://x.example/p.png","mime_type":"image/png","name":"p.png","size":1234}]})"));
  REQUIRE(r.ok());
  const auto& m = std::get<InboundMessage>(r->front());
  CHECK(m.identities[0] == Identity{IdentityKind::phone, "+48600100200"});
  CHECK(m.language == "pl");
  CHECK(format_rfc3339(m.sent_at) == "2027-03-29T08:00:00.000000Z");
  REQUIRE(m.attachments.size() == 1);
  CHECK(m.attachments[0].size == 1234);
  CHECK(m.attachments[0].mime_type == "image/png");
}

TEST_CASE("api: UTF-8 validation rejects overlongs and surrogates", "[channels][api]") {
  CHECK(api::valid_utf8("Zażółć gęślą jaźń 😀"));
  CHECK_FALSE(api::valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(api::valid_utf8("\xed\xa0\x80"));      // surrogate D800
  CHECK_FALSE(api::valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(api::valid_utf8("\xe2\x82"));          // truncated
}
