// GET /metrics, and SIGHUP reloading the rules: a valid file replaces them, an invalid one is
// rejected with its errors logged while the old rules keep working.
#include <catch2/catch.hpp>

#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <thread>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

const char* kRulesA =
    "version: 1\nqueues: { a: {}, b: {} }\nrules:\n  - name: rule-a\n    then: [ { enqueue: a } ]\n";
const char* kRulesB =
    "version: 1\nqueues: { a: {}, b: {} }\nrules:\n  - name: rule-b\n    then: [ { enqueue: b } ]\n";

HttpResult post(const DaemonProcess& d, const std::string& id, const std::string& text = "Dzień dobry") {
  return http_request("POST", d.url("/api/v1/inbound"),
                      {"Content-Type: application/json", std::string("Authorization: Bearer ") + DaemonProcess::kShopToken},
                      R"({"external_id":")" + id + R"(","from":{"address":"jan@example.pl"},"text":")" + text + R"("})");
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: Prometheus text with inbound results, rules hash and outbox backlog", "[daemon][metrics]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRulesA;
  o.extra_config = "outbox: { workers: 0 }\n";
  DaemonProcess d(o);
  REQUIRE(post(d, "m-1").status == 200);
  REQUIRE(post(d, "m-1").status == 200);  // duplicate
  REQUIRE(post(d, "m-2", "").status == 400);

  auto m = http_request("GET", d.url("/metrics"));
  REQUIRE(m.status == 200);
  CHECK(m.headers.at("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  INFO(m.body);
  CHECK(has_line(m.body, R"(switchboard_inbound_messages_total{channel="api",result="stored"} 1)"));
  CHECK(has_line(m.body, R"(switchboard_inbound_messages_total{channel="api",result="duplicate"} 1)"));
  // A refused request is counted by its endpoint, not as a message of a channel (issue 11).
  CHECK(has_line(m.body, R"(switchboard_rejected_requests_total{endpoint="api",reason="invalid_field"} 1)"));
  CHECK(m.body.find(R"(result="rejected")") == std::string::npos);
  // Counters with a fixed set of labels are there from the start, at 0 (issue 11).
  CHECK(has_line(m.body, R"(switchboard_spool_requests_total{event="spooled"} 0)"));
  CHECK(has_line(m.body, R"(switchboard_spool_requests_total{event="replayed"} 0)"));
  CHECK(has_line(m.body, R"(switchboard_spool_requests_total{event="rejected"} 0)"));
  CHECK(has_line(m.body, "switchboard_database_up 1"));
  std::string hash = db.scalar("SELECT rules_hash FROM audit LIMIT 1");
  CHECK(has_line(m.body, R"(switchboard_rules_info{hash=")" + hash + R"("} 1)"));
  CHECK(m.body.find("# TYPE switchboard_http_responses_total counter") != std::string::npos);
}

TEST_CASE("reload: SIGHUP swaps valid rules and keeps the old ones when the new file is invalid",
          "[daemon][reload]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRulesA;
  o.extra_config = "outbox: { workers: 0 }\n";
  DaemonProcess d(o);
  REQUIRE(post(d, "r-1").status == 200);
  CHECK(db.scalar("SELECT rule FROM audit ORDER BY id DESC LIMIT 1") == "rule-a");

  std::ofstream(d.dir() + "/rules.yaml") << kRulesB;
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("event=rules_reloaded"));
  REQUIRE(post(d, "r-2").status == 200);
  CHECK(db.scalar("SELECT rule FROM audit ORDER BY id DESC LIMIT 1") == "rule-b");

  std::ofstream(d.dir() + "/rules.yaml") << "version: 1\nrules:\n  - name: broken\n    then: [ { enqueue: nowhere } ]\n";
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("event=rules_reload_failed"));
  CHECK(d.log().find("undefined queue 'nowhere'") != std::string::npos);
  REQUIRE(post(d, "r-3").status == 200);
  CHECK(db.scalar("SELECT rule FROM audit ORDER BY id DESC LIMIT 1") == "rule-b");
  auto m = http_request("GET", d.url("/metrics"));
  CHECK(has_line(m.body, "switchboard_rules_reload_failures_total 1"));
  CHECK(http_request("GET", d.url("/healthz")).status == 200);
}
