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

#include "channels/email/imap_client.hpp"
#include "channels/host.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels::email {

class EmailAdapter;
struct Mailbox;

class Poller {
 public:
  // The mailbox's events go to host.intake(), its lock and position to host.sources().
  Poller(const Mailbox& mailbox, Host& host, const EmailAdapter& adapter);
  ~Poller();
  void start();
  void stop();
  // Since start, one outcome per mail: a new message, one stored before (fetched again), a
  // system message (a bounce, a report), or moved to the quarantine folder with a log line.
  SourceStatus status() const;

 private:
  void run();
  // Every mail after the stored position, in UID order. An error stops the pass: the caller
  // reconnects (IMAP) or waits (database) and the pass starts again where it stopped.
  Status pass(ImapClient& client, std::uint32_t uidvalidity);
  Status one_mail(ImapClient& client, std::uint32_t uidvalidity, std::uint32_t uid, std::uint64_t size);
  // Moves the mail to the quarantine folder with a log line naming it and the reason.
  Status quarantine(ImapClient& client, std::uint32_t uid, const std::string& message_id, const std::string& sender,
                    const std::string& why, const std::string& request_id);
  Status done_with(ImapClient& client, std::uint32_t uid);
  void counted(std::string_view result);
  // Sleeps up to `d`, woken by stop(). false when stopping.
  bool wait(std::chrono::milliseconds d);
  void set_state(std::string state, std::string error = {});

  const Mailbox& config_;
  Host& host_;
  const EmailAdapter& adapter_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string state_ = "starting";
  std::string error_;
  std::optional<Timestamp> last_poll_;
  long stored_ = 0, duplicate_ = 0, system_ = 0, quarantined_ = 0;
  int wake_fd_ = -1;  // an eventfd written by stop(): ends an IMAP IDLE at once
  std::thread thread_;
};

}  // namespace switchboard::channels::email
