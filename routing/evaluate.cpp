// evaluate() and explain(): walk the compiled rules in file order and collect the actions of
// the rules that fire.
#include "routing/evaluate.hpp"

#include "routing/rules/compiled.hpp"
#include "routing/text/fold.hpp"
#include "routing/text/sms.hpp"

namespace switchboard::routing {

const std::string& EvalContext::folded_text() {
  if (!folded_) folded_ = fold(input_.message.text);
  return *folded_;
}

const std::vector<std::string>& EvalContext::words() {
  if (!words_) words_ = split_words(folded_text());
  return *words_;
}

namespace {

// A reply with 'at_most' whose template already went to this customer within the window.
bool held_back(const Action& action, const EvaluationInput& input) {
  const auto* reply = std::get_if<ReplyAction>(&action);
  if (!reply || !reply->at_most || !input.customer.last_auto_reply) return false;
  auto last = input.customer.last_auto_reply(reply->template_name);
  return last && input.now - *last < *reply->at_most;
}

// A reply to an SMS: the rules file's 'sms' options (transliteration to GSM-7, then the cap on
// segments), then the encoding and segments of what will be sent. Only automatic replies pass
// here: an agent's replies do not go through the rules.
void finish_sms_reply(Action& action, const SmsOptions& options) {
  auto* reply = std::get_if<ReplyAction>(&action);
  if (reply == nullptr) return;
  if (options.transliterate) reply->text = transliterate_gsm7(reply->text);
  if (options.max_segments) reply->text = cap_segments(reply->text, *options.max_segments);
  const SmsEncoding encoding = classify(reply->text);
  reply->sms_encoding = std::string(to_string(encoding.encoding));
  reply->sms_segments = encoding.segments;
}

// The one loop behind evaluate() and explain(); `holds(rule)` says whether a rule's 'when' holds.
// With `empty_variables` (explain), each action's empty template variables, parallel to the actions.
template <class Holds>
Decision run(const RuleSet& rules, EvalContext& ctx, Holds&& holds,
             std::vector<std::vector<std::string>>* empty_variables = nullptr) {
  Decision decision;
  std::vector<std::string> empty;
  if (empty_variables) ctx.note_empty_variables(&empty);
  for (const CompiledRule& rule : rules.compiled().rules) {
    if (!holds(rule)) continue;
    if (!decision.rule) decision.rule = rule.name;
    decision.matched.push_back(rule.name);
    for (const auto& action : rule.then) {
      empty.clear();
      Action produced = action->produce(ctx);
      if (held_back(produced, ctx.input())) {
        decision.suppressed.push_back(std::get<ReplyAction>(produced).template_name);
        continue;
      }
      if (ctx.input().message.channel == Channel::sms) finish_sms_reply(produced, rules.sms());
      decision.actions.push_back(std::move(produced));
      if (empty_variables) empty_variables->push_back(empty);
    }
    if (!rule.keep_going) break;
  }
  ctx.note_empty_variables(nullptr);
  return decision;
}

}  // namespace

Decision evaluate(const RuleSet& rules, const EvaluationInput& input) {
  EvalContext ctx(input);
  return run(rules, ctx, [&](const CompiledRule& rule) { return rule.when == nullptr || rule.when->test(ctx); });
}

Explanation explain(const RuleSet& rules, const EvaluationInput& input) {
  EvalContext ctx(input);
  Explanation explanation;
  explanation.decision = run(
      rules, ctx,
      [&](const CompiledRule& rule) {
        auto& [name, conditions] = explanation.rules_checked.emplace_back(rule.name, std::vector<ConditionTrace>{});
        if (rule.when == nullptr) {
          conditions.push_back(ConditionTrace{"always", true, 0});
          return true;
        }
        return rule.when->trace(ctx, 0, conditions);
      },
      &explanation.empty_variables);
  return explanation;
}

}  // namespace switchboard::routing
