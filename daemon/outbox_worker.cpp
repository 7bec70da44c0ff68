#include "daemon/outbox_worker.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <random>
#include <tuple>

#include "routing/core/log.hpp"
#include "storage/instance_lock.hpp"
#include "storage/outbox.hpp"
#include "storage/platform_events.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

OutboxWorker::OutboxWorker(storage::Pool& pool, std::string database_url, channels::Registry& registry,
                           const Clock& clock, EventBus& bus, OutboxWorkerOptions options)
    : pool_(pool),
      database_url_(std::move(database_url)),
      registry_(registry),
      clock_(clock),
      options_(std::move(options)),
      bus_(bus) {}

OutboxWorker::~OutboxWorker() {
  stop();
}

bool OutboxWorker::out_of_time() const {
  return stopping_ && std::chrono::steady_clock::now().time_since_epoch().count() >= record_deadline_.load();
}

OutboxWorker::Recorded OutboxWorker::record(const storage::Claim& claim, std::string_view what,
                                            const std::function<Result<bool>()>& op) {
  using namespace std::chrono_literals;
  std::chrono::milliseconds delay = 100ms;
  std::string reason;
  for (int attempt = 1;; ++attempt) {
    // After stop(), no call starts past the grace: each may wait for a connection.
    if (attempt > 1 && out_of_time()) {
      log::error("outbox_result_unrecorded",
                 {{"outbox", claim.outbox_id},
                  {"result", what},
                  {"tries", std::to_string(attempt - 1)},
                  {"reason", "the daemon is stopping and its grace ran out: " + reason},
                  {"action", "the row goes back to the queue; its next sender checks before resending"}});
      return Recorded::lost;
    }
    const auto r = op();
    if (r && *r) {
      if (attempt > 1)
        log::info("outbox_result_recorded",
                  {{"outbox", claim.outbox_id}, {"result", what}, {"tries", std::to_string(attempt)}});
      return Recorded::yes;
    }
    if (r) {
      // Not changed: recorded already by a try whose answer was lost, or superseded.
      if (auto settled = storage::claim_settled(pool_, claim); settled && *settled) {
        log::info("outbox_result_recorded", {{"outbox", claim.outbox_id},
                                             {"result", what},
                                             {"tries", std::to_string(attempt)},
                                             {"note", "found recorded"}});
        return Recorded::yes;
      }
      log::warn("outbox_result_superseded",
                {{"outbox", claim.outbox_id},
                 {"result", what},
                 {"reason", "the row was claimed again after this claim's lease: the newer claim decides"}});
      return Recorded::superseded;
    }
    const Error& e = r.error();
    reason = e.message;
    if (e.kind != ErrorKind::unavailable) {
      log::error("outbox_result_unrecorded",
                 {{"outbox", claim.outbox_id},
                  {"result", what},
                  {"tries", std::to_string(attempt)},
                  {"reason", e.message},
                  {"action", "the row goes back to the queue by its lease; its next sender checks before resending"}});
      return Recorded::lost;
    }
    if (attempt == 1)
      log::warn("outbox_record_retrying", {{"outbox", claim.outbox_id}, {"result", what}, {"reason", e.message}});
    std::this_thread::sleep_for(delay);
    delay = std::min<std::chrono::milliseconds>(delay * 2, 2s);
  }
}

void OutboxWorker::start() {
  // Taken by the keeper thread, not here: start() runs before the daemon reports ready.
  instance_ = std::make_unique<storage::InstanceLock>(database_url_);
  keeper_ = std::thread([this] { keep_lock(); });
  subscription_ = bus_.subscribe("switchboard_outbox", [this](const BusEvent&) { doorbell_.ring(); });
  for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { run(i); });
  log::info("outbox_started", {{"workers", std::to_string(options_.threads)}});
}

void OutboxWorker::stop() {
  if (threads_.empty() && !keeper_.joinable()) return;
  record_deadline_ = (std::chrono::steady_clock::now() + options_.record_grace).time_since_epoch().count();
  {
    std::lock_guard lock(keeper_mu_);
    stopping_ = true;
  }
  keeper_cv_.notify_all();
  bus_.unsubscribe(subscription_);
  doorbell_.interrupt();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // Last: the lock stays held while results are still being recorded.
  if (keeper_.joinable()) keeper_.join();
  log::info("outbox_stopped");
}

void OutboxWorker::run(std::size_t index) {
  std::uint64_t rung = doorbell_.rung();
  auto last_sweep = std::chrono::steady_clock::time_point{};
  // Claims wait for the keeper's first try at the instance lock, so that they carry its key (a
  // claim without one is only released by its lease).
  while (!swept_once_ && !stopping_) std::this_thread::sleep_for(std::chrono::milliseconds{5});
  while (!stopping_) {
    // One worker returns rows whose sender died mid-send (their lease ran out) to the queue.
    if (index == 0 && std::chrono::steady_clock::now() - last_sweep >= options_.sweep_interval) {
      last_sweep = std::chrono::steady_clock::now();
      sweep();
    }
    auto items = storage::claim_due(pool_, options_.batch, options_.lease, clock_.now(), instance_->key());
    if (!items) {
      log::warn("outbox_claim_failed", {{"code", items.error().code}, {"reason", items.error().message}});
      doorbell_.wait(rung, options_.sweep_interval);
      continue;
    }
    if (items->empty()) {
      doorbell_.wait(rung, options_.sweep_interval);
      continue;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      if (stopping_) {
        // Claimed but not attempted: back to the queue, due now, for the next start. A doubt
        // from an earlier attempt stays. Past the grace, the lock's end releases them.
        if (out_of_time()) break;
        const auto claim = item.claim();
        record(claim, "released", [&] {
          return storage::mark_retry(pool_, claim, "not attempted: the daemon was stopping", clock_.now(),
                                     item.in_doubt_since.has_value());
        });
        continue;
      }
      deliver(item);
    }
  }
}

void OutboxWorker::keep_lock() {
  int last = 0;
  std::vector<int> before;
  while (!stopping_) {
    const int key = instance_->refresh();
    if (key != 0 && last != 0 && key != last) {
      // Our rows in flight under the old key: once its session is gone, another instance would
      // take them for a dead one's.
      auto held = instance_->held();
      held.erase(std::remove(held.begin(), held.end(), key), held.end());
      auto adopted = storage::adopt_claims(pool_, held, key);
      log::warn("outbox_claims_adopted",
                {{"key", std::to_string(key)},
                 {"rows", adopted ? std::to_string(*adopted) : "unknown"},
                 {"reason", adopted ? "the instance lock changed key" : adopted.error().message}});
    }
    if (key != 0) last = key;
    swept_once_ = true;
    std::unique_lock lock(keeper_mu_);
    keeper_cv_.wait_for(lock, options_.sweep_interval, [this] { return stopping_.load(); });
  }
}

void OutboxWorker::sweep() {
  // A dead instance's rows go back once its lock has been missing for restart_grace: a live
  // instance whose lock session was cut takes it again within a sweep interval. Without a lock
  // of our own the database or the lock is out of reach: leases only.
  std::vector<int> confirmed;
  const auto now = std::chrono::steady_clock::now();
  auto dead = instance_->key() != 0 ? storage::dead_claimers(pool_, instance_->held(), options_.restart_grace)
                                    : Result<std::vector<int>>(std::vector<int>{});
  if (dead && instance_->key() != 0) {
    std::map<int, std::chrono::steady_clock::time_point> still;
    for (int key : *dead) {
      const auto it = suspects_.find(key);
      const auto since = it == suspects_.end() ? now : it->second;
      still.emplace(key, since);
      if (now - since >= options_.restart_grace) confirmed.push_back(key);
    }
    suspects_ = std::move(still);
  } else {
    suspects_.clear();
  }
  auto released = storage::release_expired(pool_, clock_.now(), confirmed);
  if (released && *released > 0)
    log::warn("outbox_released",
              {{"rows", std::to_string(*released)},
               {"reason", confirmed.empty() ? "lease expired" : "lease expired or the claiming daemon stopped"}});
}

void OutboxWorker::deliver(const storage::OutboxItem& item) {
  ++in_flight_;
  struct Done {
    std::atomic<std::size_t>& n;
    ~Done() { --n; }
  } done{in_flight_};

  const std::string& id = item.id;
  const storage::Claim claim = item.claim();
  const auto result = [&](std::string_view what) {
    if (options_.on_result) options_.on_result(item.channel, what);
  };
  auto adapter = registry_.sender(item.channel);
  if (!adapter) {
    record(claim, "failed", [&] { return storage::mark_failed(pool_, claim, adapter.error().message); });
    log::error("outbox_failed", {{"outbox", id}, {"channel", item.channel}, {"reason", adapter.error().message}});
    return;
  }
  channels::OutboundMessage message;
  message.outbox_id = id;
  message.message_id = item.message_id;
  message.channel = channel_from_string(item.channel).value_or(Channel::api);
  message.account = item.account;
  message.conversation_id = item.conversation_id;
  message.recipient = item.recipient.value_or("");
  auto payload = parse_outbound_payload(item.payload);
  if (!payload) {
    // Written by the pipeline or the REST API in one place (routing/core/outbound.cpp): a row
    // that does not parse was written by hand, and sending a part of it would be worse.
    record(claim, "failed", [&] { return storage::mark_failed(pool_, claim, payload.error().message); });
    result("failed");
    log::error("outbox_failed", {{"outbox", id}, {"channel", item.channel}, {"reason", payload.error().code},
                                 {"detail", payload.error().message}});
    return;
  }
  message.payload = std::move(*payload);
  message.text = message.payload.text;
  message.from_human = message.payload.from_human();
  message.last_inbound_at = item.last_inbound_at;

  // An earlier attempt may have reached the platform: ask before sending again.
  if (item.in_doubt_since) {
    auto check = (*adapter)->check_resend(message, *item.in_doubt_since);
    std::optional<channels::Delivery> found;
    if (check && !check->candidates.empty()) {
      std::vector<std::string> ids;
      for (const auto& c : check->candidates) ids.push_back(c.external_id);
      auto known = storage::known_outbound_ids(pool_, item.channel, item.account, ids);
      if (!known) {
        check = known.error();
      } else {
        for (const auto& c : check->candidates)
          if (std::find(known->begin(), known->end(), c.external_id) == known->end()) {
            found = c;
            break;
          }
      }
    }
    if (!check) {
      const Error& e = check.error();
      if (channels::should_retry(options_.retry, item.attempts)) {
        const auto delay = channels::backoff(options_.retry, item.attempts, unit_random());
        record(claim, "retry", [&] {
          return storage::mark_retry(pool_, claim, "cannot tell whether it was sent: " + e.message,
                                     clock_.now() + delay, true);
        });
        result("retry");
        log::warn("outbox_resend_check_failed", {{"outbox", id},
                                                 {"channel", item.channel},
                                                 {"attempt", std::to_string(item.attempts)},
                                                 {"reason", e.message}});
      } else {
        record(claim, "failed",
               [&] { return storage::mark_failed(pool_, claim, "cannot tell whether it was sent: " + e.message); });
        result("failed");
        log::error("outbox_failed", {{"outbox", id},
                                     {"channel", item.channel},
                                     {"attempt", std::to_string(item.attempts)},
                                     {"code", e.code},
                                     {"reason", "cannot tell whether it was sent: " + e.message}});
      }
      return;
    }
    if (found) {
      const auto& d = *found;
      const std::string state = d.status == "delivered" ? "delivered" : "sent";
      auto verdict = storage::Found::claim_gone;
      const auto recorded = record(claim, state, [&]() -> Result<bool> {
        auto r = storage::mark_found(pool_, claim, state, d.external_id, clock_.now());
        if (!r) return r.error();
        verdict = *r;
        return *r != storage::Found::claim_gone;
      });
      if (recorded != Recorded::yes) return;
      // claim_gone yet recorded: a first try committed and its answer was lost (record() found
      // the claim settled).
      if (verdict == storage::Found::recorded || verdict == storage::Found::claim_gone) {
        result(state);
        log::info("outbox_sent", {{"outbox", id},
                                  {"channel", item.channel},
                                  {"account", item.account},
                                  {"state", state},
                                  {"attempt", std::to_string(item.attempts)},
                                  {"resend", "avoided"},
                                  {"how", check->how}});
        return;
      }
      // Another reply to this recipient may be the message the platform has: neither send nor
      // record; check again once that one is settled.
      const auto delay = channels::backoff(options_.retry, 1, unit_random());
      record(claim, "retry", [&] {
        return storage::mark_retry(pool_, claim, "in doubt: the platform's message may be another reply's",
                                   clock_.now() + delay, true);
      });
      result("retry");
      log::warn(
          "outbox_resend_ambiguous",
          {{"outbox", id},
           {"channel", item.channel},
           {"account", item.account},
           {"external_id", d.external_id},
           {"retry_in_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())}});
      return;
    }
    log::warn("outbox_resend", {{"outbox", id},
                                {"channel", item.channel},
                                {"account", item.account},
                                {"in_doubt_since", format_rfc3339(*item.in_doubt_since)},
                                {"how", check->how},
                                {"exactly_once", check->exactly_once ? "yes" : "no"}});
  }

  // From here on the outcome is in doubt until a result is recorded.
  auto begun = storage::begin_attempt(pool_, claim, clock_.now());
  if (!begun) {
    record(claim, "released", [&] {
      return storage::mark_retry(pool_, claim, "not attempted: " + begun.error().message, clock_.now(),
                                 item.in_doubt_since.has_value());
    });
    log::warn("outbox_not_attempted", {{"outbox", id}, {"channel", item.channel}, {"reason", begun.error().message}});
    return;
  }
  if (!*begun) {
    log::warn("outbox_claim_lost", {{"outbox", id},
                                    {"channel", item.channel},
                                    {"reason", "the lease ran out before the send began: not sent under it"}});
    return;
  }

  auto sent = (*adapter)->send(message);
  if (sent) {
    const std::string state = sent->status == "delivered" ? "delivered" : "sent";
    if (record(claim, state, [&] {
          return storage::mark_sent(pool_, claim, state, sent->external_id, clock_.now());
        }) == Recorded::yes) {
      result(state);
      log::info("outbox_sent", {{"outbox", id},
                                {"channel", item.channel},
                                {"account", item.account},
                                {"state", state},
                                {"attempt", std::to_string(item.attempts)}});
    } else {
      log::warn("outbox_sent_unrecorded",
                {{"outbox", id}, {"channel", item.channel}, {"state", state}, {"external_id", sent->external_id}});
    }
    return;
  }
  const Error& e = sent.error();
  // The platform had the request but its answer never came: it may have sent the message.
  const bool in_doubt = sent.in_doubt();
  const channels::SendOutcome outcome = sent.outcome();
  if (outcome == channels::SendOutcome::retry_after && channels::should_retry(options_.retry, item.attempts)) {
    const auto delay = channels::backoff(options_.retry, item.attempts, unit_random());
    record(claim, "retry",
           [&] { return storage::mark_retry(pool_, claim, e.message, clock_.now() + delay, in_doubt); });
    result("retry");
    log::warn("outbox_retry",
              {{"outbox", id},
               {"channel", item.channel},
               {"account", item.account},
               {"attempt", std::to_string(item.attempts)},
               {"reason", e.message},
               {"in_doubt", in_doubt ? "yes" : "no"},
               {"retry_in_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())}});
    return;
  }
  if (outcome == channels::SendOutcome::blocked_by_window) {
    record(claim, "blocked", [&] { return storage::mark_blocked(pool_, claim, e.message); });
    result("blocked");
    log::warn("outbox_blocked", {{"outbox", id},
                                 {"channel", item.channel},
                                 {"account", item.account},
                                 {"conversation", item.conversation_id},
                                 {"reason", e.message}});
    return;
  }
  if (outcome == channels::SendOutcome::opted_out && !message.recipient.empty()) {
    auto channel = channel_from_string(item.channel);
    if (channel) {
      OptOut opt_out{*channel, item.account, Identity{}, true};
      if (auto recorded = storage::record_opt_out(pool_, opt_out, message.recipient, clock_.now()); !recorded)
        log::error("opt_out_record_failed", {{"outbox", id}, {"reason", recorded.error().message}});
    }
  }
  if (outcome == channels::SendOutcome::credentials_rejected)
    log::error("channel_credentials_rejected", {{"channel", item.channel},
                                                {"account", item.account},
                                                {"action", "operator: renew the access token in the config"},
                                                {"reason", e.message}});
  record(claim, "failed", [&] { return storage::mark_failed(pool_, claim, e.message); });
  result("failed");
  log::error("outbox_failed", {{"outbox", id},
                               {"channel", item.channel},
                               {"account", item.account},
                               {"attempt", std::to_string(item.attempts)},
                               {"code", e.code},
                               {"outcome", std::string(channels::to_string(outcome))},
                               {"reason", e.message}});
}

}  // namespace switchboard::daemon
