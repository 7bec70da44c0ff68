// Applies the embedded migrations under a session-level advisory lock, one transaction each.
#include "storage/migrate.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <set>

#include "storage/sql.hpp"

namespace switchboard::storage {

namespace {

// pg_advisory_lock key shared by every switchboard process migrating the same database: the
// bytes of "sbmigrat", so it is recognisable in pg_locks (objid/classid halves).
constexpr std::int64_t kMigrationLockKey = 0x73626d6967726174;

// Not a numbered migration: it must exist before the first one can be recorded.
constexpr const char* kCreateVersionTable = R"sql(
CREATE TABLE schema_migrations (
  version    int PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

pqxx::result exec_now(pqxx::connection& conn, const std::string& sql) {
  pqxx::nontransaction tx(conn);
  return tx.exec(sql);
}

bool version_table_exists(pqxx::connection& conn) {
  return !exec_now(conn, "SELECT to_regclass('schema_migrations')")[0][0].is_null();
}

Error database_error(const sql::Failure& failure, const std::string& code, const std::string& what) {
  if (failure.kind == sql::FailureKind::unavailable)
    return make_error(ErrorKind::unavailable, "database_unavailable", what + ": " + failure.text);
  return make_error(ErrorKind::bug, code, what + ": " + failure.text);
}

std::string migration_label(const Migration& m) {
  std::string version = std::to_string(m.version);
  return std::string(version.size() < 4 ? 4 - version.size() : 0, '0') + version + "_" + m.name;
}

}  // namespace

int latest_schema_version() {
  int latest = 0;
  for (const auto& m : migrations()) latest = std::max(latest, m.version);
  return latest;
}

Result<std::vector<int>> migrate(Pool& pool) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  auto& conn = lease->conn();
  std::vector<int> applied_now;
  bool locked = false;
  std::string step = "cannot take the migration lock";
  try {
    // Session-level, not transaction-level: it must span the several transactions below.
    exec_now(conn, "SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
    locked = true;
    step = "cannot read schema_migrations";
    if (!version_table_exists(conn)) exec_now(conn, kCreateVersionTable);
    std::set<int> applied;
    for (const auto& row : exec_now(conn, "SELECT version FROM schema_migrations")) applied.insert(row[0].as<int>());
    const int latest = latest_schema_version();
    if (!applied.empty() && *applied.rbegin() > latest) {
      exec_now(conn, "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
      return make_error(ErrorKind::config, "schema_too_new",
                        "the database schema is at version " + std::to_string(*applied.rbegin()) +
                            " but this build knows versions up to " + std::to_string(latest) +
                            ": run a newer switchboard");
    }
    auto ordered = migrations();
    std::sort(ordered.begin(), ordered.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
    for (const auto& m : ordered) {
      if (applied.count(m.version)) continue;
      step = "migration " + migration_label(m) + " failed";
      pqxx::work tx(conn, "migration");
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name);
      tx.commit();
      applied_now.push_back(m.version);
    }
    step = "cannot release the migration lock";
    exec_now(conn, "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    return applied_now;
  } catch (...) {
    auto failure = sql::classify_current_exception(conn);
    if (locked) {
      try {
        exec_now(conn, "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
      } catch (...) {
        // Closing the session releases the lock on the server side.
        lease->mark_broken();
      }
    }
    if (failure.connection_lost) lease->mark_broken();
    return database_error(failure, "migration_failed", step);
  }
}

Result<SchemaState> schema_state(Pool& pool) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  auto& conn = lease->conn();
  try {
    SchemaState state;
    state.latest = latest_schema_version();
    if (version_table_exists(conn)) {
      auto r = exec_now(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
      state.current = r[0][0].as<int>();
    }
    return state;
  } catch (...) {
    auto failure = sql::classify_current_exception(conn);
    if (failure.connection_lost) lease->mark_broken();
    return database_error(failure, "schema_state_failed", "cannot read the schema version");
  }
}

}  // namespace switchboard::storage
