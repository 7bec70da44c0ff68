// Holiday sets: fixed dates plus the days that move with Easter.
#include "routing/calendar/holidays.hpp"

namespace switchboard::routing {

std::optional<HolidaySet> holiday_set_from_string(std::string_view name) {
  if (name == "pl") return HolidaySet::pl;
  return std::nullopt;
}

std::chrono::year_month_day easter_sunday(int year) {
  const int a = year % 19;
  const int b = year / 100;
  const int c = year % 100;
  const int d = b / 4;
  const int e = b % 4;
  const int f = (b + 8) / 25;
  const int g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4;
  const int k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31;
  const int day = (h + l - 7 * m + 114) % 31 + 1;
  return std::chrono::year_month_day{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                     std::chrono::day(static_cast<unsigned>(day))};
}

namespace {

bool is_polish_holiday(std::chrono::year_month_day date) {
  const unsigned m = static_cast<unsigned>(date.month());
  const unsigned d = static_cast<unsigned>(date.day());
  const int year = static_cast<int>(date.year());
  switch (m) {
    case 1: if (d == 1 || d == 6) return true; break;
    case 5: if (d == 1 || d == 3) return true; break;
    case 8: if (d == 15) return true; break;
    case 11: if (d == 1 || d == 11) return true; break;
    case 12: if (d == 25 || d == 26 || (d == 24 && year >= 2025)) return true; break;
    default: break;
  }
  const auto easter = std::chrono::sys_days(easter_sunday(year));
  const auto offset = (std::chrono::sys_days(date) - easter).count();
  return offset == 0 || offset == 1 || offset == 49 || offset == 60;
}

}  // namespace

bool is_public_holiday(HolidaySet set, std::chrono::year_month_day date) {
  switch (set) {
    case HolidaySet::pl: return is_polish_holiday(date);
  }
  return false;
}

}  // namespace switchboard::routing
