// Read side for the agent/admin API: one conversation, and its messages with delivery states.
#include "storage/conversations.hpp"

#include <pqxx/pqxx>

#include "storage/sql.hpp"

namespace switchboard::storage {

namespace {

constexpr const char* kGetConversation = R"sql(
SELECT id, customer_id, state, queue, priority, tags,
       (extract(epoch FROM opened_at) * 1000000)::bigint
  FROM conversations
 WHERE id = $1)sql";

// The conversation row joins in so that "no such conversation" (no row) differs from "no
// messages yet" (one row of NULLs). Outbound messages carry their outbox row's state; the newest
// one should a message ever be queued twice. The id breaks ties: a reply is created in the same
// transaction as the message it answers, so both have the same created_at.
constexpr const char* kListMessages = R"sql(
SELECT m.id, m.direction, m.channel, m.account, m.external_id, m.sender, m.body, m.attachments::text,
       (extract(epoch FROM m.created_at) * 1000000)::bigint, o.state, o.attempts, o.last_error
  FROM conversations c
  LEFT JOIN messages m ON m.conversation_id = c.id
  LEFT JOIN LATERAL (
        SELECT state, attempts, last_error FROM outbox WHERE message_id = m.id ORDER BY id DESC LIMIT 1) AS o
         ON m.direction = 'out'
 WHERE c.id = $1
 ORDER BY m.created_at, m.id)sql";

Error not_found(const std::string& id) {
  return make_error(ErrorKind::not_found, "conversation_not_found", "no conversation with id '" + id + "'");
}

std::string rfc3339(const pqxx::field& micros) {
  return format_rfc3339(sql::from_epoch_micros(micros.as<std::int64_t>()));
}

Error read_error(Pool::Lease& lease, const std::string& what) {
  const auto failure = sql::classify_current_exception(lease.conn());
  if (failure.connection_lost) lease.mark_broken();
  if (failure.kind == sql::FailureKind::unavailable) {
    return make_error(ErrorKind::unavailable, "database_unavailable", what + ": " + failure.text);
  }
  return make_error(ErrorKind::bug, "database_error", what + ": " + failure.text);
}

}  // namespace

Result<ConversationRecord> get_conversation(Pool& pool, const std::string& id) {
  if (!sql::is_canonical_id(id)) return not_found(id);
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  try {
    pqxx::nontransaction tx(lease->conn());
    auto r = tx.exec_params(kGetConversation, id);
    if (r.empty()) return not_found(id);
    const auto& row = r[0];
    ConversationRecord c;
    c.id = row[0].c_str();
    c.customer_id = row[1].c_str();
    c.state = row[2].c_str();
    if (!row[3].is_null()) c.queue = row[3].c_str();
    c.priority = row[4].c_str();
    c.tags = sql::parse_text_array(row[5]);
    c.opened_at = rfc3339(row[6]);
    return c;
  } catch (...) {
    return read_error(*lease, "cannot read conversation " + id);
  }
}

Result<std::vector<MessageRecord>> list_messages(Pool& pool, const std::string& conversation_id) {
  if (!sql::is_canonical_id(conversation_id)) return not_found(conversation_id);
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  try {
    pqxx::nontransaction tx(lease->conn());
    auto r = tx.exec_params(kListMessages, conversation_id);
    if (r.empty()) return not_found(conversation_id);
    std::vector<MessageRecord> out;
    out.reserve(r.size());
    for (const auto& row : r) {
      if (row[0].is_null()) continue;  // the conversation exists but has no messages
      MessageRecord m;
      m.id = row[0].c_str();
      m.conversation_id = conversation_id;
      m.direction = row[1].c_str();
      m.channel = row[2].c_str();
      m.account = row[3].c_str();
      if (!row[4].is_null()) m.external_id = row[4].c_str();
      m.sender = row[5].c_str();
      m.body = row[6].c_str();
      m.attachments_json = row[7].c_str();
      m.created_at = rfc3339(row[8]);
      if (!row[9].is_null()) m.delivery_state = row[9].c_str();
      if (!row[10].is_null()) m.attempts = row[10].as<int>();
      if (!row[11].is_null()) m.last_error = row[11].c_str();
      out.push_back(std::move(m));
    }
    return out;
  } catch (...) {
    return read_error(*lease, "cannot read the messages of conversation " + conversation_id);
  }
}

}  // namespace switchboard::storage
