// Helpers shared by storage's .cpp files: array literals, ids, timestamps, error mapping.
#include "storage/sql.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

namespace switchboard::storage::sql {

std::string attachments_json(const std::vector<Attachment>& attachments) {
  boost::json::array out;
  for (const auto& a : attachments) {
    boost::json::object o;
    o["url"] = a.url;
    o["mime_type"] = a.mime_type;
    o["name"] = a.name;
    if (a.size) o["size"] = *a.size;
    out.push_back(std::move(o));
  }
  return boost::json::serialize(out);
}

void prepare_once(Pool::Lease& lease, std::string_view tag, std::span<const Statement> statements) {
  if (!lease.first_use(tag)) return;
  try {
    auto& conn = lease.conn();
    pqxx::nontransaction(conn).exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED");
    for (const auto& s : statements) conn.prepare(s.name, s.sql);
  } catch (...) {
    lease.mark_broken();
    throw;
  }
}

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<std::string> parse_text_array(const pqxx::field& field) {
  std::vector<std::string> out;
  if (field.is_null()) return out;
  auto parser = field.as_array();
  for (;;) {
    auto [juncture, value] = parser.get_next();
    if (juncture == pqxx::array_parser::done) break;
    if (juncture == pqxx::array_parser::string_value) out.push_back(std::move(value));
    if (juncture == pqxx::array_parser::null_value) out.emplace_back();
  }
  return out;
}

bool is_canonical_id(std::string_view id) {
  constexpr std::string_view kMaxBigint = "9223372036854775807";
  if (id.empty() || id.size() > kMaxBigint.size() || id[0] == '0') return false;
  for (char c : id)
    if (c < '0' || c > '9') return false;
  return id.size() < kMaxBigint.size() || id <= kMaxBigint;
}

Timestamp from_epoch_micros(std::int64_t micros) { return Timestamp{std::chrono::microseconds{micros}}; }

std::string first_line(std::string_view what) {
  constexpr std::string_view kPrefix = "ERROR:";
  if (what.substr(0, kPrefix.size()) == kPrefix) what.remove_prefix(kPrefix.size());
  while (!what.empty() && (what.front() == ' ' || what.front() == '\t')) what.remove_prefix(1);
  auto end = what.find('\n');
  if (end != std::string_view::npos) what = what.substr(0, end);
  while (!what.empty() && (what.back() == ' ' || what.back() == '\r')) what.remove_suffix(1);
  return std::string(what);
}

std::string constraint_named(std::string_view text) {
  for (auto [open, close] : {std::pair<std::string_view, std::string_view>{"\"", "\""}, {"\u00ab", "\u00bb"},
                             {"\u201e", "\u201d"}}) {
    const auto end = text.rfind(close);
    if (end == std::string_view::npos || end == 0) continue;
    const auto begin = text.rfind(open, end - 1);
    if (begin == std::string_view::npos) continue;
    auto name = text.substr(begin + open.size(), end - begin - open.size());
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);  // French: « name »
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    // An SQL identifier as PostgreSQL prints it: no spaces or quotes inside.
    if (!name.empty() && name.size() <= 63 && name.find_first_of(" \"") == std::string_view::npos)
      return std::string(name);
  }
  return {};
}

namespace {

FailureKind kind_of_sqlstate(const std::string& state) {
  if (state == "40001" || state == "40P01") return FailureKind::retry;
  // A unique violation can only come from a writer outside the pipeline's advisory locks (an
  // agent action, a future importer) racing with us: running again sees its row.
  if (state == "23505") return FailureKind::retry;
  auto cls = state.substr(0, 2);
  // 08 connection exception, 53 insufficient resources (disk full, too many connections),
  // 57 operator intervention (shutdown, cancel by statement_timeout): all pass with time.
  if (cls == "08" || cls == "53" || cls == "57") return FailureKind::unavailable;
  // 22 data exception (bad UTF-8, NUL in jsonb, out of range), 23514 check violation, 54000
  // program limit (an external_id too long for the unique index): the input's fault.
  if (cls == "22" || state == "23514" || state == "54000") return FailureKind::invalid;
  return FailureKind::bug;
}

}  // namespace

Failure classify_current_exception(const pqxx::connection_base& conn) {
  Failure f;
  try {
    throw;
  } catch (const pqxx::statement_completion_unknown& e) {
    // Raised when the server's reply was lost: whether the statement ran is unknown.
    f = {FailureKind::unavailable, "", first_line(e.what()), true};
  } catch (const pqxx::transaction_rollback& e) {
    // libpqxx 6 throws deadlock_detected and serialization_failure without an sqlstate.
    f = {FailureKind::retry, "40001", first_line(e.what())};
  } catch (const pqxx::broken_connection& e) {
    f = {FailureKind::unavailable, "", first_line(e.what()), true};
  } catch (const pqxx::in_doubt_error& e) {
    f = {FailureKind::unavailable, "", first_line(e.what()), true};
  } catch (const pqxx::sql_error& e) {
    f = {kind_of_sqlstate(e.sqlstate()), e.sqlstate(), first_line(e.what())};
  } catch (const std::exception& e) {
    f = {FailureKind::bug, "", first_line(e.what())};
  } catch (...) {
    f = {FailureKind::bug, "", "unknown exception"};
  }
  if (!conn.is_open()) {
    f.kind = FailureKind::unavailable;
    f.connection_lost = true;
  }
  // Only the violations whose message names the constraint last (a not-null one names a column).
  if (f.sqlstate == "23505" || f.sqlstate == "23503" || f.sqlstate == "23514" || f.sqlstate == "23P01")
    f.constraint = constraint_named(f.text);
  return f;
}

}  // namespace switchboard::storage::sql
