// Sends what the outbox holds: claims due rows (FOR UPDATE SKIP LOCKED, so several daemons can
// share one database), hands each to its channel adapter, records sent / retry with backoff /
// failed. Woken by LISTEN/NOTIFY, with a periodic sweep for missed notifications and for rows
// whose sender died mid-send.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string_view>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "channels/registry.hpp"
#include "channels/retry.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {
class Listener;
struct OutboxItem;
}  // namespace switchboard::storage

namespace switchboard::daemon {

struct OutboxWorkerOptions {
  std::size_t threads = 2;
  std::size_t batch = 4;
  std::chrono::milliseconds sweep_interval{1000};
  std::chrono::milliseconds lease{300000};
  channels::RetryPolicy retry;
  // Told each send's result (delivered, sent, retry, failed) by channel, for metrics.
  std::function<void(std::string_view channel, std::string_view result)> on_result;
};

class OutboxWorker {
 public:
  OutboxWorker(storage::Pool& pool, std::string database_url, channels::Registry& registry, const Clock& clock,
               OutboxWorkerOptions options);
  ~OutboxWorker();

  void start();
  // Stops claiming, lets sends in progress finish, returns rows claimed but not yet attempted
  // to the queue, and joins the threads.
  void stop();
  // Sends being made right now (for logs and tests).
  std::size_t in_flight() const { return in_flight_.load(); }

 private:
  void run(std::size_t index);
  void deliver(const storage::OutboxItem& item);

  storage::Pool& pool_;
  std::string database_url_;
  channels::Registry& registry_;
  const Clock& clock_;
  OutboxWorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::vector<std::unique_ptr<storage::Listener>> listeners_;
  std::vector<std::thread> threads_;
};

}  // namespace switchboard::daemon
