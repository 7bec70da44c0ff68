// Read side for `switchboard replay`: stored inbound messages with the context evaluate() needs
// and the rule their audit row recorded, oldest first. Read-only.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "routing/core/decision.hpp"
#include "routing/core/message.hpp"
#include "routing/core/result.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

struct StoredInbound {
  std::string message_id;
  std::string conversation_id;
  InboundMessage message;        // sent_at is when it was sent (or received, when unknown)
  ConversationView conversation;  // as it was when this message arrived
  CustomerView customer;          // as the customer is now
  bool audited = false;           // an audit row exists
  std::optional<std::string> rule;  // the rule it recorded; nullopt when none matched
};

// Calls `visit` for every inbound message stored at or after `since` and before `until`, in the
// order they arrived, reading in pages so that memory stays flat. Stops early when visit returns
// false. Errors: unavailable, bug.
Status for_each_inbound(Pool& pool, Timestamp since, Timestamp until,
                        const std::function<bool(const StoredInbound&)>& visit);

}  // namespace switchboard::storage
