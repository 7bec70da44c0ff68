// Business-hours calendars: weekly opening hours, a holiday set, closed dates and 'open'
// exceptions, in one time zone. is_open() and next_open() are pure functions of an instant.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "routing/calendar/holidays.hpp"
#include "routing/calendar/zone.hpp"
#include "routing/core/time.hpp"

namespace switchboard::routing {

// Minutes after local midnight. end > 1440 for an overnight interval ("22:00-06:00" is
// 1320..1800): its part after midnight belongs to the day it starts on.
struct Interval {
  int start = 0;
  int end = 0;
  bool operator==(const Interval&) const = default;
};

// "08:00-17:00", "08:00-12:00, 13:00-17:00", "22:00-06:00"; "24:00" only as an end. An interval
// that ends before it starts is overnight when it starts at 18:00 or later and ends at 12:00 or
// earlier; otherwise it is an inverted interval (most likely "17:00-08:00" for "08:00-17:00").
// On error, `error` says why ("empty interval '08:00-08:00'") and the result is nullopt.
std::optional<std::vector<Interval>> parse_intervals(std::string_view text, std::string& error);
std::string format_interval(Interval interval);  // "22:00-06:00"

struct Calendar {
  std::string name;
  TimeZone zone;
  std::array<std::vector<Interval>, 7> weekly;  // by weekday, 0 = Sunday (c_encoding), sorted
  std::optional<HolidaySet> holidays;
  std::set<std::chrono::sys_days> closed;
  std::map<std::chrono::sys_days, std::vector<Interval>> open;  // exceptions: win over all else

  // The hours of one local date: its 'open' exception, else none on a closed date or holiday,
  // else the weekday's.
  const std::vector<Interval>& hours_on(std::chrono::sys_days date) const;
};

// Whether the calendar is open at that instant (local wall-clock time in its zone).
bool is_open(const Calendar& calendar, Timestamp instant);
// `instant` itself when open; else the start of the next opening within 366 days; else nullopt.
std::optional<Timestamp> next_open(const Calendar& calendar, Timestamp instant);

// How a template says when an opening is, relative to `now`, both in the calendar's zone:
// pl: "dziś o 8:00", "jutro o 8:00", "w poniedziałek o 8:00" (2 to 4 days ahead), "28 grudnia o
// 8:00"; en: "today at 8:00", "tomorrow at 8:00", "on Monday at 8:00", "on 28 December at 8:00".
// Other languages get the English form.
std::string say_when(const TimeZone& zone, Timestamp now, Timestamp at, std::string_view language);

}  // namespace switchboard::routing
