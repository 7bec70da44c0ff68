// A fixed-size pool of PostgreSQL connections (libpqxx 6). Connections are opened lazily and
// replaced when broken, so the pool recovers by itself after the database comes back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "routing/core/result.hpp"

namespace pqxx {
class connection;
}

namespace switchboard::storage {

struct PoolOptions {
  std::string url;                                // libpq URL or keyword string
  std::size_t size = 8;                           // connections at most
  std::chrono::milliseconds acquire_timeout{5000};  // waiting for a free connection
  std::chrono::seconds connect_timeout{5};        // opening one
};

class Pool {
 public:
  explicit Pool(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection on loan; returned to the pool when the Lease is destroyed.
  class Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) noexcept;
    ~Lease();
    pqxx::connection& conn();
    // The connection failed: close it instead of returning it (the next acquire reconnects).
    void mark_broken();

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn);
    Pool* pool_ = nullptr;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
  };

  // unavailable when no connection can be opened or none frees up within acquire_timeout.
  Result<Lease> acquire();
  const PoolOptions& options() const { return options_; }
  // The URL with any password replaced by "***", for log lines.
  std::string redacted_url() const;

 private:
  void release(std::unique_ptr<pqxx::connection> conn, bool broken);

  PoolOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;  // connections idle or on loan
};

// "postgresql://u:secret@h/db" -> "postgresql://u:***@h/db"; "password=x" -> "password=***".
std::string redact_database_url(const std::string& url);

}  // namespace switchboard::storage
