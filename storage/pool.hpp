// A fixed-size pool of PostgreSQL connections (libpqxx 6). Connections are opened lazily and
// replaced when broken, so the pool recovers by itself after the database comes back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routing/core/result.hpp"
#include "storage/pqxx_fwd.hpp"

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

  // A connection on loan; returned to the pool when the Lease is destroyed, which must happen
  // before the Pool is destroyed.
  class Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) noexcept;
    ~Lease();
    pqxx::connection& conn();
    // The connection failed: close it instead of returning it (the next acquire reconnects).
    void mark_broken();
    // True the first time it is asked for `tag` on this connection, false afterwards: callers
    // prepare their statements once per connection (a reconnected one starts afresh).
    bool first_use(std::string_view tag);

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn);
    Pool* pool_ = nullptr;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
    std::vector<std::string>* uses_ = nullptr;  // the tags first_use() has seen on conn_
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
  // first_use() tags per open connection; an entry lives exactly as long as its connection.
  std::unordered_map<const pqxx::connection*, std::vector<std::string>> uses_;
};

// "postgresql://u:secret@h/db" -> "postgresql://u:***@h/db"; "password=x" -> "password=***".
std::string redact_database_url(const std::string& url);

}  // namespace switchboard::storage
