// Meta webhooks end to end: the verification handshake, signed Messenger and WhatsApp
// deliveries stored once, forged ones refused before anything is parsed or stored.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "tests/support/callback_server.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR) + "/protocols/fixtures/meta/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Signature vectors of protocols/fixtures/meta/SIGNATURES.md (app secret test_app_secret).
const char* kMessengerTextSignature = "sha256=cee9629566147fb153e79edc09b6620c5ef9dd61cf1d56823ac0e65e2028d9e0";
const char* kWhatsappTextSignature = "sha256=090f5180a1c0a9a3f79df43cd067a86f4a0c9e249832a4afe7f0ec32ec720d7c";

DaemonOptions with_meta(const TestDatabase& db) {
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kTestRules;
  o.extra_config = "outbox: { workers: 0 }\n";
  o.channels_extra = "  meta:\n    app_secrets: { secret: meta-secret }\n    verify_token: { secret: meta-verify }\n";
  o.env = {{"SWITCHBOARD_SECRET_META_SECRET", "test_app_secret"}, {"SWITCHBOARD_SECRET_META_VERIFY", "verify-me"}};
  return o;
}

HttpResult post_meta(const DaemonProcess& d, const std::string& body, const std::string& signature) {
  std::vector<std::string> headers = {"Content-Type: application/json"};
  if (!signature.empty()) headers.push_back("X-Hub-Signature-256: " + signature);
  return http_request("POST", d.url("/webhooks/meta"), headers, body);
}

}  // namespace

TEST_CASE("meta: the verification handshake echoes the challenge only for the right token", "[daemon][meta]") {
  TestDatabase db;
  DaemonProcess d(with_meta(db));
  auto ok = http_request("GET", d.url("/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me"));
  CHECK(ok.status == 200);
  CHECK(ok.body == "1158201444");
  CHECK(http_request("GET", d.url("/webhooks/meta?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope")).status == 403);
  CHECK(http_request("GET", d.url("/webhooks/meta?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me")).status ==
        403);
}

TEST_CASE("meta: signed Messenger and WhatsApp messages are stored once", "[daemon][meta]") {
  TestDatabase db;
  DaemonProcess d(with_meta(db));
  auto first = post_meta(d, fixture("messenger_text.json"), kMessengerTextSignature);
  CHECK(first.status == 200);
  CHECK(first.body.empty());
  CHECK(post_meta(d, fixture("messenger_text.json"), kMessengerTextSignature).status == 200);  // redelivery
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'in'") == "1");
  CHECK(db.scalar("SELECT channel || '/' || account || '/' || external_id FROM messages") ==
        "messenger/104857600012345/m_Gx1pQm8bKx3E2vYw7oRk0A-text-0001");
  CHECK(db.scalar("SELECT body FROM messages") == "Dzień dobry, czy jesteście otwarci w sobotę?");
  CHECK(db.scalar("SELECT kind || ':' || value FROM identities") == "messenger_psid:7012345678901234");

  CHECK(post_meta(d, fixture("whatsapp_text.json"), kWhatsappTextSignature).status == 200);
  CHECK(db.scalar("SELECT body FROM messages WHERE channel = 'whatsapp'") == "Dzień dobry, gdzie jest moja paczka?");
  CHECK(db.scalar("SELECT count(*) FROM identities WHERE kind = 'phone' AND value = '+48601234567'") == "1");
}

TEST_CASE("meta: a forged or missing signature is 403 and stores nothing", "[daemon][meta]") {
  TestDatabase db;
  DaemonProcess d(with_meta(db));
  CHECK(post_meta(d, fixture("whatsapp_text.json"), kMessengerTextSignature).status == 403);
  CHECK(post_meta(d, fixture("messenger_text.json") + "\n", kMessengerTextSignature).status == 403);
  CHECK(post_meta(d, fixture("messenger_text.json"), "").status == 403);
  CHECK(post_meta(d, "{not json", kMessengerTextSignature).status == 403);
  CHECK(db.scalar("SELECT count(*) FROM messages") == "0");
  CHECK(d.log().find("reason=bad_signature") != std::string::npos);
  // Counted by the endpoint: a refused webhook's channel (messenger or whatsapp) is not known (issue 11).
  const std::string metrics = http_request("GET", d.url("/metrics")).body;
  INFO(metrics);
  CHECK(metrics.find("\nswitchboard_rejected_requests_total{endpoint=\"meta\",reason=\"bad_signature\"} 4\n") !=
        std::string::npos);
  CHECK(metrics.find("channel=\"meta\"") == std::string::npos);
}

TEST_CASE("meta: a WhatsApp message to a phone_number_id that is not configured is stored, not routed (issue 11)",
          "[daemon][meta]") {
  TestDatabase db;
  DaemonOptions o = with_meta(db);
  o.channels_extra += "    whatsapp_numbers:\n      '106540352299999': { access_token: { secret: wa-token } }\n";
  o.env["SWITCHBOARD_SECRET_WA_TOKEN"] = "wa-token";
  DaemonProcess d(o);
  // whatsapp_text.json is addressed to phone_number_id 106540352242922; the rules would answer it.
  REQUIRE(post_meta(d, fixture("whatsapp_text.json"), kWhatsappTextSignature).status == 200);
  CHECK(db.scalar("SELECT account || ': ' || body FROM messages WHERE channel = 'whatsapp'") ==
        "106540352242922: Dzień dobry, gdzie jest moja paczka?");
  CHECK(db.scalar("SELECT count(*) FROM outbox") == "0");
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'out'") == "0");
  const std::string not_routed = db.scalar("SELECT decision->>'not_routed' FROM audit");
  CHECK(not_routed.find("whatsapp phone_number_id 106540352242922 is not configured") != std::string::npos);
  CHECK(d.wait_for_log("event=whatsapp_number_not_configured phone_number_id=106540352242922"));
  CHECK(d.log().find("level=warn event=whatsapp_number_not_configured") != std::string::npos);
  const std::string metrics = http_request("GET", d.url("/metrics")).body;
  INFO(metrics);
  CHECK(metrics.find(R"(unconfigured_account_messages_total{account="106540352242922",channel="whatsapp"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(switchboard_inbound_messages_total{channel="whatsapp",result="stored"} 1)") !=
        std::string::npos);
}

TEST_CASE("meta: without channels.meta in the config the webhook path is 404", "[daemon][meta]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kTestRules;
  DaemonProcess d(o);
  CHECK(http_request("GET", d.url("/webhooks/meta?hub.mode=subscribe")).status == 404);
}

TEST_CASE("meta: a signed event of a kind we do not handle is acknowledged, logged and not stored",
          "[daemon][meta]") {
  TestDatabase db;
  DaemonProcess d(with_meta(db));
  for (const std::string body : {R"({"object":"instagram","entry":[{"id":"1","time":1,"messaging":[]}]})",
                                 R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":{"event":"APPROVED"}}]}]})"}) {
    auto r = post_meta(d, body, "sha256=" + hmac_sha256_hex("test_app_secret", body));
    CHECK(r.status == 200);
  }
  CHECK(d.wait_for_log("event=webhook_ignored"));
  CHECK(db.scalar("SELECT count(*) FROM messages") == "0");
}
