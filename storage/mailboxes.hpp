// Where each mailbox's IMAP intake stands, and the lock that makes one instance its poller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "routing/core/result.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

struct MailboxPosition {
  std::uint32_t uidvalidity = 0;
  std::uint32_t last_uid = 0;  // mail up to this UID is stored (or set aside)
};

// nullopt for a folder never polled.
Result<std::optional<MailboxPosition>> get_mailbox_position(Pool& pool, const std::string& mailbox,
                                                            const std::string& folder);
// Records the position; under the same uidvalidity last_uid only moves forward, a new
// uidvalidity replaces the row.
Status save_mailbox_position(Pool& pool, const std::string& mailbox, const std::string& folder,
                             const MailboxPosition& position);

// A session advisory lock on a connection of its own: several daemons on one database, one
// poller per mailbox. The lock goes with the connection, so held() checks that it still lives.
class MailboxLock {
 public:
  MailboxLock(std::string database_url, std::string mailbox);
  ~MailboxLock();
  MailboxLock(const MailboxLock&) = delete;
  MailboxLock& operator=(const MailboxLock&) = delete;

  // true: this instance polls the mailbox now. Errors: unavailable.
  Result<bool> try_acquire();
  // Whether the lock is still ours (the connection answers); false after a lost connection.
  bool held();
  void release();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::storage
