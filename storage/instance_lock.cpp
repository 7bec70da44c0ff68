#include "storage/instance_lock.hpp"

#include <pqxx/pqxx>
#include <random>

#include "routing/core/log.hpp"
#include "storage/listener.hpp"

namespace switchboard::storage {

namespace {

int random_key() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_int_distribution<int>(1, 0x7fffffff)(rng);
}

}  // namespace

InstanceLock::InstanceLock(std::string database_url) : url_(std::move(database_url)) {}

InstanceLock::~InstanceLock() = default;  // closing the session releases the lock

int InstanceLock::refresh() {
  try {
    if (conn_ && key_.load() != 0) {
      pqxx::nontransaction tx(*conn_);
      tx.exec("SELECT 1");
      return key_.load();
    }
    if (!conn_ || !conn_->is_open())
      conn_ = std::make_unique<pqxx::connection>(conninfo_for(url_, std::chrono::seconds{5}, "switchboard-instance"));
    for (int tries = 0; tries < 8; ++tries) {
      const int candidate = wanted_ != 0 ? wanted_ : random_key();
      pqxx::nontransaction tx(*conn_);
      const auto r = tx.exec("SELECT pg_try_advisory_lock(" + std::to_string(kInstanceLockClass) + ", " +
                             std::to_string(candidate) + ")");
      if (r[0][0].as<bool>()) {
        if (wanted_ != 0 && candidate != wanted_)
          log::info("instance_lock_changed", {{"key", std::to_string(candidate)}});
        wanted_ = candidate;
        key_.store(candidate, std::memory_order_release);
        log::info("instance_lock_held", {{"key", std::to_string(candidate)}});
        return candidate;
      }
      wanted_ = 0;  // someone else holds it now: draw another
    }
    log::warn("instance_lock_unavailable", {{"reason", "eight random keys were all taken"}});
  } catch (const std::exception& e) {
    if (key_.load() != 0) log::warn("instance_lock_lost", {{"key", std::to_string(key_.load())}, {"reason", e.what()}});
    conn_.reset();
    key_.store(0, std::memory_order_release);
  }
  return key_.load();
}

}  // namespace switchboard::storage
