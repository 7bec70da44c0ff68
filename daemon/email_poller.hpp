// One mailbox's IMAP intake: a thread that holds the mailbox's advisory lock (one poller per
// mailbox across daemons), fetches new mail with BODY.PEEK[] (nothing is marked \Seen yet),
// hands it to the pipeline, and only after the commit marks it \Seen (or moves it to the
// processed folder) and records the position. At least once from the server, exactly once in
// the database: a mail fetched again after a crash is recognised by its external_id.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "channels/email/adapter.hpp"
#include "channels/host.hpp"
#include "channels/email/imap_client.hpp"
#include "daemon/config.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

struct MailboxStatus {
  std::string state = "starting";  // starting | polling | standby (another daemon polls it) | down
  std::string error;               // why down
  std::optional<Timestamp> last_poll;  // the last complete pass over new mail
  // Since start, one outcome per mail: a new message, one stored before (fetched again), a
  // system message (a bounce, a report), or moved to the quarantine folder with a log line.
  long stored = 0;
  long duplicate = 0;
  long system = 0;
  long quarantined = 0;
};

class EmailPoller {
 public:
  // Stores a mail's events (channels::Intake::accept): an error only when the database is
  // unavailable.
  using Apply = std::function<Status(const std::string& request_id, const std::vector<InboundEvent>& events,
                                     channels::IntakeReport& report)>;
  // result: stored | duplicate | system | quarantined
  using Count = std::function<void(const std::string& mailbox, std::string_view result)>;

  EmailPoller(MailboxConfig config, std::string database_url, storage::Pool& pool,
              const channels::email::EmailAdapter& adapter, const Clock& clock, Apply apply, Count count);
  ~EmailPoller();
  void start();
  void stop();
  MailboxStatus status() const;
  const std::string& name() const { return config_.name; }

 private:
  void run();
  // Every mail after the stored position, in UID order. An error stops the pass: the caller
  // reconnects (IMAP) or waits (database) and the pass starts again where it stopped.
  Status pass(channels::email::ImapClient& client, std::uint32_t uidvalidity);
  Status one_mail(channels::email::ImapClient& client, std::uint32_t uidvalidity, std::uint32_t uid,
                  std::uint64_t size);
  // Moves the mail to the quarantine folder with a log line naming it and the reason.
  Status quarantine(channels::email::ImapClient& client, std::uint32_t uid, const std::string& message_id,
                    const std::string& sender, const std::string& why, const std::string& request_id);
  Status done_with(channels::email::ImapClient& client, std::uint32_t uid);
  // Sleeps up to `d`, woken by stop(). false when stopping.
  bool wait(std::chrono::milliseconds d);
  void set_state(std::string state, std::string error = {});

  MailboxConfig config_;
  std::string database_url_;
  storage::Pool& pool_;
  const channels::email::EmailAdapter& adapter_;
  const Clock& clock_;
  Apply apply_;
  Count count_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  MailboxStatus status_;
  int wake_fd_ = -1;  // an eventfd written by stop(): ends an IMAP IDLE at once
  std::thread thread_;
};

channels::email::ImapOptions imap_options(const MailServerConfig& server);
channels::email::SmtpOptions smtp_options(const MailServerConfig& server);

}  // namespace switchboard::daemon
