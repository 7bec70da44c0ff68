#include "daemon/stderr_log.hpp"

#include <cstdio>
#include <cstdlib>

#include "routing/core/time.hpp"

namespace switchboard::daemon {

StderrSink::StderrSink(log::Level min_level)
    : min_level_(min_level), timestamps_(std::getenv("JOURNAL_STREAM") == nullptr) {}

void StderrSink::write(log::Level level, std::string_view event, std::initializer_list<log::Field> fields) {
  if (level < min_level_) return;
  std::string line;
  if (timestamps_) {
    line = "ts=" + format_rfc3339(SystemClock().now()) + " ";
  }
  line += log::format_line(level, event, fields);
  line += '\n';
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace switchboard::daemon
