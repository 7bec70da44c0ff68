// Time zones (DST gap and overlap), Polish holidays against facts/poland.md, and calendars:
// is_open(), next_open() and how an opening time is said in Polish and English.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing/calendar/calendar.hpp"
#include "routing/calendar/holidays.hpp"
#include "routing/calendar/zone.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace std::chrono;

namespace {

Timestamp at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  REQUIRE(t.has_value());
  return *t;
}

TimeZone warsaw() {
  auto zone = TimeZone::find("Europe/Warsaw");
  REQUIRE(zone.has_value());
  return *zone;
}

LocalTime local(int y, unsigned mo, unsigned d, int h, int mi) {
  return LocalTime(local_days(year_month_day{year(y), month(mo), day(d)})) + hours(h) + minutes(mi);
}

sys_days ymd(int y, unsigned mo, unsigned d) { return sys_days(year_month_day{year(y), month(mo), day(d)}); }

std::vector<Interval> hours_of(std::string_view text) {
  std::string error;
  auto parsed = parse_intervals(text, error);
  INFO(error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

// The office of the brief: mon-fri 08:00-17:00, sat 09:00-13:00, Polish holidays, closed on
// 2026-12-31, open 09:00-12:00 on 2026-12-24.
Calendar office() {
  Calendar c{.name = "office", .zone = warsaw(), .weekly = {}, .holidays = HolidaySet::pl, .closed = {}, .open = {}};
  for (unsigned d = 1; d <= 5; ++d) c.weekly[d] = hours_of("08:00-17:00");
  c.weekly[6] = hours_of("09:00-13:00");
  c.closed.insert(ymd(2026, 12, 31));
  c.open[ymd(2026, 12, 24)] = hours_of("09:00-12:00");
  return c;
}

}  // namespace

TEST_CASE("zone: unknown names are rejected, known ones and links found", "[routing][calendar]") {
  CHECK(is_known_time_zone("Europe/Warsaw"));
  CHECK(is_known_time_zone("UTC"));
  CHECK(is_known_time_zone("America/Argentina/Buenos_Aires"));
  CHECK_FALSE(is_known_time_zone("Europe/Warsw"));
  CHECK_FALSE(is_known_time_zone("Mars/Olympus"));
  CHECK_FALSE(time_zone_names().empty());
}

TEST_CASE("zone: UTC instants to local parts in winter and summer", "[routing][calendar]") {
  const TimeZone zone = warsaw();
  LocalParts winter = zone.local_parts(at("2027-01-15T07:30:00Z"));
  CHECK(winter.date == year_month_day{year(2027), January, day(15)});
  CHECK(winter.weekday == Friday);
  CHECK(winter.time_of_day == hours(8) + minutes(30));
  LocalParts summer = zone.local_parts(at("2027-07-01T22:30:00Z"));
  CHECK(summer.date == year_month_day{year(2027), July, day(2)});
  CHECK(summer.time_of_day == minutes(30));
}

TEST_CASE("zone: from_local takes the earlier instant on the autumn hour and skips the spring gap",
          "[routing][calendar]") {
  const TimeZone zone = warsaw();
  CHECK(format_rfc3339(zone.from_local(local(2027, 3, 28, 2, 30))) == "2027-03-28T01:30:00.000000Z");
  CHECK(format_rfc3339(zone.from_local(local(2027, 3, 28, 3, 30))) == "2027-03-28T01:30:00.000000Z");
  CHECK(format_rfc3339(zone.from_local(local(2027, 3, 28, 1, 59))) == "2027-03-28T00:59:00.000000Z");
  CHECK(format_rfc3339(zone.from_local(local(2027, 10, 31, 2, 30))) == "2027-10-31T00:30:00.000000Z");
  CHECK(format_rfc3339(zone.from_local(local(2027, 10, 31, 3, 30))) == "2027-10-31T02:30:00.000000Z");
  CHECK(format_rfc3339(zone.from_local(local(2027, 1, 10, 12, 0))) == "2027-01-10T11:00:00.000000Z");
}

TEST_CASE("zone: parse_local_or_rfc3339 reads offsets and local times in the zone", "[routing][calendar]") {
  const TimeZone zone = warsaw();
  auto text = [&](std::string_view s) {
    auto t = parse_local_or_rfc3339(s, zone);
    return t ? format_rfc3339(*t) : std::string("-");
  };
  CHECK(text("2027-03-29T10:00:00+02:00") == "2027-03-29T08:00:00.000000Z");
  CHECK(text("2027-03-29T10:00") == "2027-03-29T08:00:00.000000Z");
  CHECK(text("2027-03-29T10:00:15") == "2027-03-29T08:00:15.000000Z");
  CHECK(text("2027-03-28T02:30") == "2027-03-28T01:30:00.000000Z");
  CHECK(text("2027-10-31T02:30") == "2027-10-31T00:30:00.000000Z");
  CHECK(text("2027-02-30T10:00") == "-");
  CHECK(text("2027-03-29T24:00") == "-");
  CHECK(text("2027-03-29") == "-");
  CHECK(text("yesterday") == "-");
}

TEST_CASE("holidays: Easter and the movable feasts of facts/poland.md, 2025-2030", "[routing][calendar]") {
  struct Row {
    int year;
    sys_days easter, monday, pentecost, corpus_christi;
  };
  const Row rows[] = {
      {2025, ymd(2025, 4, 20), ymd(2025, 4, 21), ymd(2025, 6, 8), ymd(2025, 6, 19)},
      {2026, ymd(2026, 4, 5), ymd(2026, 4, 6), ymd(2026, 5, 24), ymd(2026, 6, 4)},
      {2027, ymd(2027, 3, 28), ymd(2027, 3, 29), ymd(2027, 5, 16), ymd(2027, 5, 27)},
      {2028, ymd(2028, 4, 16), ymd(2028, 4, 17), ymd(2028, 6, 4), ymd(2028, 6, 15)},
      {2029, ymd(2029, 4, 1), ymd(2029, 4, 2), ymd(2029, 5, 20), ymd(2029, 5, 31)},
      {2030, ymd(2030, 4, 21), ymd(2030, 4, 22), ymd(2030, 6, 9), ymd(2030, 6, 20)},
  };
  for (const Row& row : rows) {
    INFO(row.year);
    CHECK(sys_days(easter_sunday(row.year)) == row.easter);
    for (sys_days d : {row.easter, row.monday, row.pentecost, row.corpus_christi})
      CHECK(is_public_holiday(HolidaySet::pl, year_month_day(d)));
    CHECK(weekday(row.pentecost) == Sunday);
    CHECK(weekday(row.corpus_christi) == Thursday);
    CHECK_FALSE(is_public_holiday(HolidaySet::pl, year_month_day(row.easter - days(1))));
    CHECK_FALSE(is_public_holiday(HolidaySet::pl, year_month_day(row.monday + days(1))));
  }
}

TEST_CASE("holidays: fixed Polish holidays, every day of 2025-2030 counted", "[routing][calendar]") {
  for (int y = 2025; y <= 2030; ++y) {
    INFO(y);
    for (auto [m, d] : {std::pair{1u, 1u}, {1u, 6u}, {5u, 1u}, {5u, 3u}, {8u, 15u}, {11u, 1u}, {11u, 11u}, {12u, 24u},
                        {12u, 25u}, {12u, 26u}})
      CHECK(is_public_holiday(HolidaySet::pl, year_month_day{year(y), month(m), day(d)}));
    int count = 0;
    for (sys_days d = ymd(y, 1, 1); d <= ymd(y, 12, 31); d += days(1))
      count += is_public_holiday(HolidaySet::pl, year_month_day(d)) ? 1 : 0;
    CHECK(count == 14);  // 10 fixed + 4 movable; none of them coincide in these years
  }
}

TEST_CASE("holidays: 24 December 2024 is a working day, 2025 a holiday", "[routing][calendar]") {
  CHECK_FALSE(is_public_holiday(HolidaySet::pl, year_month_day{year(2024), December, day(24)}));
  CHECK(is_public_holiday(HolidaySet::pl, year_month_day{year(2025), December, day(24)}));
  CHECK(is_public_holiday(HolidaySet::pl, year_month_day{year(2024), December, day(25)}));
  CHECK(holiday_set_from_string("pl") == HolidaySet::pl);
  CHECK_FALSE(holiday_set_from_string("de").has_value());
}

TEST_CASE("calendar: interval parsing and its errors", "[routing][calendar]") {
  auto error_of = [](std::string_view text) {
    std::string error;
    return parse_intervals(text, error) ? std::string("ok") : error;
  };
  CHECK(hours_of("08:00-12:00, 13:00-17:00") == std::vector<Interval>{{480, 720}, {780, 1020}});
  CHECK(hours_of("22:00-06:00") == std::vector<Interval>{{1320, 1800}});
  CHECK(hours_of("8:00-24:00") == std::vector<Interval>{{480, 1440}});
  CHECK(error_of("08:00-08:00") == "empty interval '08:00-08:00'");
  CHECK(error_of("17:00-08:00") ==
        "inverted interval '17:00-08:00' (an interval past midnight must start at 18:00 or later and end by 12:00)");
  CHECK(error_of("8-17") == "bad time interval '8-17' (expected 'HH:MM-HH:MM' such as '08:00-17:00')");
  CHECK(error_of("08:00-25:00") == "bad time interval '08:00-25:00' (expected 'HH:MM-HH:MM' such as '08:00-17:00')");
  CHECK(error_of("08:60-09:00") == "bad time interval '08:60-09:00' (expected 'HH:MM-HH:MM' such as '08:00-17:00')");
  CHECK(error_of("08:00-12:00, 11:00-17:00") == "intervals '08:00-12:00' and '11:00-17:00' overlap");
}

TEST_CASE("calendar: is_open golden table", "[routing][calendar]") {
  const Calendar c = office();
  struct Row {
    const char* at;
    bool open;
  };
  const Row rows[] = {
      {"2027-03-30T08:00:00+02:00", true},    // Tuesday 08:00 CEST
      {"2027-03-30T07:59:59+02:00", false},
      {"2027-03-30T16:59:00+02:00", true},
      {"2027-03-30T17:00:00+02:00", false},   // end is exclusive
      {"2027-03-29T10:00:00+02:00", false},   // Easter Monday
      {"2027-03-27T10:00:00+01:00", true},    // Saturday 10:00
      {"2027-03-27T23:00:00+01:00", false},   // Saturday 23:00
      {"2027-03-28T10:00:00+02:00", false},   // Easter Sunday
      {"2026-12-24T10:00:00+01:00", true},    // open exception beats the Wigilia holiday
      {"2026-12-24T12:00:00+01:00", false},
      {"2026-12-31T10:00:00+01:00", false},   // closed date (a Thursday)
      {"2026-12-30T10:00:00+01:00", true},
  };
  for (const Row& row : rows) {
    INFO(row.at);
    CHECK(is_open(c, at(row.at)) == row.open);
  }
}

TEST_CASE("calendar: overnight intervals spill into the next day, also across DST nights", "[routing][calendar]") {
  Calendar night{.name = "night", .zone = warsaw(), .weekly = {}, .holidays = std::nullopt, .closed = {}, .open = {}};
  night.weekly[6] = hours_of("22:00-06:00");  // Saturday night
  night.weekly[0] = hours_of("01:00-03:00");  // Sunday, 01:00-03:00 wall clock
  CHECK(is_open(night, at("2027-03-27T23:00:00+01:00")));  // Saturday 23:00
  CHECK(is_open(night, at("2027-03-28T05:59:00+02:00")));  // Sunday 05:59 (the spill)
  CHECK_FALSE(is_open(night, at("2027-03-28T06:00:00+02:00")));
  CHECK_FALSE(is_open(night, at("2027-03-26T23:00:00+01:00")));  // Friday night

  Calendar dst{.name = "dst", .zone = warsaw(), .weekly = {}, .holidays = std::nullopt, .closed = {}, .open = {}};
  dst.weekly[0] = hours_of("02:00-02:45");  // wall clock, Sunday
  // Spring: 02:00-02:59 does not exist on 2027-03-28; 01:59 CET is closed, 03:00 CEST too.
  CHECK_FALSE(is_open(dst, at("2027-03-28T00:59:00Z")));
  CHECK_FALSE(is_open(dst, at("2027-03-28T01:00:00Z")));
  CHECK(format_rfc3339(*next_open(dst, at("2027-03-28T00:30:00Z"))) == "2027-03-28T01:00:00.000000Z");
  // Autumn: both 02:30s of 2027-10-31 (00:30Z in CEST, 01:30Z in CET) are open.
  CHECK(is_open(dst, at("2027-10-31T00:30:00Z")));
  CHECK(is_open(dst, at("2027-10-31T01:30:00Z")));
  CHECK_FALSE(is_open(dst, at("2027-10-31T00:50:00Z")));
  CHECK(format_rfc3339(*next_open(dst, at("2027-10-31T00:50:00Z"))) == "2027-10-31T01:00:00.000000Z");
}

TEST_CASE("calendar: next_open is now when open, the next start otherwise, nullopt when never", "[routing][calendar]") {
  const Calendar c = office();
  CHECK(format_rfc3339(*next_open(c, at("2027-03-30T10:00:00+02:00"))) == "2027-03-30T08:00:00.000000Z");
  CHECK(format_rfc3339(*next_open(c, at("2027-03-26T18:00:00+01:00"))) == "2027-03-27T08:00:00.000000Z");  // Sat 09:00 CET
  CHECK(format_rfc3339(*next_open(c, at("2027-03-27T13:00:00+01:00"))) == "2027-03-30T06:00:00.000000Z");  // Tue after Easter
  Calendar never{.name = "never", .zone = warsaw(), .weekly = {}, .holidays = std::nullopt, .closed = {}, .open = {}};
  CHECK_FALSE(next_open(never, at("2027-03-30T10:00:00+02:00")).has_value());
}

TEST_CASE("calendar: when we open, in Polish and English", "[routing][calendar]") {
  const Calendar c = office();
  auto say = [&](std::string_view now, std::string_view language) {
    const Timestamp t = at(now);
    return say_when(c.zone, t, *next_open(c, t), language);
  };
  CHECK(say("2027-03-30T06:00:00+02:00", "pl") == "dziś o 8:00");
  CHECK(say("2027-03-30T06:00:00+02:00", "en") == "today at 8:00");
  CHECK(say("2027-03-30T18:00:00+02:00", "pl") == "jutro o 8:00");
  CHECK(say("2027-03-30T18:00:00+02:00", "en") == "tomorrow at 8:00");
  CHECK(say("2027-04-03T14:00:00+02:00", "pl") == "w poniedziałek o 8:00");  // Saturday afternoon
  CHECK(say("2027-04-03T14:00:00+02:00", "en") == "on Monday at 8:00");
  CHECK(say("2027-03-27T14:00:00+01:00", "pl") == "we wtorek o 8:00");  // Saturday before Easter Monday
  CHECK(say("2027-03-27T14:00:00+01:00", "en") == "on Tuesday at 8:00");
  CHECK(say("2027-05-26T18:00:00+02:00", "pl") == "w piątek o 8:00");  // Wednesday before Corpus Christi
  // 2026-12-23 is a Wednesday; 24-26 Dec closed (24th only 09:00-12:00 here: use a variant without it).
  Calendar christmas = office();
  christmas.open.clear();
  CHECK(weekday(ymd(2026, 12, 28)) == Monday);
  CHECK(say_when(christmas.zone, at("2026-12-23T18:00:00+01:00"), *next_open(christmas, at("2026-12-23T18:00:00+01:00")),
                 "pl") == "28 grudnia o 8:00");
  CHECK(say_when(christmas.zone, at("2026-12-23T18:00:00+01:00"), *next_open(christmas, at("2026-12-23T18:00:00+01:00")),
                 "en") == "on 28 December at 8:00");
  // Friday 18:00 -> Monday when Saturday is closed.
  Calendar weekdays = office();
  weekdays.weekly[6].clear();
  CHECK(say_when(weekdays.zone, at("2027-04-02T18:00:00+02:00"), *next_open(weekdays, at("2027-04-02T18:00:00+02:00")),
                 "pl") == "w poniedziałek o 8:00");
  CHECK(say_when(weekdays.zone, at("2027-01-01T08:00:00+01:00"), at("2027-01-02T15:30:00+01:00"), "pl") == "jutro o 15:30");
  CHECK(say_when(weekdays.zone, at("2026-12-28T08:00:00+01:00"), at("2027-01-04T08:00:00+01:00"), "pl") == "4 stycznia o 8:00");
  CHECK(say_when(weekdays.zone, at("2027-03-24T08:00:00+01:00"), at("2027-03-26T08:00:00+01:00"), "pl") == "w piątek o 8:00");
}
