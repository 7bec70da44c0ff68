// Structured logging interface: one line per event, key=value fields.
// routing/ never logs; storage/ and channels/ log through this interface, and daemon/ installs
// the sink that writes to stderr (journald under systemd). Until then, lines are dropped.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace switchboard::log {

enum class Level { debug, info, warn, error };

using Field = std::pair<std::string_view, std::string_view>;

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(Level level, std::string_view event, std::initializer_list<Field> fields) = 0;
};

// Installs the process-wide sink (not owned; must outlive every call). nullptr drops lines.
void set_sink(Sink* sink);
void emit(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void info(std::string_view event, std::initializer_list<Field> f = {}) { emit(Level::info, event, f); }
inline void warn(std::string_view event, std::initializer_list<Field> f = {}) { emit(Level::warn, event, f); }
inline void error(std::string_view event, std::initializer_list<Field> f = {}) { emit(Level::error, event, f); }

// "key=value" rendering shared by sinks: values with spaces, quotes, '=' or control characters
// are quoted and escaped so that one event is always one line.
std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields);

}  // namespace switchboard::log
