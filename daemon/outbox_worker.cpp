#include "daemon/outbox_worker.hpp"

#include <boost/json.hpp>
#include <random>
#include <tuple>

#include "routing/core/log.hpp"
#include "storage/listener.hpp"
#include "storage/outbox.hpp"
#include "storage/platform_events.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

// A result that could not be recorded leaves the row 'sending': its lease runs out and it is
// sent again (at least once), so the failure only needs to be visible.
void check_recorded(const Result<bool>& recorded, const std::string& id, std::string_view what) {
  if (!recorded)
    log::error("outbox_record_failed", {{"outbox", id}, {"result", what}, {"reason", recorded.error().message}});
}

double unit_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// The payload's text, and whether a person wrote it (agent replies carry their author).
std::pair<std::string, bool> text_of(const std::string& payload) {
  json::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return {};
  const json::value* t = v.get_object().if_contains("text");
  const json::value* author = v.get_object().if_contains("author");
  return {t && t->is_string() ? std::string(t->get_string()) : std::string(), author && author->is_string()};
}

// One adapter serves several channels of one platform.
std::string_view adapter_for(std::string_view channel) {
  if (channel == "messenger" || channel == "whatsapp") return "meta";
  if (channel == "sms") return "twilio";
  return channel;
}

}  // namespace

OutboxWorker::OutboxWorker(storage::Pool& pool, std::string database_url, channels::Registry& registry,
                           const Clock& clock, OutboxWorkerOptions options)
    : pool_(pool),
      database_url_(std::move(database_url)),
      registry_(registry),
      clock_(clock),
      options_(std::move(options)) {}

OutboxWorker::~OutboxWorker() { stop(); }

void OutboxWorker::start() {
  for (std::size_t i = 0; i < options_.threads; ++i)
    listeners_.push_back(std::make_unique<storage::Listener>(storage::ListenerOptions{.url = database_url_}));
  for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this, i] { run(i); });
  log::info("outbox_started", {{"workers", std::to_string(options_.threads)}});
}

void OutboxWorker::stop() {
  if (threads_.empty()) return;
  stopping_ = true;
  for (auto& l : listeners_) l->interrupt();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  log::info("outbox_stopped");
}

void OutboxWorker::run(std::size_t index) {
  storage::Listener& listener = *listeners_[index];
  auto last_sweep = std::chrono::steady_clock::time_point{};
  while (!stopping_) {
    // One worker returns rows whose sender died mid-send (their lease ran out) to the queue.
    if (index == 0 && std::chrono::steady_clock::now() - last_sweep >= options_.sweep_interval) {
      last_sweep = std::chrono::steady_clock::now();
      auto released = storage::release_expired(pool_, clock_.now());
      if (released && *released > 0)
        log::warn("outbox_lease_expired", {{"rows", std::to_string(*released)}});
    }
    auto items = storage::claim_due(pool_, options_.batch, options_.lease, clock_.now());
    if (!items) {
      log::warn("outbox_claim_failed", {{"code", items.error().code}, {"reason", items.error().message}});
      listener.wait(options_.sweep_interval);
      continue;
    }
    if (items->empty()) {
      listener.wait(options_.sweep_interval);
      continue;
    }
    for (std::size_t i = 0; i < items->size(); ++i) {
      const auto& item = (*items)[i];
      if (stopping_) {
        // Claimed but not attempted: back to the queue, due now, for the next start.
        check_recorded(storage::mark_retry(pool_, item.id, "not attempted: the daemon was stopping", clock_.now()),
                       item.id, "released");
        continue;
      }
      deliver(item);
    }
  }
}

void OutboxWorker::deliver(const storage::OutboxItem& item) {
  ++in_flight_;
  struct Done {
    std::atomic<std::size_t>& n;
    ~Done() { --n; }
  } done{in_flight_};

  std::string id = item.id;
  auto adapter = registry_.find(adapter_for(item.channel));
  if (!adapter) {
    check_recorded(storage::mark_failed(pool_, id, adapter.error().message), id, "failed");
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
  message.payload = item.payload;
  std::tie(message.text, message.from_human) = text_of(item.payload);
  message.last_inbound_at = item.last_inbound_at;

  auto sent = (*adapter)->send(message);
  if (sent) {
    std::string state = sent->status == "delivered" ? "delivered" : "sent";
    check_recorded(storage::mark_sent(pool_, id, state, sent->external_id, clock_.now()), id, state);
    if (options_.on_result) options_.on_result(item.channel, state);
    log::info("outbox_sent", {{"outbox", id}, {"channel", item.channel}, {"account", item.account},
                              {"state", state}, {"attempt", std::to_string(item.attempts)}});
    return;
  }
  const Error& e = sent.error();
  bool retryable = e.kind == ErrorKind::unavailable;
  if (retryable && channels::should_retry(options_.retry, item.attempts)) {
    auto delay = channels::backoff(options_.retry, item.attempts, unit_random());
    check_recorded(storage::mark_retry(pool_, id, e.message, clock_.now() + delay), id, "retry");
    if (options_.on_result) options_.on_result(item.channel, "retry");
    log::warn("outbox_retry", {{"outbox", id}, {"channel", item.channel}, {"account", item.account},
                               {"attempt", std::to_string(item.attempts)}, {"reason", e.message},
                               {"retry_in_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())}});
    return;
  }
  if (e.code == "outside_window") {
    check_recorded(storage::mark_blocked(pool_, id, e.message), id, "blocked");
    if (options_.on_result) options_.on_result(item.channel, "blocked");
    log::warn("outbox_blocked", {{"outbox", id}, {"channel", item.channel}, {"account", item.account},
                                 {"conversation", item.conversation_id}, {"reason", e.message}});
    return;
  }
  if (e.code == "opted_out" && !message.recipient.empty()) {
    auto channel = channel_from_string(item.channel);
    if (channel) {
      OptOut opt_out{*channel, item.account, Identity{}, true};
      if (auto recorded = storage::record_opt_out(pool_, opt_out, message.recipient, clock_.now()); !recorded)
        log::error("opt_out_record_failed", {{"outbox", id}, {"reason", recorded.error().message}});
    }
  }
  if (e.code == "invalid_credentials")
    log::error("channel_credentials_rejected", {{"channel", item.channel}, {"account", item.account},
                                                {"action", "operator: renew the access token in the config"},
                                                {"reason", e.message}});
  check_recorded(storage::mark_failed(pool_, id, e.message), id, "failed");
  if (options_.on_result) options_.on_result(item.channel, "failed");
  log::error("outbox_failed", {{"outbox", id}, {"channel", item.channel}, {"account", item.account},
                               {"attempt", std::to_string(item.attempts)}, {"code", e.code}, {"reason", e.message}});
}

}  // namespace switchboard::daemon
