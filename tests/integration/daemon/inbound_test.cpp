// End to end: the switchboard binary against a real PostgreSQL, over HTTP.
// POST /api/v1/inbound -> stored, decided, reply queued in one transaction; and every bad input.
#include <catch2/catch.hpp>

#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

DaemonOptions options_for(const TestDatabase& db) {
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kTestRules;
  o.extra_config = "outbox: { workers: 0 }\n";  // replies stay queued: these tests look at the inbound side
  return o;
}

HttpResult post_inbound(const DaemonProcess& d, const std::string& body,
                        const std::string& token = DaemonProcess::kShopToken) {
  std::vector<std::string> headers = {"Content-Type: application/json"};
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  return http_request("POST", d.url("/api/v1/inbound"), headers, body);
}

std::string message(const std::string& external_id, const std::string& text,
                    const std::string& from = "jan@example.pl") {
  json::object o;
  o["external_id"] = external_id;
  o["from"] = json::object{{"address", from}, {"name", "Jan Kowalski"}};
  o["text"] = text;
  return json::serialize(o);
}

std::string count(const TestDatabase& db, const std::string& table, const std::string& where = "true") {
  return db.scalar("SELECT count(*) FROM " + table + " WHERE " + where);
}

void check_error_body(const HttpResult& r, long status, const std::string& code) {
  CHECK(r.status == status);
  CHECK(r.headers.count("content-type"));
  CHECK(r.headers.at("content-type") == "application/json");
  CHECK(r.headers.count("x-request-id"));
  json::value v = json::parse(r.body);
  CHECK(v.at("error").at("code").as_string() == code);
  CHECK_FALSE(v.at("error").at("message").as_string().empty());
}

}  // namespace

TEST_CASE("daemon: an inbound message is stored, routed and its reply queued", "[daemon][inbound]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));

  auto r = post_inbound(d, message("ord-1-msg-1", "Dzień dobry, nie działa mi logowanie"));
  REQUIRE(r.status == 200);
  json::value v = json::parse(r.body);
  CHECK(v.at("duplicate").as_bool() == false);
  std::string conversation = json::value_to<std::string>(v.at("conversation_id"));
  std::string message_id = json::value_to<std::string>(v.at("message_id"));
  CHECK_FALSE(json::value_to<std::string>(v.at("customer_id")).empty());

  // The example rules: "nie działa" is an outage -> reply, urgent queue, tag.
  CHECK(db.scalar("SELECT queue || '/' || priority FROM conversations WHERE id = " + conversation) == "urgent/urgent");
  CHECK(db.scalar("SELECT rule FROM audit WHERE message_id = " + message_id) == "outage");
  CHECK(count(db, "outbox", "state = 'queued'") == "1");
  CHECK(db.scalar("SELECT length(rules_hash) FROM audit") == "64");

  auto list = http_request("GET", d.url("/api/v1/conversations/" + conversation + "/messages"),
                           {std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken});
  REQUIRE(list.status == 200);
  json::value body = json::parse(list.body);
  const auto& messages = body.at("messages").as_array();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].at("direction").as_string() == "in");
  CHECK(messages[0].at("text").as_string() == "Dzień dobry, nie działa mi logowanie");
  CHECK(messages[1].at("direction").as_string() == "out");
  CHECK(messages[1].at("text").as_string() ==
        "Przyjęliśmy zgłoszenie awarii i zajmiemy się nim w pierwszej kolejności.");
  CHECK(messages[1].at("delivery_state").as_string() == "queued");
  CHECK(body.at("conversation").at("tags").as_array().size() == 1);

  // The same customer writes again: same conversation, the default rule this time.
  auto again = post_inbound(d, message("ord-1-msg-2", "Jeszcze jedno pytanie"));
  REQUIRE(again.status == 200);
  CHECK(json::value_to<std::string>(json::parse(again.body).at("conversation_id")) == conversation);
  CHECK(count(db, "outbox") == "1");
}

TEST_CASE("daemon: the same message twice is stored once and answered as a duplicate", "[daemon][inbound]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));
  auto body = message("dup-1", "Chcę rozmawiać z konsultantem");
  auto first = post_inbound(d, body);
  auto second = post_inbound(d, body);
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  json::value a = json::parse(first.body), b = json::parse(second.body);
  CHECK(b.at("duplicate").as_bool() == true);
  CHECK(a.at("message_id") == b.at("message_id"));
  CHECK(a.at("conversation_id") == b.at("conversation_id"));
  CHECK(a.at("customer_id") == b.at("customer_id"));
  CHECK(count(db, "messages", "direction = 'in'") == "1");
  CHECK(count(db, "outbox") == "1");
  CHECK(count(db, "audit") == "1");
}

TEST_CASE("daemon: 50 concurrent deliveries of 10 messages store exactly 10", "[daemon][inbound]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));
  std::vector<std::thread> threads;
  std::vector<long> statuses(50);
  for (int i = 0; i < 50; ++i)
    threads.emplace_back([&, i] {
      // Each of the 10 external ids always comes with the same text and sender (3 senders).
      statuses[i] = post_inbound(d, message("burst-" + std::to_string(i % 10), "wiadomość " + std::to_string(i % 10),
                                            "customer" + std::to_string((i % 10) % 3) + "@example.pl"))
                        .status;
    });
  for (auto& t : threads) t.join();
  for (long s : statuses) CHECK(s == 200);
  CHECK(count(db, "messages", "direction = 'in'") == "10");
  CHECK(count(db, "customers") == "3");
  CHECK(count(db, "conversations") == "3");
  CHECK(count(db, "audit") == "10");
}

TEST_CASE("daemon: the same external_id with other content is 409 and changes nothing", "[daemon][inbound]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));
  REQUIRE(post_inbound(d, message("conflict-1", "pierwsza treść")).status == 200);
  auto before = db.scalar("SELECT count(*) || '/' || (SELECT count(*) FROM outbox) || '/' || "
                          "(SELECT count(*) FROM audit) FROM messages");
  auto r = post_inbound(d, message("conflict-1", "zupełnie inna treść"));
  check_error_body(r, 409, "external_id_conflict");
  auto other_sender = post_inbound(d, message("conflict-1", "pierwsza treść", "ktos@example.pl"));
  check_error_body(other_sender, 409, "external_id_conflict");
  CHECK(db.scalar("SELECT count(*) || '/' || (SELECT count(*) FROM outbox) || '/' || "
                  "(SELECT count(*) FROM audit) FROM messages") == before);
  CHECK(db.scalar("SELECT body FROM messages WHERE external_id = 'conflict-1'") == "pierwsza treść");
  CHECK(d.log().find("reason=external_id_conflict") != std::string::npos);
}

TEST_CASE("daemon: bad input gets its status, a JSON error and a log line, and nothing is stored",
          "[daemon][inbound]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));

  check_error_body(post_inbound(d, "{\"external_id\": "), 400, "invalid_json");
  check_error_body(post_inbound(d, "{\"external_id\":\"x\",\"from\":{\"address\":\"a@b.pl\"},\"text\":\"\xc3\x28\"}"),
                   400, "invalid_utf8");
  check_error_body(post_inbound(d, R"({"from":{"address":"a@b.pl"},"text":"t"})"), 400, "missing_field");

  auto no_token = post_inbound(d, message("t-1", "x"), "");
  check_error_body(no_token, 401, "missing_token");
  CHECK(no_token.headers.at("www-authenticate") == "Bearer");
  check_error_body(post_inbound(d, message("t-2", "x"), "wrong-token"), 401, "unknown_token");

  auto other_account = post_inbound(
      d, R"({"account":"shop","external_id":"t-3","from":{"address":"a@b.pl"},"text":"x"})", DaemonProcess::kOtherToken);
  check_error_body(other_account, 403, "account_forbidden");

  std::string huge = message("big-1", std::string(1024 * 1024 + 10, 'a'));
  auto too_large = post_inbound(d, huge);
  check_error_body(too_large, 413, "payload_too_large");
  CHECK(too_large.headers.count("connection"));

  CHECK(count(db, "messages") == "0");
  CHECK(count(db, "customers") == "0");
  std::string log = d.log();
  CHECK(log.find("reason=invalid_json") != std::string::npos);
  CHECK(log.find("reason=unknown_token") != std::string::npos);
  CHECK(log.find("reason=account_forbidden") != std::string::npos);
  CHECK(log.find("wrong-token") == std::string::npos);  // tokens are never logged
  CHECK(log.find(DaemonProcess::kShopToken) == std::string::npos);

  // The daemon is still serving.
  CHECK(http_request("GET", d.url("/healthz")).status == 200);
}

TEST_CASE("daemon: request ids are echoed when valid and replaced otherwise", "[daemon][http]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));
  auto mine = http_request("GET", d.url("/healthz"), {"X-Request-Id: abc-123.X_y"});
  CHECK(mine.headers.at("x-request-id") == "abc-123.X_y");
  auto bad = http_request("GET", d.url("/healthz"), {"X-Request-Id: has spaces in it"});
  CHECK(bad.headers.at("x-request-id") != "has spaces in it");
  CHECK_FALSE(bad.headers.at("x-request-id").empty());
  auto r = post_inbound(d, "nope");
  CHECK(d.log().find("req=" + r.headers.at("x-request-id")) != std::string::npos);
}

TEST_CASE("daemon: health, readiness and unknown paths", "[daemon][http]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));
  auto health = http_request("GET", d.url("/healthz"));
  CHECK(health.status == 200);
  CHECK(health.body == R"({"status":"ok"})");
  auto ready = http_request("GET", d.url("/readyz"));
  CHECK(ready.status == 200);
  json::value v = json::parse(ready.body);
  CHECK(v.at("checks").at("database").at("state").as_string() == "up");
  check_error_body(http_request("GET", d.url("/nowhere")), 404, "not_found");
  check_error_body(http_request("GET", d.url("/api/v1/inbound")), 405, "method_not_allowed");
}

TEST_CASE("daemon: the admin API needs an admin token and knows unknown conversations", "[daemon][api]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));
  check_error_body(http_request("GET", d.url("/api/v1/conversations/1/messages")), 401, "missing_token");
  check_error_body(http_request("GET", d.url("/api/v1/conversations/1/messages"),
                                {std::string("Authorization: Bearer ") + DaemonProcess::kShopToken}),
                   401, "unknown_token");
  std::string admin = std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken;
  check_error_body(http_request("GET", d.url("/api/v1/conversations/424242/messages"), {admin}), 404,
                   "conversation_not_found");
  check_error_body(http_request("GET", d.url("/api/v1/conversations/abc"), {admin}), 404, "conversation_not_found");
}

TEST_CASE("daemon: with the database unreachable it answers 503 with Retry-After", "[daemon][faults]") {
  DaemonOptions o;
  o.database_url = "postgresql://switchboard@127.0.0.1:1/none?connect_timeout=1";
  o.rules_yaml = kTestRules;
  o.database_url_unreachable = true;
  DaemonProcess d(o);
  auto ready = http_request("GET", d.url("/readyz"));
  CHECK(ready.status == 503);
  CHECK(json::parse(ready.body).at("checks").at("database").at("state").as_string() == "down");
  auto r = post_inbound(d, message("down-1", "halo"));
  check_error_body(r, 503, "database_unavailable");
  CHECK(r.headers.count("retry-after"));
  CHECK(http_request("GET", d.url("/healthz")).status == 200);
}

TEST_CASE("daemon: SIGTERM stops the daemon with exit code 0", "[daemon][signals]") {
  TestDatabase db;
  DaemonProcess d(options_for(db));
  REQUIRE(post_inbound(d, message("term-1", "halo")).status == 200);
  d.signal(SIGTERM);
  CHECK(d.wait_exit() == 0);
  CHECK(d.log().find("event=stopped") != std::string::npos);
}
