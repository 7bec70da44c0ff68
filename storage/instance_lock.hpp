// One session-level advisory lock per running daemon instance, on a connection of its own: the
// database itself knows which instances are alive. An instance that dies loses its session and
// so its lock: at once when its process ends (SIGKILL: the kernel closes the socket), after
// about a minute of TCP keepalive when its host or network vanished. The outbox rows it had
// claimed then go back to the queue on a sweep of another instance (storage/outbox.hpp
// dead_claimers, release_expired), instead of after the full lease.
//
// The key is random, taken with pg_try_advisory_lock (so two live instances never share one) and
// kept across reconnections while nobody else took it. Keys are positive 31-bit integers under
// the class kInstanceLockClass; 0 means "no lock held".
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/pqxx_fwd.hpp"

namespace switchboard::storage {

// pg_advisory_lock(int4 class, int4 key): the class keeps these apart from any other user of
// advisory locks in the same database.
inline constexpr int kInstanceLockClass = 0x5342;  // "SB"

class InstanceLock {
 public:
  explicit InstanceLock(std::string database_url);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  // Checks the lock's connection (one round trip) and, when it was lost, reconnects and takes a
  // lock again in the same call, the same key if still free. Returns the key held afterwards, 0
  // when none (the database is unreachable). Never throws. Not thread-safe: one caller (the
  // outbox's sweeper).
  int refresh();
  // The key held, from any thread; 0 when none.
  int key() const { return key_.load(std::memory_order_acquire); }
  // Every key this instance has held: rows claimed under any of them may still be in flight
  // here, so they are never released as a dead instance's. From any thread.
  std::vector<int> held() const;

 private:
  std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  std::atomic<int> key_{0};
  int wanted_ = 0;  // the key to take again after a reconnection
  mutable std::mutex held_mu_;
  std::vector<int> held_;
  bool failing_ = false;
};

}  // namespace switchboard::storage
