// Pool: lazily opened libpqxx connections lent out as Leases, reconnecting after failures.

// Broken connections are closed so that the next acquire reconnects: that is how the daemon rides
// out a PostgreSQL restart without a restart of its own.
#include "storage/pool.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <pqxx/pqxx>
#include <utility>

namespace switchboard::storage {

namespace {

constexpr std::string_view kMask = "***";

bool is_url(std::string_view s) {
  return s.substr(0, 13) == "postgresql://" || s.substr(0, 11) == "postgres://";
}

// Where one key=value setting sits in a connection string, so that its value can be replaced.
struct Setting {
  std::string key;
  std::size_t value_begin = 0;
  std::size_t value_end = 0;
};

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// The settings of a libpq keyword string ("host=h password='a b'"): values may be single-quoted
// with backslash escapes. Text libpq would reject (a key without '=') ends the scan with one
// setting with an empty key covering the rest, which redaction then masks whole: a malformed
// string may still hold a password.
std::vector<Setting> keyword_settings(const std::string& s) {
  std::vector<Setting> out;
  std::size_t i = 0;
  const std::size_t n = s.size();
  for (;;) {
    while (i < n && is_space(s[i])) ++i;
    if (i >= n) break;
    const std::size_t key_begin = i;
    while (i < n && s[i] != '=' && !is_space(s[i])) ++i;
    std::string key = s.substr(key_begin, i - key_begin);
    while (i < n && is_space(s[i])) ++i;
    if (i >= n || s[i] != '=') {
      out.push_back({"", key_begin, n});
      break;
    }
    ++i;
    while (i < n && is_space(s[i])) ++i;
    const std::size_t value_begin = i;
    if (i < n && s[i] == '\'') {
      for (++i; i < n && s[i] != '\''; ++i)
        if (s[i] == '\\') ++i;
      i = std::min(i + 1, n);
    } else {
      for (; i < n && !is_space(s[i]); ++i)
        if (s[i] == '\\') ++i;
      i = std::min(i, n);
    }
    out.push_back({std::move(key), value_begin, i});
  }
  return out;
}

// The parts of a postgresql:// URL that matter here.
struct UrlParts {
  std::size_t password_begin = std::string::npos;  // inside the user info, when one is given
  std::size_t password_end = std::string::npos;
  std::size_t query_begin = std::string::npos;  // just past '?'
  std::vector<Setting> query;
};

UrlParts url_parts(const std::string& url) {
  UrlParts parts;
  const std::size_t authority = url.find("://") + 3;
  const std::size_t query_mark = url.find('?', authority);
  const std::size_t authority_end = std::min(url.find('/', authority), query_mark);
  const std::string_view auth = std::string_view(url).substr(authority, authority_end - authority);
  // The last '@' ends the user info: an unencoded '@' in a password then stays masked.
  const std::size_t at = auth.rfind('@');
  if (at != std::string_view::npos) {
    const std::size_t colon = auth.substr(0, at).find(':');
    if (colon != std::string_view::npos && colon + 1 < at) {
      parts.password_begin = authority + colon + 1;
      parts.password_end = authority + at;
    }
  }
  if (query_mark != std::string::npos) {
    parts.query_begin = query_mark + 1;
    std::size_t i = parts.query_begin;
    while (i <= url.size()) {
      std::size_t end = url.find('&', i);
      if (end == std::string::npos) end = url.size();
      const std::size_t eq = url.find('=', i);
      if (eq != std::string::npos && eq < end)
        parts.query.push_back({url.substr(i, eq - i), eq + 1, end});
      else if (end > i)
        parts.query.push_back({url.substr(i, end - i), end, end});
      i = end + 1;
    }
  }
  return parts;
}

std::vector<Setting> settings_of(const std::string& url) {
  return is_url(url) ? url_parts(url).query : keyword_settings(url);
}

bool has_setting(const std::string& url, std::string_view key) {
  const auto settings = settings_of(url);
  return std::any_of(settings.begin(), settings.end(), [&](const Setting& s) { return s.key == key; });
}

// The URL plus the settings the pool relies on, unless the operator set them already:
// connect_timeout bounds a connection attempt (libpq waits forever by default), and
// client_encoding pins what PostgreSQL checks our text against, whatever PGCLIENTENCODING says.
std::string conninfo_for(const PoolOptions& options) {
  std::string conninfo = options.url;
  const bool url = is_url(conninfo);
  auto add = [&](std::string_view key, const std::string& value) {
    if (has_setting(conninfo, key)) return;
    if (url)
      conninfo += conninfo.find('?') == std::string::npos ? '?' : '&';
    else if (!conninfo.empty())
      conninfo += ' ';
    conninfo.append(key).append("=").append(value);
  };
  add("connect_timeout", std::to_string(std::max<long long>(1, options.connect_timeout.count())));
  add("client_encoding", "UTF8");
  return conninfo;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Every spelling of the password the URL holds (as written and decoded), to scrub error texts.
std::vector<std::string> passwords_in(const std::string& url) {
  std::vector<std::string> out;
  auto take = [&](std::size_t begin, std::size_t end) {
    std::string raw = url.substr(begin, end - begin);
    if (raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'') raw = raw.substr(1, raw.size() - 2);
    std::string decoded = percent_decode(raw);
    // Very short values would blank out unrelated characters of the message (a port number);
    // libpq does not echo passwords anyway, this is only a second line of defence.
    if (raw.size() >= 4) out.push_back(raw);
    if (decoded != raw && decoded.size() >= 4) out.push_back(decoded);
  };
  if (is_url(url)) {
    const auto parts = url_parts(url);
    if (parts.password_begin != std::string::npos) take(parts.password_begin, parts.password_end);
  }
  for (const auto& s : settings_of(url))
    if (s.key == "password") take(s.value_begin, s.value_end);
  return out;
}

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// a log line and an error body want one line.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (is_space(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + kMask.size()))
      text.replace(at, secret.size(), kMask);
  }
  return text;
}

}  // namespace

std::string redact_database_url(const std::string& url) {
  struct Span {
    std::size_t begin, end;
  };
  std::vector<Span> spans;
  if (is_url(url)) {
    const auto parts = url_parts(url);
    if (parts.password_begin != std::string::npos) spans.push_back({parts.password_begin, parts.password_end});
    for (const auto& s : parts.query)
      if (s.key == "password" && s.value_end > s.value_begin) spans.push_back({s.value_begin, s.value_end});
  } else {
    for (const auto& s : keyword_settings(url))
      if ((s.key == "password" || s.key.empty()) && s.value_end > s.value_begin)
        spans.push_back({s.value_begin, s.value_end});
  }
  std::string out = url;
  // Back to front, so that earlier offsets stay valid.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin > b.begin; });
  for (const auto& span : spans) out.replace(span.begin, span.end - span.begin, kMask);
  return out;
}

Pool::Pool(PoolOptions options) : options_(std::move(options)) {
  if (options_.size == 0) options_.size = 1;
}

Pool::~Pool() = default;

std::string Pool::redacted_url() const { return redact_database_url(options_.url); }

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  for (;;) {
    if (!idle_.empty()) {
      // Last in, first out: the connection used most recently is the least likely to have timed
      // out somewhere on the network.
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      auto* uses = &uses_[conn.get()];
      lock.unlock();
      Lease lease(this, std::move(conn));
      lease.uses_ = uses;
      return lease;
    }
    if (open_ < options_.size) {
      ++open_;  // reserve the slot, then connect without holding the lock
      lock.unlock();
      std::unique_ptr<pqxx::connection> conn;
      try {
        conn = std::make_unique<pqxx::connection>(conninfo_for(options_));
      } catch (const std::exception& e) {
        lock.lock();
        --open_;
        lock.unlock();
        cv_.notify_one();
        return make_error(ErrorKind::unavailable, "database_unavailable",
                          "cannot connect to the database at " + redacted_url() + ": " +
                              scrub(one_line(e.what()), passwords_in(options_.url)));
      }
      lock.lock();
      auto* uses = &uses_[conn.get()];
      lock.unlock();
      Lease lease(this, std::move(conn));
      lease.uses_ = uses;
      return lease;
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= options_.size)
      return make_error(ErrorKind::unavailable, "database_unavailable",
                        "no database connection became free within " +
                            std::to_string(options_.acquire_timeout.count()) + " ms (pool size " +
                            std::to_string(options_.size) + ")");
  }
}

void Pool::release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  std::vector<std::unique_ptr<pqxx::connection>> closing;
  {
    std::lock_guard lock(mu_);
    if (!broken && conn->is_open()) {
      idle_.push_back(std::move(conn));
    } else {
      // One broken connection usually means the server went away (restart, failover): the idle
      // ones were opened to the same server and would each fail one request before being
      // noticed. Close them too; reconnecting costs a few milliseconds.
      closing.push_back(std::move(conn));
      for (auto& c : idle_) closing.push_back(std::move(c));
      idle_.clear();
      for (const auto& c : closing) uses_.erase(c.get());
      open_ -= closing.size();
    }
  }
  if (closing.empty())
    cv_.notify_one();
  else
    cv_.notify_all();
  // `closing` goes out of scope here, outside the lock: closing a connection talks to the socket.
}

Pool::Lease::Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn) : pool_(pool), conn_(std::move(conn)) {}

Pool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      conn_(std::move(other.conn_)),
      broken_(other.broken_),
      uses_(std::exchange(other.uses_, nullptr)) {}

Pool::Lease& Pool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_ && conn_) pool_->release(std::move(conn_), broken_);
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
    broken_ = other.broken_;
    uses_ = std::exchange(other.uses_, nullptr);
  }
  return *this;
}

Pool::Lease::~Lease() {
  if (pool_ && conn_) pool_->release(std::move(conn_), broken_);
}

pqxx::connection& Pool::Lease::conn() { return *conn_; }

void Pool::Lease::mark_broken() { broken_ = true; }

bool Pool::Lease::first_use(std::string_view tag) {
  if (std::find(uses_->begin(), uses_->end(), tag) != uses_->end()) return false;
  uses_->emplace_back(tag);
  return true;
}

}  // namespace switchboard::storage
