// The event bus on a real PostgreSQL: one LISTEN connection for several channels, payloads to
// the subscribers of their channel only, a resync after the connection was cut, unsubscribe;
// and the Doorbell the outbox workers wait on.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/event_bus.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard;
using namespace switchboard::daemon;
using switchboard::testing::TestDatabase;
using namespace std::chrono_literals;

namespace {

struct Recorder {
  std::mutex mu;
  std::vector<BusEvent> events;
  void operator()(const BusEvent& e) {
    std::lock_guard lock(mu);
    events.push_back(e);
  }
  std::size_t payloads(const std::string& payload) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& e : events) n += !e.resync && e.payload == payload;
    return n;
  }
  std::size_t resyncs() {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& e : events) n += e.resync;
    return n;
  }
};

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  return done();
}

}  // namespace

TEST_CASE("event bus: one connection, payloads by channel, resync after a cut, unsubscribe", "[daemon][bus]") {
  TestDatabase db;
  EventBus bus(db.url(), {"sb_test_a", "sb_test_b"});
  Recorder a, b, a2;
  const auto ida = bus.subscribe("sb_test_a", std::ref(a));
  bus.subscribe("sb_test_b", std::ref(b));
  const auto ida2 = bus.subscribe("sb_test_a", std::ref(a2));
  bus.start();
  // Connected: each subscriber is told to look (nothing was heard before).
  REQUIRE(eventually([&] { return a.resyncs() >= 1 && b.resyncs() >= 1; }));
  CHECK(db.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'switchboard-listener' "
                  "AND datname = current_database()") == "1");

  db.exec("SELECT pg_notify('sb_test_a', 'zażółć 1'), pg_notify('sb_test_b', 'two')");
  REQUIRE(eventually([&] { return a.payloads("zażółć 1") == 1 && b.payloads("two") == 1; }));
  CHECK(a2.payloads("zażółć 1") == 1);
  CHECK(b.payloads("zażółć 1") == 0);
  CHECK(a.payloads("two") == 0);

  // The connection cut: opened again, and every subscriber looks again.
  const auto before = a.resyncs();
  db.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'switchboard-listener' "
      "AND datname = current_database()");
  REQUIRE(eventually([&] { return a.resyncs() > before; }));
  db.exec("SELECT pg_notify('sb_test_a', 'after')");
  REQUIRE(eventually([&] { return a.payloads("after") == 1; }));

  bus.unsubscribe(ida);
  db.exec("SELECT pg_notify('sb_test_a', 'late')");
  REQUIRE(eventually([&] { return a2.payloads("late") == 1; }));
  CHECK(a.payloads("late") == 0);
  bus.unsubscribe(ida2);
  bus.stop();
  CHECK(bus.delivered() >= 6);
}

TEST_CASE("event bus: a burst of a thousand notifications in one transaction arrives whole", "[daemon][bus]") {
  TestDatabase db;
  EventBus bus(db.url(), {"sb_test_burst"});
  std::atomic<int> seen{0};
  bus.subscribe("sb_test_burst", [&](const BusEvent& e) {
    if (!e.resync) ++seen;
  });
  bus.start();
  REQUIRE(eventually([&] {
    return db.scalar(
               "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'switchboard-listener' "
               "AND datname = current_database() AND state = 'idle'") == "1";
  }));
  std::this_thread::sleep_for(100ms);  // LISTEN is issued before the connection reports idle
  db.exec("SELECT pg_notify('sb_test_burst', g::text) FROM generate_series(1, 1000) g");
  CHECK(eventually([&] { return seen == 1000; }));
  CHECK(bus.dropped() == 0);
}

TEST_CASE("doorbell: rings coalesce, each waiter sees them, interrupt ends every wait", "[daemon][bus]") {
  Doorbell bell;
  std::uint64_t seen = bell.rung();
  CHECK_FALSE(bell.wait(seen, 10ms));  // nothing rang
  bell.ring();
  bell.ring();
  CHECK(bell.wait(seen, 10ms));
  CHECK_FALSE(bell.wait(seen, 10ms));  // both rings seen at once
  std::uint64_t other = 0;
  CHECK(bell.wait(other, 10ms));  // another waiter sees them too
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    std::uint64_t mine = bell.rung();
    bell.wait(mine, std::chrono::hours{1});
    woke = true;
  });
  bell.interrupt();
  waiter.join();
  CHECK(woke);
  bell.ring();
  CHECK_FALSE(bell.wait(seen, std::chrono::hours{1}));  // returns at once once interrupted
}
