// for_each_inbound: pages of stored inbound messages, each with its conversation's state at the
// time (is it the first inbound message of its conversation, how many came before) and the rule
// its audit row recorded.
#include "storage/replay.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "storage/sql.hpp"

namespace switchboard::storage {

namespace {

constexpr std::size_t kPage = 1000;

// Keyset pagination on (created_at, id): stable while new messages keep arriving.
constexpr const char* kPageSql = R"sql(
SELECT m.id, m.conversation_id, m.channel, m.account, m.external_id, m.sender, m.body, m.attachments::text,
       (extract(epoch FROM coalesce(m.sent_at, m.created_at)) * 1000000)::bigint,
       (extract(epoch FROM m.created_at) * 1000000)::bigint,
       cu.id, cu.display_name, cu.language, cu.tags,
       (SELECT count(*) FROM messages p
         WHERE p.conversation_id = m.conversation_id AND p.direction = 'in'
           AND (p.created_at, p.id) <= (m.created_at, m.id)) AS inbound_count,
       a.id IS NOT NULL AS audited, a.rule
  FROM messages m
  JOIN conversations c ON c.id = m.conversation_id
  JOIN customers cu ON cu.id = c.customer_id
  LEFT JOIN LATERAL (SELECT id, rule FROM audit WHERE message_id = m.id ORDER BY id LIMIT 1) AS a ON true
 WHERE m.direction = 'in'
   AND m.created_at >= $1::timestamptz
   AND m.created_at < $2::timestamptz
   AND (m.created_at, m.id) > ($3::timestamptz, $4::bigint)
 ORDER BY m.created_at, m.id
 LIMIT $5)sql";

std::vector<Attachment> attachments_from(const std::string& text) {
  std::vector<Attachment> out;
  boost::json::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& item : v.get_array()) {
    if (!item.is_object()) continue;
    Attachment a;
    const auto& o = item.get_object();
    if (auto* u = o.if_contains("url"); u && u->is_string()) a.url = u->get_string();
    if (auto* t = o.if_contains("mime_type"); t && t->is_string()) a.mime_type = t->get_string();
    if (auto* n = o.if_contains("name"); n && n->is_string()) a.name = n->get_string();
    if (auto* s = o.if_contains("size"); s && s->is_int64()) a.size = s->get_int64();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

Status for_each_inbound(Pool& pool, Timestamp since, Timestamp until,
                        const std::function<bool(const StoredInbound&)>& visit) {
  auto lease = pool.acquire();
  if (!lease) return lease.error();
  // Text in RFC 3339 with microseconds: exact, where a float of epoch seconds is not.
  std::string after_created = format_rfc3339(since - Duration{1});
  std::string after_id = "0";
  try {
    for (;;) {
      pqxx::work tx(lease->conn());
      tx.exec("SET TRANSACTION READ ONLY");
      auto rows = tx.exec_params(kPageSql, format_rfc3339(since), format_rfc3339(until), after_created, after_id,
                                 static_cast<long>(kPage));
      tx.commit();
      for (const auto& row : rows) {
        StoredInbound s;
        s.message_id = row[0].c_str();
        s.conversation_id = row[1].c_str();
        s.message.channel = channel_from_string(row[2].c_str()).value_or(Channel::api);
        s.message.account = row[3].c_str();
        s.message.external_id = row[4].is_null() ? "" : row[4].c_str();
        s.message.sender = row[5].c_str();
        s.message.text = row[6].c_str();
        s.message.attachments = attachments_from(row[7].c_str());
        s.message.sent_at = sql::from_epoch_micros(row[8].as<std::int64_t>());
        s.customer.id = row[10].c_str();
        s.customer.display_name = row[11].c_str();
        s.message.display_name = s.customer.display_name;
        if (!row[12].is_null()) s.customer.language = std::string(row[12].c_str());
        s.customer.tags = sql::parse_text_array(row[13]);
        s.conversation.inbound_count = row[14].as<long>();
        s.conversation.is_new = s.conversation.inbound_count == 1;
        s.audited = row[15].as<bool>();
        if (!row[16].is_null()) s.rule = std::string(row[16].c_str());
        after_created = format_rfc3339(sql::from_epoch_micros(row[9].as<std::int64_t>()));
        after_id = s.message_id;
        if (!visit(s)) return Ok{};
      }
      if (rows.size() < kPage) return Ok{};
    }
  } catch (...) {
    const auto failure = sql::classify_current_exception(lease->conn());
    if (failure.connection_lost) lease->mark_broken();
    if (failure.kind == sql::FailureKind::unavailable)
      return make_error(ErrorKind::unavailable, "database_unavailable", "reading stored messages: " + failure.text);
    return make_error(ErrorKind::bug, "database_error", "reading stored messages: " + failure.text);
  }
}

}  // namespace switchboard::storage
