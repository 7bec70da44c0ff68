// Calendars: interval parsing, is_open(), next_open() and the wording of an opening time.
#include "routing/calendar/calendar.hpp"

#include <algorithm>

namespace switchboard::routing {

namespace {

constexpr int kDay = 24 * 60;

// "HH:MM" (or "H:MM"); 24:00 only when `end`.
std::optional<int> parse_clock(std::string_view text, bool end) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || text.size() != colon + 3) return std::nullopt;
  int h = 0;
  for (std::size_t i = 0; i < colon; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    h = h * 10 + (text[i] - '0');
  }
  if (text[colon + 1] < '0' || text[colon + 1] > '5' || text[colon + 2] < '0' || text[colon + 2] > '9') return std::nullopt;
  const int m = (text[colon + 1] - '0') * 10 + (text[colon + 2] - '0');
  if (h == 24 && m == 0 && end) return kDay;
  if (h > 23) return std::nullopt;
  return h * 60 + m;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string clock(int minutes, bool pad_hours) {
  minutes %= kDay;
  const int h = minutes / 60;
  const int m = minutes % 60;
  std::string out = (pad_hours && h < 10 ? "0" : "") + std::to_string(h) + ":";
  return out + (m < 10 ? "0" : "") + std::to_string(m);
}

}  // namespace

std::string format_interval(Interval interval) {
  return clock(interval.start, true) + "-" + (interval.end == kDay ? std::string("24:00") : clock(interval.end, true));
}

std::optional<std::vector<Interval>> parse_intervals(std::string_view text, std::string& error) {
  std::vector<Interval> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view part = trim(text.substr(start, comma - start));
    start = comma + 1;
    const std::size_t dash = part.find('-');
    std::optional<int> from, to;
    if (dash != std::string_view::npos) {
      from = parse_clock(trim(part.substr(0, dash)), false);
      to = parse_clock(trim(part.substr(dash + 1)), true);
    }
    if (!from || !to) {
      error = "bad time interval '" + std::string(part) + "' (expected 'HH:MM-HH:MM' such as '08:00-17:00')";
      return std::nullopt;
    }
    Interval interval{*from, *to};
    if (*to == *from) {
      error = "empty interval '" + std::string(part) + "'";
      return std::nullopt;
    }
    if (*to < *from) {
      if (*from < 18 * 60 || *to > 12 * 60) {
        error = "inverted interval '" + std::string(part) +
                "' (an interval past midnight must start at 18:00 or later and end by 12:00)";
        return std::nullopt;
      }
      interval.end += kDay;
    }
    out.push_back(interval);
  }
  std::sort(out.begin(), out.end(), [](Interval a, Interval b) { return a.start < b.start; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].start < out[i - 1].end) {
      error = "intervals '" + format_interval(out[i - 1]) + "' and '" + format_interval(out[i]) + "' overlap";
      return std::nullopt;
    }
  }
  return out;
}

const std::vector<Interval>& Calendar::hours_on(std::chrono::sys_days date) const {
  static const std::vector<Interval> kNone;
  if (auto it = open.find(date); it != open.end()) return it->second;
  if (closed.contains(date)) return kNone;
  if (holidays && is_public_holiday(*holidays, std::chrono::year_month_day(date))) return kNone;
  return weekly[std::chrono::weekday(date).c_encoding()];
}

bool is_open(const Calendar& calendar, Timestamp instant) {
  const LocalTime local = calendar.zone.to_local(instant);
  const auto local_day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::sys_days day(local_day.time_since_epoch());
  const auto minute = std::chrono::floor<std::chrono::minutes>(local - local_day).count();
  for (const Interval& i : calendar.hours_on(day))
    if (i.start <= minute && minute < i.end) return true;
  for (const Interval& i : calendar.hours_on(day - std::chrono::days(1)))
    if (i.end > kDay && minute < i.end - kDay) return true;
  return false;
}

std::optional<Timestamp> next_open(const Calendar& calendar, Timestamp instant) {
  if (is_open(calendar, instant)) return instant;
  const auto local_day = std::chrono::floor<std::chrono::days>(calendar.zone.to_local(instant));
  for (int offset = 0; offset <= 366; ++offset) {
    const auto day = local_day + std::chrono::days(offset);
    for (const Interval& i : calendar.hours_on(std::chrono::sys_days(day.time_since_epoch()))) {
      const LocalTime local = LocalTime(day) + std::chrono::minutes(i.start);
      // On the autumn hour a start happens twice: the second one counts once the first is past.
      for (Timestamp start : {calendar.zone.from_local(local), calendar.zone.from_local_later(local)})
        if (start > instant) return start;
    }
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view kPolishWeekdays[] = {"w niedzielę", "w poniedziałek", "we wtorek", "w środę",
                                                "w czwartek",  "w piątek",       "w sobotę"};
constexpr std::string_view kPolishMonths[] = {"stycznia", "lutego",   "marca",     "kwietnia", "maja",      "czerwca",
                                              "lipca",    "sierpnia", "września",  "października", "listopada", "grudnia"};
constexpr std::string_view kEnglishWeekdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::string_view kEnglishMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                               "July",    "August",   "September", "October", "November", "December"};

// Up to this many days ahead a weekday name is unmistakable ("w poniedziałek" said on a Friday);
// further away (across a holiday break) the date is clearer.
constexpr int kWeekdayHorizonDays = 4;

}  // namespace

std::string say_when(const TimeZone& zone, Timestamp now, Timestamp at, std::string_view language) {
  const LocalParts today = zone.local_parts(now);
  const LocalParts then = zone.local_parts(at);
  const auto days = (std::chrono::sys_days(then.date) - std::chrono::sys_days(today.date)).count();
  const std::string time = clock(static_cast<int>(std::chrono::floor<std::chrono::minutes>(then.time_of_day).count()), false);
  const unsigned weekday = then.weekday.c_encoding();
  const unsigned month = static_cast<unsigned>(then.date.month()) - 1;
  const std::string day = std::to_string(static_cast<unsigned>(then.date.day()));
  if (language == "pl") {
    if (days <= 0) return "dziś o " + time;
    if (days == 1) return "jutro o " + time;
    if (days <= kWeekdayHorizonDays) return std::string(kPolishWeekdays[weekday]) + " o " + time;
    return day + " " + std::string(kPolishMonths[month]) + " o " + time;
  }
  if (days <= 0) return "today at " + time;
  if (days == 1) return "tomorrow at " + time;
  if (days <= kWeekdayHorizonDays) return "on " + std::string(kEnglishWeekdays[weekday]) + " at " + time;
  return "on " + day + " " + std::string(kEnglishMonths[month]) + " at " + time;
}

}  // namespace switchboard::routing
