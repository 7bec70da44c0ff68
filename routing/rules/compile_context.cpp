// The rules compiler's shared state: diagnostics, declarations and typed value readers.
#include "routing/rules/compile_context.hpp"

#include <algorithm>
#include <charconv>

#include "routing/rules/suggest.hpp"

namespace switchboard::routing {

void CompileContext::add(Diagnostic::Severity severity, int line, int column, std::string message) {
  if (severity == Diagnostic::Severity::error) ++error_count_;
  diagnostics_.push_back(Diagnostic{severity, {}, line, column, std::move(message)});
}

void CompileContext::unknown_key(const YamlNode& key, std::span<const std::string_view> allowed) {
  error(key, "unknown key '" + key.text + "'" + did_you_mean(key.text, allowed));
}

bool CompileContext::check_keys(const YamlNode& mapping, std::span<const std::string_view> allowed) {
  bool all_known = true;
  for (const auto& entry : mapping.entries) {
    if (std::find(allowed.begin(), allowed.end(), entry.key.text) != allowed.end()) continue;
    unknown_key(entry.key, allowed);
    all_known = false;
  }
  return all_known;
}

std::optional<std::string> CompileContext::text_of(const YamlNode& node, std::string_view message_if_not) {
  if (node.is_scalar()) return node.text;
  error(node, std::string(message_if_not));
  return std::nullopt;
}

std::optional<bool> CompileContext::bool_of(const YamlNode& node, std::string_view key) {
  if (node.is_scalar() && node.plain) {
    const std::string& t = node.text;
    if (t == "true" || t == "True" || t == "TRUE") return true;
    if (t == "false" || t == "False" || t == "FALSE") return false;
  }
  error(node, "'" + std::string(key) + "' must be true or false");
  return std::nullopt;
}

std::optional<Duration> CompileContext::duration_of(const YamlNode& node, std::string_view key) {
  if (!node.is_scalar()) {
    error(node, "'" + std::string(key) + "' must be a duration such as 90s, 30m, 12h, 7d or 1h30m");
    return std::nullopt;
  }
  if (auto parsed = parse_duration(node.text)) return parsed;
  error(node, "invalid duration '" + node.text + "' in '" + std::string(key) +
                  "' (use 90s, 30m, 12h, 7d or combinations such as 1h30m)");
  return std::nullopt;
}

std::optional<long> CompileContext::count_of(const YamlNode& node, std::string_view key) {
  long n = 0;
  const std::string& t = node.text;
  const bool whole = node.is_scalar() && node.plain && !t.empty() &&
                     std::from_chars(t.data(), t.data() + t.size(), n).ptr == t.data() + t.size() && n >= 1;
  if (whole) return n;
  error(node, "'" + std::string(key) + "' must be a whole number of at least 1");
  return std::nullopt;
}

CompileContext::Declared* CompileContext::find(std::vector<Declared>& declared, std::string_view name) {
  auto it = std::find_if(declared.begin(), declared.end(), [&](const Declared& d) { return d.name == name; });
  return it != declared.end() ? &*it : nullptr;
}

std::vector<std::string_view> CompileContext::names(const std::vector<Declared>& declared) {
  std::vector<std::string_view> out;
  for (const auto& d : declared) out.push_back(d.name);
  return out;
}

void CompileContext::declare_calendar(const YamlNode& name, std::shared_ptr<const Calendar> calendar) {
  calendars_.push_back(Declared{name.text, name.line, name.column, {}, false});
  calendar_values_[name.text] = std::move(calendar);
}

bool CompileContext::has_calendar(std::string_view name) const { return calendar_values_.contains(name); }

std::shared_ptr<const Calendar> CompileContext::use_calendar(const YamlNode& at, const std::string& name) {
  if (Declared* declared = find(calendars_, name)) {
    declared->used = true;
    return calendar_values_.find(name)->second;
  }
  error(at, "undefined calendar '" + name + "'" + did_you_mean(name, names(calendars_)));
  return nullptr;
}

void CompileContext::set_compiled_template(const std::string& name, std::shared_ptr<const Template> compiled) {
  compiled_templates_[name] = std::move(compiled);
}

std::shared_ptr<const Template> CompileContext::compiled_template(const std::string& name) const {
  auto it = compiled_templates_.find(name);
  return it != compiled_templates_.end() ? it->second : nullptr;
}

void CompileContext::declare_queue(const YamlNode& name) {
  queues_.push_back(Declared{name.text, name.line, name.column, {}, false});
}

void CompileContext::declare_template(const YamlNode& name, std::string text) {
  templates_.push_back(Declared{name.text, name.line, name.column, std::move(text), false});
}

bool CompileContext::use_queue(const YamlNode& at, const std::string& name) {
  if (Declared* queue = find(queues_, name)) {
    queue->used = true;
    return true;
  }
  error(at, "undefined queue '" + name + "'" + did_you_mean(name, names(queues_)));
  return false;
}

const std::string* CompileContext::use_template(const YamlNode& at, const std::string& name) {
  if (Declared* declared = find(templates_, name)) {
    declared->used = true;
    return &declared->text;
  }
  error(at, "undefined template '" + name + "'" + did_you_mean(name, names(templates_)));
  return nullptr;
}

void CompileContext::declare_person(const YamlNode& login, std::shared_ptr<const Person> person) {
  people_.push_back(Declared{login.text, login.line, login.column, {}, false});
  person_values_[login.text] = std::move(person);
}

bool CompileContext::someone_has_skill(std::string_view skill) const {
  return std::any_of(person_values_.begin(), person_values_.end(), [&](const auto& entry) {
    return entry.second && std::find(entry.second->skills.begin(), entry.second->skills.end(), skill) != entry.second->skills.end();
  });
}

std::shared_ptr<const Person> CompileContext::use_person(const YamlNode& at, const std::string& login) {
  if (Declared* declared = find(people_, login)) {
    declared->used = true;
    return person_values_.find(login)->second;
  }
  error(at, "undefined person '" + login + "'" + did_you_mean(login, names(people_)));
  return nullptr;
}

void CompileContext::declare_oncall(const YamlNode& name, std::shared_ptr<const OncallSchedule> schedule) {
  oncall_.push_back(Declared{name.text, name.line, name.column, {}, false});
  oncall_values_[name.text] = std::move(schedule);
}

std::shared_ptr<const OncallSchedule> CompileContext::use_oncall(const YamlNode& at, const std::string& name) {
  if (Declared* declared = find(oncall_, name)) {
    declared->used = true;
    return oncall_values_.find(name)->second;
  }
  error(at, "undefined on-call schedule '" + name + "'" + did_you_mean(name, names(oncall_)));
  return nullptr;
}

std::vector<Person> CompileContext::people() const {
  std::vector<Person> out;
  for (const auto& p : people_)
    if (const auto& value = person_values_.find(p.name)->second) out.push_back(*value);
  return out;
}

std::vector<std::shared_ptr<const OncallSchedule>> CompileContext::oncall_schedules() const {
  std::vector<std::shared_ptr<const OncallSchedule>> out;
  for (const auto& o : oncall_)
    if (const auto& value = oncall_values_.find(o.name)->second) out.push_back(value);
  return out;
}

void CompileContext::warn_unused() {
  for (const auto& c : calendars_)
    if (!c.used) add(Diagnostic::Severity::warning, c.line, c.column, "calendar '" + c.name + "' is never used");
  for (const auto& q : queues_)
    if (!q.used) add(Diagnostic::Severity::warning, q.line, q.column, "queue '" + q.name + "' is never used");
  for (const auto& t : templates_)
    if (!t.used) add(Diagnostic::Severity::warning, t.line, t.column, "template '" + t.name + "' is never used");
  for (const auto& o : oncall_)
    if (!o.used) add(Diagnostic::Severity::warning, o.line, o.column, "on-call schedule '" + o.name + "' is never used");
}

std::vector<std::string> CompileContext::queue_names() const {
  std::vector<std::string> out;
  for (const auto& q : queues_) out.push_back(q.name);
  return out;
}

std::map<std::string, std::string> CompileContext::templates() const {
  std::map<std::string, std::string> out;
  for (const auto& t : templates_) out.emplace(t.name, t.text);
  return out;
}

std::string unknown_name(std::string_view what, std::string_view name, std::span<const std::string_view> known) {
  std::string out = "unknown " + std::string(what) + " '" + std::string(name) + "'";
  std::string suggestion = did_you_mean(name, known);
  return out + (suggestion.empty() ? " (expected " + quoted_list(known) + ")" : suggestion);
}

std::string quoted_list(std::span<const std::string_view> names, std::string_view last_separator) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? std::string(last_separator) : std::string(", ");
    out += "'" + std::string(names[i]) + "'";
  }
  return out;
}

}  // namespace switchboard::routing
