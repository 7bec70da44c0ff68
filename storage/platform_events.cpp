// Delivery statuses, echoes and opt-outs: see platform_events.hpp. Single statements in
// autocommit, safe to repeat, so none of them sets `committing`.
#include "storage/platform_events.hpp"

#include <pqxx/pqxx>

#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

constexpr Statement kStatusInsert{"sb_status_insert", R"sql(
INSERT INTO delivery_statuses (channel, account, external_id, status, error, at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING)sql"};

// Only rows the send has finished with: a row still 'sending' gets its state from mark_sent.
constexpr Statement kStatusApply{"sb_status_apply", R"sql(
UPDATE outbox o
   SET state = $4, last_error = coalesce($5, o.last_error), updated_at = now()
  FROM messages m
 WHERE m.channel = $1 AND m.account = $2 AND m.external_id = $3 AND m.direction = 'out'
   AND o.message_id = m.id AND o.state NOT IN ('queued', 'sending')
   AND sb_delivery_rank(o.state) < sb_delivery_rank($4))sql"};

// Whether a reply of ours with that platform id is recorded and done sending, i.e. whether a
// status that moved nothing was a no-op rather than one waiting for mark_sent.
constexpr Statement kStatusKnown{"sb_status_known", R"sql(
SELECT EXISTS (
  SELECT 1
    FROM messages m
    LEFT JOIN outbox o ON o.message_id = m.id
   WHERE m.channel = $1 AND m.account = $2 AND m.external_id = $3 AND m.direction = 'out'
     AND (o.state IS NULL OR o.state NOT IN ('queued', 'sending'))))sql"};

constexpr Statement kWatermarkApply{"sb_status_watermark", R"sql(
UPDATE outbox o
   SET state = $4, updated_at = now()
  FROM messages m
 WHERE o.channel = $1 AND o.account = $2 AND o.recipient = $3 AND o.state IN ('sent', 'delivered')
   AND o.message_id = m.id AND m.created_at <= $5
   AND sb_delivery_rank(o.state) < sb_delivery_rank($4))sql"};

// The customer's open conversation, else their newest one.
constexpr Statement kEchoTarget{"sb_echo_target", R"sql(
SELECT c.id
  FROM identities i
  JOIN customers cu ON cu.id = i.customer_id
  JOIN conversations c ON c.customer_id = cu.id
 WHERE i.kind = $1 AND i.value = $2
 ORDER BY c.state IN ('open', 'pending') DESC, c.opened_at DESC
 LIMIT 1)sql"};

constexpr Statement kEchoInsert{"sb_echo_insert", R"sql(
WITH echo AS (
       INSERT INTO messages (conversation_id, direction, channel, account, external_id, sender, body,
                             attachments, sent_at)
       VALUES ($1, 'out', $2, $3, $4, $5, $6, $7::jsonb, $8)
       ON CONFLICT (channel, account, external_id) DO NOTHING
       RETURNING id),
     answered AS (
       UPDATE conversations
          SET first_response_at = coalesce(first_response_at, $8),
              last_human_reply_at = greatest(last_human_reply_at, $8),
              inbound_since_human_reply = 0,
              waiting_since = NULL
        WHERE id = $1 AND EXISTS (SELECT 1 FROM echo))
SELECT id FROM echo)sql"};

constexpr Statement kOptOut{"sb_opt_out", R"sql(
INSERT INTO opt_outs (channel, address, since, source)
VALUES ($1, $2, $3, $4)
ON CONFLICT (channel, address) DO NOTHING)sql"};

constexpr Statement kOptIn{"sb_opt_in", R"sql(
DELETE FROM opt_outs WHERE channel = $1 AND address = $2)sql"};

constexpr Statement kOptedOut{"sb_opted_out", R"sql(
SELECT EXISTS (SELECT 1 FROM opt_outs WHERE channel = $1 AND address = $2))sql"};

constexpr Statement kStatements[] = {kStatusInsert, kStatusApply, kStatusKnown, kWatermarkApply, kEchoTarget,
                                     kEchoInsert,   kOptOut,      kOptIn,       kOptedOut};

template <class T, class Op>
Result<T> run(Pool& pool, const sql::Work& work, Op op) {
  return sql::run_unit<T>(pool, "platform_events", kStatements, "platform_event_db_retry", work, std::move(op));
}

bool known_status(const std::string& s) {
  return s == "sent" || s == "delivered" || s == "read" || s == "failed" || s == "blocked";
}

std::optional<std::string> optional(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

Result<StatusOutcome> record_delivery_status(Pool& pool, const DeliveryStatus& status) {
  if (!known_status(status.status))
    return make_error(ErrorKind::invalid, "invalid_status", "unknown delivery status '" + status.status + "'");
  const std::string channel(to_string(status.channel));
  const std::string& state = status.status;
  const std::string at = format_rfc3339(status.at);
  return run<StatusOutcome>(
      pool, {"cannot record a " + channel + " delivery status", "invalid_status"},
      [&](pqxx::connection& conn, bool&) -> Result<StatusOutcome> {
        pqxx::nontransaction tx(conn);
        StatusOutcome out;
        if (status.external_id.empty()) {
          if (status.recipient.empty()) return out;
          out.applied = tx.exec_prepared(kWatermarkApply.name, channel, status.account, status.recipient, state, at)
                            .affected_rows() > 0;
          return out;
        }
        const auto error = optional(status.error);
        out.duplicate =
            tx.exec_prepared(kStatusInsert.name, channel, status.account, status.external_id, state, error, at)
                .affected_rows() == 0;
        if (out.duplicate) return out;
        out.applied =
            tx.exec_prepared(kStatusApply.name, channel, status.account, status.external_id, state, error)
                .affected_rows() > 0;
        if (!out.applied)
          out.waiting =
              !tx.exec_prepared(kStatusKnown.name, channel, status.account, status.external_id)[0][0].as<bool>();
        return out;
      });
}

Result<EchoOutcome> record_echo(Pool& pool, const Echo& echo, Timestamp now) {
  const InboundMessage& m = echo.message;
  if (m.identities.empty() || m.external_id.empty())
    return make_error(ErrorKind::invalid, "invalid_echo", "an echo needs the customer's identity and its id");
  const std::string channel(to_string(m.channel));
  const Timestamp sent = m.sent_at == Timestamp{} ? now : m.sent_at;
  return run<EchoOutcome>(pool, {"cannot record a " + channel + " echo", "invalid_echo"},
                          [&](pqxx::connection& conn, bool&) -> Result<EchoOutcome> {
                            pqxx::nontransaction tx(conn);
                            const auto& id = m.identities.front();
                            auto target = tx.exec_prepared(kEchoTarget.name, std::string(to_string(id.kind)), id.value);
                            if (target.empty()) return EchoOutcome{false, "unknown_customer"};
                            auto r = tx.exec_prepared(kEchoInsert.name, std::string(target[0][0].c_str()), channel,
                                                      m.account, m.external_id, m.sender, m.text,
                                                      sql::attachments_json(m.attachments), format_rfc3339(sent));
                            if (r.empty()) return EchoOutcome{false, "duplicate"};
                            return EchoOutcome{true, {}};
                          });
}

Status record_opt_out(Pool& pool, const OptOut& opt_out, const std::string& address, Timestamp now) {
  const std::string channel(to_string(opt_out.channel));
  return run<Ok>(pool, {"cannot record an opt-out", "invalid_opt_out"},
                 [&](pqxx::connection& conn, bool&) -> Result<Ok> {
                   pqxx::nontransaction tx(conn);
                   if (opt_out.opted_out)
                     tx.exec_prepared(kOptOut.name, channel, address, format_rfc3339(now), opt_out.account);
                   else
                     tx.exec_prepared(kOptIn.name, channel, address);
                   return Ok{};
                 });
}

Result<bool> opted_out(Pool& pool, Channel channel, const std::string& address) {
  const std::string name(to_string(channel));
  return run<bool>(pool, {"cannot read opt-outs", "invalid_opt_out"},
                   [&](pqxx::connection& conn, bool&) -> Result<bool> {
                     pqxx::nontransaction tx(conn);
                     return tx.exec_prepared(kOptedOut.name, name, address)[0][0].as<bool>();
                   });
}

}  // namespace switchboard::storage
