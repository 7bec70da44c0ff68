// Listener: LISTEN on a dedicated libpqxx connection, waited on with poll() together with an
// eventfd, so that shutdown can cut a wait short and no thread ever spins.

// The connection is never reactivated by libpqxx (which would reconnect synchronously and
// re-LISTEN behind our back): a broken one is closed and replaced by a new object, and the wait
// that replaces it returns true so that the caller looks for the work it may have missed.
#include "storage/listener.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <pqxx/pqxx>
#include <set>
#include <system_error>

#include "routing/core/log.hpp"
#include "storage/sql.hpp"

namespace switchboard::storage {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Milliseconds for poll(), rounded up: a wait never ends before its deadline.
int poll_timeout(SteadyClock::time_point deadline) {
  const auto left = deadline - SteadyClock::now();
  if (left <= SteadyClock::duration::zero()) return 0;
  return static_cast<int>(std::min<long long>(std::chrono::ceil<std::chrono::milliseconds>(left).count(), INT_MAX));
}

// The settings a connection string gives a value, URL or keyword form alike.
std::set<std::string> settings_given(const std::string& url) {
  std::set<std::string> out;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (options == nullptr) return out;  // malformed: the connection attempt will say how
  for (const auto* o = options; o->keyword != nullptr; ++o)
    if (o->val != nullptr && *o->val != '\0') out.insert(o->keyword);
  PQconninfoFree(options);
  return out;
}

}  // namespace

std::string conninfo_for(const std::string& url, std::chrono::seconds connect_timeout,
                         const std::string& application_name) {
  const auto given = settings_given(url);
  const bool is_url = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  std::string out = url;
  auto add = [&](const std::string& key, const std::string& value) {
    if (given.count(key)) return;
    if (is_url)
      out += out.find('?') == std::string::npos ? '?' : '&';
    else if (!out.empty())
      out += ' ';
    out += key + "=" + value;
  };
  add("connect_timeout", std::to_string(connect_timeout.count()));
  add("application_name", application_name);
  return out;
}

// Keeps the notifications of one channel that get_notifs() hands over.
struct Listener::Receiver final : pqxx::notification_receiver {
  Receiver(pqxx::connection& conn, const std::string& channel, Listener& owner)
      : pqxx::notification_receiver(conn, channel), owner_(owner) {}
  void operator()(const std::string& payload, int) override {
    auto& pending = owner_.pending_;
    if (pending.size() >= kMaxPending) {
      pending.erase(pending.begin());
      ++owner_.dropped_;
    }
    pending.push_back({channel(), payload});
  }
  Listener& owner_;
};

namespace {

// Closes the connection before the receiver goes: the receiver's destructor UNLISTENs on a
// connection that is still there, and libpqxx would reconnect a broken one to do so.
template <class Receivers>
void close_connection(std::unique_ptr<pqxx::connection>& conn, Receivers receivers) {
  if (conn) conn->disconnect();
  receivers.clear();
  conn.reset();
}

}  // namespace

Listener::Listener(ListenerOptions options) : options_(std::move(options)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot create the listener's eventfd");
}

Listener::~Listener() {
  disconnect();
  ::close(wake_fd_);
}

std::string Listener::channel_list() const {
  std::string out;
  for (const auto& c : options_.channels) out += (out.empty() ? "" : ",") + c;
  return out;
}

void Listener::disconnect() { close_connection(conn_, std::move(receivers_)); }

std::vector<Listener::Notification> Listener::take() {
  std::vector<Notification> out;
  out.swap(pending_);
  return out;
}

bool Listener::connect(SteadyClock::time_point deadline) {
  // Bounded by the wait's deadline as far as libpq allows (it waits 2 s at least).
  const auto left = std::chrono::ceil<std::chrono::seconds>(deadline - SteadyClock::now());
  const auto timeout = std::clamp(left, std::chrono::seconds{1}, std::max(options_.connect_timeout, std::chrono::seconds{1}));
  std::unique_ptr<pqxx::connection> conn;
  std::vector<std::unique_ptr<Receiver>> receivers;
  try {
    conn = std::make_unique<pqxx::connection>(conninfo_for(options_.url, timeout, "switchboard-listener"));
    for (const auto& channel : options_.channels)
      receivers.push_back(std::make_unique<Receiver>(*conn, channel, *this));  // sends LISTEN
    // Registering a receiver swallows a connection that broke during LISTEN.
    if (!conn->is_open()) throw pqxx::broken_connection("the connection broke during LISTEN");
  } catch (const std::exception& e) {
    close_connection(conn, std::move(receivers));
    if (!failing_) {
      // Once per outage: the caller retries on every wait.
      log::warn("outbox_listener_unavailable", {{"channels", channel_list()}, {"reason", sql::first_line(e.what())}});
      failing_ = true;
    }
    return false;
  }
  conn_ = std::move(conn);
  receivers_ = std::move(receivers);
  failing_ = false;
  log::info("outbox_listener_connected", {{"channels", channel_list()}});
  return true;
}

bool Listener::take_interrupt() {
  std::uint64_t count = 0;
  return ::read(wake_fd_, &count, sizeof count) == static_cast<ssize_t>(sizeof count);
}

void Listener::interrupt() {
  const std::uint64_t one = 1;
  // Cannot fail short of a counter at 2^64 - 1, which would mean a wake-up is pending anyway.
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof one);
}

bool Listener::sleep_until(SteadyClock::time_point deadline) {
  for (;;) {
    pollfd wake{wake_fd_, POLLIN, 0};
    const int n = ::poll(&wake, 1, poll_timeout(deadline));
    if (n > 0 && take_interrupt()) return true;
    if (n == 0 && SteadyClock::now() >= deadline) return false;
    // EINTR, or another thread took the wake-up first: wait on.
  }
}

bool Listener::wait(std::chrono::milliseconds timeout) {
  // Clamped so that the deadline cannot overflow; callers wake up daily at least.
  const auto deadline = SteadyClock::now() + std::clamp<std::chrono::milliseconds>(timeout, {}, std::chrono::hours{24});
  if (take_interrupt()) return false;
  if (!conn_) {
    if (connect(deadline)) return true;
    sleep_until(deadline);
    return false;
  }
  bool interrupted = false;
  for (;;) {
    // Read what the socket holds: a connection that died shows here, as an exception or closed.
    int arrived = 0;
    try {
      arrived = conn_->get_notifs();
      // A burst may span several packets: take whatever is already readable too.
      for (pollfd more{conn_->sock(), POLLIN, 0}; arrived > 0 && ::poll(&more, 1, 0) > 0; more.revents = 0)
        arrived += conn_->get_notifs();
      if (!conn_->is_open()) throw pqxx::broken_connection("the connection was closed");
    } catch (const std::exception& e) {
      log::warn("outbox_listener_lost", {{"channels", channel_list()}, {"reason", sql::first_line(e.what())}});
      disconnect();
      if (arrived > 0) return true;  // the next wait reconnects
      if (connect(deadline)) return true;
      sleep_until(deadline);
      return false;
    }
    if (arrived > 0) return true;
    if (interrupted) return false;

    pollfd fds[2] = {{conn_->sock(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, poll_timeout(deadline));
    if (n < 0 && errno != EINTR) {
      log::error("outbox_listener_poll_failed", {{"reason", std::strerror(errno)}});
      sleep_until(deadline);
      return false;
    }
    // Look at the socket once more before returning: a notification may have come with the
    // interrupt.
    if (n > 0 && (fds[1].revents & POLLIN) && take_interrupt()) interrupted = true;
    if (n == 0 && SteadyClock::now() >= deadline) return false;
  }
}

}  // namespace switchboard::storage
