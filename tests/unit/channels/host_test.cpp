// Adapters plugged into a fake Host (channels/host.hpp), without the daemon: the routes each
// declares, what reaches the intake, what is spooled or refused, and the registry's senders.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "channels/api/adapter.hpp"
#include "channels/builtin.hpp"
#include "channels/meta/adapter.hpp"
#include "channels/notify/adapter.hpp"
#include "channels/twilio/adapter.hpp"
#include "channels/host.hpp"

using namespace switchboard;
using namespace switchboard::channels;

namespace {

std::string fixture(const std::string& platform, const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR "/protocols/fixtures/") + platform + "/" + name,
                   std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Records everything an adapter does with the host; the intake answers as told.
class FakeHost final : public Host, public Intake, public Spooler, public Sources {
 public:
  explicit FakeHost(const Clock& clock) : clock_(clock) {}

  Status route(std::string method, std::string_view pattern, RouteHandler handler) override {
    return routes.add(std::move(method), pattern, std::move(handler), "adapter");
  }
  Intake& intake() override { return *this; }
  Spooler& spooler() override {
    ++spooler_asked;
    return *this;
  }
  HttpResponse reject(const HttpRequest&, std::string_view endpoint, std::string_view event,
                      const Error& error) override {
    rejected.push_back(std::string(endpoint) + " " + std::string(event) + " " + error.code);
    return error_response(error);
  }
  void unconfigured_account(std::string_view channel, std::string_view account) override {
    unconfigured.push_back(std::string(channel) + ":" + std::string(account));
  }
  const Clock& clock() const override { return clock_; }
  Sources& sources() override { return *this; }
  // No adapter here fetches; the e-mail poller's use of these is tested against the daemon.
  std::unique_ptr<SourceLock> lock(const std::string&) override { return nullptr; }
  Result<std::optional<SourcePosition>> position(const std::string&, const std::string&) override {
    return std::optional<SourcePosition>{};
  }
  Status save_position(const std::string&, const std::string&, const SourcePosition&) override { return Ok{}; }
  void fetched(const std::string&, std::string_view) override {}

  bool ready() const override { return is_ready; }
  Status accept(const std::string&, const std::vector<InboundEvent>& events, IntakeReport* report) override {
    if (down) return make_error(ErrorKind::unavailable, "database_unavailable", "connection refused");
    for (const auto& e : events) accepted.push_back(e);
    if (report) {
      if (refuse)
        report->failures.push_back(*refuse);
      else
        report->messages.push_back({"m-1", "c-1", "k-1", false});
    }
    return Ok{};
  }
  Result<std::string> keep(const SpooledRequest& request, std::string_view reason) override {
    spooled.push_back(request);
    reasons.emplace_back(reason);
    return std::string("entry-1");
  }

  HttpResponse call(const std::string& method, const std::string& target, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? std::string() : target.substr(q + 1);
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.request_id = "req-1";
    return routes.dispatch(r);
  }

  RouteTable routes;
  bool is_ready = true;
  bool down = false;
  std::optional<Error> refuse;
  int spooler_asked = 0;
  std::vector<InboundEvent> accepted;
  std::vector<SpooledRequest> spooled;
  std::vector<std::string> reasons, rejected, unconfigured;

 private:
  const Clock& clock_;
};

const Timestamp kNow = *parse_rfc3339("2027-03-30T10:00:00+02:00");

twilio::Options twilio_options() {
  twilio::Options o;
  o.public_url = "https://switchboard.example.com";
  twilio::Account a;
  a.name = "main";
  a.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01";
  a.auth_tokens = {"test_auth_token"};
  a.messaging_service_sid = "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02";
  o.accounts = {a};
  return o;
}

const std::vector<std::pair<std::string, std::string>> kSignedSms = {
    {"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", "GD+ajB1aPh8WF36RAtqyLuZ3WM0="}};

}  // namespace

TEST_CASE("host: Twilio declares its two webhooks, spools what the intake cannot take, replays it",
          "[channels][host][twilio]") {
  FixedClock clock(kNow);
  FakeHost host(clock);
  twilio::TwilioAdapter adapter(twilio_options());
  REQUIRE(adapter.attach(host).ok());
  CHECK(host.routes.describe() ==
        std::vector<std::string>{"POST /webhooks/twilio/sms (adapter)", "POST /webhooks/twilio/status (adapter)"});
  CHECK(host.spooler_asked == 1);  // asked for while attaching, not per request
  const std::string body = fixture("twilio", "inbound_sms.form");
  const std::string target = "/webhooks/twilio/sms?account=main";

  SECTION("stored: empty TwiML") {
    auto r = host.call("POST", target, body, kSignedSms);
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/xml");
    CHECK(r.body == R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)");
    REQUIRE(host.accepted.size() == 1);
    CHECK(std::get<InboundMessage>(host.accepted[0]).account == "main");
    CHECK(host.spooled.empty());
  }
  SECTION("the database is down or not ready: kept in the spool, answered 200, replayed alike") {
    for (int round = 0; round < 2; ++round) {
      host.down = round == 0;      // accept() fails
      host.is_ready = round == 0;  // then: not ready yet
      auto r = host.call("POST", target, body, kSignedSms);
      CHECK(r.status == 200);
      CHECK(r.content_type == "text/xml");
    }
    CHECK(host.accepted.empty());
    REQUIRE(host.spooled.size() == 2);
    CHECK(host.reasons == std::vector<std::string>{"connection refused", "the database is not ready"});
    const auto& kept = host.spooled[0];
    CHECK(kept.path == "/webhooks/twilio/sms");
    CHECK(kept.account == "main");
    CHECK(kept.body == body);
    CHECK(kept.request_id == "req-1");
    CHECK(kept.received_at == kNow);
    auto replayed = adapter.parse_spooled(kept);
    REQUIRE(replayed.ok());
    REQUIRE(replayed->size() == 1);
    CHECK(std::get<InboundMessage>(replayed->front()).sender == "+48601234567");
  }
  SECTION("a forged request is refused by endpoint, never spooled") {
    auto headers = kSignedSms;
    headers[1].second = "L0KGUO6HFRmPN/r454xfQaMGQG8=";
    host.down = true;
    auto r = host.call("POST", target, body, headers);
    CHECK(r.status == 403);
    CHECK(host.rejected == std::vector<std::string>{"twilio_sms webhook_rejected bad_signature"});
    CHECK(host.spooled.empty());
    CHECK(host.call("GET", target, "", {}).status == 405);
  }
}

TEST_CASE("host: Meta answers the handshake and holds messages to unconfigured WhatsApp numbers",
          "[channels][host][meta]") {
  FixedClock clock(kNow);
  FakeHost host(clock);
  meta::Options o;
  o.app_secrets = {"test_app_secret"};
  o.verify_token = "verify-me";
  meta::MetaAdapter adapter(o, clock);
  REQUIRE(adapter.attach(host).ok());
  CHECK(host.spooler_asked == 0);  // Meta redelivers: no spool

  auto hello =
      host.call("GET", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42", "", {});
  CHECK(hello.status == 200);
  CHECK(hello.body == "42");
  const std::vector<std::pair<std::string, std::string>> signed_text = {
      {"Content-Type", "application/json"},
      {"X-Hub-Signature-256", "sha256=090f5180a1c0a9a3f79df43cd067a86f4a0c9e249832a4afe7f0ec32ec720d7c"}};
  auto r = host.call("POST", "/webhooks/meta", fixture("meta", "whatsapp_text.json"), signed_text);
  CHECK(r.status == 200);
  REQUIRE(host.accepted.size() == 1);
  const auto& m = std::get<InboundMessage>(host.accepted[0]);
  CHECK(m.automated == "whatsapp phone_number_id 106540352242922 is not configured");
  CHECK(host.unconfigured == std::vector<std::string>{"whatsapp:106540352242922"});

  host.is_ready = false;
  auto later = host.call("POST", "/webhooks/meta", fixture("meta", "whatsapp_text.json"), signed_text);
  CHECK(later.status == 503);  // Meta redelivers
  CHECK(host.rejected == std::vector<std::string>{"meta webhook_rejected database_unavailable"});
}

TEST_CASE("host: the API answers with the stored message, or with what the intake refused", "[channels][host][api]") {
  FixedClock clock(kNow);
  FakeHost host(clock);
  api::Options o;
  o.accounts = {{"shop", {"shop-token"}}};
  api::ApiAdapter adapter(o, clock);
  REQUIRE(adapter.attach(host).ok());
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer shop-token"}};
  const std::string body = R"({"external_id":"ord-1","from":{"address":"jan@example.pl"},"text":"Dzień dobry"})";
  auto r = host.call("POST", "/api/v1/inbound", body, auth);
  CHECK(r.status == 200);
  CHECK(r.body == R"({"message_id":"m-1","conversation_id":"c-1","customer_id":"k-1","duplicate":false})");

  host.refuse = make_error(ErrorKind::conflict, "external_id_conflict", "another message has this external_id");
  r = host.call("POST", "/api/v1/inbound", body, auth);
  CHECK(r.status == 409);
  host.refuse.reset();
  host.down = true;
  CHECK(host.call("POST", "/api/v1/inbound", body, auth).status == 503);
  CHECK(host.call("POST", "/api/v1/inbound", body, {}).status == 401);
  CHECK(host.rejected == std::vector<std::string>{"api inbound_rejected external_id_conflict",
                                                  "api inbound_rejected database_unavailable",
                                                  "api inbound_rejected missing_token"});
}

TEST_CASE("registry: each outbox channel has one sender; a second is refused", "[channels][registry]") {
  FixedClock clock(kNow);
  Registry registry;
  REQUIRE(registry.add(std::make_unique<api::ApiAdapter>(api::Options{}, clock)).ok());
  REQUIRE(registry.add(std::make_unique<notify::NotifyAdapter>(notify::Options{})).ok());
  REQUIRE(registry.add(std::make_unique<meta::MetaAdapter>(meta::Options{}, clock)).ok());
  REQUIRE(registry.add(std::make_unique<twilio::TwilioAdapter>(twilio_options())).ok());
  for (const auto& [channel, adapter] : std::map<std::string, std::string>{
           {"api", "api"}, {"notify", "notify"}, {"messenger", "meta"}, {"whatsapp", "meta"}, {"sms", "twilio"}}) {
    INFO(channel);
    auto sender = registry.sender(channel);
    REQUIRE(sender.ok());
    CHECK((*sender)->name() == adapter);
  }
  auto email = registry.sender("email");
  REQUIRE_FALSE(email.ok());
  CHECK(email.error().message ==
        "no channel adapter sends for 'email' (configured: api, messenger, notify, sms, whatsapp)");

  // Another adapter claiming "sms": refused, and the registry unchanged.
  struct Sms final : Adapter {
    std::string_view name() const override { return "other_sms"; }
    Posture posture() const override { return {}; }
    std::vector<std::string> sends_for() const override { return {"sms"}; }
    Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest&) override { return std::vector<InboundEvent>{}; }
    SendResult send(const OutboundMessage&) override { return Delivery{}; }
  };
  auto clash = registry.add(std::make_unique<Sms>());
  REQUIRE_FALSE(clash.ok());
  CHECK(clash.error().code == "duplicate_sender");
  CHECK_FALSE(registry.find("other_sms").ok());
}
