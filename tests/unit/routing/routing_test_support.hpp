// Helpers shared by the routing tests: compile a rules text, run a message through it, and
// render decisions and diagnostics as short strings that golden tables compare.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "routing/core/decision.hpp"
#include "routing/core/message.hpp"
#include "routing/evaluate.hpp"
#include "routing/rules/ruleset.hpp"

namespace switchboard::routing::test {

inline CompileResult compile(std::string_view yaml) {
  return compile_rules(yaml, CompileOptions{.source_name = "rules.yaml", .hash = "test-hash"});
}

// Every diagnostic as check-rules prints it.
inline std::vector<std::string> diagnostics_of(std::string_view yaml) {
  std::vector<std::string> out;
  for (const auto& d : compile(yaml).diagnostics) out.push_back(d.format());
  return out;
}

inline std::shared_ptr<const RuleSet> compile_ok(std::string_view yaml) {
  auto result = compile(yaml);
  for (const auto& d : result.diagnostics) UNSCOPED_INFO(d.format());
  REQUIRE(result.rules != nullptr);
  return result.rules;
}

struct Probe {
  std::string text;
  Channel channel = Channel::webchat;
  bool first_message = false;
};

inline Decision decide(const RuleSet& rules, const Probe& probe) {
  InboundMessage message;
  message.channel = probe.channel;
  message.text = probe.text;
  ConversationView conversation;
  conversation.is_new = probe.first_message;
  CustomerView customer;
  return evaluate(rules, EvaluationInput{message, conversation, customer, Timestamp{}});
}

// A local class may not have member templates, so the visitor lives at namespace scope.
struct DescribeAction {
  std::string operator()(const ReplyAction& a) const { return "reply " + a.template_name; }
  std::string operator()(const EnqueueAction& a) const { return "enqueue " + a.queue + " " + std::string(to_string(a.priority)); }
  std::string operator()(const TagAction& a) const { return "tag " + a.tag; }
  // Later kinds: "assign agent=anna", "page schedule=night person=anna", "close".
  template <class Other>
  std::string operator()(const Other& a) const {
    auto fields = action_fields(Action{a});
    std::string out = fields.front().second;
    for (std::size_t i = 1; i < fields.size(); ++i) out += " " + fields[i].first + "=" + fields[i].second;
    return out;
  }
};

inline std::string describe(const Action& action) { return std::visit(DescribeAction{}, action); }

// "outage: reply urgent_ack, enqueue support urgent"; rules joined by '+' when several fired;
// "-" when none did.
inline std::string summary(const Decision& decision) {
  if (!decision.rule) return decision.matched.empty() && decision.actions.empty() ? "-" : "inconsistent";
  std::string out;
  for (std::size_t i = 0; i < decision.matched.size(); ++i) out += (i > 0 ? "+" : "") + decision.matched[i];
  out += ":";
  for (std::size_t i = 0; i < decision.actions.size(); ++i) out += (i > 0 ? ", " : " ") + describe(decision.actions[i]);
  if (decision.matched.empty() || decision.matched.front() != *decision.rule) out += " (rule is not the first matched)";
  return out;
}

inline std::string summary_of(const RuleSet& rules, const Probe& probe) { return summary(decide(rules, probe)); }

}  // namespace switchboard::routing::test
