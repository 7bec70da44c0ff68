// The inbound pipeline: one READ COMMITTED transaction per message, from lookup to audit row.

// Transaction-level advisory locks on the message key and on each identity serialise the work
// that could race (the same message redelivered, two messages of one new customer), so
// find-or-create needs no retry loop.
#include "storage/pipeline.hpp"

#include "routing/core/outbound.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <type_traits>

#include "routing/core/log.hpp"
#include "storage/merge.hpp"
#include "storage/sql.hpp"
#include "storage/unit_of_work.hpp"

namespace switchboard::storage {

namespace {

using sql::Statement;

// Every statement of the pipeline, prepared once per connection. They are few and lean on
// purpose: the benchmark compares the pipeline with pgbench running exactly these.

// Locks in the order of the array: the message key first, then the identities sorted. ORDER BY
// the ordinality makes that order explicit; PostgreSQL evaluates the volatile function after
// the sort. This must be a statement of its own: under READ COMMITTED a statement's snapshot is
// taken when it starts, so only the statements after the lock see what its holder committed.
constexpr Statement kLock{"sb_ingest_lock", R"sql(
SELECT pg_advisory_xact_lock(hashtextextended(key, 0))
  FROM unnest($1::text[]) WITH ORDINALITY AS k(key, n)
 ORDER BY n)sql"};

// Redelivery check: the stored message with this key, and whether its content is the same.
constexpr Statement kFindMessage{"sb_ingest_find_message", R"sql(
SELECT m.id, m.conversation_id, c.customer_id,
       m.sender = $4 AND m.body = $5 AND m.attachments = $6::jsonb AS same_content
  FROM messages m
  JOIN conversations c ON c.id = m.conversation_id
 WHERE m.channel = $1 AND m.account = $2 AND m.external_id = $3)sql"};

// The known identities among the message's, each with its customer and that customer's open or
// pending conversation. The conversation row is locked so that an agent resolving it at this
// moment either waits for us or, having committed first, makes the row drop out here (READ
// COMMITTED re-checks the condition), and the message then opens a new conversation.
constexpr Statement kFindCustomer{"sb_ingest_find_customer", R"sql(
SELECT i.kind, i.value, c.id, c.display_name, c.language, c.tags,
       v.id, v.state, v.inbound_count, v.queue,
       (extract(epoch FROM v.opened_at) * 1000000)::bigint,
       (extract(epoch FROM v.last_human_reply_at) * 1000000)::bigint, v.inbound_since_human_reply
  FROM unnest($1::text[], $2::text[]) AS wanted(kind, value)
  JOIN identities i ON i.kind = wanted.kind AND i.value = wanted.value
  JOIN customers c ON c.id = i.customer_id
  LEFT JOIN LATERAL (
        SELECT id, state, inbound_count, queue, opened_at, last_human_reply_at, inbound_since_human_reply
          FROM conversations
         WHERE customer_id = c.id AND state IN ('open', 'pending')
           FOR NO KEY UPDATE) AS v ON true)sql"};

// A first message from someone unknown: the customer, the identities and the conversation.
constexpr Statement kCreateCustomer{"sb_ingest_create_customer", R"sql(
WITH customer AS (
       INSERT INTO customers (display_name, language) VALUES ($1, $2)
       RETURNING id),
     identity AS (
       INSERT INTO identities (kind, value, customer_id)
       SELECT wanted.kind, wanted.value, customer.id
         FROM customer, unnest($3::text[], $4::text[]) AS wanted(kind, value)),
     conversation AS (
       INSERT INTO conversations (customer_id, opened_at)
       SELECT id, $5 FROM customer
       RETURNING id)
SELECT customer.id, conversation.id FROM customer, conversation)sql"};

// Identities the message brings that the customer did not have yet. DO NOTHING: a writer
// outside the pipeline's locks may have added one meanwhile.
constexpr Statement kAttachIdentities{"sb_ingest_attach_identities", R"sql(
INSERT INTO identities (kind, value, customer_id)
SELECT kind, value, $3 FROM unnest($1::text[], $2::text[]) AS wanted(kind, value)
ON CONFLICT (kind, value) DO NOTHING)sql"};

// Fill in what the customer's record lacks and the message knows.
constexpr Statement kCompleteCustomer{"sb_ingest_complete_customer", R"sql(
UPDATE customers
   SET display_name = CASE WHEN display_name = '' THEN $2 ELSE display_name END,
       language = coalesce(language, $3)
 WHERE id = $1)sql"};

constexpr Statement kOpenConversation{"sb_ingest_open_conversation", R"sql(
INSERT INTO conversations (customer_id, opened_at) VALUES ($1, $2)
RETURNING id)sql"};

// DO NOTHING is a safety net only (the message lock and the lookup come first): an empty result
// means a writer outside the locks stored the key meanwhile, and the transaction starts over.
constexpr Statement kInsertMessage{"sb_ingest_insert_message", R"sql(
INSERT INTO messages (conversation_id, direction, channel, account, external_id, sender, body,
                      attachments, sent_at)
VALUES ($1, 'in', $2, $3, $4, $5, $6, $7::jsonb, $8)
ON CONFLICT (channel, account, external_id) DO NOTHING
RETURNING id)sql"};

// A reply: our outbound message, its outbox row and the wake-up call for the outbox workers
// (delivered at commit; PostgreSQL folds identical notifications of one transaction).
constexpr Statement kReply{"sb_ingest_reply", R"sql(
WITH reply AS (
       INSERT INTO messages (conversation_id, direction, channel, account, sender, body)
       VALUES ($1, 'out', $2, $3, '', $4)
       RETURNING id),
     queued AS (
       INSERT INTO outbox (message_id, channel, account, recipient, payload)
       SELECT id, $2, $3, $5, $6::jsonb FROM reply
       RETURNING id)
SELECT id, pg_notify('switchboard_outbox', '') FROM queued)sql"};

// The audit row and every change to the conversation, in one statement. NULL queue or priority
// leaves the column as it is; tags are appended unless present.
constexpr Statement kEffects{"sb_ingest_effects", R"sql(
WITH audit_row AS (
       INSERT INTO audit (message_id, conversation_id, rule, rules_hash, decision)
       VALUES ($2, $1, $3, $4, $5::jsonb))
UPDATE conversations
   SET last_message_at = $6,
       last_channel = (SELECT channel FROM messages WHERE id = $2),
       waiting_since = CASE WHEN $11 THEN NULL ELSE coalesce(waiting_since, $6) END,
       inbound_count = inbound_count + 1,
       inbound_since_human_reply = inbound_since_human_reply + 1,
       queue = coalesce($7, queue),
       priority = coalesce($8, priority),
       tags = tags || array(SELECT t FROM unnest($9::text[]) AS t WHERE NOT t = ANY (tags)),
       assignee = coalesce($10, assignee),
       state = CASE WHEN $11 THEN 'resolved' ELSE state END,
       resolved_at = CASE WHEN $11 THEN $6 ELSE resolved_at END
 WHERE id = $1)sql"};

// notify: a note for a URL of the rules file, sent by the outbox like a reply. Its row points at
// the inbound message that caused it.
constexpr Statement kNotify{"sb_ingest_notify", R"sql(
WITH queued AS (
       INSERT INTO outbox (message_id, channel, account, recipient, payload)
       VALUES ($1, 'notify', '', $2, $3::jsonb)
       RETURNING id)
SELECT id, pg_notify('switchboard_outbox', '') FROM queued)sql"};

// set_language: the customer's language, for this and later replies.
constexpr Statement kSetLanguage{"sb_ingest_set_language", R"sql(
UPDATE customers SET language = $2 WHERE id = $1)sql"};

// page: who is on call and the escalation to follow, for the paging worker.
constexpr Statement kPage{"sb_ingest_page", R"sql(
INSERT INTO pages (conversation_id, message_id, schedule, person, ack_within, steps, created_at)
VALUES ($1, $2, $3, $4, make_interval(secs => $5::double precision), $6::jsonb, $7))sql"};

// When a reply with this template last went to the customer, on any channel: only asked for
// replies with 'at_most' (routing calls back), so most messages never run it.
constexpr Statement kLastAutoReply{"sb_ingest_last_auto_reply", R"sql(
SELECT (extract(epoch FROM max(o.created_at)) * 1000000)::bigint
  FROM conversations c
  JOIN messages m ON m.conversation_id = c.id AND m.direction = 'out'
  JOIN outbox o ON o.message_id = m.id
 WHERE c.customer_id = $1 AND o.payload->>'template' = $2)sql"};

// Merging customer $2 into $1, when one message proves they are one person (a WhatsApp user id
// and the phone number seen together): storage/merge.hpp.
constexpr Statement kMergeLock{"sb_ingest_merge_lock", sql::kMergeLockSql};
constexpr Statement kMerge{"sb_ingest_merge", sql::kMergeSql};

constexpr Statement kMergeAudit{"sb_ingest_merge_audit", R"sql(
INSERT INTO audit (at, conversation_id, rules_hash, decision)
VALUES ($1, $2, $3, $4::jsonb))sql"};

// E-mail threading (protocols/email.md): the conversation a reply belongs to. A verified reply
// token names it; else In-Reply-To/References name a mail we sent (its Message-ID is the
// message's external_id) or received (email_headers), the first listed winning; else a subject
// tag [#N], only when the sender is that conversation's customer.
constexpr Statement kThreadByToken{"sb_ingest_thread_by_token", R"sql(
SELECT id FROM conversations WHERE id = $1)sql"};

constexpr Statement kThreadByMessageIds{"sb_ingest_thread_by_message_ids", R"sql(
SELECT conversation_id
  FROM (SELECT m.conversation_id, array_position($2::text[], m.external_id) AS pos
          FROM messages m
         WHERE m.channel = 'email' AND m.account = $1 AND m.direction = 'out' AND m.external_id = ANY ($2::text[])
        UNION ALL
        SELECT m.conversation_id, array_position($2::text[], h.message_id_header)
          FROM email_headers h
          JOIN messages m ON m.id = h.message_id
         WHERE h.message_id_header = ANY ($2::text[])) AS found
 ORDER BY pos
 LIMIT 1)sql"};

constexpr Statement kThreadBySubjectTag{"sb_ingest_thread_by_subject_tag", R"sql(
SELECT id FROM conversations WHERE id = $1 AND customer_id = $2)sql"};

// A reply reopens its resolved conversation unless its customer has another one open (then it
// joins that one: a customer has one open conversation).
constexpr Statement kReopen{"sb_ingest_reopen", R"sql(
UPDATE conversations v
   SET state = 'open', resolved_at = NULL
 WHERE v.id = $1 AND v.state = 'resolved'
   AND NOT EXISTS (SELECT 1 FROM conversations o
                    WHERE o.customer_id = v.customer_id AND o.state IN ('open', 'pending')))sql"};

// The conversation and its customer in the shape of kFindCustomer's rows (no identity columns).
constexpr Statement kThreadConversation{"sb_ingest_thread_conversation", R"sql(
SELECT '', '', c.id, c.display_name, c.language, c.tags,
       v.id, v.state, v.inbound_count, v.queue,
       (extract(epoch FROM v.opened_at) * 1000000)::bigint,
       (extract(epoch FROM v.last_human_reply_at) * 1000000)::bigint, v.inbound_since_human_reply,
       (SELECT o.id FROM conversations o
         WHERE o.customer_id = v.customer_id AND o.state IN ('open', 'pending') AND o.id <> v.id)
  FROM conversations v
  JOIN customers c ON c.id = v.customer_id
 WHERE v.id = $1
   FOR NO KEY UPDATE OF v)sql"};

constexpr Statement kAttachmentContent{"sb_ingest_attachment_content", R"sql(
INSERT INTO attachment_contents (message_id, position, bytes) VALUES ($1, $2, $3))sql"};

constexpr Statement kRecentAutoReply{"sb_ingest_recent_auto_reply", R"sql(
SELECT EXISTS (SELECT 1 FROM outbox
                WHERE channel = $3 AND NOT (payload ? 'author') AND recipient = $1
                  AND created_at > now() - make_interval(secs => $2)))sql"};

constexpr Statement kEmailHeaders{"sb_ingest_email_headers", R"sql(
INSERT INTO email_headers (message_id, message_id_header, subject, references_ids, defects, full_text)
VALUES ($1, $2, $3, $4::text[], $5::text[], $6))sql"};

// Whether the sender opted out of automatic messages on this channel (SMS STOP): only asked
// when the rules want to reply.
constexpr Statement kOptedOut{"sb_ingest_opted_out", R"sql(
SELECT EXISTS (SELECT 1 FROM opt_outs WHERE channel = $1 AND address = $2))sql"};

constexpr Statement kStatements[] = {kLock,         kFindMessage,      kFindCustomer,  kCreateCustomer,
                                     kAttachIdentities, kCompleteCustomer, kOpenConversation,
                                     kInsertMessage, kReply,            kEffects,       kLastAutoReply,
                                     kSetLanguage,   kPage,             kNotify,        kOptedOut,
                                     kMergeLock,     kMerge,            kMergeAudit,    kThreadByToken,
                                     kThreadByMessageIds, kThreadBySubjectTag, kReopen, kThreadConversation,
                                     kEmailHeaders, kAttachmentContent, kRecentAutoReply};

// The message's parameters, computed once for all attempts.
struct Input {
  std::string channel;
  std::vector<Identity> identities;  // deduplicated, primary first
  std::string lock_keys;             // text[]: message key, then identity keys sorted
  std::string kinds;                 // text[] and
  std::string values;                // text[] of the identities, in order
  std::string attachments;           // JSON array
  std::optional<std::string> sent_at;
  std::string now;
  Timestamp now_value;
};

std::string identity_key(const Identity& id) { return "i:" + std::string(to_string(id.kind)) + ":" + id.value; }

// Lengths make the key unambiguous whatever the account and the id contain.
std::string message_key(const std::string& channel, const InboundMessage& m) {
  return "m:" + channel + ":" + std::to_string(m.account.size()) + ":" + m.account + ":" + m.external_id;
}

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

Result<Input> make_input(const InboundMessage& m, Timestamp now) {
  if (m.identities.empty())
    return make_error(ErrorKind::invalid, "no_identity", "the message carries no sender identity");
  Input in;
  in.channel = std::string(to_string(m.channel));
  std::vector<std::string> keys;
  std::vector<std::string> kinds, values;
  for (const auto& id : m.identities) {
    if (id.value.empty())
      return make_error(ErrorKind::invalid, "invalid_identity",
                        "the sender's " + std::string(to_string(id.kind)) + " identity is empty");
    if (std::find(in.identities.begin(), in.identities.end(), id) != in.identities.end()) continue;
    in.identities.push_back(id);
    keys.push_back(identity_key(id));
    kinds.emplace_back(to_string(id.kind));
    values.push_back(id.value);
  }
  // PostgreSQL text cannot hold NUL, and libpq would silently cut the parameter there: the stored
  // message would differ from the one acknowledged. Refuse instead.
  for (const std::string* field : {&m.account, &m.external_id, &m.sender, &m.text, &m.display_name})
    if (has_nul(*field)) return make_error(ErrorKind::invalid, "invalid_text", "the message contains a NUL character");
  for (const auto& id : in.identities)
    if (has_nul(id.value)) return make_error(ErrorKind::invalid, "invalid_text", "the message contains a NUL character");
  if (m.external_id.empty())
    return make_error(ErrorKind::invalid, "missing_external_id", "the message has no external_id");
  std::sort(keys.begin(), keys.end());
  keys.insert(keys.begin(), message_key(in.channel, m));
  in.lock_keys = sql::text_array(keys);
  in.kinds = sql::text_array(kinds);
  in.values = sql::text_array(values);
  in.attachments = sql::attachments_json(m.attachments);
  // An adapter that does not know when the message was sent leaves the default: store "unknown"
  // rather than 1970.
  if (m.sent_at != Timestamp{}) in.sent_at = format_rfc3339(m.sent_at);
  in.now = format_rfc3339(now);
  in.now_value = now;
  return in;
}

boost::json::object decision_json(const Decision& d) {
  boost::json::object o;
  o["rule"] = d.rule ? boost::json::value(*d.rule) : boost::json::value(nullptr);
  boost::json::array matched;
  for (const auto& name : d.matched) matched.emplace_back(name);
  o["matched"] = std::move(matched);
  if (!d.suppressed.empty()) {
    boost::json::array held;
    for (const auto& t : d.suppressed) held.emplace_back(t);
    o["suppressed_by_at_most"] = std::move(held);
  }
  boost::json::array actions;
  for (const auto& action : d.actions) {
    boost::json::object a;
    // The rendered text is in the outbound message itself; the audit row records the choice.
    for (const auto& [key, value] : action_fields(action))
      if (key != "text") a[key] = value;
    actions.push_back(std::move(a));
  }
  o["actions"] = std::move(actions);
  return o;
}

// What a reply to this mail needs to be threaded under it; nullopt for a message that is not mail.
std::optional<MailThread> mail_thread(const InboundMessage& m) {
  if (!m.mail) return std::nullopt;
  MailThread thread{m.mail->subject, m.mail->message_id_header, {}};
  for (auto it = m.mail->thread_hints.rbegin(); it != m.mail->thread_hints.rend(); ++it)
    thread.references.push_back(*it);
  if (!m.mail->message_id_header.empty()) thread.references.push_back(m.mail->message_id_header);
  return thread;
}

// "[#1042]" in a subject: 1042.
std::optional<std::string> subject_tag(const std::string& subject) {
  auto open = subject.rfind("[#");
  if (open == std::string::npos) return std::nullopt;
  auto close = subject.find(']', open);
  std::string digits = subject.substr(open + 2, close == std::string::npos ? 0 : close - open - 2);
  if (!sql::is_canonical_id(digits)) return std::nullopt;
  return digits;
}

// Mail's threading strategy (protocols/email.md): the conversation a reply belongs to. A
// verified reply token names it; else In-Reply-To/References name a mail we sent or received,
// the first listed winning; else a subject tag "[#1042]" of the sender's own conversation. The
// conversation is reopened when resolved and returned as a row shaped like kFindCustomer's;
// nullopt when the mail names none.
std::optional<pqxx::row> mail_thread_target(pqxx::work& tx, const InboundMessage& m, const MailDetails& mail,
                                            const std::optional<std::string>& sender_customer) {
  std::optional<std::string> conversation;
  for (const auto& token : mail.reply_tokens) {
    if (!sql::is_canonical_id(token)) continue;
    if (auto r = tx.exec_prepared(kThreadByToken.name, token); !r.empty()) {
      conversation = r[0][0].c_str();
      break;
    }
  }
  if (!conversation && !mail.thread_hints.empty()) {
    auto r = tx.exec_prepared(kThreadByMessageIds.name, m.account, sql::text_array(mail.thread_hints));
    if (!r.empty()) conversation = r[0][0].c_str();
  }
  if (!conversation && sender_customer) {
    if (auto tag = subject_tag(mail.subject)) {
      auto r = tx.exec_prepared(kThreadBySubjectTag.name, *tag, *sender_customer);
      if (!r.empty()) conversation = r[0][0].c_str();
    }
  }
  if (!conversation) return std::nullopt;
  tx.exec_prepared(kReopen.name, *conversation);
  auto row = tx.exec_prepared(kThreadConversation.name, *conversation);
  if (row.empty()) return std::nullopt;
  if (std::string_view(row[0][7].c_str()) == "resolved" && !row[0][13].is_null()) {
    // Resolved, and its customer has another conversation open: the reply joins that one.
    row = tx.exec_prepared(kThreadConversation.name, std::string(row[0][13].c_str()));
    if (row.empty()) return std::nullopt;
  }
  return row[0];
}

// When the message's known identities belong to different customers, the customer of the
// first one (the primary identity first) absorbs the others, audited. Returns whether any
// merge happened.
bool merge_customers(pqxx::work& tx, const Input& in, const pqxx::result& known, const std::string& rules_hash) {
  std::string survivor;
  std::vector<std::string> absorbed;
  for (const auto& id : in.identities)
    for (const auto& row : known) {
      if (row[0].c_str() != to_string(id.kind) || row[1].c_str() != id.value) continue;
      std::string customer = row[2].c_str();
      if (survivor.empty())
        survivor = customer;
      else if (customer != survivor && std::find(absorbed.begin(), absorbed.end(), customer) == absorbed.end())
        absorbed.push_back(customer);
    }
  for (const auto& other : absorbed) {
    tx.exec_prepared(kMergeLock.name, survivor, other);
    auto r = tx.exec_prepared(kMerge.name, survivor, other, in.now);
    boost::json::object merge{{"into", survivor}, {"from", other},
                              {"reason", "one message carried identities of both customers"}};
    if (!r[0][2].is_null()) merge["messages_moved"] = r[0][2].as<long>();
    std::optional<std::string> conversation;
    if (!r[0][0].is_null()) conversation = r[0][0].c_str();
    else if (!r[0][1].is_null()) conversation = r[0][1].c_str();
    tx.exec_prepared(kMergeAudit.name, in.now, conversation, rules_hash,
                     boost::json::serialize(boost::json::object{{"merge", merge}}));
    log::info("customers_merged", {{"into", survivor}, {"from", other}});
  }
  return !absorbed.empty();
}

// One attempt at one message, inside one transaction, in steps: the duplicate check, the
// customer (identities and merges), the conversation (the channel's threading strategy), the
// insert, then the rules and their effects.
class Attempt {
 public:
  Attempt(pqxx::work& tx, const Input& in, const InboundMessage& m, const Router& router)
      : tx_(tx), in_(in), m_(m), router_(router) {}

  // The stored message when this one was stored before (or an error when its key was used for
  // other content); nullopt for a new message.
  std::optional<Result<IngestOutcome>> duplicate() {
    auto existing = tx_.exec_prepared(kFindMessage.name, in_.channel, m_.account, m_.external_id, m_.sender, m_.text,
                                      in_.attachments);
    if (existing.empty()) return std::nullopt;
    // Nothing was written; leaving the scope rolls back and frees the locks.
    const auto& row = existing[0];
    if (!row[3].as<bool>())
      return Result<IngestOutcome>(make_error(
          ErrorKind::conflict, "external_id_conflict",
          "external_id '" + m_.external_id + "' was already used for a different message"));
    IngestOutcome dup;
    dup.message_id = row[0].c_str();
    dup.conversation_id = row[1].c_str();
    dup.customer_id = row[2].c_str();
    dup.duplicate = true;
    return Result<IngestOutcome>(std::move(dup));
  }

  // Identity and merge: the customers the identities belong to (merged into the primary
  // identity's when they are several), the chosen one's row, and the identities not known yet.
  void identify() {
    auto known = tx_.exec_prepared(kFindCustomer.name, in_.kinds, in_.values);
    if (merge_customers(tx_, in_, known, router_.rules_hash))
      known = tx_.exec_prepared(kFindCustomer.name, in_.kinds, in_.values);
    // The customer of the first known identity, the primary first (after a merge they are all one).
    for (const auto& id : in_.identities) {
      std::optional<pqxx::row> match;
      for (const auto& row : known)
        if (row[0].c_str() == to_string(id.kind) && row[1].c_str() == id.value) match = row;
      if (!match)
        unknown_.push_back(&id);
      else if (!chosen_)
        chosen_ = match;
    }
  }

  // The channel's threading strategy: mail names its conversation (reply token, Message-IDs,
  // subject tag); every other channel continues the customer's open conversation.
  void thread() {
    if (!m_.mail) return;
    std::optional<std::string> sender_customer;
    if (chosen_) sender_customer = (*chosen_)[2].c_str();
    if (auto target = mail_thread_target(tx_, m_, *m_.mail, sender_customer)) {
      // A stranger answering through the thread (a colleague the mail was forwarded to) joins
      // the conversation; their address does not become this customer's.
      if (!sender_customer || *sender_customer != (*target)[2].c_str()) {
        unknown_.clear();
        stranger_ = true;
      }
      chosen_ = target;
    }
  }

  // The customer and conversation rows: created, completed (name, language, new identities) or
  // read for the rules.
  void settle_customer() {
    if (!chosen_) {
      std::optional<std::string> language = m_.language;
      auto r = tx_.exec_prepared(kCreateCustomer.name, m_.display_name, language, in_.kinds, in_.values, in_.now);
      out_.customer_id = r[0][0].c_str();
      out_.conversation_id = r[0][1].c_str();
      customer_ = {out_.customer_id, m_.display_name, m_.language, {}};
      return;
    }
    const auto& row = *chosen_;
    out_.customer_id = row[2].c_str();
    customer_.id = out_.customer_id;
    customer_.display_name = row[3].c_str();
    if (!row[4].is_null()) customer_.language = row[4].c_str();
    customer_.tags = sql::parse_text_array(row[5]);
    if (!unknown_.empty()) {
      std::vector<std::string> kinds, values;
      for (const auto* id : unknown_) {
        kinds.emplace_back(to_string(id->kind));
        values.push_back(id->value);
      }
      tx_.exec_prepared(kAttachIdentities.name, sql::text_array(kinds), sql::text_array(values), out_.customer_id);
    }
    const bool name_missing = !stranger_ && customer_.display_name.empty() && !m_.display_name.empty();
    const bool language_missing = !stranger_ && !customer_.language && m_.language;
    if (name_missing || language_missing) {
      std::optional<std::string> language = m_.language;
      tx_.exec_prepared(kCompleteCustomer.name, out_.customer_id, m_.display_name, language);
      if (name_missing) customer_.display_name = m_.display_name;
      if (language_missing) customer_.language = m_.language;
    }
    if (row[6].is_null()) {
      auto r = tx_.exec_prepared(kOpenConversation.name, out_.customer_id, in_.now);
      out_.conversation_id = r[0][0].c_str();
      return;
    }
    out_.conversation_id = row[6].c_str();
    conversation_.is_new = false;
    conversation_.state = row[7].c_str();
    conversation_.inbound_count = row[8].as<long>() + 1;
    if (!row[9].is_null()) conversation_.queue = std::string(row[9].c_str());
    conversation_.opened_at = sql::from_epoch_micros(row[10].as<std::int64_t>());
    if (!row[11].is_null()) conversation_.last_human_reply_at = sql::from_epoch_micros(row[11].as<std::int64_t>());
    conversation_.inbound_since_human_reply = row[12].as<long>() + 1;
  }

  // The message, its mail details and its attachments' bytes. False when the insert met a row
  // the duplicate check had not seen: the caller starts over.
  bool insert() {
    auto inserted = tx_.exec_prepared(kInsertMessage.name, out_.conversation_id, in_.channel, m_.account,
                                      m_.external_id, m_.sender, m_.text, in_.attachments, in_.sent_at);
    if (inserted.empty()) return false;
    out_.message_id = inserted[0][0].c_str();
    if (m_.mail) {
      std::optional<std::string> header;
      if (!m_.mail->message_id_header.empty()) header = m_.mail->message_id_header;
      tx_.exec_prepared(kEmailHeaders.name, out_.message_id, header, m_.mail->subject,
                        sql::text_array(m_.mail->thread_hints), sql::text_array(m_.mail->defects),
                        m_.mail->full_text);
    }
    for (std::size_t i = 0; i < m_.attachment_contents.size() && i < m_.attachments.size(); ++i) {
      const auto& bytes = m_.attachment_contents[i];
      if (bytes.empty()) continue;
      tx_.exec_prepared(kAttachmentContent.name, out_.message_id, static_cast<int>(i),
                        pqxx::binarystring(bytes.data(), bytes.size()));
    }
    return true;
  }

  // The rules' decision and its effects: replies (unless held back), notifications, pages, the
  // conversation's queue, tags, assignee and state, and the audit row.
  void decide_and_apply(std::optional<Duration> reply_interval) {
    conversation_.id = out_.conversation_id;
    if (conversation_.is_new) conversation_.opened_at = in_.now_value;
    customer_.last_auto_reply = [&tx = tx_, id = out_.customer_id](std::string_view template_name) {
      auto r = tx.exec_prepared(kLastAutoReply.name, id, std::string(template_name));
      if (r.empty() || r[0][0].is_null()) return std::optional<Timestamp>();
      return std::optional<Timestamp>(sql::from_epoch_micros(r[0][0].as<std::int64_t>()));
    };
    const routing::EvaluationInput input{m_, conversation_, customer_, in_.now_value};
    // Automatic mail (an out-of-office, a list, a bounce) is kept for the agents, never routed: a
    // rule's reply to it could start a loop between two robots.
    out_.decision = router_.decide && m_.automated.empty() ? router_.decide(input) : Decision{};

    // Later actions of the same kind win (set_priority after enqueue overrides its priority).
    std::optional<std::string> queue;
    std::optional<std::string> priority;
    std::optional<std::string> assignee;
    bool close = false;
    std::vector<std::string> tags;
    for (const auto& action : out_.decision.actions) {
      if (const auto* reply = std::get_if<ReplyAction>(&action)) {
        if (may_reply(reply_interval)) queue_reply(*reply);
      } else if (const auto* enqueue = std::get_if<EnqueueAction>(&action)) {
        queue = enqueue->queue;
        priority = std::string(to_string(enqueue->priority));
      } else if (const auto* tag = std::get_if<TagAction>(&action)) {
        if (std::find(tags.begin(), tags.end(), tag->tag) == tags.end()) tags.push_back(tag->tag);
      } else if (const auto* assign = std::get_if<AssignAction>(&action)) {
        assignee = assign->agent;
      } else if (const auto* set = std::get_if<SetPriorityAction>(&action)) {
        priority = std::string(to_string(set->priority));
      } else if (std::holds_alternative<CloseAction>(action)) {
        close = true;
      } else if (const auto* lang = std::get_if<SetLanguageAction>(&action)) {
        tx_.exec_prepared(kSetLanguage.name, out_.customer_id, lang->language);
      } else if (const auto* note = std::get_if<NotifyAction>(&action)) {
        OutboundPayload payload;
        payload.text = note->text;
        payload.template_name = note->template_name;
        payload.rule = out_.decision.rule;
        payload.conversation_id = out_.conversation_id;
        payload.message_id = out_.message_id;
        tx_.exec_prepared(kNotify.name, out_.message_id, note->url, serialize(payload));
      } else if (const auto* page = std::get_if<PageAction>(&action)) {
        boost::json::array steps;
        for (const auto& step : page->steps)
          steps.push_back(boost::json::object{
              {"channel", step.channel},
              {"login", step.login},
              {"address", step.address},
              {"after_s", std::chrono::duration_cast<std::chrono::seconds>(step.after).count()}});
        double ack_seconds = std::chrono::duration<double>(page->ack_within).count();
        tx_.exec_prepared(kPage.name, out_.conversation_id, out_.message_id, page->schedule, page->person,
                          ack_seconds, boost::json::serialize(steps), in_.now);
      }
    }
    auto audit = decision_json(out_.decision);
    if (out_.opted_out) audit["replies_held_back"] = "the sender opted out of this channel";
    if (out_.capped)
      audit["replies_held_back"] =
          std::string(m_.mail ? "an automatic e-mail went to this address" : "an automatic reply went to this address") +
          " within the last " +
          std::to_string(std::chrono::duration_cast<std::chrono::minutes>(*reply_interval).count()) + " minutes";
    if (out_.unsure) audit["replies_held_back"] = "automatic: unsure (" + m_.automatic_unsure + ")";
    if (!m_.automatic_unsure.empty()) audit["automatic"] = "unsure: " + m_.automatic_unsure;
    if (!m_.automated.empty()) audit["not_routed"] = m_.automated;
    tx_.exec_prepared(kEffects.name, out_.conversation_id, out_.message_id, out_.decision.rule, router_.rules_hash,
                      boost::json::serialize(audit), in_.now, queue, priority, sql::text_array(tags), assignee, close);
  }

  IngestOutcome& outcome() { return out_; }

 private:
  // Whether the rules' reply may go: not to a maybe-robot, an opted-out sender, or a recipient
  // who had an automatic reply on this channel within `reply_interval`.
  bool may_reply(std::optional<Duration> reply_interval) {
    if (!m_.automatic_unsure.empty()) {
      // Maybe a robot (a delivery failure without the standard headers, a Bcc): routed to the
      // agents, but a robot of ours answering it could start a loop.
      out_.unsure = true;
      return false;
    }
    if (!opted_out_) opted_out_ = tx_.exec_prepared(kOptedOut.name, in_.channel, m_.sender)[0][0].as<bool>();
    if (*opted_out_) {
      out_.opted_out = true;
      return false;
    }
    if (!reply_interval) return true;
    if (!recent_auto_reply_)
      // The database's clock, as outbox.created_at is written by it.
      recent_auto_reply_ = tx_.exec_prepared(kRecentAutoReply.name, m_.sender,
                                             std::chrono::duration<double>(*reply_interval).count(),
                                             in_.channel)[0][0].as<bool>();
    if (*recent_auto_reply_) {
      out_.capped = true;
      return false;
    }
    recent_auto_reply_ = true;  // this reply: the next one of the same decision waits too
    return true;
  }

  void queue_reply(const ReplyAction& reply) {
    OutboundPayload payload;
    payload.text = reply.text;
    payload.template_name = reply.template_name;
    payload.html = reply.html;
    payload.sms_encoding = reply.sms_encoding;
    payload.sms_segments = reply.sms_segments;
    payload.whatsapp_template = reply.whatsapp_template;
    payload.in_reply_to = out_.message_id;
    payload.conversation_id = out_.conversation_id;
    payload.mail = mail_thread(m_);
    tx_.exec_prepared(kReply.name, out_.conversation_id, in_.channel, m_.account, reply.text, m_.sender,
                      serialize(payload));
  }

  pqxx::work& tx_;
  const Input& in_;
  const InboundMessage& m_;
  const Router& router_;
  IngestOutcome out_;
  ConversationView conversation_;
  CustomerView customer_;
  std::optional<pqxx::row> chosen_;    // the customer's row (kFindCustomer's shape)
  std::vector<const Identity*> unknown_;  // identities to attach to the chosen customer
  bool stranger_ = false;                 // the message joins a thread of someone else's conversation
  std::optional<bool> opted_out_;         // asked once, at the first reply
  std::optional<bool> recent_auto_reply_;
};

// One attempt. nullopt: the message insert met a row that the lookup had not seen; the caller
// starts over.
std::optional<Result<IngestOutcome>> run_once(pqxx::connection& conn, const Input& in, const InboundMessage& m,
                                              const Router& router, std::optional<Duration> reply_interval,
                                              bool& committing) {
  pqxx::work tx(conn, "ingest");
  tx.exec_prepared(kLock.name, in.lock_keys);
  Attempt attempt(tx, in, m, router);
  if (auto stored = attempt.duplicate()) return stored;
  attempt.identify();
  attempt.thread();
  attempt.settle_customer();
  if (!attempt.insert()) return std::nullopt;
  attempt.decide_and_apply(reply_interval);
  committing = true;
  tx.commit();
  return Result<IngestOutcome>(std::move(attempt.outcome()));
}

}  // namespace

Result<IngestOutcome> Pipeline::ingest(const InboundMessage& message, const Router& router) {
  try {
    auto input = make_input(message, clock_.now());
    if (!input) return input.error();
    const auto cap = options_.auto_reply_interval.find(message.channel);
    const std::optional<Duration> interval =
        cap == options_.auto_reply_interval.end() ? std::nullopt : std::optional(cap->second);
    // Deadlocks, unique violations (a writer outside the pipeline's locks got there first: the
    // next attempt sees its row) and a connection found dead are run again by run_unit.
    const sql::Work work{"cannot store the message", "invalid_message", "the database refused the message",
                         "ingest_failed"};
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto stored = sql::run_unit<std::optional<IngestOutcome>>(
          pool_, "pipeline", kStatements, "ingest_retry", work,
          [&](pqxx::connection& conn, bool& committing) -> Result<std::optional<IngestOutcome>> {
            auto once = run_once(conn, *input, message, router, interval, committing);
            if (!once) return std::optional<IngestOutcome>();  // start over
            if (!*once) return once->error();
            return std::optional<IngestOutcome>(std::move(**once));
          });
      if (!stored) return stored.error();
      if (*stored) return std::move(**stored);
    }
    return make_error(ErrorKind::bug, "ingest_conflict",
                      "the message key was taken twice by writers that bypass the pipeline's locks");
  } catch (const std::exception& e) {
    // Only allocation failures and the like get here: ingest never throws.
    return make_error(ErrorKind::bug, "ingest_failed", e.what());
  }
}

}  // namespace switchboard::storage
