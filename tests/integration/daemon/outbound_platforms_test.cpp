// Replies to Messenger, WhatsApp and SMS customers going out through the local fakes of Graph and
// Twilio (tests/fakes/), which check credentials and bodies, fail on request, and send signed
// status webhooks, echoes and callbacks back to the daemon.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "tests/support/daemon_process.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

constexpr const char* kAppSecret = "outbound-app-secret";
constexpr const char* kPageToken = "page-token-123";
constexpr const char* kWhatsAppToken = "wa-token-456";

// Ids no other run of the shared fakes has used.
std::string unique_digits() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
}

long long unix_seconds_ago(std::chrono::hours h) {
  auto t = std::chrono::system_clock::now() - h;
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A Page and a WhatsApp number of this test alone, the one of `kind` registered with the Graph
// fake under its token.
struct MetaIds {
  std::string page;
  std::string number;
};

MetaIds fresh_meta_ids(const std::string& kind) {
  const std::string id = unique_digits();
  MetaIds ids{"8" + id, "9" + id};
  const bool page = kind == "page";
  FakeServer::graph().post("/_fake/tokens", json::object{{"id", page ? ids.page : ids.number},
                                                         {"token", page ? kPageToken : kWhatsAppToken},
                                                         {"kind", kind}});
  return ids;
}

// Polls a scalar until it equals `want` (the outbox works asynchronously).
bool eventually(const TestDatabase& db, const std::string& sql, const std::string& want,
                std::chrono::milliseconds timeout = std::chrono::seconds{15}) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (db.scalar(sql) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

DaemonOptions with_meta(const TestDatabase& db, const std::string& page, const std::string& number, bool human_agent,
                        const std::string& rules = kTestRules) {
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = rules;
  o.extra_config = "outbox: { workers: 1, sweep_interval: 100ms, retry: { base: 100ms, cap: 200ms, max_attempts: 3 } }\n";
  o.channels_extra = "  meta:\n    app_secrets: { secret: meta-secret }\n    verify_token: { secret: meta-verify }\n"
                     "    graph_url: " + FakeServer::graph().base_url() + "\n"
                     "    pages:\n      '" + page + "': { access_token: { secret: page-token }, human_agent: " +
                     (human_agent ? "true" : "false") + " }\n"
                     "    whatsapp_numbers:\n      '" + number + "': { access_token: { secret: wa-token } }\n";
  o.env = {{"SWITCHBOARD_SECRET_META_SECRET", kAppSecret},
           {"SWITCHBOARD_SECRET_META_VERIFY", "verify"},
           {"SWITCHBOARD_SECRET_PAGE_TOKEN", kPageToken},
           {"SWITCHBOARD_SECRET_WA_TOKEN", kWhatsAppToken}};
  return o;
}

json::object whatsapp_message(const std::string& number, const std::string& from, const std::string& wamid,
                              const std::string& text, long long timestamp) {
  json::object message{{"from", from}, {"id", wamid}, {"timestamp", std::to_string(timestamp)}, {"type", "text"},
                       {"text", json::object{{"body", text}}}};
  json::object value{{"messaging_product", "whatsapp"},
                     {"metadata", json::object{{"display_phone_number", "48221234567"}, {"phone_number_id", number}}},
                     {"contacts", json::array{json::object{{"profile", json::object{{"name", "Anna"}}}, {"wa_id", from}}}},
                     {"messages", json::array{message}}};
  return json::object{
      {"object", "whatsapp_business_account"},
      {"entry", json::array{json::object{
                    {"id", "1022"},
                    {"changes", json::array{json::object{{"field", "messages"}, {"value", value}}}}}}}};
}

json::object messenger_message(const std::string& page, const std::string& psid, const std::string& mid,
                               const std::string& text, long long millis) {
  json::object event{{"sender", json::object{{"id", psid}}},
                     {"recipient", json::object{{"id", page}}},
                     {"timestamp", millis},
                     {"message", json::object{{"mid", mid}, {"text", text}}}};
  return json::object{
      {"object", "page"},
      {"entry", json::array{json::object{{"id", page}, {"time", millis}, {"messaging", json::array{event}}}}}};
}

// The fake posts it to the daemon as Meta would: signed, non-ASCII escaped.
long meta_webhook(const DaemonProcess& d, const json::object& body) {
  auto r = FakeServer::graph().post("/_fake/webhook", json::object{{"url", d.url("/webhooks/meta")},
                                                                   {"app_secret", kAppSecret},
                                                                   {"json", body},
                                                                   {"escape", "meta"}});
  return static_cast<long>(r.at("status").as_int64());
}

}  // namespace

TEST_CASE("whatsapp: a reply goes out through Graph after a rate limit, and its statuses come back",
          "[daemon][outbound][whatsapp]") {
  TestDatabase db;
  auto& graph = FakeServer::graph();
  const auto [page, number] = fresh_meta_ids("whatsapp");
  const std::string id = number;
  DaemonProcess d(with_meta(db, page, number, false));
  graph.post("/_fake/statuses", json::object{{"id", number}, {"url", d.url("/webhooks/meta")}, {"app_secret", kAppSecret},
                                             {"sequence", json::array{"sent", "delivered", "read"}}});
  graph.post("/_fake/fail", json::object{{"match", json::object{{"id", number}}}, {"times", 1}, {"status", 429},
                                         {"fixture", "graph_error_rate_limit_whatsapp.json"}});

  REQUIRE(meta_webhook(d, whatsapp_message(number, "48601234567", "wamid.in-" + id, "Dzień dobry", unix_seconds_ago(std::chrono::hours{0}))) == 200);
  auto sent = graph.wait_for_requests({{"id", number}}, 2);
  REQUIRE(sent.size() == 2);
  const auto& body = sent[1].at("json").as_object();
  CHECK(body.at("to").as_string() == "+48601234567");
  CHECK(body.at("type").as_string() == "text");
  CHECK(body.at("text").at("body").as_string().starts_with("Dzień dobry! Dziękujemy"));
  CHECK(sent[1].at("headers").at("authorization").as_string() == std::string("Bearer ") + kWhatsAppToken);
  CHECK(eventually(db, "SELECT state FROM outbox", "read"));
  CHECK(db.scalar("SELECT attempts FROM outbox") == "2");
  CHECK(db.scalar("SELECT count(*) FROM delivery_statuses WHERE channel = 'whatsapp'") == "3");
  CHECK(d.log().find("event=outbox_retry") != std::string::npos);
}

TEST_CASE("whatsapp: outside the 24-hour window a free-text reply is blocked and agents see it",
          "[daemon][outbound][whatsapp]") {
  TestDatabase db;
  auto& graph = FakeServer::graph();
  const auto [page, number] = fresh_meta_ids("whatsapp");
  const std::string id = number;
  DaemonProcess d(with_meta(db, page, number, false));
  // The customer wrote 30 hours ago (the webhook's own timestamp): the window is closed.
  REQUIRE(meta_webhook(d, whatsapp_message(number, "48601234568", "wamid.old-" + id, "Halo",
                                           unix_seconds_ago(std::chrono::hours{30}))) == 200);
  CHECK(eventually(db, "SELECT state FROM outbox", "blocked"));
  CHECK(db.scalar("SELECT last_error FROM outbox").find("24") != std::string::npos);
  CHECK(graph.requests({{"id", number}}).empty());
  const std::string conversation = db.scalar("SELECT id FROM conversations");
  auto listed = http_request("GET", d.url("/api/v1/conversations/" + conversation + "/messages"),
                             {std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken});
  CHECK(listed.body.find(R"("delivery_state":"blocked")") != std::string::npos);

  // The platform's own verdict counts too: a "failed" 131047 status marks a sent reply blocked.
  REQUIRE(meta_webhook(d, whatsapp_message(number, "48601234569", "wamid.new-" + id, "Halo",
                                           unix_seconds_ago(std::chrono::hours{0}))) == 200);
  CHECK(eventually(db, "SELECT count(*) FROM outbox WHERE state = 'sent'", "1"));
  const std::string wamid = db.scalar("SELECT m.external_id FROM outbox o JOIN messages m ON m.id = o.message_id WHERE o.state = 'sent'");
  json::object failed{{"id", wamid}, {"status", "failed"}, {"timestamp", std::to_string(unix_seconds_ago(std::chrono::hours{0}))},
                      {"recipient_id", "48601234569"},
                      {"errors", json::array{json::object{{"code", 131047}, {"title", "Re-engagement message"}}}}};
  json::object value{{"messaging_product", "whatsapp"},
                     {"metadata", json::object{{"display_phone_number", "48221234567"}, {"phone_number_id", number}}},
                     {"statuses", json::array{failed}}};
  json::object status{{"object", "whatsapp_business_account"},
                      {"entry", json::array{json::object{{"id", "1022"}, {"changes", json::array{json::object{{"field", "messages"}, {"value", value}}}}}}}};
  REQUIRE(meta_webhook(d, status) == 200);
  CHECK(eventually(db, "SELECT count(*) FROM outbox WHERE state = 'blocked'", "2"));
}

TEST_CASE("messenger: replies inside the window, HUMAN_AGENT for an agent after 24 hours, echoes recorded",
          "[daemon][outbound][messenger]") {
  TestDatabase db;
  auto& graph = FakeServer::graph();
  const auto [page, number] = fresh_meta_ids("page");
  const std::string id = page;
  DaemonProcess d(with_meta(db, page, number, true));
  graph.post("/_fake/echoes", json::object{{"id", page}, {"url", d.url("/webhooks/meta")}, {"app_secret", kAppSecret},
                                           {"app_id", "1517776481860111"}});
  const auto now_ms = unix_seconds_ago(std::chrono::hours{0}) * 1000;

  REQUIRE(meta_webhook(d, messenger_message(page, "psid-a-" + id, "m_a_" + id, "Dzień dobry", now_ms)) == 200);
  auto first = graph.wait_for_requests({{"id", page}}, 1);
  REQUIRE(first.size() == 1);
  CHECK(first[0].at("json").at("messaging_type").as_string() == "RESPONSE");
  CHECK(first[0].at("json").at("recipient").at("id").as_string() == "psid-a-" + id);
  CHECK(eventually(db, "SELECT state FROM outbox", "sent"));
  // Our own send's echo carries our metadata: recorded once, as the reply it is.
  CHECK(!graph.wait_for_sent_webhooks({{"id", page}}, 1).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'out'") == "1");

  // An agent answers a customer who wrote 30 hours ago: HUMAN_AGENT, allowed up to 7 days.
  REQUIRE(meta_webhook(d, messenger_message(page, "psid-b-" + id, "m_b_" + id, "Pytanie", now_ms - 30LL * 3600 * 1000)) == 200);
  const std::string conversation = db.scalar("SELECT c.id FROM conversations c JOIN identities i ON i.customer_id = c.customer_id WHERE i.value = 'psid-b-" + id + "'");
  CHECK(eventually(db, "SELECT count(*) FROM outbox WHERE state = 'blocked'", "1"));  // the rules' reply may not go
  auto agent = http_request("POST", d.url("/api/v1/conversations/" + conversation + "/messages"),
                            {std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken, "Content-Type: application/json"},
                            R"({"text":"Już sprawdzam, przepraszamy za zwłokę.","author":"ewa"})");
  REQUIRE(agent.status == 201);
  auto tagged = graph.wait_for_requests({{"id", page}, {"recipient", "psid-b-" + id}}, 1);
  REQUIRE(tagged.size() == 1);
  CHECK(tagged[0].at("json").at("messaging_type").as_string() == "MESSAGE_TAG");
  CHECK(tagged[0].at("json").at("tag").as_string() == "HUMAN_AGENT");

  // A person answering from the Page inbox (another app): stored as an outbound message.
  json::object echo_event{{"sender", json::object{{"id", page}}},
                          {"recipient", json::object{{"id", "psid-a-" + id}}},
                          {"timestamp", now_ms},
                          {"message", json::object{{"is_echo", true}, {"app_id", 263902037430900}, {"mid", "m_inbox_" + id},
                                                   {"text", "Odpowiedź z inboxu"}}}};
  json::object echo{{"object", "page"},
                    {"entry", json::array{json::object{{"id", page}, {"time", now_ms}, {"messaging", json::array{echo_event}}}}}};
  REQUIRE(meta_webhook(d, echo) == 200);
  REQUIRE(meta_webhook(d, echo) == 200);
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE external_id = 'm_inbox_" + id + "' AND direction = 'out'") == "1");
}

TEST_CASE("sms: replies go out through Twilio with a status callback; 21610 opts the number out",
          "[daemon][outbound][sms]") {
  TestDatabase db;
  auto& twilio = FakeServer::twilio();
  const std::string id = unique_digits();
  std::string sid = "AC" + id;
  sid.resize(34, '0');
  const std::string token = "tw-token-" + id;
  const std::string service = "MG" + std::string(32, 'c');
  twilio.post("/_fake/accounts", json::object{{"sid", sid}, {"auth_token", token}, {"messaging_services", json::array{service}}});

  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kTestRules;
  o.extra_config = "public_url: https://switchboard.example.com\n"
                   "outbox: { workers: 1, sweep_interval: 100ms, retry: { base: 100ms, cap: 200ms, max_attempts: 3 } }\n";
  o.channels_extra = "  twilio:\n    api_url: " + twilio.base_url() +
                     "\n    accounts:\n      main:\n        account_sid: " + sid +
                     "\n        auth_tokens: { secret: tw }\n        messaging_service_sid: " + service + "\n";
  o.env = {{"SWITCHBOARD_SECRET_TW", token}};
  DaemonProcess d(o);
  twilio.post("/_fake/status_url_rewrite", json::object{{"from", "https://switchboard.example.com"},
                                                        {"to", d.url("")}, {"account", sid}});
  twilio.post("/_fake/fail", json::object{{"match", json::object{{"account", sid}}}, {"times", 1}, {"status", 503},
                                          {"body", json::object{{"code", 20500}, {"message", "Internal error"}}}});

  auto inbound = [&](const std::string& message_sid, const std::string& from, const std::string& text) {
    json::object params{{"AccountSid", sid}, {"MessageSid", message_sid}, {"From", from}, {"To", "+48732123456"},
                        {"Body", text}, {"NumMedia", "0"}};
    auto r = twilio.post("/_fake/sms", json::object{{"url", d.url("/webhooks/twilio/sms?account=main")},
                                                    {"signed_url", "https://switchboard.example.com/webhooks/twilio/sms?account=main"},
                                                    {"auth_token", token}, {"params", params}});
    return r.at("status").as_int64();
  };
  REQUIRE(inbound("SMa" + id, "+48601234570", "Dzień dobry") == 200);
  auto sends = twilio.wait_for_requests({{"account", sid}, {"to", "+48601234570"}}, 2);
  REQUIRE(sends.size() == 2);
  CHECK(sends[1].at("headers").at("authorization").as_string().starts_with("Basic "));
  CHECK(eventually(db, "SELECT state FROM outbox", "delivered"));
  CHECK(db.scalar("SELECT attempts FROM outbox") == "2");
  bool has_callback = false;
  for (const auto& kv : sends[1].at("form").as_array())
    if (kv.as_array()[0].as_string() == "StatusCallback")
      has_callback = kv.as_array()[1].as_string().starts_with("https://switchboard.example.com/webhooks/twilio/status?outbox=");
  CHECK(has_callback);

  // The recipient replied STOP to Twilio directly: the send fails with 21610.
  twilio.post("/_fake/optout", json::object{{"account", sid}, {"to", "+48601234571"}});
  REQUIRE(inbound("SMb" + id, "+48601234571", "Dzień dobry") == 200);
  CHECK(eventually(db, "SELECT count(*) FROM outbox WHERE state = 'failed'", "1"));
  CHECK(db.scalar("SELECT address FROM opt_outs WHERE channel = 'sms'") == "+48601234571");
  REQUIRE(inbound("SMc" + id, "+48601234571", "Awaria!") == 200);  // the outage rule replies to everyone
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  CHECK(db.scalar("SELECT count(*) FROM outbox") == "2");
}

TEST_CASE("whatsapp: outside the window the rules' approved template goes out instead of free text",
          "[daemon][outbound][whatsapp]") {
  TestDatabase db;
  auto& graph = FakeServer::graph();
  const auto [page, number] = fresh_meta_ids("whatsapp");
  const std::string id = number;
  const std::string rules = R"(version: 1
timezone: Europe/Warsaw
templates:
  thanks: "Dziękujemy, odpowiemy wkrótce."
rules:
  - name: always
    then:
      - reply: thanks
        whatsapp_template: { name: reply_later, language: pl, parameters: ["{{customer.first_name | \"Państwo\"}}"] }
)";
  DaemonProcess d(with_meta(db, page, number, false, rules));
  REQUIRE(meta_webhook(d, whatsapp_message(number, "48601234577", "wamid.tpl-old-" + id, "Halo",
                                           unix_seconds_ago(std::chrono::hours{30}))) == 200);
  auto sent = graph.wait_for_requests({{"id", number}}, 1);
  REQUIRE(sent.size() == 1);
  const auto& body = sent[0].at("json").as_object();
  CHECK(body.at("type").as_string() == "template");
  CHECK(body.at("template").at("name").as_string() == "reply_later");
  CHECK(body.at("template").at("language").at("code").as_string() == "pl");
  CHECK(json::serialize(body.at("template").at("components")).find("Anna") != std::string::npos);
  CHECK(eventually(db, "SELECT state FROM outbox", "sent"));

  // Inside the window the same rule sends its free text.
  REQUIRE(meta_webhook(d, whatsapp_message(number, "48601234578", "wamid.tpl-new-" + id, "Halo",
                                           unix_seconds_ago(std::chrono::hours{0}))) == 200);
  auto both = graph.wait_for_requests({{"id", number}}, 2);
  REQUIRE(both.size() == 2);
  CHECK(both[1].at("json").at("type").as_string() == "text");
}
