// The durable local spool (DESIGN.md), the daemon's channels::Spooler: webhook requests from
// platforms that do not redeliver are kept here when the database cannot take them, and replayed through the normal
// pipeline once it can. A request is written to a temporary file, fsync'd, renamed into place
// and the directory fsync'd before the platform is answered 200: from then on the file stands
// in for the commit. Replay deletes a file only after its events are committed; a crash in
// between replays it again, which the pipeline's idempotency turns into a duplicate.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "channels/host.hpp"
#include "routing/core/result.hpp"
#include "routing/core/time.hpp"

namespace switchboard::daemon {

using channels::SpooledRequest;

class Spool {
 public:
  // `dir` is created (0700) when missing; `max_bytes` caps the files' total size.
  Spool(std::string dir, std::size_t max_bytes);

  // Creates the directory, removes temporary files a crash left, counts what waits. Errors:
  // config (cannot create or read the directory).
  Status open();
  // Durably stores a request; returns its name. Errors: unavailable "spool_full" (over
  // max_bytes), unavailable "spool_write_failed" (disk full, I/O error: nothing kept).
  Result<std::string> append(const SpooledRequest& request);
  // The waiting requests' names, oldest first.
  std::vector<std::string> pending() const;
  Result<SpooledRequest> read(const std::string& name) const;
  // After its events are committed.
  Status remove(const std::string& name);
  // A request that can never be replayed (its body no longer parses) moves to rejected/ for a
  // person to look at: never deleted unseen.
  Status reject(const std::string& name);

  std::size_t count() const;
  std::size_t bytes() const;
  std::size_t max_bytes() const { return max_bytes_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
  unsigned sequence_ = 0;
};

}  // namespace switchboard::daemon
