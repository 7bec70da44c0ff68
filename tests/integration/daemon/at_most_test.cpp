// 'at_most' end to end: the pipeline answers routing's question from the outbox, inside the
// message's transaction, across the customer's conversations.
#include <catch2/catch.hpp>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard::testing;

namespace {

const char* kRules = R"(version: 1
queues: { support: {} }
templates:
  after_hours: "Dzień dobry {{customer.first_name | \"Państwo\"}}, odpowiemy rano."
rules:
  - name: night
    then: [ { reply: after_hours, at_most: once per 12h }, { enqueue: support } ]
)";

long post(const DaemonProcess& d, const std::string& id, const std::string& from) {
  return http_request("POST", d.url("/api/v1/inbound"),
                      {"Content-Type: application/json", std::string("Authorization: Bearer ") + DaemonProcess::kShopToken},
                      R"({"external_id":")" + id + R"(","from":{"address":")" + from +
                          R"(","name":"Jan Kowalski"},"text":"Halo"})")
      .status;
}

}  // namespace

TEST_CASE("at_most: a customer gets the same auto-reply once per window, across conversations",
          "[daemon][at_most]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRules;
  o.extra_config = "outbox: { workers: 0 }\n";
  DaemonProcess d(o);

  REQUIRE(post(d, "a-1", "jan@example.pl") == 200);
  CHECK(db.scalar("SELECT count(*) FROM outbox") == "1");
  CHECK(db.scalar("SELECT body FROM messages WHERE direction = 'out'") == "Dzień dobry Jan, odpowiemy rano.");

  REQUIRE(post(d, "a-2", "jan@example.pl") == 200);
  CHECK(db.scalar("SELECT count(*) FROM outbox") == "1");
  CHECK(db.scalar("SELECT decision->'suppressed_by_at_most'->>0 FROM audit ORDER BY id DESC LIMIT 1") ==
        "after_hours");

  // A new conversation of the same customer: still inside the window.
  db.exec("UPDATE conversations SET state = 'resolved', resolved_at = now()");
  REQUIRE(post(d, "a-3", "jan@example.pl") == 200);
  CHECK(db.scalar("SELECT count(*) FROM conversations") == "2");
  CHECK(db.scalar("SELECT count(*) FROM outbox") == "1");

  // Another customer is answered; and Jan again once the last reply is older than 12 hours.
  REQUIRE(post(d, "a-4", "anna@example.pl") == 200);
  CHECK(db.scalar("SELECT count(*) FROM outbox") == "2");
  db.exec("UPDATE outbox SET created_at = now() - interval '13 hours'");
  REQUIRE(post(d, "a-5", "jan@example.pl") == 200);
  CHECK(db.scalar("SELECT count(*) FROM outbox") == "3");
}
