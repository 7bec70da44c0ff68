// Helpers storage's .cpp files share around libpqxx: array literals, ids, times, error mapping.

// Internal to storage/: never include it from a public header, libpqxx stays out of the
// interface of the storage library.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "routing/core/message.hpp"
#include "routing/core/result.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace pqxx {
class connection_base;
class field;
}  // namespace pqxx

namespace switchboard::storage::sql {

// A prepared statement of storage: its name on the connection and its text.
struct Statement {
  const char* name;
  const char* sql;
};

// On a connection's first use for `tag`: sets READ COMMITTED for its session (the advisory-lock
// and SKIP LOCKED schemes need a fresh snapshot per statement, whatever the server's default)
// and prepares `statements`. A half-prepared connection is marked broken before the exception
// goes on, so the next lease starts afresh.
void prepare_once(Pool::Lease& lease, std::string_view tag, std::span<const Statement> statements);

// A text[] literal for a query parameter: every element double-quoted and escaped, so that
// commas, braces, quotes and the word NULL in user data stay data.
std::string text_array(const std::vector<std::string>& items);
// The elements of a text[] column (NULL elements become "").
std::vector<std::string> parse_text_array(const pqxx::field& field);

// A message's attachments as the JSON array stored in messages.attachments.
std::string attachments_json(const std::vector<Attachment>& attachments);

// switchboard's ids are bigserial values shown as canonical decimal strings: digits only, no
// leading zero, within bigint. Anything else cannot name a row.
bool is_canonical_id(std::string_view id);

// Timestamps cross the wire as RFC 3339 text in and as epoch microseconds out (the SELECT says
// "(extract(epoch FROM col) * 1000000)::bigint"), which keeps full precision both ways.
Timestamp from_epoch_micros(std::int64_t micros);

// The first line of an error text with libpq's "ERROR:  " prefix removed: PostgreSQL appends
// DETAIL lines that may quote stored values, which do not belong in logs or error bodies.
std::string first_line(std::string_view what);

enum class FailureKind {
  retry,        // deadlock or serialization failure: run the whole transaction again
  unavailable,  // the connection broke or the server refuses work for now
  invalid,      // the data broke a constraint or a type's input rules
  bug,          // anything else
};

struct Failure {
  FailureKind kind = FailureKind::bug;
  std::string sqlstate;  // empty when not an SQL error
  std::string text;      // first_line() of the exception's message
  // The connection cannot be used again (or its state is unknown): the caller marks its lease
  // broken. Not so for, say, a full disk, where the connection itself is fine.
  bool connection_lost = false;
  // For an integrity violation (SQLSTATE class 23): the constraint or index it names, "" when
  // the message names none.
  std::string constraint = {};
};

// The constraint an integrity violation's message names: the last quoted name of its first line
// ("..." in English and most translations, also «...» and „...”, lc_messages being the
// server's).
std::string constraint_named(std::string_view text);

// Call only inside a catch block: says what the exception in flight means for a unit of work
// that ran on conn (a broken connection shows as !is_open() whatever was thrown).
Failure classify_current_exception(const pqxx::connection_base& conn);

}  // namespace switchboard::storage::sql
