// Tests for MetaAdapter::send (channels/meta/send.cpp) against a fake Graph API on a local port:
// request shapes (protocols/meta.md (d)), reply windows decided before any request ((e)), and the
// classification of Graph errors ((f), fixtures/meta/graph_error_*.json).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "channels/meta/adapter.hpp"
#include "channels/retry.hpp"
#include "tests/unit/channels/local_server.hpp"

using namespace switchboard;
using namespace switchboard::channels;
using namespace std::chrono_literals;
using testing::LocalServer;
using testing::Recorder;
namespace json = boost::json;

namespace {

constexpr const char* kPage = "104857600012345";       // has the Human Agent permission
constexpr const char* kPlainPage = "104857600099999";  // has not
constexpr const char* kNumber = "109876543210987";
constexpr const char* kPsid = "7012345678901234";
const Timestamp kNow = Timestamp{std::chrono::seconds{1767618180}};

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR "/protocols/fixtures/meta/") + name, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

HttpResponse reply(int status, std::string body, std::string type = "application/json") {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(type);
  r.body = std::move(body);
  return r;
}

// A Graph stand-in answering every request with one fixed response.
struct FakeGraph {
  Recorder recorder;
  LocalServer server;
  FakeGraph(int status, std::string body, std::string type = "application/json")
      : server([this, status, body, type](const HttpRequest& request) {
          recorder.add(request);
          return reply(status, body, type);
        }) {}
  std::string base() const { return server.url(""); }
};

meta::Options options(const std::string& base) {
  meta::Options o;
  o.app_secrets = {"test_app_secret"};
  o.graph_base_url = base;
  o.send_timeout = 3000ms;
  o.pages = {meta::Options::Page{kPage, "page-token", true}, meta::Options::Page{kPlainPage, "plain-token", false}};
  o.whatsapp_numbers = {meta::Options::WhatsAppNumber{kNumber, "wa-token"}};
  return o;
}

std::string text_payload(const std::string& text) {
  return json::serialize(json::object{{"text", text}});
}

OutboundPayload typed(const std::string& payload) {
  auto parsed = parse_outbound_payload(payload);
  REQUIRE(parsed.ok());
  return *parsed;
}

OutboundMessage messenger(std::optional<Duration> ago, bool from_human = false, std::string text = "Dzień dobry!") {
  OutboundMessage m;
  m.outbox_id = "43";
  m.channel = Channel::messenger;
  m.account = kPage;
  m.conversation_id = "7";
  m.recipient = kPsid;
  m.text = text;
  m.payload = typed(text_payload(text));
  if (ago) m.last_inbound_at = kNow - *ago;
  m.from_human = from_human;
  return m;
}

OutboundMessage whatsapp(std::optional<Duration> ago, std::string recipient = "48601234567",
                         std::string payload = text_payload("Zamówienie 4711 wysłane.")) {
  OutboundMessage m;
  m.outbox_id = "44";
  m.channel = Channel::whatsapp;
  m.account = kNumber;
  m.conversation_id = "8";
  m.recipient = std::move(recipient);
  m.payload = typed(payload);
  if (ago) m.last_inbound_at = kNow - *ago;
  return m;
}

json::value body_of(const HttpRequest& request) {
  return json::parse(request.body);
}

void check_blocked(const SendResult& result, const FakeGraph& graph, const std::string& mentions) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::conflict);
  CHECK(result.error().code == "outside_window");
  CHECK(result.outcome() == SendOutcome::blocked_by_window);
  CHECK_THAT(result.error().message, Catch::Contains(mentions));
  CHECK(graph.recorder.requests().empty());
}

}  // namespace

// --- Messenger ---

TEST_CASE("meta send: messenger inside 24 h is a RESPONSE with the page token", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("messenger_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  auto delivery = adapter.send(messenger(23h + 59min));
  REQUIRE(delivery.ok());
  CHECK(delivery->external_id == "m_Echo7rT2pQx9LmN3vB5kZ0-0003");
  CHECK(delivery->status == "sent");

  auto seen = graph.recorder.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == std::string("/v25.0/") + kPage + "/messages");
  REQUIRE(seen[0].header("Authorization"));
  CHECK(*seen[0].header("Authorization") == "Bearer page-token");
  REQUIRE(seen[0].header("Content-Type"));
  CHECK(*seen[0].header("Content-Type") == "application/json");
  CHECK(body_of(seen[0]) == json::parse(R"({"recipient":{"id":"7012345678901234"},"messaging_type":"RESPONSE",
      "message":{"text":"Dzień dobry!","metadata":"outbox:43"}})"));
}

TEST_CASE("meta send: messenger agent reply after 30 h uses the HUMAN_AGENT tag", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("messenger_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base() + "/"), clock);  // a trailing '/' is tolerated

  auto delivery = adapter.send(messenger(30h, true));
  REQUIRE(delivery.ok());
  auto seen = graph.recorder.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == std::string("/v25.0/") + kPage + "/messages");
  CHECK(body_of(seen[0]) == json::parse(R"({"recipient":{"id":"7012345678901234"},"messaging_type":"MESSAGE_TAG",
      "tag":"HUMAN_AGENT","message":{"text":"Dzień dobry!","metadata":"outbox:43"}})"));
}

TEST_CASE("meta send: messenger outside its windows is blocked without a request", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("messenger_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  SECTION("automatic reply after 30 h") {
    check_blocked(adapter.send(messenger(30h, false)), graph, "agent's reply");
  }
  SECTION("agent reply after 30 h on a page without the Human Agent permission") {
    auto m = messenger(30h, true);
    m.account = kPlainPage;
    check_blocked(adapter.send(m), graph, "Human Agent");
  }
  SECTION("agent reply after 8 days") {
    check_blocked(adapter.send(messenger(24h * 8, true)), graph, "8 d ago");
  }
  SECTION("exactly 7 days") {
    check_blocked(adapter.send(messenger(24h * 7, true)), graph, "7 d HUMAN_AGENT");
  }
  SECTION("no inbound message at all") {
    check_blocked(adapter.send(messenger(std::nullopt, true)), graph, "never opened");
  }
}

TEST_CASE("meta send: messenger text limit is 2000 code points, not bytes", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("messenger_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  std::string longest;
  for (int i = 0; i < 2000; ++i) longest += "ż";  // 4000 bytes
  CHECK(adapter.send(messenger(1h, false, longest)).ok());
  REQUIRE(graph.recorder.requests().size() == 1);
  CHECK(body_of(graph.recorder.requests()[0]).at("message").at("text") == longest.c_str());

  auto refused = adapter.send(messenger(1h, false, longest + "a"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK(refused.error().code == "text_too_long");
  CHECK_THAT(refused.error().message, Catch::Contains("2001"));
  CHECK(graph.recorder.requests().size() == 1);
}

// --- WhatsApp ---

TEST_CASE("meta send: whatsapp inside 24 h is free text to '+<digits>'", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("whatsapp_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  auto delivery = adapter.send(whatsapp(2h));
  REQUIRE(delivery.ok());
  CHECK(delivery->external_id == "wamid.HBgLNDg2MDEyMzQ1NjcVAgARGBIzQUIxMjM0NTY3ODkwQUJDREVGAA==");
  CHECK(delivery->status == "sent");

  auto seen = graph.recorder.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == std::string("/v25.0/") + kNumber + "/messages");
  REQUIRE(seen[0].header("Authorization"));
  CHECK(*seen[0].header("Authorization") == "Bearer wa-token");
  CHECK(body_of(seen[0]) == json::parse(R"({"messaging_product":"whatsapp","recipient_type":"individual",
      "to":"+48601234567","type":"text","text":{"preview_url":false,"body":"Zamówienie 4711 wysłane."},
      "biz_opaque_callback_data":"outbox:44"})"));
}

TEST_CASE("meta send: whatsapp to a business-scoped user id uses 'recipient'", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("whatsapp_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  REQUIRE(adapter.send(whatsapp(2h, "US.13491208655302741918")).ok());
  auto seen = graph.recorder.requests();
  REQUIRE(seen.size() == 1);
  const auto body = body_of(seen[0]).as_object();
  CHECK(body.at("recipient") == "US.13491208655302741918");
  CHECK_FALSE(body.contains("to"));
  CHECK(body.at("type") == "text");
}

TEST_CASE("meta send: whatsapp outside 24 h sends the template", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("whatsapp_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  SECTION("with parameters") {
    auto payload = R"({"text":"Zamówienie 4711 wysłane.","whatsapp_template":{"name":"order_shipped","language":"pl",
        "parameters":["4711","Jan"]}})";
    REQUIRE(adapter.send(whatsapp(30h, "48601234567", payload)).ok());
    auto seen = graph.recorder.requests();
    REQUIRE(seen.size() == 1);
    CHECK(body_of(seen[0]) == json::parse(R"({"messaging_product":"whatsapp","recipient_type":"individual",
        "to":"+48601234567","type":"template","template":{"name":"order_shipped","language":{"code":"pl"},
        "components":[{"type":"body","parameters":[{"type":"text","text":"4711"},{"type":"text","text":"Jan"}]}]},
        "biz_opaque_callback_data":"outbox:44"})"));
  }
  SECTION("without parameters: no components") {
    auto payload = R"({"text":"x","whatsapp_template":{"name":"hello","language":"pl"}})";
    REQUIRE(adapter.send(whatsapp(std::nullopt, "48601234567", payload)).ok());
    auto seen = graph.recorder.requests();
    REQUIRE(seen.size() == 1);
    CHECK(body_of(seen[0]).at("template") == json::parse(R"({"name":"hello","language":{"code":"pl"}})"));
  }
  SECTION("inside the window the text wins over the template") {
    auto payload = R"({"text":"Dzień dobry","whatsapp_template":{"name":"hello","language":"pl"}})";
    REQUIRE(adapter.send(whatsapp(1h, "48601234567", payload)).ok());
    auto seen = graph.recorder.requests();
    REQUIRE(seen.size() == 1);
    CHECK(body_of(seen[0]).at("type") == "text");
  }
}

TEST_CASE("meta send: whatsapp outside 24 h without a template is blocked without a request",
          "[channels][meta][send]") {
  FakeGraph graph(200, fixture("whatsapp_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);
  SECTION("exactly 24 h") {
    check_blocked(adapter.send(whatsapp(24h)), graph, "24 h ago");
  }
  SECTION("3 days") {
    check_blocked(adapter.send(whatsapp(72h)), graph, "3 d ago");
  }
  SECTION("never") {
    check_blocked(adapter.send(whatsapp(std::nullopt)), graph, "never opened");
  }
}

TEST_CASE("meta send: whatsapp text limit is 4096 code points", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("whatsapp_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);
  std::string longest;
  for (int i = 0; i < 4096; ++i) longest += "ą";
  CHECK(adapter.send(whatsapp(1h, "48601234567", text_payload(longest))).ok());
  auto refused = adapter.send(whatsapp(1h, "48601234567", text_payload(longest + "!")));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == "text_too_long");
  CHECK(graph.recorder.requests().size() == 1);
}

// --- refused before any request ---

TEST_CASE("meta send: configuration and input errors make no request", "[channels][meta][send]") {
  FakeGraph graph(200, "{}");
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  auto expect = [&](const OutboundMessage& m, ErrorKind kind, const std::string& code) {
    auto result = adapter.send(m);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == kind);
    CHECK(result.error().code == code);
    CHECK(classify(result.error()) == SendFailure::permanent);
  };
  auto unknown_page = messenger(1h);
  unknown_page.account = "999";
  expect(unknown_page, ErrorKind::config, "unknown_account");
  auto unknown_number = whatsapp(1h);
  unknown_number.account = kPage;  // a page id is not a WhatsApp number
  expect(unknown_number, ErrorKind::config, "unknown_account");
  expect(whatsapp(1h, "not-a-phone"), ErrorKind::invalid, "invalid_recipient");
  expect(whatsapp(1h, ""), ErrorKind::invalid, "invalid_recipient");
  // A payload that does not parse never reaches the adapter: the outbox worker fails its row.
  for (const char* bad : {"{", R"({"whatsapp_template":{"name":"x","language":"pl","parameters":[1]}})"}) {
    auto parsed = parse_outbound_payload(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == ErrorKind::invalid);
    CHECK(parsed.error().code == "invalid_payload");
  }
  expect(whatsapp(1h, "48601234567", R"({"text":""})"), ErrorKind::invalid, "empty_text");
  auto no_psid = messenger(1h);
  no_psid.recipient.clear();
  expect(no_psid, ErrorKind::invalid, "invalid_recipient");
  auto sms = messenger(1h);
  sms.channel = Channel::sms;
  expect(sms, ErrorKind::invalid, "unsupported_channel");
  CHECK(graph.recorder.requests().empty());

  // A recipient written with '+' is accepted and sent as is.
  FakeGraph ok(200, fixture("whatsapp_send_response.json"));
  meta::MetaAdapter adapter2(options(ok.base()), clock);
  REQUIRE(adapter2.send(whatsapp(1h, "+48601234567")).ok());
  CHECK(body_of(ok.recorder.requests().at(0)).at("to") == "+48601234567");
}

// --- Graph errors ---

TEST_CASE("meta send: graph error fixtures are classified", "[channels][meta][send]") {
  struct Case {
    const char* file;
    int status;
    bool whatsapp;
    ErrorKind kind;
    const char* code;
    const char* mentions;  // code/subcode as written in the message
    const char* fbtrace;
    const char* text;  // part of Graph's message
  };
  const Case cases[] = {
      {"graph_error_invalid_token.json", 401, false, ErrorKind::config, "invalid_credentials", "190/463",
       "AbCdEfGhIjKlMn1", "Error validating access token"},
      {"graph_error_rate_limit_whatsapp.json", 429, true, ErrorKind::unavailable, "rate_limited", "130429",
       "AbCdEfGhIjKlMn2", "Rate limit hit"},
      {"graph_error_messenger_outside_window.json", 400, false, ErrorKind::conflict, "outside_window", "10/2018278",
       "AbCdEfGhIjKlMn3", "outside of allowed window"},
      {"graph_error_whatsapp_reengagement.json", 400, true, ErrorKind::conflict, "outside_window", "131047",
       "AbCdEfGhIjKlMn4", "Re-engagement message"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.file) {
      FakeGraph graph(c.status, fixture(c.file));
      FixedClock clock(kNow);
      meta::MetaAdapter adapter(options(graph.base()), clock);
      auto result = adapter.send(c.whatsapp ? whatsapp(1h) : messenger(1h));
      REQUIRE_FALSE(result.ok());
      CHECK(graph.recorder.requests().size() == 1);
      CHECK(result.error().kind == c.kind);
      CHECK(result.error().code == c.code);
      CHECK_THAT(result.error().message, Catch::Contains(std::string("graph error ") + c.mentions));
      CHECK_THAT(result.error().message, Catch::Contains(std::string("fbtrace_id ") + c.fbtrace));
      CHECK_THAT(result.error().message, Catch::Contains(c.text));
      CHECK_THAT(result.error().message, Catch::Contains("HTTP " + std::to_string(c.status)));
      CHECK_THAT(result.error().message, !Catch::Contains("wa-token") && !Catch::Contains("page-token"));
    }
  }
}

TEST_CASE("meta send: graph_error covers the documented codes", "[channels][meta][send]") {
  auto error = [](int status, const std::string& code, const std::string& subcode = "") {
    std::string body = R"({"error":{"message":"m","type":"OAuthException","code":)" + code;
    if (!subcode.empty()) body += R"(,"error_subcode":)" + subcode;
    body += R"(,"fbtrace_id":"T1"}})";
    return meta::graph_failure(status, body);
  };
  struct Case {
    int status;
    const char* code;
    const char* subcode;
    ErrorKind kind;
    const char* ours;
  };
  const Case cases[] = {
      {400, "4", "", ErrorKind::unavailable, "rate_limited"},
      {400, "613", "", ErrorKind::unavailable, "rate_limited"},
      {429, "80007", "", ErrorKind::unavailable, "rate_limited"},
      {400, "131056", "", ErrorKind::unavailable, "rate_limited"},
      {500, "1", "", ErrorKind::unavailable, "graph_unavailable"},
      {503, "2", "", ErrorKind::unavailable, "graph_unavailable"},
      {500, "131000", "", ErrorKind::unavailable, "graph_unavailable"},
      {503, "131016", "", ErrorKind::unavailable, "graph_unavailable"},
      {400, "190", "460", ErrorKind::config, "invalid_credentials"},
      {401, "999", "", ErrorKind::config, "invalid_credentials"},
      {400, "10", "2018278", ErrorKind::conflict, "outside_window"},
      {400, "10", "1545041", ErrorKind::conflict, "outside_window"},
      {400, "1545041", "", ErrorKind::conflict, "outside_window"},
      {400, "131047", "", ErrorKind::conflict, "outside_window"},
      {400, "551", "1545041", ErrorKind::forbidden, "recipient_unreachable"},
      {400, "131026", "", ErrorKind::forbidden, "recipient_unreachable"},
      {400, "131050", "", ErrorKind::forbidden, "opted_out"},
      {403, "10", "", ErrorKind::config, "permission_denied"},
      {403, "200", "", ErrorKind::config, "permission_denied"},
      {403, "299", "", ErrorKind::config, "permission_denied"},
      {400, "100", "", ErrorKind::config, "invalid_parameter"},
      {400, "132001", "", ErrorKind::config, "template_rejected"},
      {400, "132015", "", ErrorKind::config, "template_rejected"},
      {400, "368", "", ErrorKind::config, "account_restricted"},
      {400, "131031", "", ErrorKind::config, "account_restricted"},
      {400, "131048", "", ErrorKind::config, "account_restricted"},
      {400, "131049", "", ErrorKind::config, "platform_rejected"},
      {400, "\"131062\"", "", ErrorKind::config, "platform_rejected"},   // a numeric string
      {500, "123456", "", ErrorKind::unavailable, "graph_unavailable"},  // unknown code, 5xx
  };
  for (const auto& c : cases) {
    INFO(c.status << " " << c.code << "/" << c.subcode);
    const SendResult failed = error(c.status, c.code, c.subcode);
    const Error& e = failed.error();
    CHECK(e.kind == c.kind);
    CHECK(e.code == c.ours);
    CHECK_THAT(e.message, Catch::Contains("[fbtrace_id T1]"));
    // The adapter's own classification: what the outbox does with it.
    const std::string ours = c.ours;
    const SendOutcome expected = ours == "outside_window"        ? SendOutcome::blocked_by_window
                                 : ours == "opted_out"           ? SendOutcome::opted_out
                                 : ours == "invalid_credentials" ? SendOutcome::credentials_rejected
                                 : c.kind == ErrorKind::unavailable ? SendOutcome::retry_after
                                                                    : SendOutcome::permanent;
    CHECK(failed.outcome() == expected);
  }
  CHECK_THAT(error(400, "10", "2018278").error().message,
             Catch::Contains("graph error 10/2018278 (HTTP 400, OAuthException): m"));
}

TEST_CASE("meta send: answers that are not Graph errors", "[channels][meta][send]") {
  SECTION("500 with an HTML page is retryable") {
    FakeGraph graph(500, "<html>Internal\nError</html>", "text/html");
    FixedClock clock(kNow);
    meta::MetaAdapter adapter(options(graph.base()), clock);
    auto result = adapter.send(messenger(1h));
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::unavailable);
    CHECK(result.error().code == "graph_unavailable");
    CHECK(result.error().message == "graph answered HTTP 500: <html>Internal Error</html>");
  }
  SECTION("a 4xx with an unparseable body is permanent, with the status and a prefix of the body") {
    FakeGraph graph(400, std::string(1000, 'x'), "text/plain");
    FixedClock clock(kNow);
    meta::MetaAdapter adapter(options(graph.base()), clock);
    auto result = adapter.send(whatsapp(1h));
    REQUIRE_FALSE(result.ok());
    CHECK(classify(result.error()) == SendFailure::permanent);
    CHECK(result.error().code == "platform_rejected");
    CHECK(result.error().message == "graph answered HTTP 400: " + std::string(200, 'x') + "...");
  }
  SECTION("401 without a body is a credentials problem") {
    const Error e = meta::graph_error(401, "");
    CHECK(e.kind == ErrorKind::config);
    CHECK(e.code == "invalid_credentials");
  }
  SECTION("429 without a Graph body is retryable") {
    CHECK(meta::graph_error(429, "slow down").kind == ErrorKind::unavailable);
  }
  SECTION("200 without an id is still sent: an error would send it again") {
    FakeGraph graph(200, "{}");
    FixedClock clock(kNow);
    meta::MetaAdapter adapter(options(graph.base()), clock);
    auto delivery = adapter.send(whatsapp(1h));
    REQUIRE(delivery.ok());
    CHECK(delivery->external_id.empty());
    CHECK(delivery->status == "sent");
  }
}

TEST_CASE("meta send: a refused connection is retryable", "[channels][meta][send]") {
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options("http://127.0.0.1:" + std::to_string(testing::closed_port())), clock);
  auto result = adapter.send(messenger(1h));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::unavailable);
  CHECK(result.error().code == "graph_unavailable");
  CHECK_THAT(result.error().message, Catch::Contains("connect", Catch::CaseSensitive::No));
}

TEST_CASE("meta send: a Graph slower than send_timeout is retryable", "[channels][meta][send]") {
  testing::Gate gate;
  LocalServer server([&](const HttpRequest&) {
    gate.wait();
    return reply(200, fixture("messenger_send_response.json"));
  });
  FixedClock clock(kNow);
  auto o = options(server.url(""));
  o.send_timeout = 300ms;
  meta::MetaAdapter adapter(o, clock);
  const auto started = std::chrono::steady_clock::now();
  auto result = adapter.send(messenger(1h));
  const auto took = std::chrono::steady_clock::now() - started;
  gate.open();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::unavailable);
  CHECK(result.error().code == "request_sent_no_answer");  // in doubt: Graph may have sent it
  CHECK(took < 2s);
}

TEST_CASE("meta send: a malformed graph_base_url is configuration, not retried", "[channels][meta][send]") {
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options("ftp://graph.example"), clock);
  auto result = adapter.send(messenger(1h));
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::config);
  CHECK(classify(result.error()) == SendFailure::permanent);
}

// --- check_reply: what the agent API tells a person before queueing; it judges as send() does ---

TEST_CASE("meta check_reply: the windows and limits send() applies to a person's reply", "[channels][meta][send]") {
  FakeGraph graph(200, fixture("whatsapp_send_response.json"));
  FixedClock clock(kNow);
  meta::MetaAdapter adapter(options(graph.base()), clock);

  auto human = [](OutboundMessage m) {
    m.from_human = true;
    return m;
  };
  SECTION("messenger inside 24 h: allowed, the window closes 24 h after the customer's message") {
    auto c = adapter.check_reply(human(messenger(2h)), kNow);
    CHECK(c.allowed);
    CHECK(c.window == "messenger_24h");
    CHECK(c.window_open);
    REQUIRE(c.window_closes_at);
    CHECK(*c.window_closes_at == kNow - 2h + 24h);
    CHECK(c.limit == std::optional<int>(2000));
  }
  SECTION("messenger after 30 h: the 7-day HUMAN_AGENT window on a page with the permission, not on another") {
    auto c = adapter.check_reply(human(messenger(30h)), kNow);
    CHECK(c.allowed);
    CHECK(c.window == "messenger_human_agent_7d");
    auto plain = human(messenger(30h));
    plain.account = kPlainPage;
    auto refused = adapter.check_reply(plain, kNow);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.reason == "window_closed");
    CHECK_FALSE(refused.window_open);
    // send() agrees with both.
    CHECK(adapter.send(human(messenger(30h))).ok());
    CHECK(adapter.send(plain).outcome() == SendOutcome::blocked_by_window);
  }
  SECTION("messenger after 8 days, or never: closed") {
    CHECK(adapter.check_reply(human(messenger(8 * 24h)), kNow).reason == "window_closed");
    CHECK(adapter.check_reply(human(messenger(std::nullopt)), kNow).reason == "window_closed");
  }
  SECTION("messenger: 2000 code points, not bytes") {
    CHECK(adapter.check_reply(human(messenger(1h, true, std::string(1000, 'a') + "ż" + std::string(999, 'a'))), kNow)
              .allowed);
    auto c = adapter.check_reply(human(messenger(1h, true, std::string(2001, 'a'))), kNow);
    CHECK(c.reason == "too_long");
    CHECK(c.characters == 2001);
  }
  SECTION("whatsapp after 24 h: only with an approved template, as send() does") {
    auto text_only = human(whatsapp(30h));
    text_only.text = "Zamówienie 4711 wysłane.";
    auto c = adapter.check_reply(text_only, kNow);
    CHECK_FALSE(c.allowed);
    CHECK(c.reason == "window_closed");
    CHECK(c.window == "whatsapp_24h");
    auto with_template = human(whatsapp(
        30h, "48601234567",
        R"({"text":"Zamówienie 4711 wysłane.","whatsapp_template":{"name":"order_shipped","language":"pl"}})"));
    with_template.text = "Zamówienie 4711 wysłane.";
    c = adapter.check_reply(with_template, kNow);
    CHECK(c.allowed);
    CHECK_FALSE(c.window_open);
    CHECK(adapter.send(with_template).ok());
  }
}
