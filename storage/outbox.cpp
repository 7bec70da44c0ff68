// The outbox: claims under leases with FOR UPDATE SKIP LOCKED, send results, agent replies.

// Every worker statement is a single autocommit statement on READ COMMITTED, prepared once per
// connection: a claim or a result costs one round trip. Under READ COMMITTED a row another
// daemon claimed and committed meanwhile is re-checked when locked and drops out of the claim
// (it is no longer 'queued'); one it is still claiming is locked and skipped. Two claims never
// return the same row.
#include "storage/outbox.hpp"

#include "routing/core/outbound.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>
#include <pqxx/pqxx>
#include <string_view>

#include "routing/core/log.hpp"
#include "routing/text/utf8.hpp"
#include "storage/instance_lock.hpp"
#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

// The due rows, oldest due first (the partial index outbox_due serves both the filter and the
// order), then the claimed rows joined with their message for the conversation id. The UPDATE's
// RETURNING has no order of its own: the outer SELECT restores it.
constexpr Statement kClaim{"sb_outbox_claim", R"sql(
WITH due AS (
       SELECT id
         FROM outbox
        WHERE state = 'queued' AND next_attempt_at <= $1
        ORDER BY next_attempt_at
        LIMIT $2
          FOR UPDATE SKIP LOCKED),
     claimed AS (
       UPDATE outbox o
          SET state = 'sending', attempts = o.attempts + 1, lease_until = $3, updated_at = $1,
              claim_id = gen_random_uuid(), claimed_by = nullif($4::integer, 0)
         FROM due
        WHERE o.id = due.id
       RETURNING o.id, o.message_id, o.channel, o.account, o.recipient, o.payload, o.attempts,
                 o.next_attempt_at, o.lease_until, o.claim_id, o.in_doubt_since)
SELECT c.id, c.message_id, m.conversation_id, c.channel, c.account, c.recipient, c.payload::text,
       c.attempts, (extract(epoch FROM c.lease_until) * 1000000)::bigint,
       (SELECT (extract(epoch FROM max(coalesce(i.sent_at, i.created_at))) * 1000000)::bigint
          FROM messages i
         WHERE i.conversation_id = m.conversation_id AND i.direction = 'in'
           AND i.channel = c.channel AND i.account = c.account),
       c.claim_id::text, (extract(epoch FROM c.in_doubt_since) * 1000000)::bigint
  FROM claimed c
  JOIN messages m ON m.id = c.message_id
 ORDER BY c.next_attempt_at, c.id)sql"};

// The instances that claimed rows still 'sending' and hold no InstanceLock now
// (storage/instance_lock.hpp), other than ours ($1). None while the database started less than
// $2 ms ago: every instance lost its lock then and takes it again on its next sweep. Advisory
// locks show in pg_locks as (classid, objid, objsubid 2) for the two-int4 form; $3 is the class.
constexpr Statement kDeadClaimers{"sb_outbox_dead_claimers", R"sql(
SELECT DISTINCT o.claimed_by
  FROM outbox o
 WHERE o.state = 'sending' AND o.claimed_by IS NOT NULL
   AND o.claimed_by <> ALL ($1::integer[])
   AND pg_postmaster_start_time() <= now() - $2::bigint * interval '1 millisecond'
   AND NOT EXISTS (
         SELECT 1
           FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.classid::text::bigint = $3 AND l.objid::text::bigint = o.claimed_by))sql"};

// A row is released by its lease, or at once when the instance that claimed it is one of $2
// (missing for a while: see dead_claimers) and still holds no lock. The claim id stays:
// a late result of that claim is still recorded until the row is claimed again.
constexpr Statement kRelease{"sb_outbox_release", R"sql(
UPDATE outbox o
   SET state = 'queued', lease_until = NULL, next_attempt_at = $1, updated_at = $1,
       last_error = CASE WHEN o.lease_until <= $1 THEN 'the sender reported no result before its lease expired'
                         ELSE 'the daemon that claimed it stopped' END
 WHERE o.state = 'sending'
   AND (o.lease_until <= $1
        OR (o.claimed_by = ANY ($2::integer[])
            AND NOT EXISTS (
                  SELECT 1
                    FROM pg_locks l
                   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND l.classid::text::bigint = $3 AND l.objid::text::bigint = o.claimed_by))))sql"};

// Our rows claimed under keys we held before, stamped with the key we hold now: once the old
// key's session is gone, another instance would otherwise take them for a dead instance's.
constexpr Statement kAdopt{"sb_outbox_adopt", R"sql(
UPDATE outbox SET claimed_by = $2 WHERE state = 'sending' AND claimed_by = ANY ($1::integer[]))sql"};

constexpr Statement kBeginAttempt{"sb_outbox_begin_attempt", R"sql(
UPDATE outbox
   SET in_doubt_since = $3, updated_at = $3
 WHERE id = $1 AND claim_id = $2::uuid AND state = 'sending')sql"};

// The result and the message's platform id in one statement. The id is only set when no other
// message of the channel account has it: the unique key would otherwise fail the statement and
// lose the result. A message that commits the same id meanwhile still makes this statement fail
// (23505): mark_sent then records the result alone, passing $3 = ''.
constexpr Statement kSent{"sb_outbox_sent", R"sql(
WITH done AS (
       UPDATE outbox
          SET state = $2, lease_until = NULL, in_doubt_since = NULL, updated_at = $4
        WHERE id = $1 AND claim_id = $5::uuid AND state IN ('sending', 'queued')
       RETURNING message_id),
     named AS (
       UPDATE messages m
          SET external_id = $3::text
         FROM done
        WHERE m.id = done.message_id AND $3::text <> ''
          AND NOT EXISTS (
                SELECT 1
                  FROM messages other
                 WHERE other.channel = m.channel AND other.account = m.account
                   AND other.external_id = $3::text AND other.id <> m.id)
       RETURNING m.id)
SELECT done.message_id, EXISTS (SELECT 1 FROM named) FROM done)sql"};

// A resend check found the row's message at the platform under $3: the result and the id in one
// statement, unless the answer is ambiguous. It is when another message of the channel account
// holds $3 already, or when another reply to the same recipient may be that message: one whose
// send is under way right now (in doubt since its attempt began, not since an older one), or one
// in doubt that is older than this row (it is checked first). A message that commits the id
// meanwhile makes the statement fail on the unique key: ambiguous too.
constexpr Statement kFound{"sb_outbox_found", R"sql(
WITH me AS (
       SELECT id, message_id, channel, account, recipient, in_doubt_since
         FROM outbox
        WHERE id = $1 AND claim_id = $5::uuid AND state IN ('sending', 'queued')),
     rival AS (
       SELECT 1
         FROM outbox o, me
        WHERE o.channel = me.channel AND o.account = me.account
          AND o.recipient IS NOT DISTINCT FROM me.recipient AND o.id <> me.id
          AND o.in_doubt_since IS NOT NULL
          AND ((o.state = 'sending' AND o.in_doubt_since >= o.updated_at)
               OR (o.state IN ('sending', 'queued')
                   AND (o.in_doubt_since, o.id) < (coalesce(me.in_doubt_since, 'infinity'), me.id)))
        UNION ALL
       -- A reply sent since this row's attempt whose platform id we never learnt: it may be it.
       SELECT 1
         FROM outbox o
         JOIN messages x ON x.id = o.message_id
         JOIN me ON true
        WHERE o.channel = me.channel AND o.account = me.account
          AND o.recipient IS NOT DISTINCT FROM me.recipient AND o.id <> me.id
          AND o.state IN ('sent', 'delivered', 'read') AND x.external_id IS NULL
          AND o.updated_at >= coalesce(me.in_doubt_since, '-infinity'::timestamptz) - interval '2 minutes'
        LIMIT 1),
     taken AS (
       SELECT 1
         FROM messages other, me
        WHERE other.channel = me.channel AND other.account = me.account
          AND other.external_id = $3::text AND other.id <> me.message_id
        LIMIT 1),
     done AS (
       UPDATE outbox o
          SET state = $2, lease_until = NULL, in_doubt_since = NULL, updated_at = $4
         FROM me
        WHERE o.id = me.id AND NOT EXISTS (SELECT 1 FROM rival) AND NOT EXISTS (SELECT 1 FROM taken)
       RETURNING o.message_id),
     named AS (
       UPDATE messages m
          SET external_id = $3::text
         FROM done
        WHERE m.id = done.message_id
       RETURNING m.id)
SELECT EXISTS (SELECT 1 FROM me), (SELECT message_id FROM done), EXISTS (SELECT 1 FROM named))sql"};

// Whether a claim's result is recorded already (a retried mark_* whose first try committed).
constexpr Statement kSettled{"sb_outbox_settled", R"sql(
SELECT 1 FROM outbox WHERE id = $1 AND claim_id = $2::uuid AND state NOT IN ('sending', 'queued'))sql"};

// The mark_* statements have no `now` for updated_at: the database's clock stands in.
constexpr Statement kRetry{"sb_outbox_retry", R"sql(
UPDATE outbox
   SET state = 'queued', last_error = $2, next_attempt_at = $5, lease_until = NULL, updated_at = now(),
       in_doubt_since = CASE WHEN $4::boolean THEN coalesce(in_doubt_since, now()) END
 WHERE id = $1 AND claim_id = $3::uuid AND state IN ('sending', 'queued'))sql"};

constexpr Statement kFailed{"sb_outbox_failed", R"sql(
UPDATE outbox
   SET state = 'failed', last_error = $2, lease_until = NULL, in_doubt_since = NULL, updated_at = now()
 WHERE id = $1 AND claim_id = $3::uuid AND state IN ('sending', 'queued'))sql"};

constexpr Statement kBlocked{"sb_outbox_blocked", R"sql(
UPDATE outbox
   SET state = 'blocked', last_error = $2, lease_until = NULL, in_doubt_since = NULL, updated_at = now()
 WHERE id = $1 AND claim_id = $3::uuid AND state IN ('sending', 'queued'))sql"};

// Statuses the platform reported before our send recorded the message's platform id: the
// highest-ranked one moves the row forward now (see storage/platform_events.hpp).
constexpr Statement kApplyEarlyStatus{"sb_outbox_apply_early_status", R"sql(
UPDATE outbox o
   SET state = best.status, last_error = coalesce(best.error, o.last_error), updated_at = now()
  FROM (SELECT d.status, d.error
          FROM messages m
          JOIN delivery_statuses d
            ON d.channel = m.channel AND d.account = m.account AND d.external_id = m.external_id
         WHERE m.id = $1
         ORDER BY sb_delivery_rank(d.status) DESC
         LIMIT 1) best
 WHERE o.message_id = $1 AND sb_delivery_rank(o.state) < sb_delivery_rank(best.status)
   AND o.state NOT IN ('queued', 'sending'))sql"};

constexpr Statement kGet{"sb_outbox_get", R"sql(
SELECT o.id, o.message_id, o.channel, o.account, o.recipient, o.payload::text, o.state, o.attempts,
       o.last_error, (extract(epoch FROM o.next_attempt_at) * 1000000)::bigint,
       (extract(epoch FROM o.lease_until) * 1000000)::bigint, m.external_id,
       (extract(epoch FROM o.in_doubt_since) * 1000000)::bigint
  FROM outbox o
  JOIN messages m ON m.id = o.message_id
 WHERE o.id = $1)sql"};

// Where an agent's reply goes: the conversation's newest inbound message. The conversation row
// is locked first, as the pipeline locks it first, so that the two never wait for each other in
// opposite orders; FOR ... OF c because the lateral side may be all NULLs.
constexpr Statement kReplyTarget{"sb_outbox_reply_target", R"sql(
SELECT last.id, last.channel, last.account, last.sender, h.message_id_header, h.subject, h.references_ids,
       h.message_id,
       -- The reply window runs from the newest message on that channel and account, as the
       -- sender measures it (kClaim): when the customer sent it, else when it came.
       (SELECT (extract(epoch FROM max(coalesce(i.sent_at, i.created_at))) * 1000000)::bigint
          FROM messages i
         WHERE i.conversation_id = c.id AND i.direction = 'in' AND i.channel = last.channel
           AND i.account = last.account)
  FROM conversations c
  LEFT JOIN LATERAL (
        SELECT id, channel, account, sender
          FROM messages
         WHERE conversation_id = c.id AND direction = 'in'
           AND ($2::text IS NULL OR channel = $2) AND ($3::text IS NULL OR account = $3)
         ORDER BY created_at DESC, id DESC
         LIMIT 1) AS last ON true
  LEFT JOIN email_headers h ON h.message_id = last.id
 WHERE c.id = $1
   FOR NO KEY UPDATE OF c)sql"};

// The reply, its outbox row, first_response_at and the wake-up call for the outbox workers
// (delivered at commit).
constexpr Statement kReplyInsert{"sb_outbox_reply_insert", R"sql(
WITH reply AS (
       INSERT INTO messages (conversation_id, direction, channel, account, sender, body)
       VALUES ($1, 'out', $2, $3, $4, $5)
       RETURNING id),
     queued AS (
       INSERT INTO outbox (message_id, channel, account, recipient, payload, next_attempt_at)
       SELECT id, $2, $3, $6, $7::jsonb, $8 FROM reply
       RETURNING id),
     responded AS (
       UPDATE conversations
          SET first_response_at = coalesce(first_response_at, $8),
              last_human_reply_at = $8,
              inbound_since_human_reply = 0,
              waiting_since = NULL
        WHERE id = $1)
SELECT reply.id, queued.id, pg_notify('switchboard_outbox', '') FROM reply, queued)sql"};

// Rows waiting or in flight, for /metrics: both states have a partial index, so this stays cheap
// however many delivered rows the table holds.
constexpr Statement kBacklog{"sb_outbox_backlog", R"sql(
SELECT 'queued', count(*) FROM outbox WHERE state = 'queued'
UNION ALL
SELECT 'sending', count(*) FROM outbox WHERE state = 'sending')sql"};

constexpr Statement kKnownOutbound{"sb_outbox_known_outbound", R"sql(
SELECT 1 FROM messages WHERE channel = $1 AND account = $2 AND direction = 'out' AND external_id = $3)sql"};

constexpr Statement kStatements[] = {kAdopt, kClaim,       kDeadClaimers, kRelease, kBeginAttempt, kSent,
                                     kFound, kSettled,     kRetry,        kFailed,  kBlocked,      kApplyEarlyStatus,
                                     kGet,   kReplyTarget, kReplyInsert,  kBacklog, kKnownOutbound};

using sql::Work;

template <class T, class Op>
Result<T> run(Pool& pool, const Work& work, Op op) {
  return sql::run_unit<T>(pool, "outbox", kStatements, "outbox_db_retry", work, std::move(op));
}

using routing::utf8_sequence;

bool is_utf8(std::string_view s) {
  return routing::is_valid_utf8(s);
}

// last_error as stored: see kMaxErrorBytes.
std::string error_text(std::string_view error) {
  constexpr std::string_view kReplacement = routing::kReplacementCharacter;
  std::string out;
  out.reserve(std::min(error.size(), kMaxErrorBytes));
  for (std::size_t i = 0; i < error.size();) {
    const auto n = error[i] == '\0' ? 0 : utf8_sequence(error, i);
    const auto piece = n == 0 ? kReplacement : error.substr(i, n);
    if (out.size() + piece.size() > kMaxErrorBytes) break;
    out += piece;
    i += n == 0 ? 1 : n;
  }
  return out;
}

// A platform id the database could never store (NUL, not UTF-8) is dropped up front; one it
// refuses for other reasons (too long for the unique index) shows as an exception.
bool storable_external_id(const std::string& id) {
  return id.find('\0') == std::string::npos && is_utf8(id);
}

bool refused_external_id(const pqxx::sql_error& e) {
  // By type as well: not every libpqxx 6 exception carries its sqlstate.
  if (dynamic_cast<const pqxx::unique_violation*>(&e) || dynamic_cast<const pqxx::data_exception*>(&e)) return true;
  const auto& state = e.sqlstate();
  return state == "23505" || state == "54000" || state.substr(0, 2) == "22";
}

std::optional<Timestamp> optional_time(const pqxx::field& micros) {
  if (micros.is_null()) return std::nullopt;
  return sql::from_epoch_micros(micros.as<std::int64_t>());
}

std::optional<std::string> optional_text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return std::string(f.c_str(), f.size());
}

// A claim token as the claim statement returns it (a UUID's text form): anything else names no
// claim, and is never sent to the database (the ::uuid cast would fail the statement).
bool is_claim_token(std::string_view token) {
  if (token.size() != 36) return false;
  for (std::size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_claim(const Claim& claim) {
  return sql::is_canonical_id(claim.outbox_id) && is_claim_token(claim.token);
}

// One of the mark_* statements whose only answer is how many rows changed.
Result<bool> mark(Pool& pool, const Statement& statement, const Claim& claim, const Work& work,
                  const std::string& error, const std::optional<std::pair<std::string, bool>>& retry) {
  if (!is_claim(claim)) return false;
  const auto text = error_text(error);
  return run<bool>(pool, work, [&](pqxx::connection& conn, bool&) -> Result<bool> {
    pqxx::nontransaction tx(conn);
    const auto r =
        retry ? tx.exec_prepared(statement.name, claim.outbox_id, text, claim.token, retry->second, retry->first)
              : tx.exec_prepared(statement.name, claim.outbox_id, text, claim.token);
    return r.affected_rows() > 0;
  });
}

}  // namespace

Result<std::vector<OutboxItem>> claim_due(Pool& pool, std::size_t limit, Duration lease, Timestamp now, int instance) {
  if (lease <= Duration::zero())
    return make_error(ErrorKind::invalid, "invalid_lease", "the lease must be longer than zero");
  if (limit == 0) return std::vector<OutboxItem>{};
  const auto at = format_rfc3339(now);
  const auto until = format_rfc3339(now + lease);
  const auto n = static_cast<long long>(std::min<std::size_t>(limit, std::numeric_limits<long long>::max()));
  return run<std::vector<OutboxItem>>(pool, {"cannot claim outbox rows", "invalid_outbox"},
                                      [&](pqxx::connection& conn, bool&) -> Result<std::vector<OutboxItem>> {
                                        pqxx::nontransaction tx(conn);
                                        const auto r = tx.exec_prepared(kClaim.name, at, n, until, instance);
                                        std::vector<OutboxItem> items;
                                        items.reserve(r.size());
                                        for (const auto& row : r) {
                                          OutboxItem item;
                                          item.id = row[0].c_str();
                                          item.message_id = row[1].c_str();
                                          item.conversation_id = row[2].c_str();
                                          item.channel = row[3].c_str();
                                          item.account = row[4].c_str();
                                          item.recipient = optional_text(row[5]);
                                          item.payload = row[6].c_str();
                                          item.attempts = row[7].as<int>();
                                          item.lease_until = sql::from_epoch_micros(row[8].as<std::int64_t>());
                                          item.last_inbound_at = optional_time(row[9]);
                                          item.claim_token = row[10].c_str();
                                          item.in_doubt_since = optional_time(row[11]);
                                          items.push_back(std::move(item));
                                        }
                                        return items;
                                      });
}

namespace {

std::string int_array(const std::vector<int>& keys) {
  std::string out = "{";
  for (std::size_t i = 0; i < keys.size(); ++i) out += (i ? "," : "") + std::to_string(keys[i]);
  return out + "}";
}

}  // namespace

Result<std::vector<int>> dead_claimers(Pool& pool, const std::vector<int>& own, Duration restart_grace) {
  const auto grace_ms = std::chrono::duration_cast<std::chrono::milliseconds>(restart_grace).count();
  return run<std::vector<int>>(
      pool, {"cannot look for dead claimers", "invalid_outbox"},
      [&](pqxx::connection& conn, bool&) -> Result<std::vector<int>> {
        pqxx::nontransaction tx(conn);
        std::vector<int> dead;
        for (const auto& row :
             tx.exec_prepared(kDeadClaimers.name, int_array(own), static_cast<long long>(grace_ms), kInstanceLockClass))
          dead.push_back(row[0].as<int>());
        return dead;
      });
}

Result<std::size_t> adopt_claims(Pool& pool, const std::vector<int>& old_keys, int key) {
  return run<std::size_t>(
      pool, {"cannot adopt outbox claims", "invalid_outbox"},
      [&](pqxx::connection& conn, bool&) -> Result<std::size_t> {
        pqxx::nontransaction tx(conn);
        return static_cast<std::size_t>(tx.exec_prepared(kAdopt.name, int_array(old_keys), key).affected_rows());
      });
}

Result<std::size_t> release_expired(Pool& pool, Timestamp now, const std::vector<int>& dead) {
  const auto at = format_rfc3339(now);
  return run<std::size_t>(pool, {"cannot release expired outbox leases", "invalid_outbox"},
                          [&](pqxx::connection& conn, bool&) -> Result<std::size_t> {
                            pqxx::nontransaction tx(conn);
                            const auto r = tx.exec_prepared(kRelease.name, at, int_array(dead), kInstanceLockClass);
                            return static_cast<std::size_t>(r.affected_rows());
                          });
}

Result<bool> begin_attempt(Pool& pool, const Claim& claim, Timestamp now) {
  if (!is_claim(claim)) return false;
  const auto at = format_rfc3339(now);
  return run<bool>(pool, {"cannot start an attempt of outbox row " + claim.outbox_id, "invalid_outbox"},
                   [&](pqxx::connection& conn, bool&) -> Result<bool> {
                     pqxx::nontransaction tx(conn);
                     return tx.exec_prepared(kBeginAttempt.name, claim.outbox_id, claim.token, at).affected_rows() > 0;
                   });
}

Result<bool> mark_sent(Pool& pool, const Claim& claim, const std::string& state, const std::string& external_id,
                       Timestamp now) {
  const std::string& outbox_id = claim.outbox_id;
  if (state != "sent" && state != "delivered")
    return make_error(ErrorKind::invalid, "invalid_outbox_state",
                      "a send result is 'sent' or 'delivered', not '" + state + "'");
  if (!is_claim(claim)) return false;
  const auto at = format_rfc3339(now);
  std::string id_to_store = external_id;
  if (!storable_external_id(external_id)) {
    log::warn("outbox_external_id_refused", {{"outbox_id", outbox_id}, {"reason", "nul_or_not_utf8"}});
    id_to_store.clear();
  }
  return run<bool>(
      pool, {"cannot record the result of outbox row " + outbox_id, "invalid_outbox"},
      [&](pqxx::connection& conn, bool&) -> Result<bool> {
        const auto record = [&](const std::string& external) {
          pqxx::nontransaction tx(conn);
          return tx.exec_prepared(kSent.name, outbox_id, state, external, at, claim.token);
        };
        pqxx::result r;
        bool naming = !id_to_store.empty();
        try {
          r = record(id_to_store);
        } catch (const pqxx::sql_error& e) {
          if (!naming || !refused_external_id(e)) throw;
          // The statement failed whole: record the result without the id.
          log::warn("outbox_external_id_refused", {{"outbox_id", outbox_id}, {"reason", sql::first_line(e.what())}});
          naming = false;
          r = record("");
        }
        if (r.empty()) return false;
        if (naming && !r[0][1].as<bool>()) {
          log::warn("outbox_external_id_clash", {{"outbox_id", outbox_id}, {"message_id", r[0][0].c_str()}});
        } else if (naming) {
          pqxx::nontransaction tx(conn);
          tx.exec_prepared(kApplyEarlyStatus.name, std::string(r[0][0].c_str()));
        }
        return true;
      });
}

Result<bool> mark_retry(Pool& pool, const Claim& claim, const std::string& error, Timestamp next_attempt_at,
                        bool in_doubt) {
  return mark(pool, kRetry, claim, {"cannot reschedule outbox row " + claim.outbox_id, "invalid_outbox"}, error,
              std::pair{format_rfc3339(next_attempt_at), in_doubt});
}

Result<bool> mark_failed(Pool& pool, const Claim& claim, const std::string& error) {
  return mark(pool, kFailed, claim, {"cannot mark outbox row " + claim.outbox_id + " failed", "invalid_outbox"}, error,
              std::nullopt);
}

Result<bool> mark_blocked(Pool& pool, const Claim& claim, const std::string& error) {
  return mark(pool, kBlocked, claim, {"cannot mark outbox row " + claim.outbox_id + " blocked", "invalid_outbox"},
              error, std::nullopt);
}

Result<Found> mark_found(Pool& pool, const Claim& claim, const std::string& state, const std::string& external_id,
                         Timestamp now) {
  if (state != "sent" && state != "delivered")
    return make_error(ErrorKind::invalid, "invalid_outbox_state",
                      "a send result is 'sent' or 'delivered', not '" + state + "'");
  if (!is_claim(claim)) return Found::claim_gone;
  if (external_id.empty() || !storable_external_id(external_id)) return Found::ambiguous;
  const auto at = format_rfc3339(now);
  return run<Found>(pool, {"cannot record the result of outbox row " + claim.outbox_id, "invalid_outbox"},
                    [&](pqxx::connection& conn, bool&) -> Result<Found> {
                      pqxx::nontransaction tx(conn);
                      pqxx::result r;
                      try {
                        r = tx.exec_prepared(kFound.name, claim.outbox_id, state, external_id, at, claim.token);
                      } catch (const pqxx::sql_error& e) {
                        if (!refused_external_id(e)) throw;
                        return Found::ambiguous;  // another message took the id meanwhile
                      }
                      if (!r[0][0].as<bool>()) return Found::claim_gone;
                      if (r[0][1].is_null()) return Found::ambiguous;
                      // Statuses the platform reported before the id was ours move the row on.
                      tx.exec_prepared(kApplyEarlyStatus.name, std::string(r[0][1].c_str()));
                      return Found::recorded;
                    });
}

Result<bool> claim_settled(Pool& pool, const Claim& claim) {
  if (!is_claim(claim)) return false;
  return run<bool>(pool, {"cannot read outbox row " + claim.outbox_id, "invalid_outbox"},
                   [&](pqxx::connection& conn, bool&) -> Result<bool> {
                     pqxx::nontransaction tx(conn);
                     return !tx.exec_prepared(kSettled.name, claim.outbox_id, claim.token).empty();
                   });
}

Result<std::vector<std::string>> known_outbound_ids(Pool& pool, const std::string& channel, const std::string& account,
                                                    const std::vector<std::string>& ids) {
  return run<std::vector<std::string>>(
      pool, {"cannot look up outbound message ids", "invalid_outbox"},
      [&](pqxx::connection& conn, bool&) -> Result<std::vector<std::string>> {
        pqxx::nontransaction tx(conn);
        std::vector<std::string> known;
        for (const auto& id : ids)
          if (storable_external_id(id) && !tx.exec_prepared(kKnownOutbound.name, channel, account, id).empty())
            known.push_back(id);
        return known;
      });
}

Result<OutboxRecord> get_outbox(Pool& pool, const std::string& outbox_id) {
  const auto not_found = [&] {
    return make_error(ErrorKind::not_found, "outbox_not_found", "no outbox row with id '" + outbox_id + "'");
  };
  if (!sql::is_canonical_id(outbox_id)) return not_found();
  return run<OutboxRecord>(pool, {"cannot read outbox row " + outbox_id, "invalid_outbox"},
                           [&](pqxx::connection& conn, bool&) -> Result<OutboxRecord> {
                             pqxx::nontransaction tx(conn);
                             const auto r = tx.exec_prepared(kGet.name, outbox_id);
                             if (r.empty()) return not_found();
                             const auto& row = r[0];
                             OutboxRecord o;
                             o.id = row[0].c_str();
                             o.message_id = row[1].c_str();
                             o.channel = row[2].c_str();
                             o.account = row[3].c_str();
                             o.recipient = optional_text(row[4]);
                             o.payload = row[5].c_str();
                             o.state = row[6].c_str();
                             o.attempts = row[7].as<int>();
                             o.last_error = optional_text(row[8]);
                             o.next_attempt_at = sql::from_epoch_micros(row[9].as<std::int64_t>());
                             o.lease_until = optional_time(row[10]);
                             o.external_id = optional_text(row[11]);
                             o.in_doubt_since = optional_time(row[12]);
                             return o;
                           });
}

Result<OutboxBacklog> outbox_backlog(Pool& pool) {
  return run<OutboxBacklog>(pool, {"cannot count outbox rows", "invalid_outbox"},
                            [&](pqxx::connection& conn, bool&) -> Result<OutboxBacklog> {
                              pqxx::nontransaction tx(conn);
                              OutboxBacklog b;
                              for (const auto& row : tx.exec_prepared(kBacklog.name))
                                (std::string(row[0].c_str()) == "queued" ? b.queued : b.sending) = row[1].as<long>();
                              return b;
                            });
}

namespace {

// The reply's target under kReplyTarget (locked), or the error that says why there is none.
Result<ReplyTarget> target_of(pqxx::work& tx, const std::string& conversation_id, const ReplyRoute& route) {
  const auto target = tx.exec_prepared(kReplyTarget.name, conversation_id, route.channel, route.account);
  if (target.empty())
    return make_error(ErrorKind::not_found, "conversation_not_found", "no conversation with id '" + conversation_id + "'");
  const auto& last = target[0];
  if (last[0].is_null()) {
    if (route.channel || route.account)
      return make_error(ErrorKind::unprocessable, "not_reachable",
                        "the customer never wrote in this conversation on " + route.channel.value_or("that channel") +
                            (route.account ? " (account " + *route.account + ")" : std::string()));
    return make_error(ErrorKind::conflict, "no_inbound_channel", "the conversation has no inbound message to reply to");
  }
  ReplyTarget out;
  out.in_reply_to = last[0].c_str();
  out.channel = last[1].c_str();
  out.account = last[2].c_str();
  out.recipient = last[3].c_str();
  out.last_inbound_at = sql::from_epoch_micros(last[8].as<std::int64_t>());
  if (!last[7].is_null()) {
    // The customer's last message was mail: threaded under it (as the pipeline's mail_thread).
    MailThread thread;
    thread.subject = last[5].is_null() ? "" : last[5].c_str();
    thread.in_reply_to = last[4].is_null() ? "" : last[4].c_str();
    const auto stored = sql::parse_text_array(last[6]);  // newest first, as the pipeline keeps them
    thread.references.assign(stored.rbegin(), stored.rend());
    if (!thread.in_reply_to.empty()) thread.references.push_back(thread.in_reply_to);
    out.mail = std::move(thread);
  }
  return out;
}

}  // namespace

Result<ReplyTarget> reply_target(Pool& pool, const std::string& conversation_id, const ReplyRoute& route) {
  if (!sql::is_canonical_id(conversation_id))
    return make_error(ErrorKind::not_found, "conversation_not_found", "no conversation with id '" + conversation_id + "'");
  return run<ReplyTarget>(pool, {"cannot find where a reply to conversation " + conversation_id + " goes", "invalid_reply"},
                          [&](pqxx::connection& conn, bool&) -> Result<ReplyTarget> {
                            pqxx::work tx(conn, "reply_target");
                            return target_of(tx, conversation_id, route);  // rolled back: a read
                          });
}

Result<QueuedReply> queue_agent_reply(Pool& pool, const std::string& conversation_id, const std::string& text,
                                      const std::string& author, Timestamp now, const ReplyRoute& route,
                                      const ReplyGate& gate, const std::optional<WhatsAppTemplate>& whatsapp_template) {
  if (text.empty()) return make_error(ErrorKind::invalid, "invalid_text", "the reply text is empty");
  // A reply without an author would read as the rules' (automatic: the e-mail goes out with a
  // null return path, and counts against the automatic-reply cap).
  if (author.empty()) return make_error(ErrorKind::invalid, "invalid_author", "an agent's reply needs its author");
  // libpq would cut a parameter at a NUL without a word: the stored reply would differ from the
  // one the agent wrote.
  for (const std::string* field : {&text, &author})
    if (field->find('\0') != std::string::npos)
      return make_error(ErrorKind::invalid, "invalid_text", "the reply contains a NUL character");
  if (!is_utf8(text) || !is_utf8(author))
    return make_error(ErrorKind::invalid, "invalid_text", "the reply is not valid UTF-8");
  if (!sql::is_canonical_id(conversation_id))
    return make_error(ErrorKind::not_found, "conversation_not_found", "no conversation with id '" + conversation_id + "'");
  const auto at = format_rfc3339(now);
  return run<QueuedReply>(
      pool, {"cannot queue the reply to conversation " + conversation_id, "invalid_reply"},
      [&](pqxx::connection& conn, bool& committing) -> Result<QueuedReply> {
        pqxx::work tx(conn, "agent_reply");
        auto target = target_of(tx, conversation_id, route);
        if (!target) return target.error();
        if (gate)
          if (auto allowed = gate(*target); !allowed) return allowed.error();
        QueuedReply out;
        out.channel = target->channel;
        out.account = target->account;
        out.recipient = target->recipient;
        OutboundPayload payload;
        payload.text = text;
        payload.conversation_id = conversation_id;
        payload.author = author;
        payload.in_reply_to = target->in_reply_to;
        payload.mail = target->mail;
        if (out.channel == "whatsapp") payload.whatsapp_template = whatsapp_template;
        const auto r = tx.exec_prepared(kReplyInsert.name, conversation_id, out.channel, out.account, author, text,
                                        out.recipient, serialize(payload), at);
        out.message_id = r[0][0].c_str();
        out.outbox_id = r[0][1].c_str();
        committing = true;
        tx.commit();
        return out;
      });
}

}  // namespace switchboard::storage
