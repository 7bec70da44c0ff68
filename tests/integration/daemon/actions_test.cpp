// The rules' later actions end to end: page, assign, set_priority, set_language and close are
// written with the message; "messages since the last human reply" follows agent replies.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

const char* kRules = R"(version: 1
timezone: Europe/Warsaw
people:
  anna: { name: Anna Nowak, phone: "+48600100200", email: anna@example.pl }
  piotr: { name: Piotr Wiśniewski, phone: "+48600100300", email: piotr@example.pl }
queues: { support: {} }
oncall:
  night: { rotation: [anna, piotr], ack_within: 10m, then: [sms, email, next] }
rules:
  - name: outage
    when: { text: { contains_any: [awaria] } }
    then: [ { page: night }, { set_priority: urgent }, { assign: anna } ]
  - name: english
    when: { text: { contains_any: [english] } }
    then: [ { set_language: en } ]
  - name: bye
    when: { text: { contains_any: [koniec] } }
    then: [ { close: true } ]
  - name: nagging
    when: { since_human_reply: { messages_at_least: 3 } }
    then: [ { tag: waiting }, { enqueue: support, priority: high } ]
  - name: default
    then: [ { enqueue: support } ]
)";

HttpResult post(const DaemonProcess& d, const std::string& id, const std::string& text) {
  return http_request("POST", d.url("/api/v1/inbound"),
                      {"Content-Type: application/json", std::string("Authorization: Bearer ") + DaemonProcess::kShopToken},
                      R"({"external_id":")" + id + R"(","from":{"address":"jan@example.pl"},"text":")" + text + R"("})");
}

std::string last_rule(const TestDatabase& db) { return db.scalar("SELECT rule FROM audit ORDER BY id DESC LIMIT 1"); }

}  // namespace

TEST_CASE("actions: page, assign, priority, language and close are stored with the message", "[daemon][actions]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRules;
  o.extra_config = "outbox: { workers: 0 }\n";
  DaemonProcess d(o);

  auto first = post(d, "x-1", "Awaria serwera");
  REQUIRE(first.status == 200);
  std::string conversation = json::value_to<std::string>(json::parse(first.body).at("conversation_id"));
  CHECK(last_rule(db) == "outage");
  CHECK(db.scalar("SELECT count(*) FROM pages WHERE state = 'open' AND schedule = 'night'") == "1");
  std::string person = db.scalar("SELECT person FROM pages");
  CHECK((person == "anna" || person == "piotr"));
  CHECK(db.scalar("SELECT jsonb_array_length(steps) FROM pages") == "4");
  CHECK(db.scalar("SELECT steps->0->>'login' FROM pages") == person);
  CHECK(db.scalar("SELECT extract(epoch FROM ack_within)::int FROM pages") == "600");
  CHECK(db.scalar("SELECT priority || '/' || assignee FROM conversations") == "urgent/anna");

  REQUIRE(post(d, "x-2", "English please").status == 200);
  CHECK(db.scalar("SELECT language FROM customers") == "en");

  // The third inbound message without a human reply.
  REQUIRE(post(d, "x-3", "Halo?").status == 200);
  CHECK(last_rule(db) == "nagging");
  CHECK(db.scalar("SELECT 'waiting' = ANY (tags) FROM conversations") == "t");

  // An agent answers: the count starts again.
  auto reply = http_request("POST", d.url("/api/v1/conversations/" + conversation + "/messages"),
                            {std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken}, R"({"text":"Już sprawdzamy."})");
  REQUIRE(reply.status == 201);
  CHECK(db.scalar("SELECT inbound_since_human_reply FROM conversations") == "0");
  REQUIRE(post(d, "x-4", "Dziękuję").status == 200);
  CHECK(last_rule(db) == "default");

  REQUIRE(post(d, "x-5", "To koniec").status == 200);
  CHECK(last_rule(db) == "bye");
  CHECK(db.scalar("SELECT state || ' ' || (resolved_at IS NOT NULL) FROM conversations") == "resolved true");
  REQUIRE(post(d, "x-6", "Jeszcze jedno").status == 200);
  CHECK(db.scalar("SELECT count(*) FROM conversations") == "2");
}
