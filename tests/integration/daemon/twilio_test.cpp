// Twilio SMS webhooks end to end against the real binary: the fixtures with their signature
// vectors, forgeries, duplicates, STOP, one customer across WhatsApp and SMS, and the durable
// spool while PostgreSQL is down (also across a daemon restart).
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "channels/twilio/adapter.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/private_cluster.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;
namespace twilio = switchboard::channels::twilio;

namespace {

std::string fixture(const std::string& dir, const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR) + "/protocols/fixtures/" + dir + "/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr const char* kPublicUrl = "https://switchboard.example.com";
constexpr const char* kAuthToken = "test_auth_token";
constexpr const char* kTwiml = R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)";

// The channel as the fixtures were signed: public URL, account and token of SIGNATURES.md.
DaemonOptions with_twilio(const std::string& database_url, const std::string& rules = kTestRules) {
  DaemonOptions o;
  o.database_url = database_url;
  o.rules_yaml = rules;
  o.extra_config = std::string("public_url: ") + kPublicUrl + "\noutbox: { workers: 0 }\n";
  o.channels_extra =
      "  twilio:\n"
      "    accounts:\n"
      "      main:\n"
      "        account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01\n"
      "        auth_tokens: { secret: twilio-token }\n"
      "        messaging_service_sid: MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02\n";
  o.env = {{"SWITCHBOARD_SECRET_TWILIO_TOKEN", kAuthToken}};
  return o;
}

HttpResult post_twilio(const DaemonProcess& d, const std::string& target, const std::string& body,
                       const std::string& signature) {
  std::vector<std::string> headers = {"Content-Type: application/x-www-form-urlencoded"};
  if (!signature.empty()) headers.push_back("X-Twilio-Signature: " + signature);
  return http_request("POST", d.url(target), headers, body);
}

// An inbound SMS as Twilio would sign it for the public URL.
HttpResult send_sms(const DaemonProcess& d, const std::string& sid, const std::string& from, const std::string& text) {
  twilio::Params params = {{"AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01"},
                           {"MessageSid", sid},
                           {"SmsSid", sid},
                           {"From", from},
                           {"To", "+48732123456"},
                           {"Body", text},
                           {"NumMedia", "0"},
                           {"SmsStatus", "received"},
                           {"ApiVersion", "2010-04-01"}};
  const std::string target = "/webhooks/twilio/sms?account=main";
  return post_twilio(d, target, twilio::form_encode(params),
                     twilio::signature(kAuthToken, std::string(kPublicUrl) + target, params));
}

std::string sid(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "SM%032d", i);
  return buf;
}

}  // namespace

TEST_CASE("twilio: signed fixtures are stored once and answered with empty TwiML; forgeries get 403",
          "[daemon][twilio]") {
  TestDatabase db;
  DaemonProcess d(with_twilio(db.url()));
  const std::string sms = fixture("twilio", "inbound_sms.form");
  const std::string target = "/webhooks/twilio/sms?account=main";

  auto first = post_twilio(d, target, sms, "GD+ajB1aPh8WF36RAtqyLuZ3WM0=");
  CHECK(first.status == 200);
  CHECK(first.headers["content-type"].rfind("text/xml", 0) == 0);
  CHECK(first.body == kTwiml);
  CHECK(post_twilio(d, target, sms, "GD+ajB1aPh8WF36RAtqyLuZ3WM0=").status == 200);  // a redelivery
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE channel = 'sms' AND direction = 'in'") == "1");
  CHECK(db.scalar("SELECT body FROM messages WHERE external_id = 'SM1f0e2d3c4b5a69788796a5b4c3d2e1f0'") ==
        "Dzień dobry! Czy paczka już wysłana? 😀");
  CHECK(db.scalar("SELECT value FROM identities WHERE kind = 'phone'") == "+48601234567");

  // The URL Twilio signed with the default port written out.
  CHECK(post_twilio(d, target, fixture("twilio", "inbound_mms.form"), "RU0/H5Cyyr9QsiQADDq0M3kJ98I=").status == 200);
  CHECK(db.scalar("SELECT jsonb_array_length(attachments) FROM messages WHERE external_id LIKE 'MM%'") != "0");

  // Forgeries: another token, the query dropped, no header, a changed parameter.
  const std::string stop = fixture("twilio", "inbound_stop.form");
  CHECK(post_twilio(d, target, sms, "L0KGUO6HFRmPN/r454xfQaMGQG8=").status == 403);
  CHECK(post_twilio(d, "/webhooks/twilio/sms", stop, "pocuO1mXfdJf2jbG+O5ieu9FUws=").status == 403);
  CHECK(post_twilio(d, target, stop, "").status == 403);
  std::string changed = stop;
  changed.replace(changed.find("Body=STOP"), 9, "Body=STAP");
  CHECK(post_twilio(d, target, changed, "pocuO1mXfdJf2jbG+O5ieu9FUws=").status == 403);
  CHECK(post_twilio(d, target, "Body=%zz&AccountSid=x", "pocuO1mXfdJf2jbG+O5ieu9FUws=").status == 400);
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE channel = 'sms' AND direction = 'in'") == "2");
  CHECK(db.scalar("SELECT count(*) FROM opt_outs") == "0");
  CHECK(d.log().find("event=webhook_rejected") != std::string::npos);
  // The log line names the URLs the signature was checked against (issue 11).
  CHECK(d.log().find("signed for https://switchboard.example.com/webhooks/twilio/sms?account=main or "
                     "https://switchboard.example.com:443/webhooks/twilio/sms?account=main") != std::string::npos);
  // Rejected requests are counted by endpoint, not as messages of a channel (issue 11).
  const std::string metrics = http_request("GET", d.url("/metrics")).body;
  INFO(metrics);
  CHECK(metrics.find("\nswitchboard_rejected_requests_total{endpoint=\"twilio_sms\",reason=\"bad_signature\"} 4\n") !=
        std::string::npos);
  CHECK(metrics.find("\nswitchboard_rejected_requests_total{endpoint=\"twilio_sms\",reason=\"malformed_form\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.find("result=\"rejected\"") == std::string::npos);

  // A status callback for a message we do not know (yet) is kept, once.
  const std::string status = fixture("twilio", "status_delivered.form");
  auto s = post_twilio(d, "/webhooks/twilio/status?outbox=43", status, "f0b307yE/5d71OWem0SSXZ7ziQY=");
  CHECK(s.status == 200);
  CHECK(post_twilio(d, "/webhooks/twilio/status?outbox=43", status, "f0b307yE/5d71OWem0SSXZ7ziQY=").status == 200);
  CHECK(db.scalar("SELECT count(*) || ' ' || min(status) FROM delivery_statuses WHERE channel = 'sms'") == "1 delivered");
  CHECK(d.log().find("result=pending") != std::string::npos);  // it waits for our send
  CHECK(d.log().find("result=noop") == std::string::npos);
  CHECK(post_twilio(d, "/webhooks/twilio/status?outbox=44", fixture("twilio", "status_undelivered.form"),
                    "PaOV9WLoVQKptSmT3+wOhPYNko0=").status == 200);
  CHECK(db.scalar("SELECT error FROM delivery_statuses WHERE status = 'failed'").rfind("30003", 0) == 0);
}

TEST_CASE("twilio: STOP opts the number out and no automatic reply goes to it again", "[daemon][twilio]") {
  TestDatabase db;
  const std::string rules = R"(version: 1
timezone: Europe/Warsaw
templates:
  thanks: "Dziękujemy za wiadomość."
rules:
  - name: always
    then: [ { reply: thanks } ]
)";
  DaemonProcess d(with_twilio(db.url(), rules));
  const std::string target = "/webhooks/twilio/sms?account=main";
  REQUIRE(post_twilio(d, target, fixture("twilio", "inbound_sms.form"), "GD+ajB1aPh8WF36RAtqyLuZ3WM0=").status == 200);
  CHECK(db.scalar("SELECT count(*) FROM outbox WHERE channel = 'sms'") == "1");

  REQUIRE(post_twilio(d, target, fixture("twilio", "inbound_stop.form"), "pocuO1mXfdJf2jbG+O5ieu9FUws=").status == 200);
  CHECK(db.scalar("SELECT address FROM opt_outs WHERE channel = 'sms'") == "+48601234567");
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE body = 'STOP' AND direction = 'in'") == "1");
  REQUIRE(send_sms(d, sid(1), "+48601234567", "Jeszcze jedno pytanie").status == 200);
  CHECK(db.scalar("SELECT count(*) FROM outbox WHERE channel = 'sms'") == "1");
  CHECK(db.scalar("SELECT count(*) FROM audit WHERE decision ? 'replies_held_back'") == "2");

  // Another number still gets its reply; START lifts the opt-out.
  REQUIRE(send_sms(d, sid(2), "+48501111222", "Dzień dobry").status == 200);
  CHECK(db.scalar("SELECT count(*) FROM outbox WHERE channel = 'sms'") == "2");
  REQUIRE(send_sms(d, sid(3), "+48601234567", "START").status == 200);
  CHECK(db.scalar("SELECT count(*) FROM opt_outs") == "0");
}

TEST_CASE("twilio: a customer writing on WhatsApp and then by SMS from the same number is one customer",
          "[daemon][twilio][meta]") {
  TestDatabase db;
  DaemonOptions o = with_twilio(db.url());
  o.channels_extra += "  meta:\n    app_secrets: { secret: meta-secret }\n    verify_token: { secret: meta-verify }\n";
  o.env["SWITCHBOARD_SECRET_META_SECRET"] = "test_app_secret";
  o.env["SWITCHBOARD_SECRET_META_VERIFY"] = "verify-me";
  DaemonProcess d(o);
  auto wa = http_request(
      "POST", d.url("/webhooks/meta"),
      {"Content-Type: application/json",
       "X-Hub-Signature-256: sha256=090f5180a1c0a9a3f79df43cd067a86f4a0c9e249832a4afe7f0ec32ec720d7c"},
      fixture("meta", "whatsapp_text.json"));
  REQUIRE(wa.status == 200);
  REQUIRE(post_twilio(d, "/webhooks/twilio/sms?account=main", fixture("twilio", "inbound_sms.form"),
                      "GD+ajB1aPh8WF36RAtqyLuZ3WM0=").status == 200);
  CHECK(db.scalar("SELECT count(DISTINCT customer_id) FROM conversations") == "1");
  CHECK(db.scalar("SELECT string_agg(DISTINCT channel, ',' ORDER BY channel) FROM messages") == "sms,whatsapp");
  CHECK(db.scalar("SELECT count(*) FROM conversations") == "1");
}

TEST_CASE("twilio: SMS arriving while PostgreSQL is down are spooled, answered 200 and stored exactly once",
          "[daemon][twilio][faults]") {
  PrivateCluster pg;
  char tmpl[] = "/tmp/sbspool-XXXXXX";
  const std::string state = mkdtemp(tmpl);
  DaemonOptions o = with_twilio(pg.url());
  o.state_dir = state;
  auto d = std::make_unique<DaemonProcess>(o);
  REQUIRE(send_sms(*d, sid(100), "+48600000100", "Przed awarią bazy").status == 200);

  pg.stop();
  constexpr int kDuringOutage = 12;
  for (int i = 0; i < kDuringOutage; ++i) {
    auto r = send_sms(*d, sid(i), "+486000000" + std::to_string(10 + i % 4), "Wiadomość " + std::to_string(i));
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(r.body == kTwiml);
  }
  CHECK(send_sms(*d, sid(3), "+48600000013", "Wiadomość 3").status == 200);  // a redelivery, spooled too
  auto ready = http_request("GET", d->url("/readyz"));
  CHECK(ready.status == 503);
  CHECK(ready.body.find(R"("waiting":13)") != std::string::npos);
  CHECK(http_request("GET", d->url("/metrics")).body.find("switchboard_spool_waiting_requests 13") != std::string::npos);

  // The daemon restarts while the database is still down: the spool survives it.
  d->signal(SIGTERM);
  CHECK(d->wait_exit() == 0);
  o.database_url_unreachable = true;
  d = std::make_unique<DaemonProcess>(o);
  CHECK(d->wait_for_log("event=spool_waiting"));
  CHECK(send_sms(*d, sid(50), "+48600000050", "Po restarcie").status == 200);

  pg.start();
  bool drained = false;
  for (int i = 0; i < 200 && !drained; ++i) {
    auto r = http_request("GET", d->url("/readyz"));
    drained = r.status == 200 && r.body.find(R"("waiting":0)") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  CHECK(drained);
  CHECK(pg.scalar("SELECT count(*) || '/' || count(DISTINCT external_id) FROM messages WHERE channel = 'sms' AND "
                  "direction = 'in'") == std::to_string(kDuringOutage + 2) + "/" + std::to_string(kDuringOutage + 2));
  CHECK(d->log().find("event=spool_replayed") != std::string::npos);
  run_command("rm -rf " + state);
}
