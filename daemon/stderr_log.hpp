// The log sink of the daemon: one key=value line per event on stderr. Under systemd
// (JOURNAL_STREAM set) journald stamps the time; elsewhere each line starts with ts=.
#pragma once

#include <mutex>

#include "routing/core/log.hpp"

namespace switchboard::daemon {

class StderrSink final : public log::Sink {
 public:
  explicit StderrSink(log::Level min_level = log::Level::info);
  void write(log::Level level, std::string_view event, std::initializer_list<log::Field> fields) override;

 private:
  log::Level min_level_;
  bool timestamps_;
  std::mutex mu_;
};

}  // namespace switchboard::daemon
