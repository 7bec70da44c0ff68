// System messages (routing/core/message.hpp SystemMessage): stored once per (channel, account,
// external_id), linked to our outbound message they concern, never routed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "routing/core/message.hpp"
#include "routing/core/result.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

struct SystemOutcome {
  std::string id;                   // the stored row (the earlier one for a duplicate)
  bool duplicate = false;           // stored before (a mailbox scanned again)
  std::optional<std::string> conversation_id;  // of the message it concerns; nullopt: the account's own list
  std::optional<std::string> concerns_message_id;
  std::optional<std::string> concerns_external_id;  // that message's platform id (for its delivery status)
};

// Finds our outbound message the system message concerns (by our id, else by its platform id,
// on the same channel and account) and stores the system message in its conversation, or
// unlinked. The delivery status it carries is the caller's to record (record_delivery_status with
// concerns_external_id): both steps are idempotent. Errors: invalid, unavailable, bug.
Result<SystemOutcome> record_system_message(Pool& pool, const SystemMessage& message);

struct SystemMessageRecord {
  std::string id;
  std::string kind;
  std::string channel;
  std::string account;
  std::string sender;
  std::string subject;
  std::string body;
  std::optional<std::string> concerns_message_id;
  std::optional<std::string> status;
  std::optional<std::string> error;
  std::string created_at;  // RFC 3339, UTC
};

// A conversation's system messages, oldest first.
Result<std::vector<SystemMessageRecord>> list_system_messages(Pool& pool, const std::string& conversation_id);

// Every external_id stored for the channel's account, as a message or a system message (the
// mailbox audit compares a mailbox's folders with it).
Result<std::vector<std::string>> stored_external_ids(Pool& pool, Channel channel, const std::string& account);

}  // namespace switchboard::storage
