// A validated, compiled rules file. Immutable once built; the daemon swaps whole RuleSets on reload.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/core/decision.hpp"
#include "routing/core/message.hpp"
#include "routing/oncall/schedule.hpp"
#include "routing/rules/diagnostic.hpp"

namespace switchboard::routing {

class CompiledRules;  // the compiled conditions and actions (rules/compiler.cpp)
struct Template;      // rules/template.hpp

// The 'sms' section: what evaluate() does to every reply to a message that came by SMS.
struct SmsOptions {
  bool transliterate = false;           // to GSM-7 (routing/text/sms.hpp: ą->a, ł->l, ...)
  std::optional<int> max_segments;      // cut to at most this many segments, 1..10; nullopt: no cap
  bool operator==(const SmsOptions&) const = default;
};

class RuleSet {
 public:
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  const std::string& source_name() const { return source_name_; }
  const std::string& hash() const { return hash_; }  // given by the caller (sha256 of the file)
  int version() const { return version_; }
  const std::string& timezone() const { return timezone_; }
  std::vector<std::string> rule_names() const;
  std::vector<std::string> queue_names() const;
  const std::map<std::string, std::string>& templates() const { return templates_; }
  // A template of the file, compiled (render() in rules/template.hpp); nullptr when there is none.
  std::shared_ptr<const Template> template_named(std::string_view name) const;
  const CompiledRules& compiled() const { return *compiled_; }
  // The 'people' section, in file order; a login's person or nullptr.
  const std::vector<Person>& people() const { return people_; }
  const Person* person(std::string_view login) const;
  // An on-call schedule of the 'oncall' section, or nullptr; the names sorted.
  const OncallSchedule* oncall(std::string_view name) const;
  std::vector<std::string> oncall_names() const;
  // The 'sms' section (defaults when the file has none).
  const SmsOptions& sms() const { return sms_; }
  // The logins a queue lists under 'people' (empty: it lists nobody, so every agent works it).
  const std::vector<std::string>& queue_people(std::string_view queue) const;
  // Whether `person` may see a conversation in `queue` (nullopt: in none) assigned to
  // `assignee`: an admin sees all; an agent the conversations assigned to them, and those of
  // the queues that list them or list nobody (a conversation in no queue included).
  bool may_see(const Person& person, const std::optional<std::string>& queue,
               const std::optional<std::string>& assignee) const;

 private:
  friend struct RuleSetBuilder;
  RuleSet();
  std::string source_name_;
  std::string hash_;
  int version_ = 1;
  std::string timezone_ = "Europe/Warsaw";
  std::map<std::string, std::string> templates_;
  std::map<std::string, std::shared_ptr<const Template>, std::less<>> compiled_templates_;
  std::unique_ptr<CompiledRules> compiled_;
  std::vector<Person> people_;
  std::map<std::string, std::shared_ptr<const OncallSchedule>, std::less<>> oncall_;
  SmsOptions sms_;
  std::map<std::string, std::vector<std::string>, std::less<>> queue_people_;
};

struct CompileOptions {
  std::string source_name = "rules.yaml";  // the file name used in diagnostics
  std::string hash;                         // recorded in the RuleSet (audit rows, /metrics)
};

struct CompileResult {
  std::shared_ptr<const RuleSet> rules;  // null when there is at least one error
  std::vector<Diagnostic> diagnostics;   // every error and warning, in file order
};

// Parses and validates a rules file's text; never throws.
CompileResult compile_rules(std::string_view yaml_text, const CompileOptions& options);

}  // namespace switchboard::routing
