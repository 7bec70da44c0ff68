// The 'calendars' section: weekly hours per day or day range, a holiday set, closed dates,
// 'open' exceptions and a time zone per calendar.
#include <algorithm>
#include <charconv>

#include "routing/rules/compile_context.hpp"
#include "routing/rules/suggest.hpp"

namespace switchboard::routing {

namespace {

constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// Index into kDays (0 = Monday), or nullopt.
std::optional<int> day_index(std::string_view name) {
  auto it = std::find(std::begin(kDays), std::end(kDays), name);
  if (it == std::end(kDays)) return std::nullopt;
  return static_cast<int>(it - std::begin(kDays));
}

// "mon", "mon-fri": the days (0 = Monday) it covers; reports at the key otherwise.
std::optional<std::vector<int>> days_of(CompileContext& ctx, const YamlNode& key) {
  const std::string& text = key.text;
  const std::size_t dash = text.find('-');
  const std::string first = text.substr(0, dash);
  const std::string last = dash == std::string::npos ? first : text.substr(dash + 1);
  auto from = day_index(first);
  auto to = day_index(last);
  if (!from || !to) {
    const std::string& wrong = !from ? first : last;
    ctx.error(key, unknown_name("day", wrong, kDays) + " (days are mon..sun, ranges such as 'mon-fri')");
    return std::nullopt;
  }
  if (*to < *from) {
    ctx.error(key, "day range '" + text + "' runs backwards (write days from mon to sun, such as 'mon-fri')");
    return std::nullopt;
  }
  std::vector<int> out;
  for (int d = *from; d <= *to; ++d) out.push_back(d);
  return out;
}

std::optional<std::vector<Interval>> intervals_of(CompileContext& ctx, const YamlNode& node) {
  auto text = ctx.text_of(node, "hours must be a string such as \"08:00-17:00\"");
  if (!text) return std::nullopt;
  std::string error;
  auto intervals = parse_intervals(*text, error);
  if (!intervals) ctx.error(node, error);
  return intervals;
}

std::optional<std::chrono::sys_days> date_of(CompileContext& ctx, const YamlNode& node) {
  if (node.is_scalar())
    if (auto date = parse_date(node.text)) return date;
  ctx.error(node, "bad date '" + node.text + "' (expected YYYY-MM-DD such as 2026-12-31)");
  return std::nullopt;
}

bool compile_hours(CompileContext& ctx, const YamlNode& hours, Calendar& calendar) {
  if (!hours.is_mapping()) {
    ctx.error(hours, "'hours' must map days to hours, such as { mon-fri: \"08:00-17:00\" }");
    return false;
  }
  bool ok = true;
  std::array<int, 7> given_at{};  // line where each day got hours
  for (const YamlEntry& entry : hours.entries) {
    auto days = days_of(ctx, entry.key);
    auto intervals = intervals_of(ctx, entry.value);
    if (!days || !intervals) {
      ok = false;
      continue;
    }
    for (int d : *days) {
      if (given_at[static_cast<std::size_t>(d)] != 0) {
        ctx.error(entry.key, "'" + std::string(kDays[static_cast<std::size_t>(d)]) + "' already has hours (line " +
                                 std::to_string(given_at[static_cast<std::size_t>(d)]) + ")");
        ok = false;
        continue;
      }
      given_at[static_cast<std::size_t>(d)] = entry.key.line;
      calendar.weekly[static_cast<std::size_t>((d + 1) % 7)] = *intervals;  // weekly[] starts on Sunday
    }
  }
  return ok;
}

bool compile_open_exceptions(CompileContext& ctx, const YamlNode& value, Calendar& calendar) {
  static constexpr std::string_view kOpenKeys[] = {"date", "hours"};
  if (!value.is_sequence()) {
    ctx.error(value, "'open' must be a list such as [ {date: 2026-12-24, hours: \"09:00-12:00\"} ]");
    return false;
  }
  bool ok = true;
  for (const YamlNode& item : value.items) {
    if (!item.is_mapping()) {
      ctx.error(item, "an 'open' entry must be a mapping with 'date' and 'hours'");
      ok = false;
      continue;
    }
    ok = ctx.check_keys(item, kOpenKeys) && ok;
    const YamlNode* date = item.find("date");
    const YamlNode* hours = item.find("hours");
    if (date == nullptr || hours == nullptr) {
      ctx.error(item, std::string("missing required key '") + (date == nullptr ? "date" : "hours") + "'");
      ok = false;
      continue;
    }
    auto day = date_of(ctx, *date);
    auto intervals = intervals_of(ctx, *hours);
    if (!day || !intervals) {
      ok = false;
      continue;
    }
    if (!calendar.open.emplace(*day, *intervals).second) {
      ctx.error(*date, "date " + date->text + " is listed twice under 'open'");
      ok = false;
    }
  }
  return ok;
}

std::shared_ptr<const Calendar> compile_calendar(CompileContext& ctx, const YamlEntry& entry) {
  static constexpr std::string_view kCalendarKeys[] = {"hours", "holidays", "closed", "open", "timezone"};
  const YamlNode& settings = entry.value;
  if (!settings.is_mapping()) {
    ctx.error(settings, "calendar '" + entry.key.text + "' must be a mapping with 'hours'");
    return nullptr;
  }
  bool ok = ctx.check_keys(settings, kCalendarKeys);
  Calendar calendar{.name = entry.key.text, .zone = ctx.time_zone(), .weekly = {}, .holidays = {}, .closed = {}, .open = {}};
  if (const YamlNode* zone = settings.find("timezone")) {
    auto parsed = zone_of(ctx, *zone);
    ok = ok && parsed.has_value();
    if (parsed) calendar.zone = *parsed;
  }
  if (const YamlNode* hours = settings.find("hours")) {
    ok = compile_hours(ctx, *hours, calendar) && ok;
  } else {
    ctx.error(settings, "calendar '" + entry.key.text + "' needs 'hours'");
    ok = false;
  }
  if (const YamlNode* holidays = settings.find("holidays")) {
    auto set = holidays->is_scalar() ? holiday_set_from_string(holidays->text) : std::nullopt;
    if (set) {
      calendar.holidays = set;
    } else {
      ctx.error(*holidays, unknown_name("holiday set", holidays->text, kHolidaySetNames));
      ok = false;
    }
  }
  if (const YamlNode* closed = settings.find("closed")) {
    if (!closed->is_sequence()) {
      ctx.error(*closed, "'closed' must be a list of dates such as [2026-12-31]");
      ok = false;
    } else {
      for (const YamlNode& item : closed->items) {
        auto day = date_of(ctx, item);
        ok = ok && day.has_value();
        if (day) calendar.closed.insert(*day);
      }
    }
  }
  if (const YamlNode* open = settings.find("open")) ok = compile_open_exceptions(ctx, *open, calendar) && ok;
  if (!ok) return nullptr;
  return std::make_shared<const Calendar>(std::move(calendar));
}

}  // namespace

std::optional<std::chrono::sys_days> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int y = 0;
  unsigned m = 0, d = 0;
  auto digits = [&](std::size_t pos, std::size_t n) {
    return std::all_of(text.begin() + static_cast<long>(pos), text.begin() + static_cast<long>(pos + n),
                       [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(0, 4) || !digits(5, 2) || !digits(8, 2)) return std::nullopt;
  std::from_chars(text.data(), text.data() + 4, y);
  std::from_chars(text.data() + 5, text.data() + 7, m);
  std::from_chars(text.data() + 8, text.data() + 10, d);
  const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date);
}

bool valid_language(std::string_view code) {
  return (code.size() == 2 || code.size() == 3) && std::all_of(code.begin(), code.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::optional<TimeZone> zone_of(CompileContext& ctx, const YamlNode& node) {
  auto name = ctx.text_of(node, "'timezone' must be a time zone name such as 'Europe/Warsaw'");
  if (!name) return std::nullopt;
  if (auto zone = TimeZone::find(*name)) return zone;
  const auto& known = time_zone_names();
  std::vector<std::string_view> candidates(known.begin(), known.end());
  ctx.error(node, "unknown time zone '" + *name + "'" + did_you_mean(*name, candidates));
  return std::nullopt;
}

void compile_calendars(CompileContext& ctx, const YamlNode& value) {
  if (value.is_null()) return;
  if (!value.is_mapping()) {
    ctx.error(value, "'calendars' must be a mapping of calendar names to their settings");
    return;
  }
  for (const YamlEntry& entry : value.entries) {
    if (entry.key.text.empty()) {
      ctx.error(entry.key, "a calendar name must not be empty");
      continue;
    }
    ctx.declare_calendar(entry.key, compile_calendar(ctx, entry));
  }
}

}  // namespace switchboard::routing
