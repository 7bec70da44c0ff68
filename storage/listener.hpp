// LISTEN on a connection of its own (a pooled one would be handed to other work between waits
// and miss notifications): the daemon's event bus (daemon/event_bus.hpp) sleeps in wait() until
// a transaction commits a notification on one of its channels, a timeout passes, or shutdown
// interrupts it; take() hands over what arrived, channel and payload.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "storage/pqxx_fwd.hpp"

namespace switchboard::storage {

// The connection string of a dedicated connection (not the pool's), completed with what the
// operator left out: connect_timeout (libpq waits forever by default) and an application_name
// that tells it apart from the pool's connections in pg_stat_activity.
std::string conninfo_for(const std::string& url, std::chrono::seconds connect_timeout,
                         const std::string& application_name);

struct ListenerOptions {
  std::string url;  // libpq URL or keyword string
  std::vector<std::string> channels = {"switchboard_outbox"};
  // Opening the connection takes at most this long, or the wait's timeout if shorter (libpq
  // waits 2 s at least); connect_timeout in the URL wins over both.
  std::chrono::seconds connect_timeout{5};
};

class Listener {
 public:
  // Does not connect: the first wait() does. Throws std::system_error when the process is out of
  // file descriptors (the interrupt needs one).
  explicit Listener(ListenerOptions options);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Blocks until a notification arrives (then drains all that are pending), the timeout (24 h at
  // most) passes, or interrupt() is called. True when the caller should look for work: a notification came, or
  // the connection was (re)opened during this call, since notifications sent while it was down
  // are lost. Without a connection it tries to open one; if that fails, it sleeps out the
  // timeout (interruptibly) and returns false, and the next call tries again. Call it from one
  // thread at a time.
  bool wait(std::chrono::milliseconds timeout);

  // Makes a wait() blocked in another thread return promptly (false unless a notification came
  // too); when none is blocked, the next one returns at once. Safe from any thread. A connection
  // attempt under way is not cut short.
  void interrupt();

  struct Notification {
    std::string channel;
    std::string payload;
  };
  // What wait() received since the last take(), oldest first (at most kMaxPending: a burst
  // beyond that keeps the newest, and dropped() counts the rest). Same thread as wait().
  std::vector<Notification> take();
  static constexpr std::size_t kMaxPending = 4096;
  std::size_t dropped() const { return dropped_; }

 private:
  struct Receiver;

  bool connect(std::chrono::steady_clock::time_point deadline);
  void disconnect();
  // Waits for the interrupt until the deadline; true when interrupted.
  bool sleep_until(std::chrono::steady_clock::time_point deadline);
  bool take_interrupt();
  std::string channel_list() const;

  ListenerOptions options_;
  int wake_fd_ = -1;  // eventfd written by interrupt()
  std::unique_ptr<pqxx::connection> conn_;
  std::vector<std::unique_ptr<Receiver>> receivers_;  // one per channel
  std::vector<Notification> pending_;
  std::size_t dropped_ = 0;
  bool failing_ = false;  // the last connection attempt failed: log again only on success
};

}  // namespace switchboard::storage
