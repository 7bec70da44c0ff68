// The 'oncall' section: per schedule a weekly rotation of declared people, the local handoff
// ("mon 09:00"), a time zone, whole-day overrides, ack_within and the escalation chain.
#include <algorithm>
#include <charconv>
#include <tuple>

#include "routing/rules/compile_context.hpp"
#include "routing/rules/suggest.hpp"

namespace switchboard::routing {

namespace {

constexpr std::string_view kHandoffDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr std::string_view kSteps[] = {"sms", "email", "next"};

// "mon 09:00" -> (weekday, minutes after midnight); reports at the node otherwise.
std::optional<std::pair<std::chrono::weekday, std::chrono::minutes>> handoff_of(CompileContext& ctx, const YamlNode& node) {
  const std::string bad = "bad handoff '" + node.text + "' (expected a day and a time such as \"mon 09:00\")";
  if (!node.is_scalar()) {
    ctx.error(node, bad);
    return std::nullopt;
  }
  const std::string& text = node.text;
  const std::size_t space = text.find(' ');
  const std::string day = text.substr(0, space);
  const std::string time = space == std::string::npos ? std::string() : text.substr(space + 1);
  auto it = std::find(std::begin(kHandoffDays), std::end(kHandoffDays), day);
  if (it == std::end(kHandoffDays)) {
    const std::string suggestion = did_you_mean(day, kHandoffDays);
    ctx.error(node, suggestion.empty() ? bad : "unknown day '" + day + "' in handoff" + suggestion);
    return std::nullopt;
  }
  int hours = -1, minutes = -1;
  const bool shaped = time.size() == 5 && time[2] == ':' &&
                      std::all_of(time.begin(), time.end(), [](char c) { return (c >= '0' && c <= '9') || c == ':'; });
  if (shaped) {
    std::from_chars(time.data(), time.data() + 2, hours);
    std::from_chars(time.data() + 3, time.data() + 5, minutes);
  }
  if (!shaped || hours > 23 || minutes > 59) {
    ctx.error(node, bad);
    return std::nullopt;
  }
  // kHandoffDays starts on Monday; std::chrono::weekday counts from Sunday.
  const auto index = static_cast<unsigned>(it - std::begin(kHandoffDays));
  return std::pair(std::chrono::weekday((index + 1) % 7), std::chrono::minutes(hours * 60 + minutes));
}

std::optional<std::vector<EscalationKind>> steps_of(CompileContext& ctx, const YamlNode& node) {
  if (!node.is_sequence() || node.items.empty()) {
    ctx.error(node, "'then' must be a list of escalation steps such as [sms, email, next]");
    return std::nullopt;
  }
  std::vector<EscalationKind> steps;
  bool ok = true;
  for (const YamlNode& item : node.items) {
    if (item.is_scalar() && item.text == "call") {
      ctx.error(item, "unsupported escalation step 'call' (this version pages by 'sms' and 'email')");
      ok = false;
    } else if (!item.is_scalar() || std::find(std::begin(kSteps), std::end(kSteps), item.text) == std::end(kSteps)) {
      ctx.error(item, unknown_name("escalation step", item.text, kSteps));
      ok = false;
    } else if (!steps.empty() && steps.back() == EscalationKind::next) {
      ctx.error(item, "'next' must be the last escalation step (it starts the chain again for the next person)");
      ok = false;
    } else {
      steps.push_back(item.text == "sms" ? EscalationKind::sms : item.text == "email" ? EscalationKind::email : EscalationKind::next);
    }
  }
  if (ok && steps.size() == 1 && steps.front() == EscalationKind::next) {
    ctx.error(node, "'then' needs an 'sms' or 'email' step before 'next'");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return steps;
}

// Whether `person` has what the chain contacts by; reports at `at` otherwise.
bool reachable(CompileContext& ctx, const YamlNode& at, const Person& person, const std::vector<EscalationKind>& steps,
               const std::string& schedule) {
  bool ok = true;
  for (EscalationKind kind : {EscalationKind::sms, EscalationKind::email}) {
    if (std::find(steps.begin(), steps.end(), kind) == steps.end()) continue;
    const bool sms = kind == EscalationKind::sms;
    if (!(sms ? person.phone : person.email).empty()) continue;
    ctx.error(at, "person '" + person.login + "' has no " + (sms ? "phone" : "email") + " for the '" + std::string(to_string(kind)) +
                      "' step of on-call schedule '" + schedule + "'");
    ok = false;
  }
  return ok;
}

bool compile_overrides(CompileContext& ctx, const YamlNode& value, OncallSchedule& schedule,
                       std::vector<std::pair<const YamlNode*, std::shared_ptr<const Person>>>& people) {
  static constexpr std::string_view kOverrideKeys[] = {"date", "person"};
  if (!value.is_sequence()) {
    ctx.error(value, "'overrides' must be a list such as [ {date: 2026-12-24, person: piotr} ]");
    return false;
  }
  bool ok = true;
  for (const YamlNode& item : value.items) {
    if (!item.is_mapping()) {
      ctx.error(item, "an 'overrides' entry must be a mapping with 'date' and 'person'");
      ok = false;
      continue;
    }
    ok = ctx.check_keys(item, kOverrideKeys) && ok;
    const YamlNode* date = item.find("date");
    const YamlNode* who = item.find("person");
    if (date == nullptr || who == nullptr) {
      ctx.error(item, std::string("missing required key '") + (date == nullptr ? "date" : "person") + "'");
      ok = false;
      continue;
    }
    auto day = date->is_scalar() ? parse_date(date->text) : std::nullopt;
    if (!day) ctx.error(*date, "bad date '" + date->text + "' (expected YYYY-MM-DD such as 2026-12-24)");
    auto login = ctx.text_of(*who, "'person' must be a person's login");
    auto person = login ? ctx.use_person(*who, *login) : nullptr;
    if (!day || !person) {
      ok = false;
      continue;
    }
    if (!schedule.overrides.emplace(*day, *person).second) {
      ctx.error(*date, "date " + date->text + " is listed twice under 'overrides'");
      ok = false;
    }
    people.emplace_back(who, person);
  }
  return ok;
}

std::shared_ptr<const OncallSchedule> compile_schedule(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kScheduleKeys[] = {"rotation", "handoff", "timezone", "overrides", "ack_within", "then"};
  const YamlNode& settings = entry.value;
  const std::string& name = entry.key.text;
  if (!settings.is_mapping()) {
    ctx.error(settings, "on-call schedule '" + name + "' must be a mapping with 'rotation'");
    return nullptr;
  }
  bool ok = ctx.check_keys(settings, kScheduleKeys);
  OncallSchedule schedule{.name = name,
                          .rotation = {},
                          .handoff_day = std::chrono::Monday,
                          .handoff_time = std::chrono::hours(9),
                          .zone = ctx.time_zone(),
                          .overrides = {},
                          .ack_within = std::chrono::minutes(15),
                          .then = {EscalationKind::sms, EscalationKind::email, EscalationKind::next}};
  // Everyone the chain may contact, with where they are named, for the reachability check.
  std::vector<std::pair<const YamlNode*, std::shared_ptr<const Person>>> people;
  if (const YamlNode* rotation = settings.find("rotation")) {
    if (!rotation->is_sequence() || rotation->items.empty()) {
      ctx.error(*rotation, "'rotation' must be a non-empty list of people, such as [anna, piotr]");
      ok = false;
    } else {
      for (const YamlNode& item : rotation->items) {
        auto login = ctx.text_of(item, "a 'rotation' entry must be a person's login");
        auto person = login ? ctx.use_person(item, *login) : nullptr;
        if (!person) {
          ok = false;
          continue;
        }
        schedule.rotation.push_back(*person);
        people.emplace_back(&item, person);
      }
    }
  } else {
    ctx.error(settings, "on-call schedule '" + name + "' needs 'rotation'");
    ok = false;
  }
  if (const YamlNode* handoff = settings.find("handoff")) {
    auto parsed = handoff_of(ctx, *handoff);
    ok = ok && parsed.has_value();
    if (parsed) std::tie(schedule.handoff_day, schedule.handoff_time) = *parsed;
  }
  if (const YamlNode* zone = settings.find("timezone")) {
    auto parsed = zone_of(ctx, *zone);
    ok = ok && parsed.has_value();
    if (parsed) schedule.zone = *parsed;
  }
  if (const YamlNode* overrides = settings.find("overrides")) ok = compile_overrides(ctx, *overrides, schedule, people) && ok;
  if (const YamlNode* ack = settings.find("ack_within")) {
    if (auto parsed = ctx.duration_of(*ack, "ack_within")) {
      schedule.ack_within = *parsed;
    } else {
      ok = false;
    }
  }
  bool chain_ok = true;
  if (const YamlNode* then = settings.find("then")) {
    auto steps = steps_of(ctx, *then);
    chain_ok = steps.has_value();
    if (steps) schedule.then = std::move(*steps);
  }
  ok = ok && chain_ok;
  std::vector<std::string_view> checked;  // a person named twice is reported once
  for (const auto& [at, person] : people) {
    if (!chain_ok || std::find(checked.begin(), checked.end(), person->login) != checked.end()) continue;
    checked.push_back(person->login);
    ok = reachable(ctx, *at, *person, schedule.then, name) && ok;
  }
  if (!ok) return nullptr;
  return std::make_shared<const OncallSchedule>(std::move(schedule));
}

}  // namespace

void compile_oncall(CompileContext& ctx, const YamlNode& value) {
  if (value.is_null()) return;
  if (!value.is_mapping()) {
    ctx.error(value, "'oncall' must be a mapping of schedule names to their settings");
    return;
  }
  for (const YamlEntry& entry : value.entries) {
    if (entry.key.text.empty()) {
      ctx.error(entry.key, "an on-call schedule name must not be empty");
      continue;
    }
    ctx.declare_oncall(entry.key, compile_schedule(ctx, entry));
  }
}

}  // namespace switchboard::routing
