#include "daemon/api/stream.hpp"

#include <algorithm>
#include <charconv>

#include "routing/core/log.hpp"
#include "storage/people.hpp"

namespace switchboard::daemon {

namespace {

constexpr std::size_t kWindow = 4096;                    // events kept in memory for clients that follow live
constexpr int kPage = 500;                               // rows per read of the table
constexpr auto kIdle = std::chrono::milliseconds{1000};  // the table is read at least this often
constexpr auto kLive = std::chrono::milliseconds{25};    // and this often while a client follows it
constexpr auto kPruneEvery = std::chrono::minutes{1};
constexpr auto kCheckEvery = std::chrono::seconds{5};  // sessions and tokens of open streams
constexpr auto kStalled = std::chrono::seconds{10};    // a catching-up client that reads nothing
constexpr int kGone = 4001;                            // the person's credentials were revoked, or they left the rules
constexpr int kTryAgain = 1013;                        // too slow: reconnect with since=<last id>

// The event's conversation as it is now, or, for the change that moved it, as it was in a queue
// or with an assignee the viewer saw (not merely unqueued: every new conversation is, for the
// moment before its rule files it).
bool visible(const storage::Viewer& v, const storage::EventRow& e) {
  if (v.sees(e.queue, e.assignee)) return true;
  if (!e.prior) return false;
  const auto& [queue, assignee] = *e.prior;
  return (queue || (assignee && *assignee == v.login) || v.all) && v.sees(queue, assignee);
}

}  // namespace

struct StreamHub::Client {
  std::string login;
  std::string request_id;
  std::optional<storage::EventId> since;
  bool fixed = false;          // a config token: its viewer never changes
  std::string session_digest;  // what it authenticated with, re-checked (check_credentials)
  std::string token_id;

  std::mutex mu;  // the fields below
  storage::Viewer viewer;
  std::shared_ptr<StreamSink> sink;
  bool gone = false;              // on_close ran
  std::optional<int> close_code;  // the hub is to close it (revoke, rules)

  // Set by open(), then the hub thread's own.
  bool reset_first = false;                               // {"type":"reset"} goes first
  storage::EventId cursor;                                // the newest id handled (sent, or not for this client's eyes)
  std::chrono::steady_clock::time_point stalled_since{};  // catching up with a full socket since
};

StreamHub::StreamHub(storage::Pool& pool, const Clock& clock, StreamOptions options, ViewerOf viewer_of)
    : pool_(pool), clock_(clock), options_(options), viewer_of_(std::move(viewer_of)) {}

StreamHub::~StreamHub() {
  stop();
}

void StreamHub::start() {
  if (started_.exchange(true)) return;
  thread_ = std::thread([this] { run(); });
}

void StreamHub::stop() {
  if (!started_ || stopping_.exchange(true)) return;
  bell_.interrupt();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& c : clients_) {
    std::lock_guard cl(c->mu);
    if (c->sink) c->sink->close(1001, "the server is going away");
  }
  clients_.clear();
}

std::size_t StreamHub::clients() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

HttpResponse StreamHub::open(storage::Viewer viewer, bool fixed, std::string session_digest, std::string token_id,
                             const std::string& since, const std::string& request_id) {
  auto client = std::make_shared<Client>();
  client->login = viewer.login;
  client->fixed = fixed;
  client->session_digest = std::move(session_digest);
  client->token_id = std::move(token_id);
  client->request_id = request_id;
  if (!since.empty()) {
    client->since = storage::EventId::parse(since);
    if (!client->since) return error_response(400, "invalid_parameter", "'since' must be an event id (decimal digits)");
  }
  client->viewer = std::move(viewer);
  // Where the client starts is decided before the upgrade: an event that commits once the client
  // has its 101 is one it must see.
  auto bounds = storage::event_bounds(pool_);
  if (!bounds) return error_response(bounds.error());
  if (client->since && (*client->since < bounds->pruned_through || *client->since > bounds->newest)) {
    log::info("stream_reset", {{"login", client->login},
                               {"since", client->since->str()},
                               {"pruned_through", bounds->pruned_through.str()},
                               {"newest", bounds->newest.str()},
                               {"req", request_id}});
    client->reset_first = true;
    client->cursor = bounds->newest;
  } else {
    client->cursor = client->since.value_or(bounds->newest);
  }

  auto stream = std::make_shared<HttpStream>();
  stream->kind = HttpStream::Kind::websocket;
  // The hub closes a client at max_backlog itself (1013); the sink's own bound is a backstop.
  stream->max_queue = options_.max_backlog + 16;
  stream->max_message_bytes = 4096;  // clients have nothing to say yet
  std::weak_ptr<Client> weak = client;
  stream->on_open = [this, weak](std::shared_ptr<StreamSink> sink) {
    auto c = weak.lock();
    if (!c) return;
    {
      std::lock_guard cl(c->mu);
      c->sink = std::move(sink);
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        std::lock_guard cl(c->mu);
        c->sink->close(1001, "the server is going away");
        return;
      }
      clients_.push_back(c);
    }
    // The rules may have changed since the request was authenticated (rules_changed() and
    // revoke() only reach registered clients): what this person sees is computed again.
    refresh_viewer(*c);
    log::info("stream_opened", {{"login", c->login}, {"req", c->request_id}});
    bell_.ring();
  };
  stream->on_close = [this, client] {
    {
      std::lock_guard cl(client->mu);
      client->gone = true;
      client->sink.reset();
    }
    log::info("stream_closed", {{"login", client->login}, {"req", client->request_id}});
    bell_.ring();
  };
  HttpResponse r;
  r.stream = std::move(stream);
  return r;
}

void StreamHub::rules_changed() {
  std::lock_guard lock(mu_);
  for (auto& c : clients_) refresh_viewer(*c);
  bell_.ring();
}

void StreamHub::refresh_viewer(Client& c) {
  if (c.fixed) return;
  auto viewer = viewer_of_(c.login);
  std::lock_guard cl(c.mu);
  if (viewer)
    c.viewer = std::move(*viewer);
  else
    c.close_code = kGone;
}

void StreamHub::too_slow(Client& c, StreamSink& sink, std::size_t backlog) {
  log::warn(
      "stream_too_slow",
      {{"login", c.login}, {"backlog", std::to_string(backlog)}, {"cursor", c.cursor.str()}, {"req", c.request_id}});
  sink.close(kTryAgain, "too slow: reconnect with since=" + c.cursor.str());
}

void StreamHub::revoke(const std::vector<std::string>& logins) {
  std::lock_guard lock(mu_);
  for (auto& c : clients_)
    if (!c->fixed && std::find(logins.begin(), logins.end(), c->login) != logins.end()) {
      std::lock_guard cl(c->mu);
      c->close_code = kGone;
    }
  bell_.ring();
}

void StreamHub::run() {
  // Where the table stands when the hub starts: clients without `since` follow from here.
  for (;;) {
    auto bounds = storage::event_bounds(pool_);
    if (bounds) {
      head_ = bounds->newest;
      break;
    }
    log::warn("stream_start_retry", {{"reason", bounds.error().message}});
    std::uint64_t seen = bell_.rung();
    bell_.wait(seen, kIdle);
    if (stopping_) return;
  }
  storage::EventId floor = head_;  // the window holds every event after this id
  std::uint64_t seen = bell_.rung();
  bool failing = false;
  while (!stopping_) {
    // The table's new rows into the window.
    for (;;) {
      auto rows = storage::events_after(pool_, head_, kPage);
      if (!rows) {
        if (!failing) log::warn("stream_read_failed", {{"reason", rows.error().message}});
        failing = true;
        break;
      }
      failing = false;
      for (auto& e : *rows) {
        head_ = e.id;
        window_.push_back(std::move(e));
      }
      while (window_.size() > kWindow) {
        floor = window_.front().id;
        window_.pop_front();
      }
      if (rows->size() < static_cast<std::size_t>(kPage)) break;
    }
    floor_ = floor;

    std::vector<std::shared_ptr<Client>> clients;
    {
      std::lock_guard lock(mu_);
      clients = clients_;
    }
    bool behind = false;
    const bool following = !clients.empty();
    std::vector<Client*> dropped;
    for (auto& c : clients)
      if (!serve(*c, behind)) dropped.push_back(c.get());
    if (!dropped.empty()) {
      std::lock_guard lock(mu_);
      std::erase_if(clients_,
                    [&](const auto& c) { return std::find(dropped.begin(), dropped.end(), c.get()) != dropped.end(); });
    }
    prune();
    check_credentials();
    // Nothing announces events (a NOTIFY per transaction would serialise commits, migration
    // 0015): the table is polled, often while anyone follows it.
    bell_.wait(seen, behind || following ? kLive : kIdle);
  }
}

bool StreamHub::serve(Client& c, bool& behind) {
  std::shared_ptr<StreamSink> sink;
  storage::Viewer viewer;
  {
    std::lock_guard cl(c.mu);
    if (c.gone) return false;
    if (c.close_code) {
      if (c.sink) c.sink->close(*c.close_code, "signed out: the person's access was revoked or changed");
      log::info("stream_revoked", {{"login", c.login}, {"req", c.request_id}});
      return false;
    }
    sink = c.sink;
    viewer = c.viewer;
  }
  if (!sink) return false;
  if (c.reset_first) {
    if (!sink->send(R"({"type":"reset"})")) return false;
    c.reset_first = false;
  }
  while (c.cursor < head_) {
    const auto waiting = sink->backlog();
    if (c.cursor >= floor_) {
      // Live: from the window. A client that lets max_backlog events pile up is closed.
      if (waiting >= options_.max_backlog) {
        too_slow(c, *sink, waiting);
        return false;
      }
      auto from = std::upper_bound(window_.begin(), window_.end(), c.cursor,
                                   [](const storage::EventId& id, const storage::EventRow& e) { return id < e.id; });
      for (auto it = from; it != window_.end(); ++it) {
        c.cursor = it->id;
        if (visible(viewer, *it) && !sink->send(it->json)) return false;
      }
      c.cursor = head_;
      break;
    }
    // Catching up from the table, as fast as the socket drains; a client that reads nothing for
    // kStalled is closed like a slow live one.
    if (waiting >= options_.max_backlog / 2) {
      const auto now = std::chrono::steady_clock::now();
      if (c.stalled_since == std::chrono::steady_clock::time_point{}) c.stalled_since = now;
      if (now - c.stalled_since > kStalled) {
        too_slow(c, *sink, waiting);
        return false;
      }
      behind = true;
      break;
    }
    c.stalled_since = {};
    if (c.cursor < pruned_through_) {
      // Pruned while it caught up: what it missed is gone.
      if (!sink->send(R"({"type":"reset"})")) return false;
      c.cursor = head_;
      break;
    }
    auto read = storage::events_after(pool_, c.cursor, kPage);
    if (!read) {
      behind = true;
      break;
    }
    behind = true;
    if (read->empty()) c.cursor = head_;  // nothing committed after the cursor
    for (const auto& e : *read) {
      if (e.id > head_) {
        c.cursor = head_;  // every row up to head_ is handled; the rest comes with the window
        break;
      }
      c.cursor = e.id;
      if (visible(viewer, e) && !sink->send(e.json)) return false;
    }
  }
  return true;
}

void StreamHub::prune() {
  const auto now = clock_.now();
  if (now - last_prune_ < kPruneEvery) return;
  last_prune_ = now;
  auto pruned = storage::prune_events(pool_, now - options_.keep);
  if (!pruned)
    log::warn("events_prune_failed", {{"reason", pruned.error().message}});
  else if (*pruned > 0)
    log::info("events_pruned", {{"count", std::to_string(*pruned)}});
  // Whoever pruned (any instance), catching-up clients compare with it.
  if (auto bounds = storage::event_bounds(pool_)) pruned_through_ = bounds->pruned_through;
}

void StreamHub::check_credentials() {
  const auto now = clock_.now();
  if (now - last_check_ < kCheckEvery) return;
  last_check_ = now;
  std::vector<std::shared_ptr<Client>> clients;
  {
    std::lock_guard lock(mu_);
    clients = clients_;
  }
  storage::LiveCredentials asked;
  for (const auto& c : clients) {
    if (!c->session_digest.empty()) asked.sessions.push_back(c->session_digest);
    if (!c->token_id.empty()) asked.tokens.push_back(c->token_id);
  }
  if (asked.sessions.empty() && asked.tokens.empty()) return;
  auto live = storage::live_credentials(pool_, asked, now);
  if (!live) return;  // the database is away: judged at the next check
  const auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  for (const auto& c : clients) {
    const bool ended = (!c->session_digest.empty() && !has(live->sessions, c->session_digest)) ||
                       (!c->token_id.empty() && !has(live->tokens, c->token_id));
    if (!ended) continue;
    std::lock_guard cl(c->mu);
    c->close_code = kGone;
  }
  bell_.ring();
}

}  // namespace switchboard::daemon
