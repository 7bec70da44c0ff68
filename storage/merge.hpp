// The SQL of merging two customers, shared by the pipeline (one message proves two customers are
// one person) and the agent API (a person merges them). Internal to storage/.
#pragma once

namespace switchboard::storage::sql {

// Merging customer $2 into $1. First the absorbed customer's active conversation is locked, so
// that a message of theirs being stored right now commits before its conversation moves; then
// its messages join the surviving customer's active conversation (or the conversation itself
// moves over when the survivor has none), the rest of its history and its identities move, and
// it points at the survivor. kMergeSql ($3: now) returns the survivor's active conversation, the
// absorbed one's, and how many messages moved.
inline constexpr const char* kMergeLockSql = R"sql(
SELECT id FROM conversations WHERE customer_id IN ($1, $2) AND state IN ('open', 'pending')
 ORDER BY id
   FOR NO KEY UPDATE)sql";

inline constexpr const char* kMergeSql = R"sql(
WITH survivor AS (
       SELECT id FROM conversations WHERE customer_id = $1 AND state IN ('open', 'pending')),
     absorbed AS (
       SELECT id, inbound_count, inbound_since_human_reply, waiting_since
         FROM conversations WHERE customer_id = $2 AND state IN ('open', 'pending')),
     moved_messages AS (
       UPDATE messages SET conversation_id = (SELECT id FROM survivor)
        WHERE conversation_id = (SELECT id FROM absorbed) AND EXISTS (SELECT 1 FROM survivor)
       RETURNING id),
     moved_audit AS (
       UPDATE audit SET conversation_id = (SELECT id FROM survivor)
        WHERE conversation_id = (SELECT id FROM absorbed) AND EXISTS (SELECT 1 FROM survivor)),
     moved_pages AS (
       UPDATE pages SET conversation_id = (SELECT id FROM survivor)
        WHERE conversation_id = (SELECT id FROM absorbed) AND EXISTS (SELECT 1 FROM survivor)),
     counted AS (
       UPDATE conversations v
          SET inbound_count = v.inbound_count + a.inbound_count,
              inbound_since_human_reply = v.inbound_since_human_reply + a.inbound_since_human_reply,
              waiting_since = least(v.waiting_since, a.waiting_since)
         FROM absorbed a
        WHERE v.id = (SELECT id FROM survivor)),
     emptied AS (
       UPDATE conversations
          SET customer_id = $1, state = 'resolved', resolved_at = $3, inbound_count = 0,
              inbound_since_human_reply = 0, waiting_since = NULL, tags = array_append(tags, 'merged')
        WHERE id = (SELECT id FROM absorbed) AND EXISTS (SELECT 1 FROM survivor)),
     history AS (  -- a row may change only once per statement: not the one emptied above
       UPDATE conversations SET customer_id = $1
        WHERE customer_id = $2
          AND NOT (id IN (SELECT id FROM absorbed) AND EXISTS (SELECT 1 FROM survivor))),
     identities_moved AS (
       UPDATE identities SET customer_id = $1 WHERE customer_id = $2),
     pointed AS (
       UPDATE customers SET merged_into = $1 WHERE id = $2)
SELECT (SELECT id FROM survivor), (SELECT id FROM absorbed), (SELECT count(*) FROM moved_messages))sql";

}  // namespace switchboard::storage::sql
