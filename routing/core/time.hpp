// Time vocabulary: UTC instants with microsecond precision, an injectable clock,
// RFC 3339 parsing/formatting and duration literals ("90s", "1h30m", "7d").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
using Duration = std::chrono::microseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(Timestamp t) : t_(t) {}
  Timestamp now() const override { return t_; }
  void set(Timestamp t) { t_ = t; }

 private:
  Timestamp t_;
};

// RFC 3339 with an offset or 'Z' ("2027-03-29T10:00:00+02:00", fractional seconds allowed).
std::optional<Timestamp> parse_rfc3339(std::string_view text);
// "2027-03-29T08:00:00.000000Z" (always UTC, microseconds).
std::string format_rfc3339(Timestamp t);
// "90s", "30m", "12h", "7d", "1h30m"; nullopt when malformed or zero-length.
std::optional<Duration> parse_duration(std::string_view text);

}  // namespace switchboard
