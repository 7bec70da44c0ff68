// One unit of work on a leased connection, with the retry policy storage's short statements
// share. Internal to storage/ (it pulls in libpqxx).
#pragma once

#include <pqxx/pqxx>
#include <span>
#include <string>
#include <string_view>

#include "routing/core/log.hpp"
#include "routing/core/result.hpp"
#include "storage/pool.hpp"
#include "storage/sql.hpp"

namespace switchboard::storage::sql {

// What one unit of work is, for its error messages.
struct Work {
  std::string what;          // "cannot claim outbox rows"
  const char* invalid_code;  // the error code when the database refuses the data
  // What that error says before the database's reason; "" for "<what>: the database refused the data".
  std::string refused = {};
  const char* bug_code = "database_error";  // the error code of anything unexpected
};

// Runs op(conn, committing) on a leased connection with `statements` prepared (under `tag`). A
// deadlock or serialization failure runs it again (three times at most), and so does a
// connection found dead (one that sat idle through a server restart fails on first use), once.
// Not so once op has set `committing`: the outcome of a lost commit is unknown, and running it
// again could store it twice. Statements that are safe to repeat never set it.
template <class T, class Op>
Result<T> run_unit(Pool& pool, std::string_view tag, std::span<const Statement> statements,
                   std::string_view retry_event, const Work& work, Op op) {
  constexpr int kMaxRetries = 3;
  int retries = 0;
  bool reconnected = false;
  for (;;) {
    auto lease = pool.acquire();
    if (!lease) return lease.error();
    bool committing = false;
    try {
      prepare_once(*lease, tag, statements);
      return op(lease->conn(), committing);
    } catch (...) {
      const auto failure = classify_current_exception(lease->conn());
      if (failure.connection_lost) lease->mark_broken();
      switch (failure.kind) {
        case FailureKind::retry:
          if (retries++ < kMaxRetries) {
            log::warn(retry_event,
                      {{"reason", failure.text}, {"sqlstate", failure.sqlstate}, {"constraint", failure.constraint}});
            continue;
          }
          return make_error(ErrorKind::unavailable, "database_contention",
                            work.what + ": gave up after " + std::to_string(kMaxRetries) + " retries: " + failure.text);
        case FailureKind::unavailable:
          if (committing)
            return make_error(ErrorKind::unavailable, "database_unavailable",
                              work.what + ": the database connection failed during commit, the change may or may not "
                                          "be stored: " + failure.text);
          if (failure.connection_lost && !reconnected) {
            reconnected = true;
            continue;
          }
          return make_error(ErrorKind::unavailable, "database_unavailable", work.what + ": " + failure.text);
        case FailureKind::invalid:
          return make_error(ErrorKind::invalid, work.invalid_code,
                            (work.refused.empty() ? work.what + ": the database refused the data" : work.refused) +
                                ": " + failure.text);
        case FailureKind::bug:
          break;
      }
      return make_error(ErrorKind::bug, work.bug_code, work.what + ": " + failure.text);
    }
  }
}

}  // namespace switchboard::storage::sql
