// Sends what the outbox holds: claims due rows (FOR UPDATE SKIP LOCKED, so several daemons can
// share one database), hands each to its channel adapter, records sent / retry with backoff /
// failed. Woken by LISTEN/NOTIFY, with a periodic sweep for missed notifications and for rows
// whose sender died mid-send.
//
// Replies are sent once wherever the platform allows it:
// - each claim carries a fencing token: a result is recorded only on the claim it answers;
// - a result the database does not take (it is restarting) is retried until it does, and only
//   then logged as outbox_sent; after stop() for at most record_grace;
// - just before the platform is called the row is marked in doubt; a row claimed again in doubt
//   (its sender died before recording, or the platform's answer never came) is first checked
//   with its adapter (Adapter::check_resend): found at the platform -> recorded, not resent;
// - the daemon holds an InstanceLock, kept by a thread of its own: rows a dead daemon had claimed
//   go back to the queue once its lock has been missing for restart_grace, not after the lease.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "channels/registry.hpp"
#include "channels/retry.hpp"
#include "daemon/event_bus.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {
class InstanceLock;
struct Claim;
struct OutboxItem;
}  // namespace switchboard::storage

namespace switchboard::daemon {

struct OutboxWorkerOptions {
  std::size_t threads = 2;
  std::size_t batch = 4;
  std::chrono::milliseconds sweep_interval{1000};
  std::chrono::milliseconds lease{300000};
  // After stop(): how long a send's result that the database does not take is still retried.
  std::chrono::milliseconds record_grace{10000};
  // How long another instance's lock must be missing (and the database up) before the rows it
  // claimed are released: a restart or a cut session drops a live instance's lock too, and it
  // takes it again within a sweep interval. The daemon uses ten sweep intervals, at least 5 s.
  std::chrono::milliseconds restart_grace{30000};
  channels::RetryPolicy retry;
  // Told each send's result (delivered, sent, retry, failed) by channel, for metrics.
  std::function<void(std::string_view channel, std::string_view result)> on_result;
};

class OutboxWorker {
 public:
  // Woken through `bus` (its "switchboard_outbox" events), which must outlive the worker.
  OutboxWorker(storage::Pool& pool, std::string database_url, channels::Registry& registry, const Clock& clock,
               EventBus& bus, OutboxWorkerOptions options);
  ~OutboxWorker();

  void start();
  // Stops claiming, lets sends in progress finish, returns rows claimed but not yet attempted
  // to the queue, and joins the threads.
  void stop();
  // Sends being made right now (for logs and tests).
  std::size_t in_flight() const { return in_flight_.load(); }

 private:
  enum class Recorded { yes, superseded, lost };

  void run(std::size_t index);
  void deliver(const storage::OutboxItem& item);
  // Worker 0, every sweep_interval: rows back to the queue.
  void sweep();
  // The keeper thread: the instance lock, every sweep_interval, whatever the workers are doing.
  void keep_lock();
  bool out_of_time() const;
  // Runs a mark_* call until the database takes it (see the header comment).
  Recorded record(const storage::Claim& claim, std::string_view what, const std::function<Result<bool>()>& op);

  storage::Pool& pool_;
  std::string database_url_;
  channels::Registry& registry_;
  const Clock& clock_;
  OutboxWorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> swept_once_{false};
  std::atomic<std::chrono::steady_clock::rep> record_deadline_{0};  // set by stop()
  std::unique_ptr<storage::InstanceLock> instance_;
  // Keys found without a lock, and since when (worker 0 only).
  std::map<int, std::chrono::steady_clock::time_point> suspects_;
  std::thread keeper_;
  std::mutex keeper_mu_;
  std::condition_variable keeper_cv_;
  std::atomic<std::size_t> in_flight_{0};
  EventBus& bus_;
  std::uint64_t subscription_ = 0;
  Doorbell doorbell_;  // rung by the bus for each committed outbox row (and after a reconnection)
  std::vector<std::thread> threads_;
};

}  // namespace switchboard::daemon
