// The daemon's event bus: one LISTEN connection (storage/listener.hpp) for every notification
// channel, its events fanned out to subscribers. A subscriber's handler runs on the bus thread
// and must not block: it hands the event over and returns (rings a Doorbell, queues into a
// bounded StreamSink). A subscriber that cannot keep up coalesces (Doorbell) or is dropped (a
// stream whose queue is full): the bus itself never queues for anyone.
//
// After the connection was lost and opened again, notifications sent meanwhile are gone: every
// subscriber then gets an event with `resync` set, meaning "look again".
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::storage {
class Listener;
}

namespace switchboard::daemon {

struct BusEvent {
  std::string channel;
  std::string payload;
  bool resync = false;  // not a notification: the connection was (re)opened, look again
};

class EventBus {
 public:
  using Handler = std::function<void(const BusEvent&)>;

  EventBus(std::string database_url, std::vector<std::string> channels);
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  void start();
  void stop();

  // Handler for the events of `channel` (one of the bus's); returns the id for unsubscribe().
  // Safe from any thread; a handler never runs after unsubscribe() returned.
  std::uint64_t subscribe(const std::string& channel, Handler handler);
  void unsubscribe(std::uint64_t id);

  // Events delivered, and notifications lost to a burst larger than the listener keeps.
  std::uint64_t delivered() const { return delivered_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  void run();
  void deliver(const BusEvent& event);

  std::unique_ptr<storage::Listener> listener_;
  std::vector<std::string> channels_;
  std::mutex mu_;  // held while handlers run: unsubscribe() waits for a running one
  std::map<std::uint64_t, std::pair<std::string, Handler>> subscribers_;
  std::uint64_t next_id_ = 1;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::thread thread_;
};

// Wakes threads that wait for work; rings coalesce (a waiter sees one ring or many alike).
class Doorbell {
 public:
  void ring();
  // Until a ring after `seen` (then true, and `seen` moves on), the timeout, or interrupt().
  bool wait(std::uint64_t& seen, std::chrono::milliseconds timeout);
  // Every wait() returns at once, now and later.
  void interrupt();
  std::uint64_t rung() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t rung_ = 0;
  bool interrupted_ = false;
};

}  // namespace switchboard::daemon
