// Time zones from the system tz database (/usr/share/zoneinfo, through Howard Hinnant's date
// library: GCC 12 has no std::chrono::zoned_time). UTC instants to local wall-clock time and
// back, with CONTRACT.md's rules for the DST transitions. The date headers stay in zone.cpp.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/core/time.hpp"

namespace date {
class time_zone;
}

namespace switchboard::routing {

// Wall-clock time without a zone, microsecond precision (std::chrono::local_t).
using LocalTime = std::chrono::local_time<std::chrono::microseconds>;

// A local moment split into what calendars look at.
struct LocalParts {
  std::chrono::year_month_day date;
  std::chrono::weekday weekday;
  std::chrono::microseconds time_of_day{0};  // since local midnight
};

class TimeZone {
 public:
  // The zone of that tz database name ("Europe/Warsaw", "UTC"); nullopt when unknown.
  static std::optional<TimeZone> find(std::string_view name);

  const std::string& name() const { return name_; }
  LocalTime to_local(Timestamp instant) const;
  LocalParts local_parts(Timestamp instant) const;
  // A wall-clock time in this zone as an instant. On the autumn hour that happens twice the
  // earlier instant; a time in the spring gap (02:30 on 2027-03-28 in Europe/Warsaw) is moved
  // forward by the gap (03:30 CEST, 01:30Z).
  Timestamp from_local(LocalTime local) const;
  // Like from_local(), but the later instant on the autumn hour (the second 02:30).
  Timestamp from_local_later(LocalTime local) const;

 private:
  TimeZone(const date::time_zone* zone, std::string name) : zone_(zone), name_(std::move(name)) {}
  const date::time_zone* zone_;  // owned by the date library's tz database, lives forever
  std::string name_;
};

// Whether the tz database knows the zone (links such as "Europe/Kiev" included).
bool is_known_time_zone(std::string_view name);
// Every zone name of the tz database, for did-you-mean.
const std::vector<std::string>& time_zone_names();

// RFC 3339 with an offset or 'Z', or "YYYY-MM-DDTHH:MM[:SS]" read as wall-clock time in `zone`
// (the CLI's --at and --since). nullopt when neither.
std::optional<Timestamp> parse_local_or_rfc3339(std::string_view text, const TimeZone& zone);

}  // namespace switchboard::routing
