// Numbered SQL migrations (storage/migrations/NNNN_name.sql), compiled into the binary and
// applied in order under a PostgreSQL advisory lock; schema_migrations records each version.
#pragma once

#include <string>
#include <vector>

#include "routing/core/result.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
};

// All migrations shipped with this build, ascending.
const std::vector<Migration>& migrations();
int latest_schema_version();

// Applies every migration not yet recorded, each in its own transaction; returns the versions
// applied now (empty when the schema was current). Safe to run from several processes at once.
Result<std::vector<int>> migrate(Pool& pool);

struct SchemaState {
  int current = 0;  // highest applied version, 0 for an empty database
  int latest = 0;   // what this build expects
};
Result<SchemaState> schema_state(Pool& pool);

}  // namespace switchboard::storage
