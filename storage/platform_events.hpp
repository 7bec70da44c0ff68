// What platforms report besides customers' messages: delivery statuses of what we sent, echoes
// of what the business sent from the platform's own inbox, and opt-outs. Each is one autocommit
// unit of work, idempotent: platforms deliver at least once and out of order.
#pragma once

#include <string>

#include "routing/core/message.hpp"
#include "routing/core/result.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

struct StatusOutcome {
  bool duplicate = false;  // this (message, status) was recorded before
  bool applied = false;    // an outbox row moved forward (false: unknown id yet, or not forward)
  // Not applied because no reply of ours with that platform id is recorded yet (or its send is
  // still finishing): it waits for mark_sent. False for a status that was not forward for a
  // known message (a no-op) and for watermarks, which never wait.
  bool waiting = false;
};

// Records the status (once per external id and status) and moves the outbox row of our message
// with that platform id forward: sent < failed|blocked < delivered < read, never backwards. A
// status for an id we have not recorded yet (our send's answer is still on its way) waits in
// delivery_statuses and mark_sent applies it. 'blocked' is the adapter's word for a platform
// that refused the reply for its closed window (WhatsApp's 131047). A watermark status (empty
// external_id, Messenger read or delivery receipts) moves every message to `recipient` sent up
// to `at`. Errors: invalid (a status other than sent|delivered|read|failed|blocked), unavailable,
// bug.
Result<StatusOutcome> record_delivery_status(Pool& pool, const DeliveryStatus& status);

struct EchoOutcome {
  bool stored = false;     // a new outbound message in the customer's conversation
  std::string reason;      // why not, when not stored: "duplicate", "unknown_customer"
};

// A message the business sent from the platform's inbox (Messenger echo): stored as an outbound
// message of the customer's newest conversation, never routed, and counted as a human reply.
// The caller skips echoes of our own sends.
Result<EchoOutcome> record_echo(Pool& pool, const Echo& echo, Timestamp now);

// Records (or, with opted_out false, lifts) an opt-out of the address on the channel.
Status record_opt_out(Pool& pool, const OptOut& opt_out, const std::string& address, Timestamp now);

// Whether the address has opted out of the channel.
Result<bool> opted_out(Pool& pool, Channel channel, const std::string& address);

}  // namespace switchboard::storage
