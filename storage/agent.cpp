#include "storage/agent.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <pqxx/pqxx>

#include "routing/core/log.hpp"
#include "storage/merge.hpp"
#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

// Every statement here takes the viewer as $1 (sees all), $2 (login), $3 (hidden queues), and
// names the conversation `c`.
#define SB_VISIBLE "($1::boolean OR c.assignee = $2::text OR c.queue IS NULL OR NOT (c.queue = ANY ($3::text[])))"

// A Conversation; needs `c` (conversations) and `u` (its customer).
#define SB_CONVERSATION_JSON                                                                                     \
  "jsonb_build_object('id', c.id::text, 'customer_id', c.customer_id::text, "                                    \
  "'customer', jsonb_build_object('id', u.id::text, 'display_name', u.display_name, 'language', u.language), "   \
  "'state', c.state, 'queue', c.queue, 'assignee', c.assignee, 'priority', c.priority, "                         \
  "'tags', to_jsonb(c.tags), 'opened_at', switchboard_time(c.opened_at), "                                       \
  "'last_message_at', switchboard_time(c.last_message_at), 'waiting_since', switchboard_time(c.waiting_since), " \
  "'first_response_at', switchboard_time(c.first_response_at), 'resolved_at', switchboard_time(c.resolved_at), " \
  "'last_channel', c.last_channel, 'unread', c.inbound_since_human_reply)"

// The list's filters: $4 states, $5 queue ("" none), $6 assignee ("" none), $7 channel, $8 tag;
// the cursor: $9 phase (0 first page, 1 among the keyed rows, 2 among the rows whose key is
// NULL), $10 key (epoch microseconds), $11 id; $12 limit.
#define SB_LIST_FILTERS                                                              \
  " WHERE " SB_VISIBLE                                                               \
  "   AND c.state = ANY ($4::text[])"                                                \
  "   AND ($5::text IS NULL OR ($5 = '' AND c.queue IS NULL) OR c.queue = $5)"       \
  "   AND ($6::text IS NULL OR ($6 = '' AND c.assignee IS NULL) OR c.assignee = $6)" \
  "   AND ($7::text IS NULL OR c.last_channel = $7)"                                 \
  "   AND ($8::text IS NULL OR $8 = ANY (c.tags))"

#define SB_CURSOR_TIME "(timestamptz 'epoch' + $10::bigint * interval '1 microsecond')"

constexpr Statement kListWaiting{"sb_agent_list_waiting",
                                 "SELECT " SB_CONVERSATION_JSON
                                 "::text, c.id, (extract(epoch FROM c.waiting_since) * 1000000)::bigint"
                                 "  FROM conversations c JOIN customers u ON u.id = c.customer_id" SB_LIST_FILTERS
                                 "   AND ($9::int = 0"
                                 "        OR ($9 = 1 AND ((c.waiting_since, c.id) > (" SB_CURSOR_TIME
                                 ", $11::bigint) OR c.waiting_since IS NULL))"
                                 "        OR ($9 = 2 AND c.waiting_since IS NULL AND c.id > $11))"
                                 " ORDER BY c.waiting_since, c.id"
                                 " LIMIT $12"};

constexpr Statement kListActivity{"sb_agent_list_activity",
                                  "SELECT " SB_CONVERSATION_JSON
                                  "::text, c.id, (extract(epoch FROM c.last_message_at) * 1000000)::bigint"
                                  "  FROM conversations c JOIN customers u ON u.id = c.customer_id" SB_LIST_FILTERS
                                  "   AND ($9::int = 0"
                                  "        OR ($9 = 1 AND ((c.last_message_at, c.id) < (" SB_CURSOR_TIME
                                  ", $11::bigint) OR c.last_message_at IS NULL))"
                                  "        OR ($9 = 2 AND c.last_message_at IS NULL AND c.id < $11))"
                                  " ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC"
                                  " LIMIT $12"};

// $4 conversation.
constexpr Statement kConversation{"sb_agent_conversation",
                                  "SELECT " SB_CONVERSATION_JSON
                                  "::text"
                                  "  FROM conversations c JOIN customers u ON u.id = c.customer_id"
                                  " WHERE c.id = $4 AND " SB_VISIBLE};

constexpr Statement kDetail{
    "sb_agent_detail",
    "SELECT (" SB_CONVERSATION_JSON
    " || jsonb_build_object("
    "   'why', (SELECT jsonb_build_object('rule', a.rule, 'rules_hash', a.rules_hash, 'at', switchboard_time(a.at),"
    "                                     'message_id', a.message_id::text, 'decision', a.decision)"
    "             FROM audit a WHERE a.conversation_id = c.id AND a.message_id IS NOT NULL"
    "            ORDER BY a.id DESC LIMIT 1),"
    "   'reachable', (SELECT coalesce(jsonb_agg(r ORDER BY r->>'channel', r->>'account', r->>'address'), '[]')"
    "                   FROM (SELECT DISTINCT jsonb_build_object('channel', m.channel, 'account', m.account,"
    "                                                            'address', m.sender) AS r"
    "                           FROM conversations h JOIN messages m ON m.conversation_id = h.id"
    "                          WHERE h.customer_id = c.customer_id AND m.direction = 'in' AND m.sender <> '') AS s)"
    "))::text"
    "  FROM conversations c JOIN customers u ON u.id = c.customer_id"
    " WHERE c.id = $4 AND " SB_VISIBLE};

// A Message; needs `m` and `o` (its newest outbox row, NULLs for inbound ones).
#define SB_MESSAGE_JSON                                                                                         \
  "(jsonb_build_object('id', m.id::text, 'conversation_id', m.conversation_id::text, 'direction', m.direction," \
  " 'channel', m.channel, 'account', m.account, 'external_id', m.external_id, 'sender', m.sender,"              \
  " 'text', m.body, 'created_at', switchboard_time(m.created_at),"                                              \
  " 'attachments', (SELECT coalesce(jsonb_agg(a.value || jsonb_build_object('download',"                        \
  "      CASE WHEN EXISTS (SELECT 1 FROM attachment_contents ac"                                                \
  "                         WHERE ac.message_id = m.id AND ac.position = a.n - 1)"                              \
  "           THEN '/api/v1/messages/' || m.id || '/attachments/' || (a.n - 1) END) ORDER BY a.n), '[]')"       \
  "      FROM jsonb_array_elements(m.attachments) WITH ORDINALITY AS a(value, n)))"                             \
  " || jsonb_strip_nulls(jsonb_build_object('delivery_state', o.state, 'attempts', o.attempts,"                 \
  "                                         'last_error', o.last_error, 'author', o.payload->>'author')))"

// $1 conversation, $2 before this message (NULL: the newest), $3 limit.
constexpr Statement kMessages{
    "sb_agent_messages",
    "SELECT " SB_MESSAGE_JSON
    "::text, m.id"
    "  FROM messages m"
    "  LEFT JOIN LATERAL (SELECT state, attempts, last_error, payload FROM outbox"
    "                      WHERE message_id = m.id ORDER BY id DESC LIMIT 1) AS o ON m.direction = 'out'"
    " WHERE m.conversation_id = $1"
    "   AND ($2::bigint IS NULL OR (m.created_at, m.id) < (SELECT b.created_at, b.id FROM messages b"
    "                                                     WHERE b.id = $2 AND b.conversation_id = $1))"
    " ORDER BY m.created_at DESC, m.id DESC"
    " LIMIT $3"};

#define SB_NOTE_JSON                                                                                     \
  "jsonb_build_object('id', n.id::text, 'conversation_id', n.conversation_id::text, 'author', n.author," \
  " 'text', n.body, 'created_at', switchboard_time(n.created_at))"

constexpr Statement kNotes{"sb_agent_notes", "SELECT " SB_NOTE_JSON
                                             "::text FROM notes n"
                                             " WHERE n.conversation_id = $1 ORDER BY n.created_at, n.id"};

constexpr Statement kSystemMessages{
    "sb_agent_system_messages",
    "SELECT jsonb_build_object('id', s.id::text, 'kind', s.kind, 'channel', s.channel, 'account', s.account,"
    " 'sender', s.sender, 'subject', s.subject, 'body', s.body, 'created_at', switchboard_time(s.created_at),"
    " 'concerns_message_id', s.concerns_message_id::text, 'status', s.status, 'error', s.error)::text"
    "  FROM system_messages s WHERE s.conversation_id = $1 ORDER BY s.created_at, s.id"};

// $4 conversation, $5 author, $6 text, $7 now.
constexpr Statement kAddNote{
    "sb_agent_add_note",
    "WITH n AS ("
    "  INSERT INTO notes (conversation_id, author, body, created_at)"
    "  SELECT c.id, $5, $6, $7::timestamptz FROM conversations c WHERE c.id = $4 AND " SB_VISIBLE
    "  RETURNING *)"
    "SELECT " SB_NOTE_JSON "::text FROM n"};

// $4 conversation; $5 state, $6 set assignee?, $7 assignee, $8 priority, $9 tags, $10 set queue?,
// $11 queue, $12 now. NULL leaves a column as it is.
constexpr Statement kChange{
    "sb_agent_change",
    "WITH c AS ("
    "  UPDATE conversations c"
    "     SET state = coalesce($5, c.state),"
    "         resolved_at = CASE WHEN $5 = 'resolved' AND c.state <> 'resolved' THEN $12::timestamptz"
    "                            WHEN $5 IN ('open', 'pending') THEN NULL ELSE c.resolved_at END,"
    "         waiting_since = CASE WHEN $5 = 'resolved' THEN NULL ELSE c.waiting_since END,"
    "         assignee = CASE WHEN $6 THEN $7 ELSE c.assignee END,"
    "         priority = coalesce($8, c.priority),"
    "         tags = coalesce($9::text[], c.tags),"
    "         queue = CASE WHEN $10 THEN $11 ELSE c.queue END"
    "   WHERE c.id = $4 AND " SB_VISIBLE
    "  RETURNING c.*)"
    "SELECT " SB_CONVERSATION_JSON "::text FROM c JOIN customers u ON u.id = c.customer_id"};

// $4 customer.
constexpr Statement kCustomer{
    "sb_agent_customer",
    "SELECT jsonb_build_object('id', u.id::text, 'display_name', u.display_name, 'language', u.language,"
    " 'tags', to_jsonb(u.tags), 'created_at', switchboard_time(u.created_at), 'merged_into', u.merged_into::text,"
    " 'identities', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', i.kind, 'value', i.value,"
    "                  'verified', i.verified, 'created_at', switchboard_time(i.created_at))"
    "                  ORDER BY i.created_at, i.kind, i.value), '[]') FROM identities i WHERE i.customer_id = u.id),"
    " 'conversations', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id::text, 'state', c.state,"
    "                  'queue', c.queue, 'opened_at', switchboard_time(c.opened_at),"
    "                  'last_message_at', switchboard_time(c.last_message_at)) ORDER BY c.opened_at DESC, c.id DESC),"
    "                  '[]') FROM conversations c WHERE c.customer_id = u.id AND " SB_VISIBLE
    "),"
    " 'opt_outs', (SELECT coalesce(jsonb_agg(jsonb_build_object('channel', o.channel, 'address', o.address,"
    "                  'since', switchboard_time(o.since), 'source', o.source) ORDER BY o.since), '[]')"
    "                FROM opt_outs o JOIN identities i ON i.customer_id = u.id AND i.kind = 'phone' AND o.address = "
    "i.value)"
    ")::text"
    "  FROM customers u"
    " WHERE u.id = $4"
    "   AND ($1 OR EXISTS (SELECT 1 FROM conversations c WHERE c.customer_id = u.id AND " SB_VISIBLE "))"};

// $1 customer: its merged_into and identity count, locked for the change.
constexpr Statement kCustomerLock{"sb_agent_customer_lock",
                                  "SELECT merged_into, (SELECT count(*) FROM identities WHERE customer_id = u.id)"
                                  "  FROM customers u WHERE u.id = $1 FOR UPDATE"};

constexpr Statement kIdentityOf{"sb_agent_identity_of",
                                "SELECT 1 FROM identities WHERE customer_id = $1 AND kind = $2 AND value = $3"};

// The pipeline's advisory locks (storage/pipeline.cpp kLock, "i:<kind>:<value>" in byte order)
// on every identity of customers $1 and $2: a message of theirs being stored finishes first.
constexpr Statement kIdentityLocks{"sb_agent_identity_locks",
                                   "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
                                   "  FROM (SELECT 'i:' || kind || ':' || value AS k FROM identities"
                                   "         WHERE customer_id IN ($1, $2)) AS keys"
                                   " ORDER BY k COLLATE \"C\""};

// $1 message, $2 conversation: a messages cursor names a message of that conversation.
constexpr Statement kCursorMessage{"sb_agent_cursor_message",
                                   "SELECT 1 FROM messages WHERE id = $1 AND conversation_id = $2"};

constexpr Statement kMergeLock{"sb_agent_merge_lock", sql::kMergeLockSql};
constexpr Statement kMerge{"sb_agent_merge", sql::kMergeSql};

constexpr Statement kChangeAudit{"sb_agent_customer_change",
                                 "INSERT INTO customer_changes (at, actor, action, customer_id, other_id, detail)"
                                 " VALUES ($1::timestamptz, $2, $3, $4, $5, $6::jsonb)"};

// $1 customer, $2 kind, $3 value, $4 now: the new customer's id, NULL when the identity is not theirs.
constexpr Statement kSplit{
    "sb_agent_split",
    "WITH identity AS ("
    "  SELECT kind, value FROM identities WHERE customer_id = $1 AND kind = $2 AND value = $3"
    "     FOR UPDATE),"
    " fresh AS ("
    "  INSERT INTO customers (display_name, created_at) SELECT '', $4::timestamptz FROM identity RETURNING id),"
    " moved AS ("
    "  UPDATE identities i SET customer_id = (SELECT id FROM fresh)"
    "    FROM identity WHERE i.kind = identity.kind AND i.value = identity.value)"
    "SELECT id FROM fresh"};

// $4 message, $5 position.
constexpr Statement kAttachment{"sb_agent_attachment",
                                "SELECT ac.bytes, coalesce(m.attachments->($5::int)->>'mime_type', ''), "
                                "coalesce(m.attachments->($5::int)->>'name', '')"
                                "  FROM attachment_contents ac"
                                "  JOIN messages m ON m.id = ac.message_id"
                                "  JOIN conversations c ON c.id = m.conversation_id"
                                " WHERE ac.message_id = $4 AND ac.position = $5 AND " SB_VISIBLE};

// Events follow the order of the transactions that wrote them, which is not always the order in
// which they committed: two changes of one conversation may arrive the other way round. So a
// conversation.updated carries the conversation as it is when the event is read (its state,
// queue, priority, tags and assignee), and the last one a client gets is always current.
#define SB_EVENT_NOW                                                                                            \
  "CASE WHEN e.type = 'conversation.updated' THEN coalesce((SELECT jsonb_build_object('conversation', "         \
  "  jsonb_build_object('state', c.state, 'queue', c.queue, 'priority', c.priority, "                           \
  "  'tags', to_jsonb(c.tags), 'assignee', c.assignee)) FROM conversations c WHERE c.id = e.conversation_id), " \
  "  '{}'::jsonb) ELSE '{}'::jsonb END"

// Only events of transactions older than the snapshot's xmin: all of those have ended, so
// nothing can still commit before them (migration 0015).
constexpr Statement kEventsAfter{
    "sb_agent_events_after",
    "SELECT e.xact::text, e.seq,"
    "       (jsonb_build_object('id', switchboard_event_id(e.xact, e.seq)::text, 'type', e.type,"
    "                           'at', switchboard_time(e.at), 'conversation_id', e.conversation_id::text)"
    "        || e.payload || " SB_EVENT_NOW
    ")::text,"
    "       e.queue, e.assignee, e.moved, e.prior_queue, e.prior_assignee"
    "  FROM events e"
    " WHERE (e.xact, e.seq) > ($1::text::xid8, $2::int) AND e.xact < pg_snapshot_xmin(pg_current_snapshot())"
    " ORDER BY e.xact, e.seq LIMIT $3"};

constexpr Statement kEventBounds{
    "sb_agent_event_bounds",
    "SELECT h.pruned_xact::text, h.pruned_seq, n.xact::text, n.seq"
    "  FROM event_horizon h LEFT JOIN LATERAL ("
    "    SELECT e.xact, e.seq FROM events e WHERE e.xact < pg_snapshot_xmin(pg_current_snapshot())"
    "     ORDER BY e.xact DESC, e.seq DESC LIMIT 1) n ON true"};

constexpr Statement kPruneEvents{
    "sb_agent_prune_events",
    "WITH gone AS (DELETE FROM events"
    "               WHERE at < $1::timestamptz AND xact < pg_snapshot_xmin(pg_current_snapshot())"
    "              RETURNING xact, seq),"
    " top AS (SELECT xact, seq FROM gone ORDER BY xact DESC, seq DESC LIMIT 1),"
    " moved AS (UPDATE event_horizon h SET pruned_xact = top.xact, pruned_seq = top.seq FROM top"
    "            WHERE (top.xact, top.seq::bigint) > (h.pruned_xact, h.pruned_seq))"
    "SELECT count(*) FROM gone"};

// Search (migration 0016): $4 the tsquery, $5 the message id to continue below (NULL: from the
// newest), $6 limit; newest first. PostgreSQL cannot estimate how many messages a query with a
// prefix matches, and guesses wrong both ways, so the plan is chosen here: first the newest
// kRecent messages are checked (kSearchRecent: a common word fills the page there, in
// milliseconds); when they hold less than a page, every match is taken through the lexeme index
// (kSearchIds, with sequential scans off: the word is rare) and the newest of those are read
// (kSearchAmong).
#define SB_SEARCH_HIT_JSON                                                                               \
  "SELECT jsonb_build_object('message', jsonb_build_object("                                             \
  "         'id', m.id::text, 'conversation_id', m.conversation_id::text, 'direction', m.direction,"     \
  "         'channel', m.channel, 'sender', m.sender, 'subject', eh.subject, 'text', left(m.body, 300)," \
  "         'truncated', length(m.body) > 300, 'created_at', switchboard_time(m.created_at)),"           \
  "       'conversation', " SB_CONVERSATION_JSON ")::text, m.id"
#define SB_SEARCH_JOINS                                \
  "  JOIN messages m ON m.id = s.message_id"           \
  "  JOIN conversations c ON c.id = m.conversation_id" \
  "  JOIN customers u ON u.id = c.customer_id"         \
  "  LEFT JOIN email_headers eh ON eh.message_id = m.id"
#define SB_SEARCH_BELOW "($5::bigint IS NULL OR s.message_id < $5)"

constexpr const char* kSearchRecent = SB_SEARCH_HIT_JSON
    "  FROM (SELECT s.message_id, s.lexemes FROM message_search s WHERE " SB_SEARCH_BELOW
    "         ORDER BY s.message_id DESC LIMIT 20000) s" SB_SEARCH_JOINS
    " WHERE s.lexemes @@ to_tsquery('simple', $4) AND " SB_VISIBLE " ORDER BY s.message_id DESC LIMIT $6";
// Every match of $1 below $2 through the lexeme index (sequential scans off), unordered; then
// the caller's newest among those ids ($4).
constexpr const char* kSearchIds =
    "SELECT s.message_id FROM message_search s"
    " WHERE s.lexemes @@ to_tsquery('simple', $1) AND ($2::bigint IS NULL OR s.message_id < $2)";
constexpr const char* kSearchAmong = SB_SEARCH_HIT_JSON "  FROM unnest($4::bigint[]) AS s(message_id)" SB_SEARCH_JOINS
                                                        " WHERE " SB_VISIBLE " ORDER BY m.id DESC LIMIT $5";

// Customers: $4 identity values to look up exactly (a phone in E.164, an e-mail address), and the
// customers with a word of their name starting with each word of the query ($5, $6, ...: lower
// case and LIKE-escaped, folded here by the function that folded the names, migration 0016);
// limit 10. Not prepared: each word is then a constant prefix the word index can range over. For
// an agent, only customers with a conversation they may see.
std::string search_customers_sql(std::size_t name_words) {
  std::string by_name;
  for (std::size_t i = 0; i < name_words; ++i)
    by_name += std::string(i ? " INTERSECT " : "") +
               "SELECT customer_id FROM customer_name_words WHERE word LIKE switchboard_fold($" +
               std::to_string(5 + i) + ") || '%'";
  return "WITH found AS (SELECT i.customer_id AS id FROM identities i WHERE i.value = ANY ($4::text[])" +
         (by_name.empty() ? std::string() : " UNION (" + by_name + ")") +
         ")"
         "SELECT jsonb_build_object('id', u.id::text, 'display_name', u.display_name, 'language', u.language,"
         "         'identities', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', i.kind, 'value', i.value)"
         "                                                  ORDER BY i.kind, i.value)"
         "                                   FROM identities i WHERE i.customer_id = u.id), '[]'::jsonb))::text"
         "  FROM found f JOIN customers u ON u.id = f.id"
         " WHERE u.merged_into IS NULL"
         "   AND ($1 OR EXISTS (SELECT 1 FROM conversations c WHERE c.customer_id = u.id AND " SB_VISIBLE
         "))"
         " ORDER BY u.id DESC LIMIT 10";
}

constexpr Statement kStatements[] = {
    kListWaiting, kListActivity, kConversation, kDetail,        kMessages,      kNotes,      kSystemMessages, kAddNote,
    kChange,      kCustomer,     kCustomerLock, kIdentityLocks, kCursorMessage, kIdentityOf, kMergeLock,      kMerge,
    kChangeAudit, kSplit,        kAttachment,   kEventsAfter,   kEventBounds,   kPruneEvents};

template <class T, class Op>
Result<T> run(Pool& pool, const sql::Work& work, Op op) {
  return sql::run_unit<T>(pool, "agent", kStatements, "agent_db_retry", work, std::move(op));
}

Error conversation_not_found(const std::string& id) {
  return make_error(ErrorKind::not_found, "conversation_not_found", "no conversation with id '" + id + "'");
}
Error customer_not_found(const std::string& id) {
  return make_error(ErrorKind::not_found, "customer_not_found", "no customer with id '" + id + "'");
}
Error bad_cursor() {
  return make_error(ErrorKind::invalid, "invalid_parameter", "'cursor' is not one this list handed out");
}

std::string hidden_array(const Viewer& v) {
  return sql::text_array(v.hidden);
}

// Cursors: "<sort><phase>.<key>.<id>", e.g. "w1.1765150000000000.42", "a2..17".
struct Cursor {
  int phase = 0;
  std::int64_t key = 0;
  std::int64_t id = 0;
};

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

std::optional<Cursor> parse_cursor(const std::string& text, char sort) {
  Cursor c;
  if (text.empty()) return c;
  if (text.size() < 4 || text[0] != sort || (text[1] != '1' && text[1] != '2') || text[2] != '.') return std::nullopt;
  c.phase = text[1] - '0';
  const auto rest = std::string_view(text).substr(3);
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  if (c.phase == 1 && !parse_int(rest.substr(0, dot), c.key)) return std::nullopt;
  if (c.phase == 2 && dot != 0) return std::nullopt;
  if (!parse_int(rest.substr(dot + 1), c.id) || c.id < 0) return std::nullopt;
  return c;
}

std::optional<std::int64_t> id_number(const std::string& id) {
  if (!sql::is_canonical_id(id)) return std::nullopt;
  std::int64_t n = 0;
  if (!parse_int(id, n)) return std::nullopt;
  return n;
}

// PostgreSQL writes jsonb with a space after every ':' and ','; clients get it compact.
std::string compact(const pqxx::field& f) {
  boost::json::error_code ec;
  auto v = boost::json::parse(std::string_view(f.c_str(), f.size()), ec);
  if (ec) return std::string(f.c_str(), f.size());
  return boost::json::serialize(v);
}

std::string join_items(const pqxx::result& r, std::size_t count) {
  std::string out = "[";
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ',';
    out += compact(r[static_cast<int>(i)][0]);
  }
  out += ']';
  return out;
}

std::string json_string(const std::string& s) {
  // Cursors and ids only: digits, letters and dots, nothing to escape.
  return "\"" + s + "\"";
}

}  // namespace

Result<std::string> list_conversations(Pool& pool, const Viewer& viewer, const ConversationQuery& query) {
  const char sort = query.by_activity ? 'a' : 'w';
  const auto cursor = parse_cursor(query.cursor, sort);
  if (!cursor) return bad_cursor();
  return run<std::string>(
      pool, {"cannot list conversations", "invalid_parameter"},
      [&](pqxx::connection& conn, bool&) -> Result<std::string> {
        pqxx::nontransaction tx(conn);
        const auto& statement = query.by_activity ? kListActivity : kListWaiting;
        auto r = tx.exec_prepared(statement.name, viewer.all, viewer.login, hidden_array(viewer),
                                  sql::text_array(query.states), query.queue, query.assignee, query.channel, query.tag,
                                  cursor->phase, cursor->key, cursor->id, query.limit + 1);
        const bool more = r.size() > static_cast<std::size_t>(query.limit);
        const std::size_t n = more ? static_cast<std::size_t>(query.limit) : r.size();
        std::string next = "null";
        if (more) {
          const auto& last = r[static_cast<int>(n - 1)];
          next = last[2].is_null() ? json_string(std::string(1, sort) + "2.." + last[1].c_str())
                                   : json_string(std::string(1, sort) + "1." + last[2].c_str() + "." + last[1].c_str());
        }
        return "{\"items\":" + join_items(r, n) + ",\"next_cursor\":" + next + "}";
      });
}

Result<std::string> conversation_detail(Pool& pool, const Viewer& viewer, const std::string& id) {
  if (!sql::is_canonical_id(id)) return conversation_not_found(id);
  return run<std::string>(pool, {"cannot read conversation " + id, "invalid_parameter"},
                          [&](pqxx::connection& conn, bool&) -> Result<std::string> {
                            pqxx::nontransaction tx(conn);
                            auto r = tx.exec_prepared(kDetail.name, viewer.all, viewer.login, hidden_array(viewer), id);
                            if (r.empty()) return conversation_not_found(id);
                            return compact(r[0][0]);
                          });
}

Result<std::string> conversation(Pool& pool, const Viewer& viewer, const std::string& id) {
  if (!sql::is_canonical_id(id)) return conversation_not_found(id);
  return run<std::string>(pool, {"cannot read conversation " + id, "invalid_parameter"},
                          [&](pqxx::connection& conn, bool&) -> Result<std::string> {
                            pqxx::nontransaction tx(conn);
                            auto r = tx.exec_prepared(kConversation.name, viewer.all, viewer.login,
                                                      hidden_array(viewer), id);
                            if (r.empty()) return conversation_not_found(id);
                            return compact(r[0][0]);
                          });
}

Result<std::string> conversation_page(Pool& pool, const Viewer& viewer, const std::string& id, int limit,
                                      const std::string& cursor) {
  if (!sql::is_canonical_id(id)) return conversation_not_found(id);
  std::optional<std::int64_t> before;
  if (!cursor.empty()) {
    before = id_number(cursor);
    if (!before) return bad_cursor();
  }
  return run<std::string>(
      pool, {"cannot read the messages of conversation " + id, "invalid_parameter"},
      [&](pqxx::connection& conn, bool&) -> Result<std::string> {
        // One snapshot for the conversation and its parts.
        pqxx::read_transaction tx(conn);
        auto c = tx.exec_prepared(kConversation.name, viewer.all, viewer.login, hidden_array(viewer), id);
        if (c.empty()) return conversation_not_found(id);
        if (before && tx.exec_prepared(kCursorMessage.name, *before, id).empty()) return bad_cursor();
        auto m = tx.exec_prepared(kMessages.name, id, before, limit + 1);
        const bool more = m.size() > static_cast<std::size_t>(limit);
        const std::size_t n = more ? static_cast<std::size_t>(limit) : m.size();
        std::string messages = "[";
        for (std::size_t i = n; i-- > 0;) {  // newest first from the database, oldest first out
          if (messages.size() > 1) messages += ',';
          messages += compact(m[static_cast<int>(i)][0]);
        }
        messages += ']';
        auto notes = tx.exec_prepared(kNotes.name, id);
        auto system = tx.exec_prepared(kSystemMessages.name, id);
        std::string out = "{\"conversation\":";
        out += compact(c[0][0]);
        out += ",\"messages\":" + messages;
        out += ",\"notes\":" + join_items(notes, notes.size());
        out += ",\"system_messages\":" + join_items(system, system.size());
        out += ",\"next_cursor\":" + (more ? json_string(m[static_cast<int>(n - 1)][1].c_str()) : std::string("null"));
        out += "}";
        return out;
      });
}

Result<std::string> add_note(Pool& pool, const Viewer& viewer, const std::string& id, const std::string& author,
                             const std::string& text, Timestamp now) {
  if (!sql::is_canonical_id(id)) return conversation_not_found(id);
  return run<std::string>(pool, {"cannot add the note", "invalid_note"},
                          [&](pqxx::connection& conn, bool& committing) -> Result<std::string> {
                            pqxx::work tx(conn, "add_note");
                            auto r = tx.exec_prepared(kAddNote.name, viewer.all, viewer.login, hidden_array(viewer), id,
                                                      author, text, format_rfc3339(now));
                            if (r.empty()) return conversation_not_found(id);
                            std::string note = compact(r[0][0]);
                            committing = true;
                            tx.commit();
                            return note;
                          });
}

Result<std::string> change_conversation(Pool& pool, const Viewer& viewer, const std::string& id,
                                        const ConversationChange& change, Timestamp now) {
  if (!sql::is_canonical_id(id)) return conversation_not_found(id);
  std::optional<std::string> tags;
  if (change.tags) tags = sql::text_array(*change.tags);
  return run<std::string>(
      pool, {"cannot change conversation " + id, "invalid_field"},
      [&](pqxx::connection& conn, bool& committing) -> Result<std::string> {
        pqxx::work tx(conn, "change_conversation");
        pqxx::result r;
        try {
          r = tx.exec_prepared(kChange.name, viewer.all, viewer.login, hidden_array(viewer), id, change.state,
                               change.assignee.has_value(), change.assignee ? *change.assignee : std::nullopt,
                               change.priority, tags, change.queue.has_value(),
                               change.queue ? *change.queue : std::nullopt, format_rfc3339(now));
        } catch (const pqxx::unique_violation&) {
          return make_error(ErrorKind::conflict, "another_active_conversation",
                            "the customer has another open conversation: reopen that one, or resolve it first");
        }
        if (r.empty()) return conversation_not_found(id);
        std::string out = compact(r[0][0]);
        committing = true;
        tx.commit();
        return out;
      });
}

Result<std::string> customer_detail(Pool& pool, const Viewer& viewer, const std::string& id) {
  if (!sql::is_canonical_id(id)) return customer_not_found(id);
  return run<std::string>(pool, {"cannot read customer " + id, "invalid_parameter"},
                          [&](pqxx::connection& conn, bool&) -> Result<std::string> {
                            pqxx::nontransaction tx(conn);
                            auto r =
                                tx.exec_prepared(kCustomer.name, viewer.all, viewer.login, hidden_array(viewer), id);
                            if (r.empty()) return customer_not_found(id);
                            return compact(r[0][0]);
                          });
}

Result<std::string> merge_customer(Pool& pool, const Viewer& viewer, const std::string& id, const std::string& other,
                                   const std::string& actor, Timestamp now) {
  if (!sql::is_canonical_id(id)) return customer_not_found(id);
  if (!sql::is_canonical_id(other)) return customer_not_found(other);
  if (id == other) return make_error(ErrorKind::invalid, "merge_self", "a customer cannot be merged into itself");
  return run<std::string>(pool, {"cannot merge customer " + other + " into " + id, "invalid_parameter"},
                          [&](pqxx::connection& conn, bool& committing) -> Result<std::string> {
                            pqxx::work tx(conn, "merge_customer");
                            const auto hidden = hidden_array(viewer);
                            for (const auto& who : {id, other})
                              if (tx.exec_prepared(kCustomer.name, viewer.all, viewer.login, hidden, who).empty())
                                return customer_not_found(who);
                            // The pipeline's order: its identity locks, the active conversations,
                            // then the customers (in id order, as every merge locks them).
                            tx.exec_prepared(kIdentityLocks.name, id, other);
                            tx.exec_prepared(kMergeLock.name, id, other);
                            const auto& first = std::stoll(id) < std::stoll(other) ? id : other;
                            const auto& second = &first == &id ? other : id;
                            for (const auto& who : {first, second}) {
                              auto r = tx.exec_prepared(kCustomerLock.name, who);
                              if (!r[0][0].is_null())
                                return make_error(ErrorKind::conflict, "already_merged",
                                                  "customer " + who + " was merged into customer " + r[0][0].c_str());
                            }
                            const auto at = format_rfc3339(now);
                            auto moved = tx.exec_prepared(kMerge.name, id, other, at);
                            boost::json::object detail;
                            if (!moved[0][2].is_null()) detail["messages_moved"] = moved[0][2].as<long>();
                            tx.exec_prepared(kChangeAudit.name, at, actor, "merge", id, other,
                                             boost::json::serialize(detail));
                            auto r = tx.exec_prepared(kCustomer.name, viewer.all, viewer.login, hidden, id);
                            if (r.empty()) return customer_not_found(id);
                            std::string out = compact(r[0][0]);
                            committing = true;
                            tx.commit();
                            log::info("customers_merged", {{"into", id}, {"from", other}, {"by", actor}});
                            return out;
                          });
}

Result<std::string> split_customer(Pool& pool, const Viewer& viewer, const std::string& id, const std::string& kind,
                                   const std::string& value, const std::string& actor, Timestamp now) {
  if (!sql::is_canonical_id(id)) return customer_not_found(id);
  return run<std::string>(
      pool, {"cannot split customer " + id, "invalid_parameter"},
      [&](pqxx::connection& conn, bool& committing) -> Result<std::string> {
        pqxx::work tx(conn, "split_customer");
        if (tx.exec_prepared(kCustomer.name, viewer.all, viewer.login, hidden_array(viewer), id).empty())
          return customer_not_found(id);
        tx.exec_prepared(kIdentityLocks.name, id, id);
        auto lock = tx.exec_prepared(kCustomerLock.name, id);
        if (!lock[0][0].is_null())
          return make_error(ErrorKind::conflict, "already_merged", "customer " + id + " was merged into another");
        if (tx.exec_prepared(kIdentityOf.name, id, kind, value).empty())
          return make_error(ErrorKind::not_found, "identity_not_found",
                            "customer " + id + " has no identity " + kind + " '" + value + "'");
        if (lock[0][1].as<long>() < 2)
          return make_error(ErrorKind::invalid, "last_identity",
                            "the customer's only identity cannot be split off: nothing would be left");
        const auto at = format_rfc3339(now);
        auto r = tx.exec_prepared(kSplit.name, id, kind, value, at);
        if (r.empty() || r[0][0].is_null())
          return make_error(ErrorKind::not_found, "identity_not_found",
                            "customer " + id + " has no identity " + kind + " '" + value + "'");
        const std::string fresh = r[0][0].c_str();
        tx.exec_prepared(kChangeAudit.name, at, actor, "split", id, fresh,
                         boost::json::serialize(boost::json::object{{"kind", kind}, {"value", value}}));
        auto c = tx.exec_prepared(kCustomer.name, true, "", "{}", fresh);
        std::string out = compact(c[0][0]);
        committing = true;
        tx.commit();
        log::info("customer_split", {{"from", id}, {"into", fresh}, {"kind", kind}, {"by", actor}});
        return out;
      });
}

Result<AttachmentBytes> attachment(Pool& pool, const Viewer& viewer, const std::string& message_id, int position) {
  auto missing = [&] {
    return make_error(ErrorKind::not_found, "attachment_not_found",
                      "message " + message_id + " has no kept attachment " + std::to_string(position));
  };
  if (!sql::is_canonical_id(message_id) || position < 0) return missing();
  return run<AttachmentBytes>(pool, {"cannot read the attachment", "invalid_parameter"},
                              [&](pqxx::connection& conn, bool&) -> Result<AttachmentBytes> {
                                pqxx::nontransaction tx(conn);
                                auto r = tx.exec_prepared(kAttachment.name, viewer.all, viewer.login,
                                                          hidden_array(viewer), message_id, position);
                                if (r.empty()) return missing();
                                AttachmentBytes a;
                                const pqxx::binarystring bytes(r[0][0]);
                                a.bytes = bytes.str();
                                a.mime_type = r[0][1].c_str();
                                a.name = r[0][2].c_str();
                                return a;
                              });
}

Result<std::string> search(Pool& pool, const Viewer& viewer, const SearchQuery& query) {
  std::optional<std::int64_t> below;
  if (!query.cursor.empty()) {
    below = id_number(query.cursor);
    if (!below) return bad_cursor();
  }
  return run<std::string>(
      pool, {"cannot search", "invalid_parameter"}, [&](pqxx::connection& conn, bool&) -> Result<std::string> {
        // A transaction for SET LOCAL; it reads only (no transaction id: the stream is not held up).
        pqxx::work tx(conn, "search");
        std::string items = "[]";
        std::string next = "null";
        if (!query.tsquery.empty()) {
          // Not prepared: every call is planned for its own words.
          auto r = tx.exec_params(kSearchRecent, viewer.all, viewer.login, hidden_array(viewer), query.tsquery, below,
                                  query.limit + 1);
          if (r.size() <= static_cast<std::size_t>(query.limit)) {
            tx.exec("SET LOCAL enable_seqscan = off");
            const auto hits = tx.exec_params(kSearchIds, query.tsquery, below);
            tx.exec("SET LOCAL enable_seqscan = on");
            std::string ids = "{";
            for (const auto& row : hits) ids += (ids.size() > 1 ? "," : "") + std::string(row[0].c_str());
            r = tx.exec_params(kSearchAmong, viewer.all, viewer.login, hidden_array(viewer), ids + "}",
                               query.limit + 1);
          }
          const bool more = r.size() > static_cast<std::size_t>(query.limit);
          const std::size_t n = more ? static_cast<std::size_t>(query.limit) : r.size();
          items = join_items(r, n);
          if (more) next = json_string(r[static_cast<int>(n - 1)][1].c_str());
        }
        std::string customers = "[]";
        if (!below && (!query.identities.empty() || !query.name.empty())) {
          const auto like = [](std::string_view text) {
            std::string out;
            for (char c : text) {
              if (c == '%' || c == '_' || c == '\\') out += '\\';
              out += c;
            }
            return out;
          };
          // At most 4 words of the name, each a prefix of a word of the customer's name.
          std::vector<std::string> words;
          std::string_view rest = query.name;
          while (!rest.empty() && words.size() < 4) {
            const auto space = rest.find(' ');
            if (const auto word = rest.substr(0, space); !word.empty()) words.push_back(like(word));
            rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
          }
          auto r = tx.exec_params(search_customers_sql(words.size()), viewer.all, viewer.login, hidden_array(viewer),
                                  sql::text_array(query.identities),
                                  pqxx::prepare::make_dynamic_params(words.begin(), words.end()));
          customers = join_items(r, r.size());
        }
        tx.commit();
        return "{\"items\":" + items + ",\"next_cursor\":" + next + ",\"customers\":" + customers + "}";
      });
}

std::string EventId::str() const {
  if (xact == 0) return std::to_string(seq);
  std::string s = std::to_string(seq);
  return std::to_string(xact) + std::string(9 - std::min<std::size_t>(s.size(), 9), '0') + s;
}

std::optional<EventId> EventId::parse(std::string_view digits) {
  constexpr std::size_t kSeqDigits = 9;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const auto split = digits.size() > kSeqDigits ? digits.size() - kSeqDigits : 0;
  EventId id;
  const auto* end = digits.data() + digits.size();
  if (split > 0) {
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + split, id.xact);
    if (ec != std::errc{}) return std::nullopt;  // more than 64 bits
  }
  std::from_chars(digits.data() + split, end, id.seq);  // at most 9 digits: fits
  return id;
}

namespace {

EventId event_id(const pqxx::field& xact, const pqxx::field& seq) {
  EventId id;
  const std::string_view x = xact.c_str();
  std::from_chars(x.data(), x.data() + x.size(), id.xact);
  id.seq = seq.as<std::uint32_t>();
  return id;
}

}  // namespace

Result<std::vector<EventRow>> events_after(Pool& pool, EventId after, int limit) {
  return run<std::vector<EventRow>>(pool, {"cannot read events", "invalid_parameter"},
                                    [&](pqxx::connection& conn, bool&) -> Result<std::vector<EventRow>> {
                                      pqxx::nontransaction tx(conn);
                                      auto r = tx.exec_prepared(kEventsAfter.name, std::to_string(after.xact),
                                                                static_cast<long>(after.seq), limit);
                                      std::vector<EventRow> out;
                                      out.reserve(r.size());
                                      for (const auto& row : r) {
                                        EventRow e;
                                        e.id = event_id(row[0], row[1]);
                                        e.json = compact(row[2]);
                                        if (!row[3].is_null()) e.queue = row[3].c_str();
                                        if (!row[4].is_null()) e.assignee = row[4].c_str();
                                        if (row[5].as<bool>()) {
                                          e.prior.emplace();
                                          if (!row[6].is_null()) e.prior->first = row[6].c_str();
                                          if (!row[7].is_null()) e.prior->second = row[7].c_str();
                                        }
                                        out.push_back(std::move(e));
                                      }
                                      return out;
                                    });
}

Result<EventBounds> event_bounds(Pool& pool) {
  return run<EventBounds>(pool, {"cannot read the event bounds", "invalid_parameter"},
                          [&](pqxx::connection& conn, bool&) -> Result<EventBounds> {
                            pqxx::nontransaction tx(conn);
                            auto r = tx.exec_prepared(kEventBounds.name);
                            EventBounds b;
                            b.pruned_through = event_id(r[0][0], r[0][1]);
                            b.newest = r[0][2].is_null() ? b.pruned_through
                                                         : std::max(b.pruned_through, event_id(r[0][2], r[0][3]));
                            return b;
                          });
}

Result<long> prune_events(Pool& pool, Timestamp before) {
  return run<long>(pool, {"cannot prune events", "invalid_parameter"},
                   [&](pqxx::connection& conn, bool& committing) -> Result<long> {
                     pqxx::work tx(conn, "prune_events");
                     auto r = tx.exec_prepared(kPruneEvents.name, format_rfc3339(before));
                     committing = true;
                     tx.commit();
                     return r[0][0].as<long>();
                   });
}

}  // namespace switchboard::storage
