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

// The request this thread works for (an HTTP request's X-Request-Id, a mail's, a spooled
// webhook's): while a RequestScope lives, format_line() adds req=<id> to every line of the
// thread that has no req field of its own, storage's and the channels' included. Scopes nest;
// the previous request comes back when one ends.
class RequestScope {
 public:
  explicit RequestScope(std::string request_id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::string previous_;
};
// The current thread's request id; empty outside any RequestScope.
std::string_view current_request();

// "key=value" rendering shared by sinks: values with spaces, quotes, '=' or control characters
// are quoted and escaped so that one event is always one line. Adds req= from the thread's
// RequestScope (above) when the fields have none.
std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields);

}  // namespace switchboard::log
