// The notify action end to end: a signed POST of the rendered note, through the outbox.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <thread>

#include "tests/support/callback_server.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

std::string rules_for(const std::string& url) {
  return "version: 1\nqueues: { urgent: {} }\ntemplates:\n  ops_note: \"Awaria zgłoszona przez {{customer.name | \\\"klienta\\\"}}\"\n"
         "rules:\n  - name: outage\n    when: { text: { contains_any: [awari*] } }\n"
         "    then: [ { notify: \"" + url + "\", template: ops_note }, { enqueue: urgent } ]\n";
}

long post(const DaemonProcess& d, const std::string& id) {
  return http_request("POST", d.url("/api/v1/inbound"),
                      {"Content-Type: application/json", std::string("Authorization: Bearer ") + DaemonProcess::kShopToken},
                      R"({"external_id":")" + id + R"(","from":{"address":"jan@example.pl","name":"Jan Kowalski"},"text":"Awaria!"})")
      .status;
}

bool eventually(const TestDatabase& db, const std::string& sql, const std::string& want) {
  for (int i = 0; i < 200; ++i) {
    if (db.scalar(sql) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

}  // namespace

TEST_CASE("notify: the rule's note is POSTed signed to its URL through the outbox", "[daemon][notify]") {
  TestDatabase db;
  CallbackServer cb;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = rules_for(cb.url());
  o.extra_config = "notify: { secrets: { secret: callback-secret } }\noutbox: { workers: 1, sweep_interval: 200ms }\n";
  DaemonProcess d(o);
  REQUIRE(post(d, "n-1") == 200);
  REQUIRE(cb.wait_for(1, std::chrono::seconds{10}));
  auto got = cb.received().front();
  CHECK(got.signature == "sha256=" + hmac_sha256_hex(DaemonProcess::kCallbackSecret, got.body));
  json::value body = json::parse(got.body);
  CHECK(body.at("text").as_string() == "Awaria zgłoszona przez Jan Kowalski");
  CHECK(body.at("rule").as_string() == "outage");
  CHECK(body.at("template").as_string() == "ops_note");
  CHECK(body.at("delivery_id").as_string() == got.delivery);
  CHECK(eventually(db, "SELECT channel || '/' || state FROM outbox", "notify/delivered"));
  // A note is not a message of the conversation.
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'out'") == "0");
  // Counted by kind: "notify" is not a channel name (CONTRACT.md), so it never is a channel label.
  const std::string metrics = http_request("GET", d.url("/metrics")).body;
  CHECK(metrics.find(R"(switchboard_outbox_sends_total{channel="",kind="notify",result="delivered"} 1)") !=
        std::string::npos);
  CHECK(metrics.find(R"(channel="notify")") == std::string::npos);
}

TEST_CASE("notify: without a notify secret the note fails visibly, nothing is sent unsigned", "[daemon][notify]") {
  TestDatabase db;
  CallbackServer cb;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = rules_for(cb.url());
  o.extra_config = "outbox: { workers: 1, sweep_interval: 200ms }\n";
  DaemonProcess d(o);
  REQUIRE(post(d, "n-2") == 200);
  CHECK(eventually(db, "SELECT state FROM outbox", "failed"));
  CHECK(db.scalar("SELECT last_error FROM outbox") == "no notify secret is configured (notify.secrets in the config)");
  CHECK(cb.received().empty());
}
