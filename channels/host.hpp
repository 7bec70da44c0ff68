// What an adapter plugs into (Adapter::attach): a place for its HTTP routes, the intake its
// events go to, the durable spool for platforms that do not redeliver, and the daemon's
// counters. The daemon implements it (daemon/app.cpp); tests implement it with fakes, so an
// adapter's webhook handling is testable without the daemon.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/http.hpp"
#include "channels/routes.hpp"
#include "routing/core/message.hpp"
#include "routing/core/result.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels {

// One InboundMessage of a batch as stored (the API answers with it).
struct StoredMessage {
  std::string message_id;
  std::string conversation_id;
  std::string customer_id;
  bool duplicate = false;
};

// What Intake::accept did with a batch, for callers that decide themselves what to do with the
// events that can never be stored (the API answers with the error, the mailbox quarantines).
struct IntakeReport {
  std::size_t stored = 0;               // new messages
  std::size_t duplicate = 0;            // messages or system messages stored before
  std::size_t system = 0;               // new system messages (bounces, reports)
  std::vector<StoredMessage> messages;  // each InboundMessage stored, in the batch's order
  std::vector<Error> failures;          // events that can never be stored: why
};

// The single entry for every adapter's events (messages, system messages, statuses, echoes,
// opt-outs), whatever brought them (a webhook, a poller, a spool replay).
class Intake {
 public:
  virtual ~Intake() = default;
  // False until the database schema is ready: a request is answered 503 (or spooled) then.
  virtual bool ready() const = 0;
  // Stores a batch: opt-outs first (a STOP gets no auto-reply), then messages, system messages,
  // statuses and echoes. An error only when the database is unavailable: nothing after the
  // failing event is applied, and the whole batch is safe to apply again (the writes are
  // idempotent). Events that can never be stored are logged and skipped, or, when `report` is
  // given, listed in it for the caller to decide.
  virtual Status accept(const std::string& request_id, const std::vector<InboundEvent>& events,
                        IntakeReport* report = nullptr) = 0;
};

// The error a route answers while Intake::ready() is false (503, Retry-After).
inline Error not_ready() {
  return make_error(ErrorKind::unavailable, "database_unavailable", "the database is not ready");
}

// A verified webhook request kept on disk until the database takes its events.
struct SpooledRequest {
  std::string path;     // the endpoint it came to: its route's owner replays it
  std::string account;  // the platform account it was verified for
  std::string content_type;
  std::string request_id;
  Timestamp received_at{};
  std::string body;  // the raw, verified body
};

class Spooler {
 public:
  virtual ~Spooler() = default;
  // Durably keeps a request the database could not take (fsync'd before this returns: the file
  // stands in for the commit); the daemon replays it through Adapter::parse_spooled of the
  // adapter that owns the route of its path once the database is back. Returns the entry's name.
  // Errors: unavailable "spool_full", "spool_write_failed", "spool_unavailable".
  // `reason`: why the database could not take it, for the log line.
  virtual Result<std::string> keep(const SpooledRequest& request, std::string_view reason) = 0;
};

// For adapters that fetch from a source themselves (an IMAP mailbox): one daemon among those
// sharing a database fetches a source at a time, and where it stopped is kept in the database
// so that a restart, or another daemon taking over, resumes there.
struct SourcePosition {
  std::uint32_t epoch = 0;  // the source's numbering (IMAP UIDVALIDITY): a new epoch starts over
  std::uint32_t last = 0;   // everything up to this item is stored (or set aside)
};

class SourceLock {
 public:
  virtual ~SourceLock() = default;
  // true: this daemon fetches the source now. Errors: unavailable.
  virtual Result<bool> try_acquire() = 0;
  // Whether the lock is still ours (false after a lost database connection).
  virtual bool held() = 0;
  virtual void release() = 0;
};

class Sources {
 public:
  virtual ~Sources() = default;
  // Source names are one namespace for every adapter (today the e-mail adapter's mailboxes,
  // whose positions and locks predate this interface): a second fetching adapter prefixes its own.
  // The lock of `source` (a mailbox's name), on a database connection of its own.
  virtual std::unique_ptr<SourceLock> lock(const std::string& source) = 0;
  // nullopt for a part (folder) never fetched.
  virtual Result<std::optional<SourcePosition>> position(const std::string& source, const std::string& part) = 0;
  // Under the same epoch `last` only moves forward; a new epoch replaces it.
  virtual Status save_position(const std::string& source, const std::string& part, const SourcePosition& position) = 0;
  // One item fetched, by what became of it (stored | duplicate | system | quarantined): counted
  // in /metrics (switchboard_mail_fetched_total{mailbox, result}).
  virtual void fetched(const std::string& source, std::string_view result) = 0;
};

// What /readyz shows of one source an adapter fetches from.
struct SourceStatus {
  std::string name;
  std::string state;  // starting | polling | standby (another daemon fetches it) | down | stopped
  std::string error;  // why down
  std::optional<Timestamp> last_poll;  // the last complete pass
  std::vector<std::pair<std::string, long>> counts;  // since start, by outcome
};

class Host {
 public:
  virtual ~Host() = default;
  // Adds one of the adapter's routes (channels/routes.hpp). Errors as RouteTable::add.
  virtual Status route(std::string method, std::string_view pattern, RouteHandler handler) = 0;
  virtual Intake& intake() = 0;
  // Asked for in attach() (the daemon opens the spool before it serves, and fails to start
  // when it cannot), then kept for the handlers.
  virtual Spooler& spooler() = 0;
  // The response for a refused request: the error's status and JSON body, a log line `event`
  // (path, status, reason, request id; warn for 4xx, error for 5xx) and a count by endpoint
  // (switchboard_rejected_total{endpoint, reason}).
  virtual HttpResponse reject(const HttpRequest& request, std::string_view endpoint, std::string_view event,
                              const Error& error) = 0;
  // A message came for an account the config does not name (counted by channel and account).
  virtual void unconfigured_account(std::string_view channel, std::string_view account) = 0;
  virtual const Clock& clock() const = 0;
  // Locks and positions for adapters that fetch (Adapter::start).
  virtual Sources& sources() = 0;
};

}  // namespace switchboard::channels
