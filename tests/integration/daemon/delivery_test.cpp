// Replies leave reliably: the outbox worker, signed API callbacks with retries, agent replies,
// and two daemons sharing one database.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/callback_server.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

const char* kFastOutbox =
    "outbox: { workers: 2, sweep_interval: 200ms, retry: { base: 100ms, cap: 400ms, max_attempts: 3 } }\n";

DaemonOptions with_callback(const TestDatabase& db, const CallbackServer& cb) {
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kTestRules;
  o.callback_url = cb.url();
  o.extra_config = kFastOutbox;
  return o;
}

HttpResult post_inbound(const DaemonProcess& d, const std::string& external_id, const std::string& text,
                        const std::string& from = "jan@example.pl") {
  json::object o;
  o["external_id"] = external_id;
  o["from"] = json::object{{"address", from}};
  o["text"] = text;
  return http_request("POST", d.url("/api/v1/inbound"),
                      {"Content-Type: application/json", std::string("Authorization: Bearer ") + DaemonProcess::kShopToken},
                      json::serialize(o));
}

// Polls a scalar query until it equals `want` (the worker runs asynchronously).
bool eventually(const TestDatabase& db, const std::string& sql, const std::string& want,
                std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (db.scalar(sql) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return db.scalar(sql) == want;
}

}  // namespace

TEST_CASE("delivery: a callback failing twice is delivered after retries with one delivery id",
          "[daemon][delivery]") {
  TestDatabase db;
  CallbackServer cb([](int n) { return n <= 2 ? 503 : 200; });
  DaemonProcess d(with_callback(db, cb));
  REQUIRE(post_inbound(d, "retry-1", "Awaria! Nic nie działa").status == 200);

  REQUIRE(cb.wait_for(3, std::chrono::seconds{10}));
  REQUIRE(eventually(db, "SELECT state || '/' || attempts FROM outbox", "delivered/3"));
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  auto got = cb.received();
  REQUIRE(got.size() == 3);  // nothing more after the success
  std::string outbox_id = db.scalar("SELECT id FROM outbox");
  for (const auto& r : got) {
    CHECK(r.delivery == outbox_id);
    CHECK(r.signature == "sha256=" + hmac_sha256_hex(DaemonProcess::kCallbackSecret, r.body));
  }
  json::value body = json::parse(got.back().body);
  CHECK(body.at("to").as_string() == "jan@example.pl");
  CHECK(body.at("text").as_string() == "Przyjęliśmy zgłoszenie awarii i zajmiemy się nim w pierwszej kolejności.");
  CHECK(d.log().find("event=outbox_retry") != std::string::npos);
  CHECK(d.log().find(DaemonProcess::kCallbackSecret) == std::string::npos);
}

TEST_CASE("delivery: a callback that never answers fails after the configured attempts", "[daemon][delivery]") {
  TestDatabase db;
  CallbackServer cb([](int) { return 200; }, std::chrono::milliseconds{1500});
  auto options = with_callback(db, cb);
  options.callback_timeout = "300ms";
  DaemonProcess d(options);
  REQUIRE(post_inbound(d, "timeout-1", "Awaria serwera").status == 200);
  REQUIRE(eventually(db, "SELECT state || '/' || attempts FROM outbox", "failed/3", std::chrono::seconds{15}));
  CHECK_FALSE(db.scalar("SELECT last_error FROM outbox").empty());
  CHECK(d.log().find("event=outbox_failed") != std::string::npos);
}

TEST_CASE("delivery: a permanent rejection is not retried", "[daemon][delivery]") {
  TestDatabase db;
  CallbackServer cb([](int) { return 400; });
  DaemonProcess d(with_callback(db, cb));
  REQUIRE(post_inbound(d, "reject-1", "Awaria").status == 200);
  REQUIRE(eventually(db, "SELECT state || '/' || attempts FROM outbox", "failed/1"));
  std::this_thread::sleep_for(std::chrono::milliseconds{400});
  CHECK(cb.received().size() == 1);
}

TEST_CASE("delivery: an agent reply goes out through the same outbox", "[daemon][delivery][api]") {
  TestDatabase db;
  CallbackServer cb;
  DaemonProcess d(with_callback(db, cb));
  auto in = post_inbound(d, "agent-1", "Mam pytanie o fakturę", "+48 600 100 200");
  REQUIRE(in.status == 200);
  std::string conversation = json::value_to<std::string>(json::parse(in.body).at("conversation_id"));
  std::string admin = std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken;
  std::string path = "/api/v1/conversations/" + conversation + "/messages";

  auto reply = http_request("POST", d.url(path), {admin, "Content-Type: application/json"},
                            R"({"text":"Dzień dobry, tu Anna. Faktura jest w drodze.","author":"anna"})");
  REQUIRE(reply.status == 201);
  CHECK(json::parse(reply.body).at("delivery_state").as_string() == "queued");

  // The example rules also answered the first message: two callbacks in all.
  REQUIRE(cb.wait_for(2, std::chrono::seconds{10}));
  REQUIRE(eventually(db, "SELECT count(*) FROM outbox WHERE state = 'delivered'", "2"));
  bool seen = false;
  for (const auto& r : cb.received()) {
    json::value v = json::parse(r.body);
    if (v.at("text").as_string() == "Dzień dobry, tu Anna. Faktura jest w drodze.") {
      seen = true;
      CHECK(v.at("to").as_string() == "+48 600 100 200");
      CHECK(v.at("conversation_id").as_string() == conversation);
    }
  }
  CHECK(seen);
  auto list = http_request("GET", d.url(path), {admin});
  json::value listed = json::parse(list.body);
  const auto& messages = listed.at("messages").as_array();
  REQUIRE(messages.size() == 3);
  CHECK(messages[2].at("text").as_string() == "Dzień dobry, tu Anna. Faktura jest w drodze.");
  CHECK(messages[2].at("delivery_state").as_string() == "delivered");
  CHECK_FALSE(db.scalar("SELECT first_response_at FROM conversations").empty());

  CHECK(http_request("POST", d.url("/api/v1/conversations/999999/messages"), {admin}, R"({"text":"x"})").status == 404);
  CHECK(http_request("POST", d.url(path), {admin}, R"({"text":""})").status == 400);
  CHECK(http_request("POST", d.url(path), {admin}, "not json").status == 400);
  CHECK(http_request("POST", d.url(path), {}, R"({"text":"x"})").status == 401);
}

TEST_CASE("delivery: two daemons on one database send each outbox row once", "[daemon][delivery][scale]") {
  TestDatabase db;
  CallbackServer cb;
  DaemonProcess a(with_callback(db, cb));
  DaemonProcess b(with_callback(db, cb));
  constexpr int kMessages = 60;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < kMessages; i += 4) {
        const DaemonProcess& d = i % 2 ? a : b;
        // Each message is the first of its customer: the example rules reply to it.
        CHECK(post_inbound(d, "two-" + std::to_string(i), "Dzień dobry", "c" + std::to_string(i) + "@example.pl")
                  .status == 200);
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(cb.wait_for(kMessages, std::chrono::seconds{20}));
  REQUIRE(eventually(db, "SELECT count(*) FROM outbox WHERE state = 'delivered'", std::to_string(kMessages)));
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  auto got = cb.received();
  std::set<std::string> ids;
  for (const auto& r : got) ids.insert(r.delivery);
  CHECK(got.size() == static_cast<std::size_t>(kMessages));
  CHECK(ids.size() == static_cast<std::size_t>(kMessages));
}
