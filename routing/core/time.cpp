#include "routing/core/time.hpp"

#include <cctype>
#include <cstdio>

namespace switchboard {

Timestamp SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

namespace {

bool take_digits(std::string_view& s, int count, int& out) {
  if (s.size() < static_cast<size_t>(count)) return false;
  int v = 0;
  for (int i = 0; i < count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  s.remove_prefix(count);
  return true;
}

bool take_char(std::string_view& s, char c) {
  if (s.empty() || (s[0] != c && std::tolower(static_cast<unsigned char>(s[0])) != c)) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<Timestamp> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  int y, mo, d, h, mi, sec;
  if (!take_digits(s, 4, y) || !take_char(s, '-') || !take_digits(s, 2, mo) || !take_char(s, '-') ||
      !take_digits(s, 2, d))
    return std::nullopt;
  if (!take_char(s, 't') && !take_char(s, ' ')) return std::nullopt;
  if (!take_digits(s, 2, h) || !take_char(s, ':') || !take_digits(s, 2, mi) || !take_char(s, ':') ||
      !take_digits(s, 2, sec))
    return std::nullopt;
  long micros = 0;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    int n = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      if (n < 6) micros = micros * 10 + (s[0] - '0');
      ++n;
      s.remove_prefix(1);
    }
    if (n == 0) return std::nullopt;
    for (; n < 6; ++n) micros *= 10;
  }
  int offset_minutes = 0;
  if (take_char(s, 'z')) {
  } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!take_digits(s, 2, oh) || !take_char(s, ':') || !take_digits(s, 2, om)) return std::nullopt;
    if (oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  if (sec == 60) sec = 59;  // leap second: clamp, PostgreSQL has none either
  auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + microseconds{micros} -
           minutes{offset_minutes};
  return time_point_cast<microseconds>(t);
}

std::string format_rfc3339(Timestamp t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  hh_mm_ss<microseconds> tod{t - days};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%06ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                static_cast<long>(tod.seconds().count()), static_cast<long>(tod.subseconds().count()));
  return buf;
}

std::optional<Duration> parse_duration(std::string_view s) {
  using namespace std::chrono;
  if (s.empty()) return std::nullopt;
  microseconds total{0};
  while (!s.empty()) {
    if (!std::isdigit(static_cast<unsigned char>(s[0]))) return std::nullopt;
    long long n = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      n = n * 10 + (s[0] - '0');
      if (n > 1'000'000'000LL) return std::nullopt;
      s.remove_prefix(1);
    }
    if (s.empty()) return std::nullopt;  // a unit is required
    microseconds unit;
    if (s.substr(0, 2) == "ms") {
      unit = milliseconds{1};
      s.remove_prefix(2);
    } else {
      switch (s[0]) {
        case 's': unit = seconds{1}; break;
        case 'm': unit = minutes{1}; break;
        case 'h': unit = hours{1}; break;
        case 'd': unit = std::chrono::days{1}; break;
        default: return std::nullopt;
      }
      s.remove_prefix(1);
    }
    total += unit * n;
  }
  if (total.count() <= 0) return std::nullopt;
  return total;
}

}  // namespace switchboard
