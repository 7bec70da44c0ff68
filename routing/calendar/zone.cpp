// TimeZone on top of date::time_zone (tz database read from /usr/share/zoneinfo).
#include "routing/calendar/zone.hpp"

#include <date/tz.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <utility>

namespace switchboard::routing {

namespace {

const date::time_zone* locate(std::string_view name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {  // unknown name, or no readable tz database
    return nullptr;
  }
}

date::local_time<std::chrono::microseconds> to_date_local(LocalTime t) {
  return date::local_time<std::chrono::microseconds>(t.time_since_epoch());
}

}  // namespace

std::optional<TimeZone> TimeZone::find(std::string_view name) {
  const date::time_zone* zone = locate(name);
  if (zone == nullptr) return std::nullopt;
  return TimeZone(zone, std::string(name));
}

LocalTime TimeZone::to_local(Timestamp instant) const {
  const auto local = zone_->to_local(instant);
  return LocalTime(local.time_since_epoch());
}

LocalParts TimeZone::local_parts(Timestamp instant) const {
  const LocalTime local = to_local(instant);
  const auto day = std::chrono::floor<std::chrono::days>(local);
  return LocalParts{std::chrono::year_month_day(day), std::chrono::weekday(day), local - day};
}

Timestamp TimeZone::from_local(LocalTime local) const {
  const auto seconds = date::floor<std::chrono::seconds>(to_date_local(local));
  const date::local_info info = zone_->get_info(seconds);
  // unique: its offset. ambiguous: `first` is the offset before the change, the earlier instant.
  // nonexistent: `first` is the offset before the gap, so 02:30 CET reads as 01:30Z = 03:30 CEST.
  return Timestamp(local.time_since_epoch() - std::chrono::duration_cast<std::chrono::microseconds>(info.first.offset));
}

Timestamp TimeZone::from_local_later(LocalTime local) const {
  const auto seconds = date::floor<std::chrono::seconds>(to_date_local(local));
  const date::local_info info = zone_->get_info(seconds);
  if (info.result != date::local_info::ambiguous) return from_local(local);
  return Timestamp(local.time_since_epoch() - std::chrono::duration_cast<std::chrono::microseconds>(info.second.offset));
}

bool is_known_time_zone(std::string_view name) { return locate(name) != nullptr; }

const std::vector<std::string>& time_zone_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    try {
      const date::tzdb& db = date::get_tzdb();
      for (const auto& zone : db.zones) out.emplace_back(zone.name());
    } catch (const std::exception&) {
    }
    return out;
  }();
  return names;
}

namespace {

bool read_int(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  for (std::size_t i = pos; i < pos + width; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  std::from_chars(text.data() + pos, text.data() + pos + width, out);
  return true;
}

// "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (a space for the 'T' too).
std::optional<LocalTime> parse_local(std::string_view text) {
  if (text.size() != 16 && text.size() != 19) return std::nullopt;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const bool ok = read_int(text, 0, 4, y) && text[4] == '-' && read_int(text, 5, 2, mo) && text[7] == '-' &&
                  read_int(text, 8, 2, d) && (text[10] == 'T' || text[10] == 't' || text[10] == ' ') &&
                  read_int(text, 11, 2, h) && text[13] == ':' && read_int(text, 14, 2, mi) &&
                  (text.size() == 16 || (text[16] == ':' && read_int(text, 17, 2, s)));
  if (!ok || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                         std::chrono::day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  const auto day = std::chrono::local_days(date);
  return LocalTime(day) + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
}

}  // namespace

std::optional<Timestamp> parse_local_or_rfc3339(std::string_view text, const TimeZone& zone) {
  if (auto instant = parse_rfc3339(text)) return instant;
  if (auto local = parse_local(text)) return zone.from_local(*local);
  return std::nullopt;
}

}  // namespace switchboard::routing
