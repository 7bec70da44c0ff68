#include "storage/instance_lock.hpp"

#include <algorithm>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "routing/core/log.hpp"
#include "storage/listener.hpp"
#include "storage/sql.hpp"

namespace switchboard::storage {

namespace {

// Client-side keepalives: the daemon notices a database host that vanished.
std::string keepalive_settings(const std::string& conninfo) {
  const bool is_url = conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0;
  if (conninfo.find("keepalives") != std::string::npos) return "";  // the operator's own
  if (is_url)
    return std::string(conninfo.find('?') == std::string::npos ? "?" : "&") +
           "keepalives=1&keepalives_idle=30&keepalives_interval=10&keepalives_count=3";
  return " keepalives=1 keepalives_idle=30 keepalives_interval=10 keepalives_count=3";
}

int random_key() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_int_distribution<int>(1, 0x7fffffff)(rng);
}

}  // namespace

InstanceLock::InstanceLock(std::string database_url) : url_(std::move(database_url)) {}

InstanceLock::~InstanceLock() = default;  // closing the session releases the lock

std::vector<int> InstanceLock::held() const {
  std::lock_guard lock(held_mu_);
  return held_;
}

int InstanceLock::refresh() {
  // A lock that is still held answers one round trip. A lost one (the database restarted, the
  // session was cut) is taken again in the same call, so that a sweep never runs without it
  // while the database is reachable.
  if (conn_ && key_.load() != 0) {
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec("SELECT 1");
      return key_.load();
    } catch (const std::exception& e) {
      log::warn(
          "instance_lock_lost",
          {{"key", std::to_string(key_.load())}, {"reason", sql::first_line(e.what())}, {"action", "taking it again"}});
      conn_.reset();
      key_.store(0, std::memory_order_release);
    }
  }
  try {
    if (!conn_ || !conn_->is_open()) {
      const auto conninfo = conninfo_for(url_, std::chrono::seconds{5}, "switchboard-instance");
      conn_ = std::make_unique<pqxx::connection>(conninfo + keepalive_settings(conninfo));
      // The server notices a vanished host (and frees its lock) after about a minute, not after
      // the system's two hours of TCP keepalive.
      pqxx::nontransaction setup(*conn_);
      setup.exec("SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3");
    }
    const auto try_lock = [&](int candidate) {
      pqxx::nontransaction tx(*conn_);
      const auto r = tx.exec("SELECT pg_try_advisory_lock(" + std::to_string(kInstanceLockClass) + ", " +
                             std::to_string(candidate) + ")");
      if (!r[0][0].as<bool>()) return false;
      wanted_ = candidate;
      {
        std::lock_guard lock(held_mu_);
        if (std::find(held_.begin(), held_.end(), candidate) == held_.end()) held_.push_back(candidate);
      }
      key_.store(candidate, std::memory_order_release);
      failing_ = false;
      log::info("instance_lock_held", {{"key", std::to_string(candidate)}});
      return true;
    };
    // Our own key first, for up to half a second: the session that held it may still be ending.
    if (wanted_ != 0) {
      for (int tries = 0; tries < 10; ++tries) {
        if (try_lock(wanted_)) return wanted_;
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
      }
      log::warn("instance_lock_changed", {{"key", std::to_string(wanted_)},
                                          {"reason", "another session holds this instance's key: drawing another"}});
      wanted_ = 0;
    }
    for (int tries = 0; tries < 8; ++tries)
      if (const int candidate = random_key(); try_lock(candidate)) return candidate;
    log::warn("instance_lock_unavailable", {{"reason", "eight random keys were all taken"}});
  } catch (const std::exception& e) {
    if (!failing_)  // once per outage: the sweeper calls again every interval
      log::warn("instance_lock_unavailable", {{"reason", sql::first_line(e.what())}});
    failing_ = true;
    conn_.reset();
    key_.store(0, std::memory_order_release);
  }
  return key_.load();
}

}  // namespace switchboard::storage
