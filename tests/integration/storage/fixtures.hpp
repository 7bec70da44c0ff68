// Shared by the storage integration tests: a migrated test database with a pool, message
// builders, and stand-in routers (the rules compiler is not needed to test storage).
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <utility>

#include "storage/migrate.hpp"
#include "storage/pipeline.hpp"
#include "storage/pool.hpp"
#include "tests/support/test_database.hpp"

namespace switchboard::storage::testing {

inline Timestamp at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

// A fresh database with the schema applied and a pool on it.
struct MigratedDatabase {
  explicit MigratedDatabase(std::size_t pool_size = 4)
      : pool(PoolOptions{.url = db.url(), .size = pool_size}) {
    auto applied = migrate(pool);
    REQUIRE(applied.ok());
  }
  long count(const std::string& sql) const { return std::stol(db.scalar(sql)); }

  switchboard::testing::TestDatabase db;
  Pool pool;
};

inline InboundMessage sms(std::string external_id, std::string phone, std::string text) {
  InboundMessage m;
  m.channel = Channel::sms;
  m.account = "+48500000000";
  m.external_id = std::move(external_id);
  m.sender = phone;
  m.identities = {Identity{IdentityKind::phone, std::move(phone)}};
  m.text = std::move(text);
  m.sent_at = at("2027-03-30T08:00:00Z");
  return m;
}

inline Router router_returning(Decision decision, std::string hash = "rules-hash-1") {
  return Router{std::move(hash), [decision](const routing::EvaluationInput&) { return decision; }};
}

inline Router no_rule_router() { return router_returning(Decision{}); }

}  // namespace switchboard::storage::testing
