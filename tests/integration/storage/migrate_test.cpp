// migrate(): applies the embedded migrations once, records them, serialises concurrent runs.
#include <catch2/catch.hpp>

#include <thread>

#include "storage/migrate.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard;
using namespace switchboard::storage;

TEST_CASE("migrate: the build ships 0001_init", "[storage][migrate]") {
  REQUIRE_FALSE(migrations().empty());
  CHECK(migrations().front().version == 1);
  CHECK(migrations().front().name == "init");
  CHECK(latest_schema_version() >= 1);
}

TEST_CASE("migrate: applies 0001 and records it; a second run applies nothing", "[storage][migrate]") {
  switchboard::testing::TestDatabase db;
  Pool pool(PoolOptions{.url = db.url(), .size = 2});

  auto before = schema_state(pool);
  REQUIRE(before.ok());
  CHECK(before->current == 0);
  CHECK(before->latest == latest_schema_version());

  auto first = migrate(pool);
  REQUIRE(first.ok());
  REQUIRE_FALSE(first->empty());
  CHECK(first->front() == 1);
  CHECK(static_cast<int>(first->size()) == latest_schema_version());
  CHECK(db.scalar("SELECT name FROM schema_migrations WHERE version = 1") == "init");
  CHECK(db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                  "('customers','identities','conversations','messages','outbox','audit')") == "6");

  auto second = migrate(pool);
  REQUIRE(second.ok());
  CHECK(second->empty());

  auto after = schema_state(pool);
  REQUIRE(after.ok());
  CHECK(after->current == latest_schema_version());
}

TEST_CASE("migrate: four concurrent runs apply each migration exactly once", "[storage][migrate]") {
  switchboard::testing::TestDatabase db;
  std::vector<std::vector<int>> results(4);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      // A pool each, as four processes would have.
      Pool pool(PoolOptions{.url = db.url(), .size = 1});
      auto r = migrate(pool);
      if (r.ok())
        results[i] = *r;
      else
        errors[i] = r.error().message;
    });
  }
  for (auto& t : threads) t.join();
  std::size_t total = 0;
  for (int i = 0; i < 4; ++i) {
    CHECK(errors[i] == "");
    total += results[i].size();
  }
  CHECK(static_cast<int>(total) == latest_schema_version());
  CHECK(db.scalar("SELECT count(*) FROM schema_migrations") == std::to_string(latest_schema_version()));
}

TEST_CASE("migrate: a schema newer than this build is refused", "[storage][migrate]") {
  switchboard::testing::TestDatabase db;
  Pool pool(PoolOptions{.url = db.url(), .size = 1});
  REQUIRE(migrate(pool).ok());
  db.exec("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')");
  auto r = migrate(pool);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  CHECK(r.error().code == "schema_too_new");
  CHECK(r.error().message == "the database schema is at version 9999 but this build knows versions up to " +
                                 std::to_string(latest_schema_version()) + ": run a newer switchboard");
  // The lock was released: another process gets the same answer instead of hanging.
  Pool other(PoolOptions{.url = db.url(), .size = 1});
  auto again = migrate(other);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == "schema_too_new");
  CHECK(db.scalar("SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                  "WHERE l.locktype = 'advisory' AND d.datname = current_database()") == "0");
  auto state = schema_state(pool);
  REQUIRE(state.ok());
  CHECK(state->current == 9999);
}

TEST_CASE("migrate: an unreachable database is unavailable", "[storage][migrate]") {
  Pool pool(PoolOptions{.url = "postgresql://sb@127.0.0.1:1/switchboard", .size = 1});
  auto r = migrate(pool);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::unavailable);
  auto s = schema_state(pool);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::unavailable);
}
