#include "daemon/email_poller.hpp"

#include <algorithm>

#include "routing/core/log.hpp"
#include "storage/mailboxes.hpp"

namespace switchboard::daemon {

namespace email = channels::email;

namespace {

// IDLE is re-issued this often, so that stop() is never kept waiting long.
constexpr std::chrono::milliseconds kIdleSlice{5000};
constexpr std::chrono::milliseconds kMaxBackoff{300000};

}  // namespace

email::ImapOptions imap_options(const MailServerConfig& server) {
  email::ImapOptions o;
  o.host = server.host;
  o.port = server.port;
  o.security = server.security == "none"       ? email::ImapSecurity::none
               : server.security == "starttls" ? email::ImapSecurity::starttls
                                               : email::ImapSecurity::tls;
  o.user = server.user;
  o.password = server.password;
  o.timeout = server.timeout;
  o.verify_certificate = server.verify_certificate;
  o.ca_file = server.ca_file;
  return o;
}

email::SmtpOptions smtp_options(const MailServerConfig& server) {
  email::SmtpOptions o;
  o.host = server.host;
  o.port = server.port;
  o.security = server.security == "none"  ? email::SmtpSecurity::none
               : server.security == "tls" ? email::SmtpSecurity::tls
                                          : email::SmtpSecurity::starttls;
  o.user = server.user;
  o.password = server.password;
  o.timeout = server.timeout;
  o.verify_certificate = server.verify_certificate;
  o.ca_file = server.ca_file;
  return o;
}

EmailPoller::EmailPoller(MailboxConfig config, std::string database_url, storage::Pool& pool,
                         const email::EmailAdapter& adapter, const Clock& clock, Apply apply, Count count)
    : config_(std::move(config)),
      database_url_(std::move(database_url)),
      pool_(pool),
      adapter_(adapter),
      clock_(clock),
      apply_(std::move(apply)),
      count_(std::move(count)) {}

EmailPoller::~EmailPoller() { stop(); }

void EmailPoller::start() { thread_ = std::thread([this] { run(); }); }

void EmailPoller::stop() {
  stopping_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

MailboxStatus EmailPoller::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void EmailPoller::set_state(std::string state, std::string error) {
  std::lock_guard lock(mu_);
  if (status_.state != state || status_.error != error) {
    if (state == "down")
      log::warn("mailbox_down", {{"mailbox", config_.name}, {"reason", error}});
    else if (status_.state == "down" || status_.state == "starting")
      log::info("mailbox_up", {{"mailbox", config_.name}, {"state", state}});
  }
  status_.state = std::move(state);
  status_.error = std::move(error);
}

bool EmailPoller::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_.load(); });
  return !stopping_;
}

void EmailPoller::run() {
  storage::MailboxLock lock(database_url_, config_.name);
  auto backoff = std::chrono::milliseconds{1000};
  auto failed = [&](const Error& e) {
    set_state("down", e.message);
    if (!wait(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  };
  while (!stopping_) {
    auto mine = lock.try_acquire();
    if (!mine) {
      failed(mine.error());
      continue;
    }
    if (!*mine) {
      set_state("standby");
      wait(config_.poll_interval);
      continue;
    }
    email::ImapClient client(imap_options(config_.imap));
    if (auto connected = client.connect(); !connected) {
      failed(connected.error());
      continue;
    }
    for (const auto& folder : {config_.processed_folder, config_.quarantine_folder})
      if (!folder.empty()) (void)client.create_folder_if_missing(folder);
    const bool idle = config_.idle && client.has_capability("IDLE");
    Status broken = Ok{};
    while (!stopping_ && lock.held()) {
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
        status_.last_poll = clock_.now();
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

Status EmailPoller::pass(email::ImapClient& client, std::uint32_t uidvalidity) {
  auto position = storage::get_mailbox_position(pool_, config_.name, config_.folder);
  if (!position) return position.error();
  std::uint32_t last_uid = 0;
  if (*position && (*position)->uidvalidity == uidvalidity) {
    last_uid = (*position)->last_uid;
  } else if (*position) {
    // The server renumbered the folder: scan it again; what is stored already is recognised
    // by its external_id and not stored twice.
    log::warn("mailbox_uidvalidity_changed", {{"mailbox", config_.name}, {"folder", config_.folder},
                                              {"was", std::to_string((*position)->uidvalidity)},
                                              {"now", std::to_string(uidvalidity)}});
  }
  auto uids = client.uids_after(last_uid);
  if (!uids) return uids.error();
  if (uids->empty()) {
    if (!*position || (*position)->uidvalidity != uidvalidity)
      return storage::save_mailbox_position(pool_, config_.name, config_.folder, {uidvalidity, last_uid});
    return Ok{};
  }
  auto sizes = client.sizes(*uids);
  if (!sizes) return sizes.error();
  std::sort(sizes->begin(), sizes->end());
  for (const auto& [uid, size] : *sizes) {
    if (stopping_) break;
    const std::string request_id = "imap-" + config_.name + "-" + std::to_string(uidvalidity) + "-" + std::to_string(uid);
    if (size > config_.max_message_bytes) {
      if (auto aside = set_aside(client, uid, "larger than max_message_size (" + std::to_string(size) + " bytes)"); !aside)
        return aside;
    } else {
      auto fetched = client.fetch(uid, config_.max_message_bytes);
      if (!fetched) {
        if (fetched.error().kind != ErrorKind::too_large) return fetched.error();
        if (auto aside = set_aside(client, uid, fetched.error().message); !aside) return aside;
      } else {
        std::vector<std::string> defects;
        auto events = adapter_.parse_mail(fetched->raw, config_.name, &defects);
        if (!defects.empty()) {
          std::string list;
          for (const auto& d : defects) list += (list.empty() ? "" : "; ") + d;
          log::warn("mail_defects", {{"mailbox", config_.name}, {"uid", std::to_string(uid)}, {"defects", list},
                                     {"req", request_id}});
        }
        if (!events) {
          if (auto aside = set_aside(client, uid, events.error().message); !aside) return aside;
        } else {
          if (auto applied = apply_(request_id, *events); !applied) return applied.error();  // not marked: fetched again
          {
            std::lock_guard lock(mu_);
            ++status_.stored;
          }
          if (count_) count_(config_.name, "stored");
          if (auto done = done_with(client, uid); !done) return done;
        }
      }
    }
    if (auto saved = storage::save_mailbox_position(pool_, config_.name, config_.folder, {uidvalidity, uid}); !saved)
      return saved.error();
  }
  return Ok{};
}

Status EmailPoller::done_with(email::ImapClient& client, std::uint32_t uid) {
  if (!config_.processed_folder.empty()) return client.move(uid, config_.processed_folder);
  return client.mark_seen(uid);
}

Status EmailPoller::set_aside(email::ImapClient& client, std::uint32_t uid, const std::string& why) {
  log::error("mail_set_aside", {{"mailbox", config_.name}, {"uid", std::to_string(uid)}, {"reason", why},
                                {"moved_to", config_.quarantine_folder.empty() ? "(kept, marked seen)" : config_.quarantine_folder}});
  {
    std::lock_guard lock(mu_);
    ++status_.set_aside;
  }
  if (count_) count_(config_.name, "set_aside");
  if (!config_.quarantine_folder.empty()) return client.move(uid, config_.quarantine_folder);
  return client.mark_seen(uid);
}

}  // namespace switchboard::daemon
