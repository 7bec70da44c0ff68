// GET /api/v1/stream: every change an agent may see, live, from every instance, and after a
// reconnect exactly what the client missed.
//
// Events are rows of the `events` table, written by triggers in the transaction of the change
// and keyed so that none can appear before one already read (migration 0015 says how; nothing
// announces them, since a NOTIFY per transaction would serialise commits). One thread per daemon
// (the hub) polls the table, every 25 ms while anyone follows it: it reads the rows after the
// newest it has, keeps the latest few thousand in memory, and hands each connected client the
// rows after that client's cursor that it may see. A client that resumes (?since=N) from before
// the kept window is served from the table itself, a page at a time as its socket drains. A
// client asking for pruned ids, or ids never handed out, gets {"type":"reset"} first and then
// follows from now. A client that does not read is closed with 1013 (try again later) once
// max_backlog events wait for it: it reconnects with its last id and misses nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "channels/http.hpp"
#include "daemon/event_bus.hpp"
#include "routing/core/time.hpp"
#include "storage/agent.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

struct StreamOptions {
  Duration keep = std::chrono::hours{24 * 7};  // events older than this are pruned
  std::size_t max_backlog = 1000;              // events waiting for one client before it is closed
};

class StreamHub {
 public:
  // The viewer a login has under the active rules; nullopt when the person is gone.
  using ViewerOf = std::function<std::optional<storage::Viewer>(const std::string& login)>;

  StreamHub(storage::Pool& pool, const Clock& clock, StreamOptions options, ViewerOf viewer_of);
  ~StreamHub();
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // After the schema is current.
  void start();
  void stop();

  // The WebSocket for a caller that was authenticated, with what they may see (a config token's
  // `fixed`: not a person, never recomputed): `since` as the client sent it ("" when absent;
  // anything but decimal digits is a 400 before the upgrade).
  // The hub checks every few seconds that the session or token it came with (`session_digest`,
  // `token_id`: Caller's) is still live, on whichever instance it was revoked: 4001 otherwise.
  HttpResponse open(storage::Viewer viewer, bool fixed, std::string session_digest, std::string token_id,
                    const std::string& since, const std::string& request_id);

  // The rules changed: every client's visibility is computed again; a person who is gone is
  // disconnected (4001).
  void rules_changed();
  // These people's streams end now (4001): their credentials were revoked.
  void revoke(const std::vector<std::string>& logins);

  std::size_t clients() const;

 private:
  struct Client;
  void run();
  bool serve(Client& c, bool& behind);  // false: drop the client; behind: it is catching up
  void prune();
  void check_credentials();  // clients whose session or token ended are closed (4001)
  // What a person's client sees under the active rules; 4001 when the person is gone.
  void refresh_viewer(Client& c);
  // Closes a client that does not keep up (1013, resume with its cursor), logged.
  void too_slow(Client& c, StreamSink& sink, std::size_t backlog);

  storage::Pool& pool_;
  const Clock& clock_;
  StreamOptions options_;
  ViewerOf viewer_of_;
  Doorbell bell_;

  mutable std::mutex mu_;  // clients_
  std::vector<std::shared_ptr<Client>> clients_;

  // The hub thread's own.
  storage::EventId head_;                 // the newest id read
  storage::EventId floor_;                // the window holds every event after this id
  std::deque<storage::EventRow> window_;  // the latest events, oldest first
  Timestamp last_prune_{};
  Timestamp last_check_{};
  storage::EventId pruned_through_;  // as of the last prune: a catching-up client below it resets
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace switchboard::daemon
