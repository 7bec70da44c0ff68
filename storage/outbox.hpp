// The outbox seen by its workers and by agents: claiming due rows under a lease (safe with many
// daemons on one database), recording each send's result, and queueing an agent's reply.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "routing/core/outbound.hpp"
#include "routing/core/result.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

// Which claim of which row a result is for: the fencing token. Results name the claim they
// answer, and the database records them only while it is the row's newest claim.
struct Claim {
  std::string outbox_id;
  std::string token;  // the claim id (a UUID)
};

// A row claimed for sending: everything the sender needs, so that it reads nothing else.
struct OutboxItem {
  std::string id;  // the outbox id: receivers de-duplicate on it (X-Switchboard-Delivery)
  std::string message_id;
  std::string conversation_id;
  std::string channel;
  std::string account;
  std::optional<std::string> recipient;  // the customer's address on that channel
  std::string payload;                   // a JSON object, as text
  int attempts = 0;                      // including this one
  Timestamp lease_until{};               // report a result before then, or the row is sent again
  // The newest inbound message of the conversation on the row's channel and account: platform
  // reply windows are measured from it.
  std::optional<Timestamp> last_inbound_at{};
  std::string claim_token{};  // see Claim
  // Set when an earlier attempt handed the message to the platform (or may have) and no result
  // was recorded: the daemon died in between, or the platform's answer never came. The sender
  // asks the adapter whether a resend is safe (Adapter::check_resend) before sending again.
  std::optional<Timestamp> in_doubt_since{};

  Claim claim() const { return Claim{id, claim_token}; }
};

// Claims up to `limit` due rows ('queued', next_attempt_at <= now), oldest due first, in one
// statement: each becomes 'sending' with attempts + 1, a lease until now + lease, a new claim
// token, and `instance` (the claiming daemon's InstanceLock key; 0 for none) as its owner. Rows
// other daemons are claiming at the same moment are skipped, never shared. Errors: invalid (lease
// not positive), unavailable, bug.
Result<std::vector<OutboxItem>> claim_due(Pool& pool, std::size_t limit, Duration lease, Timestamp now,
                                          int instance = 0);

// The InstanceLock keys of instances that claimed rows still 'sending' and hold no lock now,
// other than `own` (every key this instance held: storage/instance_lock.hpp held()). Empty while
// the database started less than `restart_grace` ago: a restart drops every instance's lock,
// and live ones take theirs again on their next sweep. A key found here may belong to an
// instance whose session was cut a moment ago: the outbox worker releases a key's rows only once
// it has been missing for a while (OutboxWorkerOptions::restart_grace).
Result<std::vector<int>> dead_claimers(Pool& pool, const std::vector<int>& own, Duration restart_grace);

// Rows still 'sending' claimed under one of `old_keys` (keys this instance held before) are
// stamped with `key`, the one it holds now. Returns how many.
Result<std::size_t> adopt_claims(Pool& pool, const std::vector<int>& old_keys, int key);

// Rows still 'sending' go back to 'queued', due at `now`, last_error saying why, when their lease
// has expired (their sender hung) or when they were claimed under one of the `dead` keys (see
// dead_claimers) and that key is still not held. Returns how many.
Result<std::size_t> release_expired(Pool& pool, Timestamp now, const std::vector<int>& dead = {});

// Called just before the platform is: records that this claim's outcome is in doubt until a
// result is recorded (OutboxItem::in_doubt_since). False when the claim is no longer the row's
// (its lease was released): the row must not be sent under it.
Result<bool> begin_attempt(Pool& pool, const Claim& claim, Timestamp now);

// last_error keeps at most this many bytes of an `error` below, cut between characters; bytes
// that are not UTF-8, and NUL, become U+FFFD (error texts quote whatever a remote server sent).
inline constexpr std::size_t kMaxErrorBytes = 1000;

// The result of a send. Each acts only on a row whose newest claim is `claim` and that is still
// 'sending', or was released to 'queued' and not claimed since (a late result is then still the
// truth, and recording it spares a resend). It returns whether it changed one: false for an
// unknown id or token and for a result whose claim was superseded (another sender has the row
// now: the result of this claim must not overwrite that one's); also, rarely, when the connection
// broke just after the change committed and the automatic retry found it done. A recorded result
// clears in_doubt_since (mark_retry keeps it when asked: the attempt may have reached the
// platform).
//
// state is "sent" (the platform accepted it) or "delivered" (the recipient has it); anything
// else is invalid. A non-empty external_id becomes the outbound message's platform id. Should
// another message of the channel account hold that id already, the result is still recorded and
// the message keeps no id (logged as outbox_external_id_clash).
Result<bool> mark_sent(Pool& pool, const Claim& claim, const std::string& state, const std::string& external_id,
                       Timestamp now);
// Back to 'queued', due at next_attempt_at. `in_doubt`: the attempt may have reached the platform
// (its answer never came), so the next sender checks before resending.
Result<bool> mark_retry(Pool& pool, const Claim& claim, const std::string& error, Timestamp next_attempt_at,
                        bool in_doubt = false);
// A resend check found the row's earlier attempt at the platform under `external_id`: recorded
// as mark_sent would, in one statement, unless the finding is ambiguous: another message of the
// channel account holds that id, or another reply to the same recipient is in flight or in doubt
// from before this one (it may be the one the platform has). Ambiguous: nothing changed; check
// again later. An empty id is ambiguous.
enum class Found { recorded, ambiguous, claim_gone };
Result<Found> mark_found(Pool& pool, const Claim& claim, const std::string& state, const std::string& external_id,
                         Timestamp now);
// Whether `claim`'s result is recorded already (the row has left 'sending'/'queued' under it):
// a mark_* retried after a lost answer finds its own first try done.
Result<bool> claim_settled(Pool& pool, const Claim& claim);
// 'failed' for good.
Result<bool> mark_failed(Pool& pool, const Claim& claim, const std::string& error);
// 'blocked': the platform's reply window is closed and nothing else may be sent there; agents
// see it (delivery_state) and pick another channel.
Result<bool> mark_blocked(Pool& pool, const Claim& claim, const std::string& error);

struct OutboxRecord {
  std::string id;
  std::string message_id;
  std::string channel;
  std::string account;
  std::optional<std::string> recipient;
  std::string payload;  // JSON object, as text
  std::string state;    // queued | sending | sent | delivered | read | failed | blocked
  int attempts = 0;
  std::optional<std::string> last_error;
  Timestamp next_attempt_at{};
  std::optional<Timestamp> lease_until;     // while 'sending'
  std::optional<std::string> external_id;   // of its message, once the platform named it
  std::optional<Timestamp> in_doubt_since;  // see OutboxItem
};

// Which of `ids` are already the platform id of one of our outbound messages on the channel
// account (a resend check's candidates that belong to other replies).
Result<std::vector<std::string>> known_outbound_ids(Pool& pool, const std::string& channel, const std::string& account,
                                                    const std::vector<std::string>& ids);

// not_found "outbox_not_found" for an unknown (or malformed) id.
Result<OutboxRecord> get_outbox(Pool& pool, const std::string& outbox_id);

struct OutboxBacklog {
  long queued = 0;   // waiting for a sender (due now or later)
  long sending = 0;  // claimed by a sender
};
Result<OutboxBacklog> outbox_backlog(Pool& pool);

struct QueuedReply {
  std::string message_id;
  std::string outbox_id;
  std::string channel;  // where it goes: the channel and account of the customer's last message
  std::string account;
  std::string recipient;
};

// Which of the customer's channels a reply takes: by default the one they last wrote on.
struct ReplyRoute {
  std::optional<std::string> channel;
  std::optional<std::string> account;
};

// Where a reply goes: the customer's newest inbound message on the route.
struct ReplyTarget {
  std::string in_reply_to;  // that message's id
  std::string channel;
  std::string account;
  std::string recipient;
  Timestamp last_inbound_at{};         // the platforms' reply windows run from it
  std::optional<MailThread> mail;      // when it was mail: how the reply threads under it
};
// Errors: not_found, unprocessable "not_reachable" (never wrote on the route's channel),
// conflict "no_inbound_channel" (never wrote at all).
Result<ReplyTarget> reply_target(Pool& pool, const std::string& conversation_id, const ReplyRoute& route);

// Says whether the channel takes the reply now (a window, a length): its error refuses it.
using ReplyGate = std::function<Status(const ReplyTarget& target)>;

// An agent's reply, in one transaction: the outbound message (sender = author), its outbox row
// (payload {"text", "conversation_id", "author", "in_reply_to"}, due at now), first_response_at
// set unless it was, and NOTIFY switchboard_outbox at commit. It goes back the way the customer
// last wrote: the channel, account and sender address of the conversation's newest inbound
// message. Errors: not_found "conversation_not_found"; conflict "no_inbound_channel" (nothing
// to reply to); invalid "invalid_text" (empty, NUL or not UTF-8) or "invalid_reply" (refused by
// the database); unavailable (nothing stored, unless the message says it may be); bug.
// The gate runs inside the transaction, on the very target the reply is queued for.
// `whatsapp_template` goes with it (sent instead of the text outside WhatsApp's window).
Result<QueuedReply> queue_agent_reply(Pool& pool, const std::string& conversation_id, const std::string& text,
                                      const std::string& author, Timestamp now, const ReplyRoute& route = {},
                                      const ReplyGate& gate = {},
                                      const std::optional<WhatsAppTemplate>& whatsapp_template = std::nullopt);

}  // namespace switchboard::storage
