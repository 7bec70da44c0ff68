// evaluate(): the pure routing function. (message, conversation, customer, time) -> Decision.
// No I/O, no SQL, no clock reads: everything it needs comes in as arguments.
#pragma once

#include <string>
#include <utility>
#include <vector>

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

// Rules in file order; the first whose 'when' holds (or that has none) fires, and evaluation goes
// on past it only while the rules that fired say 'continue: true'. The message text is folded
// at most once per call.
Decision evaluate(const RuleSet& rules, const EvaluationInput& input);

// One condition of a rule as explain() saw it: `depth` 0 is the rule's 'when' itself, its parts
// (under all/any/not) follow it at depth + 1, in file order.
struct ConditionTrace {
  std::string description;  // "text contains_any [awari*, \"nie działa\"]", "channel [sms, whatsapp]"
  bool value = false;
  int depth = 0;
};

struct Explanation {
  Decision decision;  // exactly what evaluate() returns for the same input
  // Every rule evaluate() looked at, in order, with its conditions. Unlike evaluate(), every
  // part of all/any is evaluated (no short-circuit) so that the trace shows each one's value.
  // A rule without 'when' has one entry, "always", true.
  std::vector<std::pair<std::string, std::vector<ConditionTrace>>> rules_checked;
  // Per action of `decision` (same index): the template variables that rendered as nothing in
  // it, by their written name ("conversation.id": explain has no conversation), each once.
  std::vector<std::vector<std::string>> empty_variables;
};

Explanation explain(const RuleSet& rules, const EvaluationInput& input);

}  // namespace switchboard::routing
