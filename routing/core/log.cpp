#include "routing/core/log.hpp"

#include <atomic>
#include <cstdio>

namespace switchboard::log {

namespace {
std::atomic<Sink*> g_sink{nullptr};

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

void append_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) quote = true;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < ' ' || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

thread_local std::string t_request;  // see RequestScope
}  // namespace

RequestScope::RequestScope(std::string request_id) : previous_(std::move(t_request)) {
  t_request = std::move(request_id);
}

RequestScope::~RequestScope() { t_request = std::move(previous_); }

std::string_view current_request() { return t_request; }

void set_sink(Sink* sink) { g_sink.store(sink); }

void emit(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (Sink* s = g_sink.load()) s->write(level, event, fields);
}

std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields) {
  std::string out = "level=";
  out += kLevelNames[static_cast<int>(level)];
  out += " event=";
  append_value(out, event);
  bool has_request = false;
  for (const auto& [k, v] : fields) {
    out += ' ';
    out += k;
    out += '=';
    append_value(out, v);
    has_request = has_request || k == "req";
  }
  if (!has_request && !t_request.empty()) {
    out += " req=";
    append_value(out, t_request);
  }
  return out;
}

}  // namespace switchboard::log
