// System messages: see system_messages.hpp. The insert is one statement in autocommit, safe to
// repeat (a duplicate is recognised by its key), so no unit here sets `committing`.
#include "storage/system_messages.hpp"

#include <pqxx/pqxx>

#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

// Our outbound message: by our own id (a VERP tag) first, else by the platform's id (a Message-ID).
constexpr Statement kConcerned{"sb_system_concerned", R"sql(
SELECT m.id, m.conversation_id, m.external_id
  FROM messages m
 WHERE m.channel = $1 AND m.account = $2 AND m.direction = 'out'
   AND (m.id = $3::bigint OR m.external_id = $4)
 ORDER BY m.id = $3::bigint DESC NULLS LAST, m.id
 LIMIT 1)sql"};

constexpr Statement kInsert{"sb_system_insert", R"sql(
INSERT INTO system_messages (channel, account, external_id, kind, conversation_id, concerns_message_id, sender,
                             subject, body, status, error, defects, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text[], $13)
ON CONFLICT (channel, account, external_id) DO NOTHING
RETURNING id)sql"};

constexpr Statement kExisting{"sb_system_existing", R"sql(
SELECT id, conversation_id, concerns_message_id
  FROM system_messages WHERE channel = $1 AND account = $2 AND external_id = $3)sql"};

constexpr Statement kList{"sb_system_list", R"sql(
SELECT id, kind, channel, account, sender, subject, body, concerns_message_id, status, error,
       (extract(epoch FROM created_at) * 1000000)::bigint
  FROM system_messages
 WHERE conversation_id = $1
 ORDER BY created_at, id)sql"};

constexpr Statement kStoredIds{"sb_system_stored_ids", R"sql(
SELECT external_id FROM messages WHERE channel = $1 AND account = $2 AND direction = 'in'
UNION ALL
SELECT external_id FROM system_messages WHERE channel = $1 AND account = $2)sql"};

constexpr Statement kStatements[] = {kConcerned, kInsert, kExisting, kList, kStoredIds};

template <class T, class Op>
Result<T> run(Pool& pool, const sql::Work& work, Op op) {
  return sql::run_unit<T>(pool, "system_messages", kStatements, "system_message_db_retry", work, std::move(op));
}

std::optional<std::string> optional(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::optional<std::string> text_or_null(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return std::string(f.c_str());
}

}  // namespace

Result<SystemOutcome> record_system_message(Pool& pool, const SystemMessage& message) {
  if (message.external_id.empty() || message.account.empty())
    return make_error(ErrorKind::invalid, "invalid_system_message", "a system message needs its account and id");
  const std::string channel(to_string(message.channel));
  std::optional<std::string> by_id;
  if (sql::is_canonical_id(message.concerns_message_id)) by_id = message.concerns_message_id;
  const std::optional<std::string> sent_at =
      message.at == Timestamp{} ? std::nullopt : std::optional<std::string>(format_rfc3339(message.at));
  return run<SystemOutcome>(
      pool, {"cannot record a " + channel + " system message", "invalid_system_message"},
      [&](pqxx::connection& conn, bool&) -> Result<SystemOutcome> {
        pqxx::nontransaction tx(conn);
        SystemOutcome out;
        auto concerned = tx.exec_prepared(kConcerned.name, channel, message.account, by_id,
                                          optional(message.concerns_external_id));
        if (!concerned.empty()) {
          out.concerns_message_id = concerned[0][0].c_str();
          out.conversation_id = concerned[0][1].c_str();
          out.concerns_external_id = text_or_null(concerned[0][2]);
        }
        auto inserted = tx.exec_prepared(kInsert.name, channel, message.account, message.external_id, message.kind,
                                         out.conversation_id, out.concerns_message_id, message.sender, message.subject,
                                         message.text, optional(message.status), optional(message.error),
                                         sql::text_array(message.defects), sent_at);
        if (!inserted.empty()) {
          out.id = inserted[0][0].c_str();
          return out;
        }
        auto existing = tx.exec_prepared(kExisting.name, channel, message.account, message.external_id);
        out.duplicate = true;
        if (!existing.empty()) {
          out.id = existing[0][0].c_str();
          out.conversation_id = text_or_null(existing[0][1]);
        }
        return out;
      });
}

Result<std::vector<SystemMessageRecord>> list_system_messages(Pool& pool, const std::string& conversation_id) {
  if (!sql::is_canonical_id(conversation_id)) return std::vector<SystemMessageRecord>{};
  return run<std::vector<SystemMessageRecord>>(
      pool, {"cannot read system messages", "invalid_system_message"},
      [&](pqxx::connection& conn, bool&) -> Result<std::vector<SystemMessageRecord>> {
        pqxx::nontransaction tx(conn);
        std::vector<SystemMessageRecord> out;
        for (const auto& row : tx.exec_prepared(kList.name, conversation_id)) {
          SystemMessageRecord r;
          r.id = row[0].c_str();
          r.kind = row[1].c_str();
          r.channel = row[2].c_str();
          r.account = row[3].c_str();
          r.sender = row[4].c_str();
          r.subject = row[5].c_str();
          r.body = row[6].c_str();
          r.concerns_message_id = text_or_null(row[7]);
          r.status = text_or_null(row[8]);
          r.error = text_or_null(row[9]);
          r.created_at = format_rfc3339(sql::from_epoch_micros(row[10].as<std::int64_t>()));
          out.push_back(std::move(r));
        }
        return out;
      });
}

Result<std::vector<std::string>> stored_external_ids(Pool& pool, Channel channel, const std::string& account) {
  const std::string name(to_string(channel));
  return run<std::vector<std::string>>(pool, {"cannot read stored message ids", "invalid_account"},
                                       [&](pqxx::connection& conn, bool&) -> Result<std::vector<std::string>> {
                                         pqxx::nontransaction tx(conn);
                                         std::vector<std::string> out;
                                         for (const auto& row : tx.exec_prepared(kStoredIds.name, name, account))
                                           out.emplace_back(row[0].c_str());
                                         return out;
                                       });
}

}  // namespace switchboard::storage
