// Listener: LISTEN switchboard_outbox with timeouts, interrupts and a backend killed under it.
#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "storage/listener.hpp"
#include "storage/outbox.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;
using namespace std::chrono_literals;

namespace {

using SteadyClock = std::chrono::steady_clock;

// How long f() took.
template <class F>
std::chrono::milliseconds timed(F&& f) {
  const auto start = SteadyClock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
}

// A listener on the test database, connected (its first wait opens the connection).
struct Connected {
  explicit Connected(const MigratedDatabase& d) : listener(ListenerOptions{.url = d.db.url()}) {
    REQUIRE(listener.wait(5s));
  }
  Listener listener;
};

}  // namespace

TEST_CASE("listener: the first wait connects and says so, then waits time out", "[storage][listener]") {
  MigratedDatabase d;
  Connected c(d);
  bool woke = true;
  const auto took = timed([&] { woke = c.listener.wait(200ms); });
  CHECK_FALSE(woke);
  CHECK(took >= 200ms);
  CHECK(took < 1500ms);
  CHECK(d.count("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'switchboard-listener' "
                "AND datname = current_database()") == 1);
}

TEST_CASE("listener: a NOTIFY from another connection wakes the wait, and all pending are drained",
          "[storage][listener]") {
  MigratedDatabase d;
  Connected c(d);
  d.db.exec("NOTIFY switchboard_outbox");
  bool woke = false;
  const auto took = timed([&] { woke = c.listener.wait(5s); });
  CHECK(woke);
  CHECK(took < 1000ms);

  // Several, from several transactions, before the wait starts: one wait takes them all.
  for (int i = 0; i < 5; ++i) d.db.exec("SELECT pg_notify('switchboard_outbox', '" + std::to_string(i) + "')");
  d.db.exec("NOTIFY other_channel");
  std::this_thread::sleep_for(100ms);
  CHECK(c.listener.wait(5s));
  CHECK_FALSE(c.listener.wait(100ms));

  SECTION("a notification on another channel does not wake it") {
    d.db.exec("NOTIFY other_channel");
    CHECK_FALSE(c.listener.wait(200ms));
  }
}

TEST_CASE("listener: an agent reply and a rule reply wake it at commit", "[storage][listener]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "Dzień dobry"), no_rule_router());
  REQUIRE(r.ok());
  Connected c(d);

  auto reply = queue_agent_reply(d.pool, r->conversation_id, "Dzień dobry, w czym pomóc?", "agent:anna",
                                 at("2027-03-30T08:01:00Z"));
  REQUIRE(reply.ok());
  CHECK(c.listener.wait(5s));
  CHECK_FALSE(c.listener.wait(100ms));

  Decision decision;
  decision.rule = "ack";
  decision.actions = {ReplyAction{"ack", "Dziękujemy."}};
  REQUIRE(pipeline.ingest(sms("SM2", "+48600100200", "Halo?"), router_returning(decision)).ok());
  CHECK(c.listener.wait(5s));

  // A failed reply rolls back and notifies nobody.
  REQUIRE_FALSE(queue_agent_reply(d.pool, "999999", "hello", "agent:anna", at("2027-03-30T08:02:00Z")).ok());
  CHECK_FALSE(c.listener.wait(200ms));
}

TEST_CASE("listener: interrupt() wakes a blocked wait within 100 ms", "[storage][listener]") {
  MigratedDatabase d;
  Connected c(d);

  auto waiting = std::async(std::launch::async, [&] {
    const bool woke = c.listener.wait(10s);
    return std::make_pair(woke, SteadyClock::now());
  });
  std::this_thread::sleep_for(150ms);
  const auto interrupted_at = SteadyClock::now();
  c.listener.interrupt();
  REQUIRE(waiting.wait_for(2s) == std::future_status::ready);
  const auto [woke, returned_at] = waiting.get();
  CHECK_FALSE(woke);
  CHECK(returned_at - interrupted_at < 100ms);

  SECTION("an interrupt before the wait makes it return at once, once") {
    c.listener.interrupt();
    bool early = true;
    CHECK(timed([&] { early = c.listener.wait(10s); }) < 100ms);
    CHECK_FALSE(early);
    CHECK(timed([&] { c.listener.wait(150ms); }) >= 150ms);
  }
}

TEST_CASE("listener: survives its backend being terminated", "[storage][listener]") {
  MigratedDatabase d;
  Connected c(d);
  const auto kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'switchboard-listener' AND datname = current_database()";
  REQUIRE(d.db.scalar(kill) == "1");

  // Reconnected: true, since notifications may have been lost meanwhile.
  bool woke = false;
  const auto took = timed([&] { woke = c.listener.wait(5s); });
  CHECK(woke);
  CHECK(took < 3000ms);
  CHECK_FALSE(c.listener.wait(100ms));

  d.db.exec("NOTIFY switchboard_outbox");
  CHECK(c.listener.wait(5s));
  CHECK_FALSE(c.listener.wait(100ms));

  SECTION("killed again while waiting") {
    auto waiting = std::async(std::launch::async, [&] { return c.listener.wait(5s); });
    std::this_thread::sleep_for(100ms);
    REQUIRE(d.db.scalar(kill) == "1");
    REQUIRE(waiting.wait_for(4s) == std::future_status::ready);
    CHECK(waiting.get());
    d.db.exec("NOTIFY switchboard_outbox");
    CHECK(c.listener.wait(5s));
  }
}

TEST_CASE("listener: without a database it sleeps out the timeout and tries again", "[storage][listener]") {
  // Port 1 on localhost: refused at once, so the test measures the sleep, not a connect timeout.
  Listener listener(ListenerOptions{.url = "postgresql://switchboard@127.0.0.1:1/none"});
  for (int i = 0; i < 2; ++i) {
    bool woke = true;
    const auto took = timed([&] { woke = listener.wait(200ms); });
    CHECK_FALSE(woke);
    CHECK(took >= 200ms);
    CHECK(took < 1500ms);
  }
  auto waiting = std::async(std::launch::async, [&] { return listener.wait(10s); });
  std::this_thread::sleep_for(100ms);
  listener.interrupt();
  REQUIRE(waiting.wait_for(1s) == std::future_status::ready);
  CHECK_FALSE(waiting.get());
}
