// Read side for the agent/admin API: conversations and their messages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "routing/core/result.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

struct ConversationRecord {
  std::string id;
  std::string customer_id;
  std::string state;
  std::optional<std::string> queue;
  std::string priority;
  std::vector<std::string> tags;
  std::string opened_at;  // RFC 3339, UTC
};

struct MessageRecord {
  std::string id;
  std::string conversation_id;
  std::string direction;  // in | out
  std::string channel;
  std::string account;
  std::optional<std::string> external_id;
  std::string sender;
  std::string body;
  std::string attachments_json;  // JSON array
  std::string created_at;        // RFC 3339, UTC
  std::optional<std::string> delivery_state;  // outbound: queued | sending | sent | delivered | failed
  std::optional<int> attempts;                // outbound: send attempts so far
  std::optional<std::string> last_error;      // outbound: why the last attempt failed, if one did
};

// not_found when there is no such conversation (ids that are not numbers included).
Result<ConversationRecord> get_conversation(Pool& pool, const std::string& id);
// Oldest first.
Result<std::vector<MessageRecord>> list_messages(Pool& pool, const std::string& conversation_id);

}  // namespace switchboard::storage
