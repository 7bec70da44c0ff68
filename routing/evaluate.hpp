// evaluate(): the pure routing function. (message, conversation, customer, time) -> Decision.
// No I/O, no SQL, no clock reads: everything it needs comes in as arguments.
#pragma once

#include "routing/core/decision.hpp"
#include "routing/core/message.hpp"
#include "routing/core/time.hpp"
#include "routing/rules/ruleset.hpp"

namespace switchboard::routing {

struct EvaluationInput {
  const InboundMessage& message;
  const ConversationView& conversation;
  const CustomerView& customer;
  Timestamp now;
};

Decision evaluate(const RuleSet& rules, const EvaluationInput& input);

}  // namespace switchboard::routing
