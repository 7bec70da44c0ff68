// The compiled form of a rules file: per rule a condition tree and a list of actions, which
// evaluate() walks. Private to routing/: RE2 and yaml-cpp stay in the .cpp files behind it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "routing/core/decision.hpp"
#include "routing/evaluate.hpp"

namespace switchboard::routing {

// State of one evaluation: the input, and the message text folded and split into words the
// first time a condition asks, so a message is folded at most once however many rules look.
class EvalContext {
 public:
  explicit EvalContext(const EvaluationInput& input) : input_(input) {}
  const EvaluationInput& input() const { return input_; }
  const std::string& folded_text();
  const std::vector<std::string>& words();
  // The language a 'set_language' action earlier in this decision chose (actions are produced
  // in file order): replies produced after it render in that language. Conditions still see
  // the customer's stored language.
  const std::optional<std::string>& language_set() const { return language_set_; }
  void set_language(std::string language) { language_set_ = std::move(language); }
  // explain() only: where actions note the template variables that rendered as nothing
  // (render()'s `empty`); nullptr while evaluating.
  std::vector<std::string>* empty_variables() const { return empty_variables_; }
  void note_empty_variables(std::vector<std::string>* sink) { empty_variables_ = sink; }

 private:
  const EvaluationInput& input_;
  std::optional<std::string> language_set_;
  std::vector<std::string>* empty_variables_ = nullptr;
  std::optional<std::string> folded_;
  std::optional<std::vector<std::string>> words_;
};

// A compiled condition. A new kind is a subclass plus one entry in conditions.cpp's table.
class ConditionNode {
 public:
  virtual ~ConditionNode() = default;
  virtual bool test(EvalContext& ctx) const = 0;
  // How explain() shows it, close to the YAML: "channel [sms, whatsapp]".
  virtual std::string describe() const = 0;
  // Appends this condition (and, for all/any/not, its parts, fully evaluated) at `depth`.
  virtual bool trace(EvalContext& ctx, int depth, std::vector<ConditionTrace>& out) const;
};

// A compiled action; produce() may use the context (templates with variables will).
class ActionNode {
 public:
  virtual ~ActionNode() = default;
  virtual Action produce(EvalContext& ctx) const = 0;
};

struct CompiledRule {
  std::string name;
  std::unique_ptr<ConditionNode> when;  // nullptr: the rule matches every message
  std::vector<std::unique_ptr<ActionNode>> then;
  bool keep_going = false;  // 'continue: true'
};

class CompiledRules {
 public:
  std::vector<CompiledRule> rules;
  std::vector<std::string> queues;  // in declaration order
};

}  // namespace switchboard::routing
