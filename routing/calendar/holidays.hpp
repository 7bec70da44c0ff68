// Built-in public holiday sets, computed rather than tabulated so that they never run out.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace switchboard::routing {

enum class HolidaySet { pl };
inline constexpr std::string_view kHolidaySetNames[] = {"pl"};
std::optional<HolidaySet> holiday_set_from_string(std::string_view name);

// Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm).
std::chrono::year_month_day easter_sunday(int year);

// Poland (facts/poland.md): 1 and 6 Jan, Easter Sunday and Monday, 1 and 3 May, Pentecost
// (E+49), Corpus Christi (E+60), 15 Aug, 1 and 11 Nov, 24 Dec (from 2025 on), 25 and 26 Dec.
bool is_public_holiday(HolidaySet set, std::chrono::year_month_day date);

}  // namespace switchboard::routing
