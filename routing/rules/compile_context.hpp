// What the parts of the rules compiler share: the diagnostics being collected, the queues and
// templates declared so far (and whether rules use them), and typed readers of YAML values.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "routing/calendar/calendar.hpp"
#include "routing/core/time.hpp"
#include "routing/oncall/schedule.hpp"
#include "routing/rules/compiled.hpp"
#include "routing/rules/diagnostic.hpp"
#include "routing/rules/template.hpp"
#include "routing/rules/yaml_tree.hpp"

namespace switchboard::routing {

class CompileContext {
 public:
  void error(const YamlNode& at, std::string message) { add(Diagnostic::Severity::error, at.line, at.column, std::move(message)); }
  void warning(const YamlNode& at, std::string message) { add(Diagnostic::Severity::warning, at.line, at.column, std::move(message)); }
  void add(Diagnostic::Severity severity, int line, int column, std::string message);
  int error_count() const { return error_count_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

  // "unknown key 'x' (did you mean 'y'?)" at the key.
  void unknown_key(const YamlNode& key, std::span<const std::string_view> allowed);
  // Reports every key of `mapping` not in `allowed`; true when all were allowed.
  bool check_keys(const YamlNode& mapping, std::span<const std::string_view> allowed);

  // A scalar's text; otherwise reports `message_if_not` at the node and returns nullopt.
  std::optional<std::string> text_of(const YamlNode& node, std::string_view message_if_not);
  // A plain true or false (also True/TRUE/False/FALSE; not yes/no/on/off, nor quoted);
  // otherwise reports "'KEY' must be true or false".
  std::optional<bool> bool_of(const YamlNode& node, std::string_view key);
  // A duration as CONTRACT.md writes them (90s, 30m, 12h, 7d, 1h30m); otherwise reports
  // "invalid duration 'x' in 'KEY' (use 90s, 30m, ...)" ("'KEY' must be a duration ..." when
  // it is no scalar).
  std::optional<Duration> duration_of(const YamlNode& node, std::string_view key);
  // A plain whole number of at least 1; otherwise reports "'KEY' must be a whole number of at least 1".
  std::optional<long> count_of(const YamlNode& node, std::string_view key);

  // The file's time zone and default language, set by their sections before anything uses them.
  const TimeZone& time_zone() const { return time_zone_; }
  void set_time_zone(TimeZone zone) { time_zone_ = std::move(zone); }
  const std::string& language() const { return language_; }
  void set_language(std::string language) { language_ = std::move(language); }

  // A calendar; nullptr when its settings had errors (it is still declared: no cascade).
  void declare_calendar(const YamlNode& name, std::shared_ptr<const Calendar> calendar);
  bool has_calendar(std::string_view name) const;
  // A declared calendar, marked used; otherwise reports "undefined calendar 'x' (did you
  // mean ...)" and returns nullptr (also nullptr, silently, for a declared calendar with errors).
  std::shared_ptr<const Calendar> use_calendar(const YamlNode& at, const std::string& name);

  void declare_queue(const YamlNode& name);
  void declare_template(const YamlNode& name, std::string text);
  // Marks a declared queue used; otherwise reports "undefined queue 'x' (did you mean ...)".
  bool use_queue(const YamlNode& at, const std::string& name);
  // A declared template's text, marked used; otherwise reports and returns nullptr.
  const std::string* use_template(const YamlNode& at, const std::string& name);
  // A template's compiled form, set once its text has been checked (null after errors).
  void set_compiled_template(const std::string& name, std::shared_ptr<const Template> compiled);
  std::shared_ptr<const Template> compiled_template(const std::string& name) const;
  const std::map<std::string, std::shared_ptr<const Template>>& compiled_templates() const {
    return compiled_templates_;
  }

  // People ('people' section). A person with errors is declared with nullptr (no cascade).
  void declare_person(const YamlNode& login, std::shared_ptr<const Person> person);
  // Whether the file has a 'people' section (even an empty one).
  bool has_people_section() const { return people_section_; }
  void set_people_section() { people_section_ = true; }
  // Whether a declared person without errors lists `skill`.
  bool someone_has_skill(std::string_view skill) const;
  // A declared person; otherwise reports "undefined person 'x' (did you mean ...)" and returns
  // nullptr (also nullptr, silently, for a declared person with errors).
  std::shared_ptr<const Person> use_person(const YamlNode& at, const std::string& login);

  // On-call schedules ('oncall' section); nullptr when its settings had errors.
  void declare_oncall(const YamlNode& name, std::shared_ptr<const OncallSchedule> schedule);
  // For actions that page: a declared schedule, marked used; otherwise reports "undefined
  // on-call schedule 'x' (did you mean ...)" and returns nullptr (also nullptr, silently, for a
  // declared schedule with errors).
  std::shared_ptr<const OncallSchedule> use_oncall(const YamlNode& at, const std::string& name);

  // "calendar 'x' is never used", "queue 'x' is never used", "template 'x' is never used",
  // "on-call schedule 'x' is never used" (by a 'page' action).
  void warn_unused();

  std::vector<std::string> queue_names() const;
  std::map<std::string, std::string> templates() const;
  // People and schedules without errors, in declaration order.
  std::vector<Person> people() const;
  std::vector<std::shared_ptr<const OncallSchedule>> oncall_schedules() const;

 private:
  struct Declared {
    std::string name;
    int line = 0;
    int column = 0;
    std::string text;
    bool used = false;
  };
  static Declared* find(std::vector<Declared>& declared, std::string_view name);
  static std::vector<std::string_view> names(const std::vector<Declared>& declared);

  std::vector<Diagnostic> diagnostics_;
  int error_count_ = 0;
  std::vector<Declared> queues_;
  std::vector<Declared> templates_;
  std::vector<Declared> calendars_;
  std::map<std::string, std::shared_ptr<const Calendar>, std::less<>> calendar_values_;
  std::map<std::string, std::shared_ptr<const Template>> compiled_templates_;
  std::vector<Declared> people_;
  std::map<std::string, std::shared_ptr<const Person>, std::less<>> person_values_;
  bool people_section_ = false;
  std::vector<Declared> oncall_;
  std::map<std::string, std::shared_ptr<const OncallSchedule>, std::less<>> oncall_values_;
  TimeZone time_zone_ = *TimeZone::find("Europe/Warsaw");
  std::string language_ = "pl";
};

// calendars.cpp: the 'calendars' section.
void compile_calendars(CompileContext& ctx, const YamlNode& value);
// "YYYY-MM-DD" or nullopt.
std::optional<std::chrono::sys_days> parse_date(std::string_view text);
// "pl", "en": two or three lower-case letters.
bool valid_language(std::string_view code);
// A time zone name checked against the tz database; reports and returns nullopt otherwise.
std::optional<TimeZone> zone_of(CompileContext& ctx, const YamlNode& node);

// people.cpp: the 'people' section.
void compile_people(CompileContext& ctx, const YamlNode& value);
// oncall.cpp: the 'oncall' section (after 'people').
void compile_oncall(CompileContext& ctx, const YamlNode& value);

// compiler.cpp: one text with {{variables}} and fallbacks, as templates and the parameters of a
// WhatsApp template have them; `subject` names it in messages ("template 'after_hours'").
// Variables that may be empty without a fallback get a warning; nullopt after errors.
std::optional<TemplateText> compile_template_text(CompileContext& ctx, const YamlNode& at, const std::string& subject,
                                                  const std::string& text);

// conditions.cpp: a condition mapping ('when', or a part of all/any/not); nullptr after errors.
std::unique_ptr<ConditionNode> compile_condition(CompileContext& ctx, const YamlNode& node);

// actions.cpp: one item of 'then'; nullptr after errors.
std::unique_ptr<ActionNode> compile_action(CompileContext& ctx, const YamlNode& node);

// "unknown channel 'smss' (did you mean 'sms'?)", or with no near name
// "unknown channel 'fax' (expected 'api', 'webchat', ... or 'sms')".
std::string unknown_name(std::string_view what, std::string_view name, std::span<const std::string_view> known);

// For messages: "'a', 'b' or 'c'".
std::string quoted_list(std::span<const std::string_view> names, std::string_view last_separator = " or ");

}  // namespace switchboard::routing
