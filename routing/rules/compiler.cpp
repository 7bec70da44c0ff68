// compile_rules(): rules-file text -> RuleSet. Parses with yaml_tree, walks the document with
// one table per level (sections here, conditions.cpp, actions.cpp), collects every error and
// warning in one pass and builds the RuleSet only when there is no error.
#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <utility>

#include "routing/rules/compile_context.hpp"
#include "routing/rules/compiled.hpp"
#include "routing/rules/ruleset.hpp"
#include "routing/rules/suggest.hpp"
#include "routing/rules/template.hpp"
#include "routing/rules/yaml_tree.hpp"

namespace switchboard::routing {

RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;

std::vector<std::string> RuleSet::rule_names() const {
  std::vector<std::string> names;
  for (const auto& rule : compiled_->rules) names.push_back(rule.name);
  return names;
}

std::vector<std::string> RuleSet::queue_names() const { return compiled_->queues; }

const std::vector<std::string>& RuleSet::queue_people(std::string_view queue) const {
  static const std::vector<std::string> kNobody;
  auto it = queue_people_.find(queue);
  return it == queue_people_.end() ? kNobody : it->second;
}

bool RuleSet::may_see(const Person& person, const std::optional<std::string>& queue,
                      const std::optional<std::string>& assignee) const {
  if (person.role == Role::admin) return true;
  if (assignee && *assignee == person.login) return true;
  if (!queue) return true;
  const auto& listed = queue_people(*queue);
  return listed.empty() || std::find(listed.begin(), listed.end(), person.login) != listed.end();
}

const Person* RuleSet::person(std::string_view login) const {
  auto it = std::find_if(people_.begin(), people_.end(), [&](const Person& p) { return p.login == login; });
  return it != people_.end() ? &*it : nullptr;
}

std::shared_ptr<const Template> RuleSet::template_named(std::string_view name) const {
  auto it = compiled_templates_.find(name);
  return it != compiled_templates_.end() ? it->second : nullptr;
}

const OncallSchedule* RuleSet::oncall(std::string_view name) const {
  auto it = oncall_.find(name);
  return it != oncall_.end() ? it->second.get() : nullptr;
}

std::vector<std::string> RuleSet::oncall_names() const {
  std::vector<std::string> names;
  for (const auto& [name, schedule] : oncall_) names.push_back(name);
  return names;
}

// Everything a rules file yields, gathered while its sections compile.
struct CompiledDocument {
  int version = 1;
  std::string timezone = "Europe/Warsaw";
  std::vector<CompiledRule> rules;
  SmsOptions sms;
  std::map<std::string, std::vector<std::string>, std::less<>> queue_people;
};

struct RuleSetBuilder {
  static std::shared_ptr<const RuleSet> build(const CompileOptions& options, CompiledDocument document,
                                              const CompileContext& ctx) {
    std::shared_ptr<RuleSet> rules(new RuleSet());  // the constructor is private to this builder
    rules->source_name_ = options.source_name;
    rules->hash_ = options.hash;
    rules->version_ = document.version;
    rules->timezone_ = std::move(document.timezone);
    rules->templates_ = ctx.templates();
    for (const auto& [name, compiled] : ctx.compiled_templates())
      if (compiled) rules->compiled_templates_.emplace(name, compiled);
    rules->compiled_ = std::make_unique<CompiledRules>();
    rules->compiled_->rules = std::move(document.rules);
    rules->compiled_->queues = ctx.queue_names();
    rules->people_ = ctx.people();
    for (auto& schedule : ctx.oncall_schedules()) rules->oncall_.emplace(schedule->name, std::move(schedule));
    rules->sms_ = document.sms;
    rules->queue_people_ = std::move(document.queue_people);
    return rules;
  }
};

// One text with literal parts and {{variable}} or {{variable | "fallback"}}.
std::optional<TemplateText> compile_template_text(CompileContext& ctx, const YamlNode& at, const std::string& subject,
                                                  const std::string& text) {
  static constexpr std::string_view kVariables[] = {"customer.name", "customer.first_name", "conversation.id",
                                                    "conversation.queue", "message.channel"};
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  };
  TemplateText out;
  bool ok = true;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out.parts.emplace_back(text.substr(pos));
      break;
    }
    if (open > pos) out.parts.emplace_back(text.substr(pos, open - pos));
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      ctx.error(at, "unclosed '{{' in " + subject);
      return std::nullopt;
    }
    pos = close + 2;
    const std::string_view inside = std::string_view(text).substr(open + 2, close - open - 2);
    const std::size_t bar = inside.find('|');
    TemplateVariable variable;
    variable.written = std::string(trim(inside.substr(0, bar)));
    if (bar != std::string_view::npos) {
      const std::string_view fallback = trim(inside.substr(bar + 1));
      if (fallback.size() < 2 || (fallback.front() != '"' && fallback.front() != '\'') || fallback.back() != fallback.front()) {
        ctx.error(at, "the fallback of '" + variable.written + "' in " + subject + " must be quoted, such as {{" +
                          variable.written + " | \"Państwo\"}}");
        ok = false;
        continue;
      }
      variable.fallback = std::string(fallback.substr(1, fallback.size() - 2));
    }
    using Kind = TemplateVariable::Kind;
    const std::string& v = variable.written;
    if (v == "customer.name") variable.kind = Kind::customer_name;
    else if (v == "customer.first_name") variable.kind = Kind::customer_first_name;
    else if (v == "conversation.id") variable.kind = Kind::conversation_id;
    else if (v == "conversation.queue") variable.kind = Kind::conversation_queue;
    else if (v == "message.channel") variable.kind = Kind::message_channel;
    else if (v.ends_with(".next_open") && v.size() > 10) {
      variable.kind = Kind::next_open;
      variable.calendar = ctx.use_calendar(at, v.substr(0, v.size() - 10));
      if (!variable.calendar) {
        ok = false;
        continue;
      }
    } else {
      ctx.error(at, "undefined variable '" + v + "' in " + subject + did_you_mean(v, kVariables));
      ok = false;
      continue;
    }
    const bool may_be_empty = variable.kind == Kind::customer_name || variable.kind == Kind::customer_first_name ||
                              variable.kind == Kind::conversation_queue;
    if (may_be_empty && !variable.fallback) {
      const std::string why = variable.kind == Kind::conversation_queue ? "a conversation is in no queue until it is enqueued"
                                                                        : "an SMS sender has no name";
      ctx.warning(at, "'" + v + "' may be empty (" + why + "): give a fallback such as {{" + v + " | \"" +
                          (variable.kind == Kind::conversation_queue ? "obsługa" : "Państwo") + "\"}}");
    }
    out.parts.emplace_back(std::move(variable));
  }
  if (!ok) return std::nullopt;
  return out;
}

namespace {

using SectionFn = void (*)(CompileContext&, const YamlEntry&, CompiledDocument&);

void compile_version(CompileContext& ctx, const YamlEntry& entry, CompiledDocument& document) {
  const YamlNode& value = entry.value;
  const std::string& text = value.text;
  int version = 0;
  const bool integer = value.is_scalar() && value.plain && !text.empty() &&
                       std::from_chars(text.data(), text.data() + text.size(), version).ptr == text.data() + text.size();
  if (!integer) {
    ctx.error(value, "'version' must be 1");
  } else if (version != 1) {
    ctx.error(value, "unsupported rules version " + text + " (this build reads version 1)");
  } else {
    document.version = version;
  }
}

// "UTC" or Area/Location[/Sublocation] with tz database characters. Whether the zone exists is
// checked where calendars are compiled, against the tz database they use.
bool looks_like_time_zone(std::string_view name) {
  if (name == "UTC") return true;
  int parts = 0;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = std::min(name.find('/', start), name.size());
    std::string_view part = name.substr(start, end - start);
    if (part.empty() || !((part[0] >= 'A' && part[0] <= 'Z') || (part[0] >= 'a' && part[0] <= 'z'))) return false;
    for (char c : part)
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+'))
        return false;
    ++parts;
    start = end + 1;
  }
  return parts >= 2;
}

void compile_timezone(CompileContext& ctx, const YamlEntry& entry, CompiledDocument& document) {
  auto zone = ctx.text_of(entry.value, "'timezone' must be a time zone name such as 'Europe/Warsaw'");
  if (!zone) return;
  if (!looks_like_time_zone(*zone)) {
    ctx.error(entry.value, "'" + *zone + "' is not a time zone name like 'Europe/Warsaw' or 'UTC'");
    return;
  }
  auto found = zone_of(ctx, entry.value);  // against the tz database, with a did-you-mean
  if (!found) return;
  ctx.set_time_zone(*found);
  document.timezone = *zone;
}

void compile_language(CompileContext& ctx, const YamlEntry& entry, CompiledDocument&) {
  auto code = ctx.text_of(entry.value, "'language' must be a language code such as 'pl' or 'en'");
  if (!code) return;
  if (!valid_language(*code)) {
    ctx.error(entry.value, "'language' must be a language code such as 'pl' or 'en'");
    return;
  }
  ctx.set_language(*code);
}

void compile_calendars_section(CompileContext& ctx, const YamlEntry& entry, CompiledDocument&) {
  compile_calendars(ctx, entry.value);
}

void compile_people_section(CompileContext& ctx, const YamlEntry& entry, CompiledDocument&) {
  compile_people(ctx, entry.value);
}

void compile_oncall_section(CompileContext& ctx, const YamlEntry& entry, CompiledDocument&) {
  compile_oncall(ctx, entry.value);
}

// 'sms: { transliterate: true, max_segments: 2 }': applied by evaluate() to replies on SMS.
void compile_sms(CompileContext& ctx, const YamlEntry& entry, CompiledDocument& document) {
  static constexpr std::string_view kSmsKeys[] = {"transliterate", "max_segments"};
  constexpr int kMaxSegments = 10;  // 1530 GSM-7 characters; Twilio takes bodies up to 1600
  const YamlNode& value = entry.value;
  if (value.is_null()) return;  // "sms:" with nothing under it keeps the defaults
  if (!value.is_mapping()) {
    ctx.error(value, "'sms' must be a mapping such as '{ transliterate: true, max_segments: 2 }'");
    return;
  }
  ctx.check_keys(value, kSmsKeys);
  if (const YamlNode* transliterate = value.find("transliterate")) {
    if (auto flag = ctx.bool_of(*transliterate, "transliterate")) document.sms.transliterate = *flag;
  }
  if (const YamlNode* max = value.find("max_segments")) {
    int n = 0;
    const std::string& t = max->text;
    const bool whole = max->is_scalar() && max->plain && !t.empty() &&
                       std::from_chars(t.data(), t.data() + t.size(), n).ptr == t.data() + t.size();
    if (whole && n >= 1 && n <= kMaxSegments)
      document.sms.max_segments = n;
    else
      ctx.error(*max, "'max_segments' must be a whole number from 1 to " + std::to_string(kMaxSegments));
  }
}

void compile_queues(CompileContext& ctx, const YamlEntry& entry, CompiledDocument& document) {
  static constexpr std::string_view kQueueKeys[] = {"skills", "description", "people"};
  const YamlNode& value = entry.value;
  if (value.is_null()) return;  // "queues:" with nothing under it declares none
  if (!value.is_mapping()) {
    ctx.error(value, "'queues' must be a mapping of queue names to their settings");
    return;
  }
  for (const YamlEntry& queue : value.entries) {
    if (queue.key.text.empty()) {
      ctx.error(queue.key, "a queue name must not be empty");
      continue;
    }
    ctx.declare_queue(queue.key);  // declared even when its settings are wrong: no cascade of "undefined"
    const YamlNode& settings = queue.value;
    if (settings.is_null()) continue;  // "support:" reads as "support: {}"
    if (!settings.is_mapping()) {
      ctx.error(settings, "queue '" + queue.key.text + "' must be a mapping (use {} for none)");
      continue;
    }
    ctx.check_keys(settings, kQueueKeys);
    if (const YamlNode* skills = settings.find("skills")) {
      const bool strings = skills->is_sequence() &&
                           std::all_of(skills->items.begin(), skills->items.end(), [](const YamlNode& s) { return s.is_scalar(); });
      if (!strings) {
        ctx.error(*skills, "'skills' must be a list of strings");
      } else if (ctx.has_people_section()) {
        for (const YamlNode& skill : skills->items)
          if (!ctx.someone_has_skill(skill.text))
            ctx.warning(skill, "no person has skill '" + skill.text + "' needed by queue '" + queue.key.text + "'");
      }
    }
    if (const YamlNode* description = settings.find("description"))
      (void)ctx.text_of(*description, "'description' must be a string");
    if (const YamlNode* people = settings.find("people")) {
      // Who works the queue (the agents who see its conversations); none listed: everyone.
      const bool strings = people->is_sequence() && std::all_of(people->items.begin(), people->items.end(),
                                                                [](const YamlNode& s) { return s.is_scalar(); });
      if (!strings) {
        ctx.error(*people, "'people' must be a list of logins of the 'people' section");
        continue;
      }
      auto& logins = document.queue_people[queue.key.text];
      for (const YamlNode& login : people->items) {
        if (std::find(logins.begin(), logins.end(), login.text) != logins.end()) {
          ctx.warning(login, "'" + login.text + "' is listed twice in queue '" + queue.key.text + "'");
          continue;
        }
        (void)ctx.use_person(login, login.text);  // reports an undefined person
        logins.push_back(login.text);
      }
    }
  }
}

void compile_templates(CompileContext& ctx, const YamlEntry& entry, CompiledDocument&) {
  const YamlNode& value = entry.value;
  if (value.is_null()) return;
  if (!value.is_mapping()) {
    ctx.error(value, "'templates' must be a mapping of template names to text");
    return;
  }
  for (const YamlEntry& tmpl : value.entries) {
    const std::string& name = tmpl.key.text;
    if (name.empty()) {
      ctx.error(tmpl.key, "a template name must not be empty");
      continue;
    }
    auto compiled = std::make_shared<Template>();
    compiled->default_language = ctx.language();
    std::vector<std::pair<std::string, const YamlNode*>> texts;  // (language, text node)
    if (tmpl.value.is_scalar()) {
      texts.emplace_back(ctx.language(), &tmpl.value);
    } else if (tmpl.value.is_mapping()) {
      for (const YamlEntry& variant : tmpl.value.entries) {
        if (!valid_language(variant.key.text)) {
          ctx.error(variant.key, "'" + variant.key.text + "' is not a language code such as 'pl' or 'en'");
          compiled = nullptr;
        }
        texts.emplace_back(variant.key.text, &variant.value);
      }
      if (tmpl.value.find(ctx.language()) == nullptr) {
        ctx.error(tmpl.value, "template '" + name + "' has no '" + ctx.language() + "' text (the file's default language)");
        compiled = nullptr;
      }
    } else {
      ctx.error(tmpl.value, "template '" + name + "' must be a string or a mapping of languages to strings");
      compiled = nullptr;
    }
    const YamlNode* default_text = tmpl.value.is_mapping() ? tmpl.value.find(ctx.language()) : &tmpl.value;
    ctx.declare_template(tmpl.key, default_text != nullptr ? default_text->text : std::string());
    for (const auto& [language, node] : texts) {
      if (!node->is_scalar()) {
        ctx.error(*node, "template '" + name + "' must be a string");
        compiled = nullptr;
      } else if (node->text.empty()) {
        ctx.error(*node, "template '" + name + "' is empty");
        compiled = nullptr;
      } else if (auto text = compile_template_text(ctx, *node, "template '" + name + "'", node->text); !text) {
        compiled = nullptr;
      } else if (compiled) {
        compiled->variants.emplace(language, std::move(*text));
      }
    }
    ctx.set_compiled_template(name, std::move(compiled));
  }
}

// A rule's name, or nullopt after reporting why it has none.
std::optional<std::string> rule_name(CompileContext& ctx, const YamlNode& rule) {
  const YamlNode* name = rule.find("name");
  if (name == nullptr) {
    ctx.error(rule, "missing required key 'name'");
    return std::nullopt;
  }
  auto text = ctx.text_of(*name, "'name' must be a string");
  if (text && text->empty()) {
    ctx.error(*name, "'name' must not be empty");
    return std::nullopt;
  }
  return text;
}

// The actions of a rule; `ok` becomes false after an error (every action is still checked).
std::vector<std::unique_ptr<ActionNode>> compile_then(CompileContext& ctx, const YamlNode& rule, bool& ok) {
  std::vector<std::unique_ptr<ActionNode>> actions;
  const YamlNode* then = rule.find("then");
  if (then == nullptr) {
    ctx.error(rule, "missing required key 'then'");
  } else if (!then->is_sequence()) {
    ctx.error(*then, "'then' must be a list of actions");
  } else if (then->items.empty()) {
    ctx.error(*then, "'then' must list at least one action");
  } else {
    for (const YamlNode& item : then->items) {
      auto action = compile_action(ctx, item);
      if (action) actions.push_back(std::move(action));
    }
    if (actions.size() == then->items.size()) return actions;
  }
  ok = false;
  return actions;
}

std::optional<CompiledRule> compile_rule(CompileContext& ctx, const YamlNode& node, const std::optional<std::string>& name) {
  static constexpr std::string_view kRuleKeys[] = {"name", "when", "then", "continue"};
  bool ok = ctx.check_keys(node, kRuleKeys) && name.has_value();
  CompiledRule rule;
  if (name) rule.name = *name;
  if (const YamlNode* when = node.find("when")) {
    rule.when = compile_condition(ctx, *when);
    ok = ok && rule.when != nullptr;
  }
  rule.then = compile_then(ctx, node, ok);
  if (const YamlNode* keep_going = node.find("continue")) {
    auto flag = ctx.bool_of(*keep_going, "continue");
    ok = ok && flag.has_value();
    rule.keep_going = flag.value_or(false);
  }
  if (!ok) return std::nullopt;
  return rule;
}

void compile_rules_section(CompileContext& ctx, const YamlEntry& entry, CompiledDocument& document) {
  const YamlNode& value = entry.value;
  if (!value.is_sequence()) {
    ctx.error(value, "'rules' must be a list of rules");
    return;
  }
  if (value.items.empty()) {
    ctx.error(value, "rules: expected at least one rule");
    return;
  }
  std::map<std::string, int, std::less<>> first_line;
  std::optional<std::string> catch_all;
  for (const YamlNode& node : value.items) {
    if (!node.is_mapping()) {
      ctx.error(node, "a rule must be a mapping with 'name' and 'then'");
      continue;
    }
    auto name = rule_name(ctx, node);
    if (name) {
      const YamlNode& name_node = *node.find("name");
      auto [it, inserted] = first_line.emplace(*name, name_node.line);
      if (!inserted) {
        ctx.error(name_node, "duplicate rule name '" + *name + "' (first defined at line " + std::to_string(it->second) + ")");
        name.reset();
      } else if (catch_all) {
        ctx.warning(node, "rule '" + *name + "' can never fire: rule '" + *catch_all + "' above matches every message");
      }
    }
    auto rule = compile_rule(ctx, node, name);
    if (!rule) continue;
    // Without 'when' and without 'continue: true' a rule takes every message. Only rules that
    // compiled count: a broken one would make the warning guess at what was meant.
    if (!catch_all && rule->when == nullptr && !rule->keep_going) catch_all = rule->name;
    document.rules.push_back(std::move(*rule));
  }
}

struct Section {
  std::string_view key;
  bool required;
  SectionFn compile;
};

// Top-level keys, compiled in this order whatever their order in the file (declarations before
// the rules that refer to them).
constexpr Section kSections[] = {
    {"version", true, compile_version},
    {"timezone", false, compile_timezone},
    {"language", false, compile_language},
    {"calendars", false, compile_calendars_section},
    {"people", false, compile_people_section},
    {"queues", false, compile_queues},
    {"oncall", false, compile_oncall_section},
    {"templates", false, compile_templates},
    {"sms", false, compile_sms},
    {"rules", true, compile_rules_section},
};

void compile_document(CompileContext& ctx, const YamlDocument& yaml, CompiledDocument& document) {
  if (yaml.empty) {
    ctx.add(Diagnostic::Severity::error, 1, 1, "the rules file is empty: expected 'version: 1' and 'rules'");
    return;
  }
  const YamlNode& root = yaml.root;
  if (!root.is_mapping()) {
    ctx.error(root, "the rules file must be a mapping with 'version' and 'rules'");
    return;
  }
  std::vector<std::string_view> keys;
  for (const Section& section : kSections) keys.push_back(section.key);
  ctx.check_keys(root, keys);
  for (const Section& section : kSections) {
    if (const YamlEntry* entry = root.find_entry(section.key))
      section.compile(ctx, *entry, document);
    else if (section.required)
      ctx.error(root, "missing required key '" + std::string(section.key) + "'");
  }
  // After any error "never used" would mislead: a misspelt action or a dropped duplicate key is
  // the likelier reason, and it is already reported.
  if (ctx.error_count() == 0) ctx.warn_unused();
}

}  // namespace

CompileResult compile_rules(std::string_view yaml_text, const CompileOptions& options) {
  CompileResult result;
  try {
    CompileContext ctx;
    YamlDocument yaml = parse_yaml(yaml_text);
    for (auto& problem : yaml.problems) ctx.add(problem.severity, problem.line, problem.column, std::move(problem.message));
    CompiledDocument document;
    if (yaml.parsed) compile_document(ctx, yaml, document);
    result.diagnostics = std::move(ctx.diagnostics());
    if (!has_errors(result.diagnostics)) result.rules = RuleSetBuilder::build(options, std::move(document), ctx);
  } catch (const std::exception& e) {
    // Out of memory, or a bug: still an answer, never an exception.
    result.rules = nullptr;
    result.diagnostics.push_back(
        Diagnostic{Diagnostic::Severity::error, {}, 0, 0, std::string("internal error while compiling rules: ") + e.what()});
  }
  for (auto& diagnostic : result.diagnostics) diagnostic.file = options.source_name;
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return result;
}

}  // namespace switchboard::routing
