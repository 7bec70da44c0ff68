// switchboard explain and replay from the command line.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

std::string examples() { return std::string(SWITCHBOARD_SOURCE_DIR) + "/deploy/examples/rules.yaml"; }

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = "/tmp/sbexplain-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("explain: shows the rule that fires, its conditions and rendered actions", "[cli][explain]") {
  auto [rc, out] = run_switchboard(
      "explain --rules " + examples() +
      " --message '{\"channel\":\"sms\",\"from\":{\"address\":\"+48600100200\"},\"text\":\"Halo, AWARIA prądu!\"}'"
      " --at 2027-03-29T23:00:00+02:00");
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("message: channel sms, at 2027-03-29T21:00:00.000000Z") != std::string::npos);
  CHECK(out.find("rule 'outage': fires") != std::string::npos);
  CHECK(out.find("[yes] text contains_any [awari*, \"nie działa\", outage, urgent]") != std::string::npos);
  CHECK(out.find("reply template=outage_ack text=\"Przyjęliśmy zgłoszenie awarii") != std::string::npos);
  CHECK(out.find("enqueue queue=urgent priority=urgent") != std::string::npos);
  CHECK(out.find("tag tag=outage") != std::string::npos);
}

TEST_CASE("explain: --json names the rule, every condition checked and the actions", "[cli][explain]") {
  std::string message = write_temp("m.json", R"({"from":{"address":"a@b.pl"},"text":"Chcę rozmawiać z konsultantem"})");
  auto [rc, out] =
      run_switchboard("explain --rules " + examples() + " --message @" + message + " --customer '{\"first_message\":false}' --json");
  INFO(out);
  REQUIRE(rc == 0);
  json::value v = json::parse(out);
  CHECK(v.at("rule").as_string() == "wants-a-human");
  const auto& conditions = v.at("conditions").as_array();
  REQUIRE(conditions.size() == 2);
  CHECK(conditions[0].at("rule").as_string() == "outage");
  CHECK(conditions[0].at("value").as_bool() == false);
  CHECK(conditions[1].at("value").as_bool() == true);
  const auto& actions = v.at("actions").as_array();
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].at("type").as_string() == "reply");
  CHECK(actions[1].at("queue").as_string() == "support");
  CHECK(actions[1].at("priority").as_string() == "high");
  std::remove(message.c_str());
}

TEST_CASE("explain: --at takes local times in the rules' zone, DST gaps and repeats included", "[cli][explain]") {
  std::string msg = " --message '{\"from\":{\"address\":\"x\"},\"text\":\"t\"}' --json --at ";
  auto at = [&](const std::string& when) {
    auto [rc, out] = run_switchboard("explain --rules " + examples() + msg + when);
    REQUIRE(rc == 0);
    return std::string(json::parse(out).at("at").as_string());
  };
  CHECK(at("2027-03-29T10:00") == "2027-03-29T08:00:00.000000Z");     // CEST
  CHECK(at("2027-01-04T10:00") == "2027-01-04T09:00:00.000000Z");     // CET
  CHECK(at("2027-03-28T02:30") == "2027-03-28T01:30:00.000000Z");     // the gap: 03:30 CEST
  CHECK(at("2027-10-31T02:30") == "2027-10-31T00:30:00.000000Z");     // repeated: the earlier
  CHECK(at("2027-10-31T02:30:00+01:00") == "2027-10-31T01:30:00.000000Z");
}

TEST_CASE("explain: no matching rule is not an error", "[cli][explain]") {
  std::string rules = write_temp("only-sms.yaml",
                                 "version: 1\nqueues: { q: {} }\nrules:\n  - name: sms-only\n"
                                 "    when: { channel: sms }\n    then: [ { enqueue: q } ]\n");
  auto [rc, out] = run_switchboard("explain --rules " + rules + " --message '{\"from\":{\"address\":\"x\"},\"text\":\"t\"}' --json");
  CHECK(rc == 0);
  CHECK(json::parse(out).at("rule").is_null());
  std::remove(rules.c_str());
}

TEST_CASE("explain: a template variable that renders as nothing gets a warning (issue 11)", "[cli][explain]") {
  std::string rules =
      write_temp("empty-variable.yaml",
                 "version: 1\nqueues: { q: {} }\ntemplates:\n"
                 "  info: \"Dzień dobry {{customer.first_name | 'Państwo'}}, rozmowa {{conversation.id}}.\"\n"
                 "rules:\n  - name: r\n    then: [ { reply: info }, { enqueue: q } ]\n");
  const std::string message = " --message '{\"from\":{\"address\":\"x\"},\"text\":\"t\"}'";
  auto [rc, out] = run_switchboard("explain --rules " + rules + message);
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("  reply template=info text=\"Dzień dobry Państwo, rozmowa .\"\n"
                 "    warning: variable {{conversation.id}} is empty here and renders as nothing; give it a fallback: "
                 "{{conversation.id | \"...\"}}\n"
                 "  enqueue queue=q") != std::string::npos);
  CHECK(out.find("first_name}} is empty") == std::string::npos);

  auto [json_rc, json_out] = run_switchboard("explain --rules " + rules + message + " --json");
  INFO(json_out);
  REQUIRE(json_rc == 0);
  const json::value parsed = json::parse(json_out);
  const auto& actions = parsed.at("actions").as_array();
  REQUIRE(actions.size() == 2);
  CHECK(actions[0].at("empty_variables") == json::array{"conversation.id"});
  CHECK(actions[1].at("empty_variables") == json::array{});
  std::remove(rules.c_str());
}

TEST_CASE("explain: automatic: unsure mail matches its condition and gets no reply", "[cli][explain]") {
  std::string rules = write_temp("unsure.yaml",
                                 "version: 1\nqueues: { robots: {}, people: {} }\ntemplates: { thanks: \"Dziękujemy.\" }\n"
                                 "rules:\n  - name: maybe-robot\n    when: { automatic: unsure }\n"
                                 "    then: [ { enqueue: robots }, { reply: thanks } ]\n"
                                 "  - name: person\n    when: { automatic: no }\n    then: [ { enqueue: people } ]\n");
  const std::string base = "explain --rules " + rules + " --message '{\"channel\":\"email\",\"from\":{\"address\":\"x@example.pl\"},\"text\":\"t\"";
  auto [rc, out] = run_switchboard(base + ",\"automatic\":\"unsure\"}'");
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("automatic: unsure") != std::string::npos);
  CHECK(out.find("decision: rule 'maybe-robot'") != std::string::npos);
  CHECK(out.find("(replies held back: automatic: unsure") != std::string::npos);
  auto [json_rc, json_out] = run_switchboard(base + ",\"automatic\":\"unsure\"}' --json");
  REQUIRE(json_rc == 0);
  const json::value parsed = json::parse(json_out);
  CHECK(parsed.at("automatic") == "unsure");
  CHECK(parsed.at("replies_held_back") == "automatic: unsure");
  auto [person_rc, person_out] = run_switchboard(base + "}' --json");
  REQUIRE(person_rc == 0);
  CHECK(json::parse(person_out).at("rule") == "person");
  CHECK(run_switchboard(base + ",\"automatic\":5}'").first == 2);
  // The rules file refuses anything else.
  std::string bad = write_temp("bad-automatic.yaml", "version: 1\nqueues: { q: {} }\nrules:\n  - name: r\n"
                                                     "    when: { automatic: yes }\n    then: [ { enqueue: q } ]\n");
  auto [check_rc, check_out] = run_switchboard("check-rules " + bad);
  CHECK(check_rc == 1);
  CHECK(check_out.find("error: 'automatic' must be 'unsure' or 'no'") != std::string::npos);
  std::remove(rules.c_str());
  std::remove(bad.c_str());
}

TEST_CASE("explain: rules errors exit 1, bad usage exits 2", "[cli][explain]") {
  std::string bad = write_temp("bad.yaml", "version: 1\nrules:\n  - name: x\n    then: [ { reply: nope } ]\n");
  auto [rc, out] = run_switchboard("explain --rules " + bad + " --message '{\"from\":{\"address\":\"x\"},\"text\":\"t\"}'");
  CHECK(rc == 1);
  CHECK(out.find(bad + ":4:22: error: undefined template 'nope'") != std::string::npos);
  CHECK(run_switchboard("explain --rules " + examples()).first == 2);
  CHECK(run_switchboard("explain --rules " + examples() + " --message '{\"text\":\"t\"}'").first == 2);
  CHECK(run_switchboard("explain --rules " + examples() + " --message '{\"from\":{\"address\":\"x\"},\"text\":\"t\"}' --at yesterday")
            .first == 2);
  CHECK(run_switchboard("explain --rules " + examples() +
                        " --message '{\"channel\":\"fax\",\"from\":{\"address\":\"x\"},\"text\":\"t\"}'")
            .first == 2);
  std::remove(bad.c_str());
}

TEST_CASE("replay: candidate rules are compared with the recorded decisions", "[cli][replay]") {
  TestDatabase db;
  {
    DaemonOptions o;
    o.database_url = db.url();
    o.rules_yaml = kTestRules;
    o.extra_config = "outbox: { workers: 0 }\n";
    DaemonProcess d(o);
    int n = 0;
    for (std::string text : {"Awaria! Nic nie działa", "Poproszę konsultanta", "Dzień dobry"}) {
      auto r = http_request("POST", d.url("/api/v1/inbound"),
                            {"Content-Type: application/json",
                             std::string("Authorization: Bearer ") + DaemonProcess::kShopToken},
                            R"({"external_id":"r-)" + std::to_string(n) + R"(","from":{"address":"c)" +
                                std::to_string(n) + R"(@example.pl"},"text":")" + text + R"("})");
      REQUIRE(r.status == 200);
      ++n;
    }
  }
  std::string config = write_temp("replay.yaml", "rules: unused.yaml\n");
  std::string candidate = write_temp("candidate.yaml",
                                     "version: 1\nqueues: { support: {} }\nrules:\n  - name: everything\n"
                                     "    then: [ { enqueue: support } ]\n");
  std::map<std::string, std::string> env = {{"SWITCHBOARD_DATABASE_URL", db.url()}};

  auto [rc, out] = run_switchboard("replay --config " + config + " --rules " + candidate +
                                       " --since 2000-01-01T00:00:00Z --json", env);
  INFO(out);
  REQUIRE(rc == 0);
  json::value v = json::parse(out);
  CHECK(v.at("replayed").as_int64() == 3);
  CHECK(v.at("changed").as_int64() == 3);
  const auto& groups = v.at("groups").as_array();
  REQUIRE(groups.size() == 3);
  for (const auto& g : groups) {
    CHECK(g.at("to").as_string() == "everything");
    CHECK(g.at("count").as_int64() == 1);
    CHECK(g.at("examples").as_array().size() == 1);
  }

  std::string recorded = write_temp("recorded.yaml", kTestRules);
  auto same = run_switchboard("replay --config " + config + " --rules " + recorded + " --since 2000-01-01T00:00:00Z", env);
  std::remove(recorded.c_str());
  CHECK(same.first == 0);
  CHECK(same.second.find(": 0 would route differently") != std::string::npos);
  CHECK(same.second.find("replayed 3 inbound messages") != std::string::npos);

  auto future = run_switchboard("replay --config " + config + " --rules " + candidate +
                                    " --since 2100-01-01T00:00:00Z --json", env);
  CHECK(json::parse(future.second).at("replayed").as_int64() == 0);
  CHECK(run_switchboard("replay --config " + config + " --rules " + candidate, env).first == 2);
  std::remove(config.c_str());
  std::remove(candidate.c_str());
}
