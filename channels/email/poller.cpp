#include "channels/email/poller.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "channels/email/adapter.hpp"
#include "channels/email/mime.hpp"
#include "routing/core/log.hpp"

namespace switchboard::channels::email {

namespace {

// IDLE is re-issued this often (stop() ends it at once through the wake descriptor).
constexpr std::chrono::milliseconds kIdleSlice{60000};
constexpr std::chrono::milliseconds kMaxBackoff{300000};

}  // namespace

Poller::Poller(const Mailbox& mailbox, Host& host, const EmailAdapter& adapter)
    : config_(mailbox), host_(host), adapter_(adapter), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Poller::~Poller() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Poller::start() {
  thread_ = std::thread([this] { run(); });
}

void Poller::stop() {
  stopping_ = true;
  cv_.notify_all();
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);  // ends an IMAP IDLE at once
  }
  if (thread_.joinable()) thread_.join();
}

SourceStatus Poller::status() const {
  std::lock_guard lock(mu_);
  return SourceStatus{
      config_.name,
      state_,
      error_,
      last_poll_,
      {{"stored", stored_}, {"duplicate", duplicate_}, {"system", system_}, {"quarantined", quarantined_}}};
}

void Poller::counted(std::string_view result) {
  {
    std::lock_guard lock(mu_);
    ++(result == "system" ? system_ : result == "stored" ? stored_ : result == "duplicate" ? duplicate_ : quarantined_);
  }
  host_.sources().fetched(config_.name, result);
}

void Poller::set_state(std::string state, std::string error) {
  std::lock_guard lock(mu_);
  if (state_ != state || error_ != error) {
    if (state == "down")
      log::warn("mailbox_down", {{"mailbox", config_.name}, {"reason", error}});
    else if (state_ == "down" || state_ == "starting")
      log::info("mailbox_up", {{"mailbox", config_.name}, {"state", state}});
  }
  state_ = std::move(state);
  error_ = std::move(error);
}

bool Poller::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_.load(); });
  return !stopping_;
}

void Poller::run() {
  const std::unique_ptr<SourceLock> lock = host_.sources().lock(config_.name);
  auto backoff = std::chrono::milliseconds{1000};
  auto failed = [&](const Error& e) {
    set_state("down", e.message);
    if (!wait(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  };
  while (!stopping_) {
    auto mine = lock->try_acquire();
    if (!mine) {
      failed(mine.error());
      continue;
    }
    if (!*mine) {
      set_state("standby");
      wait(config_.poll_interval);
      continue;
    }
    auto options = config_.imap;
    options.wake_fd = wake_fd_;
    ImapClient client(options);
    if (auto connected = client.connect(); !connected) {
      failed(connected.error());
      continue;
    }
    for (const auto& folder : {config_.processed_folder, config_.quarantine_folder})
      if (!folder.empty())
        if (auto created = client.create_folder_if_missing(folder); !created)
          log::warn("mailbox_folder_missing",
                    {{"mailbox", config_.name}, {"folder", folder}, {"reason", created.error().message}});
    const bool idle = config_.idle && client.has_capability("IDLE");
    Status broken = Ok{};
    while (!stopping_ && lock->held()) {
      auto selected = client.select(config_.folder);
      if (!selected) {
        broken = selected.error();
        break;
      }
      if (auto done = pass(client, selected->uidvalidity); !done) {
        broken = done.error();
        break;
      }
      backoff = std::chrono::milliseconds{1000};
      {
        std::lock_guard guard(mu_);
        last_poll_ = host_.clock().now();
      }
      set_state("polling");
      // Wait for new mail: IDLE in short slices where the server has it, else sleep.
      auto until = std::chrono::steady_clock::now() + config_.poll_interval;
      bool woken = false;
      while (!stopping_ && !woken && std::chrono::steady_clock::now() < until) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        auto slice = std::min(left, kIdleSlice);
        if (!idle) {
          wait(slice);
          continue;
        }
        auto news = client.idle(slice);
        if (!news) {
          broken = news.error();
          break;
        }
        woken = *news;
      }
      if (!broken) break;
    }
    client.logout();
    if (!broken && !stopping_) failed(broken.error());
  }
  set_state("stopped");
}

Status Poller::pass(ImapClient& client, std::uint32_t uidvalidity) {
  auto position = host_.sources().position(config_.name, config_.folder);
  if (!position) return position.error();
  std::uint32_t last_uid = 0;
  if (*position && (*position)->epoch == uidvalidity) {
    last_uid = (*position)->last;
  } else if (*position) {
    // The server renumbered the folder: scan it again; what is stored already is recognised
    // by its external_id and not stored twice.
    log::warn("mailbox_uidvalidity_changed", {{"mailbox", config_.name},
                                              {"folder", config_.folder},
                                              {"was", std::to_string((*position)->epoch)},
                                              {"now", std::to_string(uidvalidity)}});
  }
  auto uids = client.uids_after(last_uid);
  if (!uids) return uids.error();
  if (uids->empty()) {
    if (!*position || (*position)->epoch != uidvalidity)
      return host_.sources().save_position(config_.name, config_.folder, {uidvalidity, last_uid});
    return Ok{};
  }
  auto sizes = client.sizes(*uids);
  if (!sizes) return sizes.error();
  std::sort(sizes->begin(), sizes->end());
  for (const auto& [uid, size] : *sizes) {
    if (stopping_) break;
    if (auto done = one_mail(client, uidvalidity, uid, size); !done) return done;
    if (auto saved = host_.sources().save_position(config_.name, config_.folder, {uidvalidity, uid}); !saved)
      return saved.error();
  }
  return Ok{};
}

// Every mail ends in exactly one of: stored (a message), stored before (a duplicate), a system
// message, or the quarantine folder with a log line. Only then is it marked or moved; a database
// outage leaves it where it is, to be fetched again.
Status Poller::one_mail(ImapClient& client, std::uint32_t uidvalidity, std::uint32_t uid, std::uint64_t size) {
  const std::string request_id = "imap-" + config_.name + "-" + std::to_string(uidvalidity) + "-" + std::to_string(uid);
  const log::RequestScope scope(request_id);
  auto too_large = [&](const std::string& why) -> Status {
    auto header = client.fetch_header(uid);
    if (!header && header.error().kind == ErrorKind::unavailable) return header.error();
    const auto summary = summarize_headers(header ? *header : std::string());
    return quarantine(client, uid, summary.message_id, summary.sender, why, request_id);
  };
  if (size > config_.max_message_bytes)
    return too_large("larger than max_message_size (" + std::to_string(size) + " bytes)");
  auto fetched = client.fetch(uid, config_.max_message_bytes);
  if (!fetched) {
    if (fetched.error().kind == ErrorKind::too_large) return too_large(fetched.error().message);
    return fetched.error();
  }
  const auto summary = summarize_headers(fetched->raw);
  std::vector<std::string> defects;
  auto events = adapter_.parse_mail(fetched->raw, config_.name, &defects);
  if (!defects.empty()) {
    std::string list;
    for (const auto& d : defects) list += (list.empty() ? "" : "; ") + d;
    log::warn("mail_defects", {{"mailbox", config_.name},
                               {"uid", std::to_string(uid)},
                               {"message_id", summary.message_id},
                               {"defects", list},
                               {"req", request_id}});
  }
  if (!events) return quarantine(client, uid, summary.message_id, summary.sender, events.error().message, request_id);
  if (events->empty())  // parse_mail gives one event per mail; never stored as nothing
    return quarantine(client, uid, summary.message_id, summary.sender, "the mail gave nothing to store", request_id);
  channels::IntakeReport report;
  if (auto applied = host_.intake().accept(request_id, *events, &report); !applied)
    return applied.error();  // fetched again
  if (!report.failures.empty())
    return quarantine(
        client, uid, summary.message_id, summary.sender,
        "the database refused it: " + report.failures.front().code + ": " + report.failures.front().message,
        request_id);
  counted(report.system > 0 ? "system" : report.stored > 0 ? "stored" : "duplicate");
  return done_with(client, uid);
}

Status Poller::done_with(ImapClient& client, std::uint32_t uid) {
  if (!config_.processed_folder.empty()) return client.move(uid, config_.processed_folder);
  return client.mark_seen(uid);
}

Status Poller::quarantine(ImapClient& client, std::uint32_t uid, const std::string& message_id,
                          const std::string& sender, const std::string& why, const std::string& request_id) {
  log::error("mail_quarantined", {{"mailbox", config_.name},
                                  {"uid", std::to_string(uid)},
                                  {"message_id", message_id},
                                  {"sender", sender},
                                  {"reason", why},
                                  {"moved_to", config_.quarantine_folder},
                                  {"req", request_id}});
  if (auto moved = client.move(uid, config_.quarantine_folder); !moved) return moved;
  counted("quarantined");
  return Ok{};
}

}  // namespace switchboard::channels::email
