// Tests for the api channel's outbound callback (CONTRACT.md "Outbound callback of the API
// channel"): signature, headers and body as a real local receiver sees them, and how each answer
// or failure maps to delivered, retryable or permanent.
#include <atomic>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "channels/api/adapter.hpp"
#include "channels/retry.hpp"
#include "routing/core/log.hpp"
#include "tests/unit/channels/local_server.hpp"

using namespace switchboard;
using namespace switchboard::channels;
using namespace std::chrono_literals;
using testing::LocalServer;
using testing::Recorder;

namespace {

const char* kSecret = "whsec-current";
const char* kNextSecret = "whsec-next";

api::Account account(std::string url, Duration timeout = 2s) {
  api::Account a;
  a.name = "shop";
  a.tokens = {"shop-token"};
  a.callback_url = std::move(url);
  a.callback_secrets = {kSecret, kNextSecret};
  a.callback_timeout = timeout;
  return a;
}

api::Options options(std::vector<api::Account> accounts) {
  api::Options o;
  o.accounts = std::move(accounts);
  return o;
}

OutboundMessage reply(std::string payload =
                          R"({"text":"Dzień dobry","template":"greeting","in_reply_to":"1000",)"
                          R"("conversation_id":"c-7","author":"agent:ola"})") {
  OutboundMessage m;
  m.outbox_id = "42";
  m.message_id = "1001";
  m.channel = Channel::api;
  m.account = "shop";
  m.conversation_id = "c-7";
  m.recipient = "jan@example.pl";
  m.text = "Dzień dobry";
  auto parsed = parse_outbound_payload(payload);
  REQUIRE(parsed.ok());
  m.payload = std::move(*parsed);
  return m;
}

HttpResponse answer(int status, std::string body = "", std::string content_type = "text/plain") {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

std::string str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string("<absent or not a string>");
}

// Every log line, rendered, so that a test can check what never appears in them.
class CapturingSink final : public log::Sink {
 public:
  CapturingSink() { log::set_sink(this); }
  ~CapturingSink() override { log::set_sink(nullptr); }
  void write(log::Level level, std::string_view event, std::initializer_list<log::Field> fields) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(log::format_line(level, event, fields));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace

TEST_CASE("api: the callback signature matches openssl's HMAC-SHA256", "[channels][api][callback]") {
  // Expected values computed beforehand with OpenSSL 3, independently of this code:
  //   printf '%s' 'The quick brown fox jumps over the lazy dog' | openssl dgst -sha256 -hmac 'key'
  CHECK(api::callback_signature("key", "The quick brown fox jumps over the lazy dog") ==
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  //   printf '%s' '{"delivery_id":"42","text":"Dzień dobry"}' | openssl dgst -sha256 -hmac 'whsec-test-1'
  CHECK(api::callback_signature("whsec-test-1", R"({"delivery_id":"42","text":"Dzień dobry"})") ==
        "sha256=70d848c9d7ccef29f88fe4b6ce0cd110334b04d18c0700312d4967a27b55538c");
  //   printf '%s' '' | openssl dgst -sha256 -hmac 'key'
  CHECK(api::callback_signature("key", "") ==
        "sha256=5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
}

TEST_CASE("api: a callback is signed, carries the delivery and is delivered on 2xx", "[channels][api][callback]") {
  CapturingSink sink;
  Recorder recorder;
  LocalServer server([&](const HttpRequest& req) {
    recorder.add(req);
    return answer(200, R"({"id":"rcv-9"})", "application/json");
  });
  FixedClock clock(Timestamp{});
  api::ApiAdapter adapter(options({account(server.url("/hooks/switchboard"))}), clock);

  auto delivery = adapter.send(reply());
  REQUIRE(delivery.ok());
  CHECK(delivery->status == "delivered");
  CHECK(delivery->external_id == "rcv-9");

  auto seen = recorder.requests();
  REQUIRE(seen.size() == 1);
  const HttpRequest& req = seen[0];
  CHECK(req.method == "POST");
  CHECK(req.target == "/hooks/switchboard");
  REQUIRE(req.header("Content-Type"));
  CHECK(*req.header("Content-Type") == "application/json");
  REQUIRE(req.header("X-Switchboard-Delivery"));
  CHECK(*req.header("X-Switchboard-Delivery") == "42");
  REQUIRE(req.header("User-Agent"));
  CHECK(*req.header("User-Agent") == "switchboard");
  // The receiver's check: HMAC of the raw body it got, with the first (current) secret.
  REQUIRE(req.header("X-Switchboard-Signature"));
  CHECK(*req.header("X-Switchboard-Signature") == api::callback_signature(kSecret, req.body));
  CHECK(*req.header("X-Switchboard-Signature") != api::callback_signature(kNextSecret, req.body));

  boost::json::error_code ec;
  boost::json::value body = boost::json::parse(req.body, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(body.is_object());
  const auto& o = body.get_object();
  CHECK(str(o, "delivery_id") == "42");
  CHECK(str(o, "message_id") == "1001");
  CHECK(str(o, "conversation_id") == "c-7");
  CHECK(str(o, "account") == "shop");
  CHECK(str(o, "to") == "jan@example.pl");
  CHECK(str(o, "text") == "Dzień dobry");
  CHECK(str(o, "in_reply_to") == "1000");
  CHECK(str(o, "author") == "agent:ola");
  CHECK(str(o, "template") == "greeting");
  CHECK(o.size() == 9);

  // Neither the secret nor the text ever reaches a log line.
  const auto lines = sink.lines();
  REQUIRE_FALSE(lines.empty());
  for (const auto& line : lines) {
    CHECK(line.find(kSecret) == std::string::npos);
    CHECK(line.find("Dzie") == std::string::npos);
  }
}

TEST_CASE("api: optional callback fields are left out when the payload lacks them", "[channels][api][callback]") {
  Recorder recorder;
  LocalServer server([&](const HttpRequest& req) {
    recorder.add(req);
    return answer(204);
  });
  FixedClock clock(Timestamp{});
  api::ApiAdapter adapter(options({account(server.url())}), clock);

  for (const char* payload : {R"({"text":"x","template":"","in_reply_to":null})", "", "{}"}) {
    INFO("payload " << payload);
    auto delivery = adapter.send(reply(payload));
    REQUIRE(delivery.ok());
    CHECK(delivery->external_id.empty());  // 204: no id from the receiver
    const auto seen = recorder.requests();
    REQUIRE_FALSE(seen.empty());
    const auto body = boost::json::parse(seen.back().body).as_object();
    CHECK_FALSE(body.contains("in_reply_to"));
    CHECK_FALSE(body.contains("author"));
    CHECK_FALSE(body.contains("template"));
    CHECK(body.size() == 6);
  }
}

TEST_CASE("api: 408, 429 and 5xx are retryable, other 4xx permanent", "[channels][api][callback]") {
  std::atomic<int> status{500};
  LocalServer server([&](const HttpRequest&) { return answer(status.load(), R"({"error":"no"})"); });
  FixedClock clock(Timestamp{});
  api::ApiAdapter adapter(options({account(server.url())}), clock);

  for (int s : {500, 502, 503, 408, 429}) {
    INFO("status " << s);
    status = s;
    auto delivery = adapter.send(reply());
    REQUIRE_FALSE(delivery.ok());
    CHECK(delivery.error().kind == ErrorKind::unavailable);
    CHECK(classify(delivery.error()) == SendFailure::retryable);
    CHECK(delivery.error().code == "callback_failed");
    CHECK(delivery.error().message == "callback answered " + std::to_string(s));
  }
  for (int s : {400, 401, 403, 404, 410, 422}) {
    INFO("status " << s);
    status = s;
    auto delivery = adapter.send(reply());
    REQUIRE_FALSE(delivery.ok());
    CHECK(delivery.error().kind == ErrorKind::invalid);
    CHECK(classify(delivery.error()) == SendFailure::permanent);
    CHECK(delivery.error().code == "callback_rejected");
    CHECK(delivery.error().message == "callback answered " + std::to_string(s));
  }
}

TEST_CASE("api: a receiver slower than the callback timeout is retryable", "[channels][api][callback]") {
  testing::Gate gate;
  LocalServer server([&](const HttpRequest&) {
    gate.wait();
    return answer(200);
  });
  FixedClock clock(Timestamp{});
  api::ApiAdapter adapter(options({account(server.url(), 300ms)}), clock);

  const auto started = std::chrono::steady_clock::now();
  auto delivery = adapter.send(reply());
  const auto took = std::chrono::steady_clock::now() - started;
  gate.open();
  REQUIRE_FALSE(delivery.ok());
  CHECK(delivery.error().kind == ErrorKind::unavailable);
  // The request went out: the outbox marks the attempt in doubt (the receiver de-duplicates).
  CHECK(delivery.error().code == "request_sent_no_answer");
  CHECK_THAT(delivery.error().message, Catch::Contains("timed out"));
  CHECK(took < 2s);
}

TEST_CASE("api: a refused connection is retryable", "[channels][api][callback]") {
  FixedClock clock(Timestamp{});
  api::ApiAdapter adapter(
      options({account("http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/hook")}), clock);
  auto delivery = adapter.send(reply());
  REQUIRE_FALSE(delivery.ok());
  CHECK(delivery.error().kind == ErrorKind::unavailable);
  CHECK(delivery.error().code == "callback_failed");
  CHECK_THAT(delivery.error().message, Catch::Contains("connect", Catch::CaseSensitive::No));
}

TEST_CASE("api: no callback configured is a permanent error", "[channels][api][callback]") {
  FixedClock clock(Timestamp{});
  api::Options o;
  o.accounts = {{"shop", {"shop-token"}}};  // the pre-callback initialiser still compiles
  api::ApiAdapter adapter(o, clock);
  auto delivery = adapter.send(reply());
  REQUIRE_FALSE(delivery.ok());
  CHECK(delivery.error().kind == ErrorKind::invalid);
  CHECK(classify(delivery.error()) == SendFailure::permanent);
  CHECK(delivery.error().code == "no_callback");
  CHECK(delivery.error().message == "account 'shop' has no callback URL configured");

  OutboundMessage unknown = reply();
  unknown.account = "ghost";
  auto none = adapter.send(unknown);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == "no_callback");
  CHECK(none.error().message == "account 'ghost' has no callback URL configured");
}

TEST_CASE("api: callback configuration errors no retry can fix are permanent", "[channels][api][callback]") {
  FixedClock clock(Timestamp{});

  auto unsigned_account = account("http://127.0.0.1:1/");
  unsigned_account.callback_secrets.clear();
  auto no_secret = api::ApiAdapter(options({unsigned_account}), clock).send(reply());
  REQUIRE_FALSE(no_secret.ok());
  CHECK(no_secret.error().kind == ErrorKind::invalid);
  CHECK(no_secret.error().code == "no_callback_secret");
  CHECK(no_secret.error().message == "account 'shop' has no callback secret configured");

  auto bad_url = api::ApiAdapter(options({account("ftp://127.0.0.1/")}), clock).send(reply());
  REQUIRE_FALSE(bad_url.ok());
  CHECK(bad_url.error().kind == ErrorKind::invalid);
  CHECK(bad_url.error().code == "invalid_callback_url");

  // A payload that does not parse never reaches an adapter: the outbox worker fails its row
  // (routing/core/outbound.hpp).
  auto bad_payload = parse_outbound_payload("[1,2");
  REQUIRE_FALSE(bad_payload.ok());
  CHECK(bad_payload.error().kind == ErrorKind::invalid);
  CHECK(bad_payload.error().code == "invalid_payload");
  CHECK(bad_payload.error().message == "the outbox payload is not a JSON object");
}

TEST_CASE("api: validate_callback checks URL, secrets and timeout", "[channels][api][callback]") {
  CHECK(api::validate_callback(account("https://crm.example.com/hook")).ok());
  CHECK(api::validate_callback(api::Account{"plain", {"t"}}).ok());  // no callback: valid, cannot reply

  auto message_of = [](const api::Account& a) {
    auto status = api::validate_callback(a);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::config);
    CHECK(status.error().code == "invalid_callback");
    CHECK(status.error().location == "channels.api.accounts.shop");
    return status.error().message;
  };
  CHECK(message_of(account("ftp://crm.example.com/")) == "'callback_url' must be an http:// or https:// URL");
  auto a = account("https://crm.example.com/hook");
  a.callback_secrets.clear();
  CHECK(message_of(a) == "'callback_url' needs 'callback_secrets' (one or two)");
  a.callback_secrets = {"1", "2", "3"};
  CHECK(message_of(a) == "'callback_secrets' takes at most two secrets (the current one and the next)");
  a.callback_secrets = {"1", ""};
  CHECK(message_of(a) == "'callback_secrets' must not contain an empty secret");
  a.callback_secrets = {"1"};
  a.callback_timeout = 0s;
  CHECK(message_of(a) == "'callback_timeout' must be positive");
  auto secrets_only = account("");
  CHECK(message_of(secrets_only) == "'callback_secrets' is set but 'callback_url' is not");
}
