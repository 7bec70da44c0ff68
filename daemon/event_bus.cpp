#include "daemon/event_bus.hpp"

#include "routing/core/log.hpp"
#include "storage/listener.hpp"

namespace switchboard::daemon {

EventBus::EventBus(std::string database_url, std::vector<std::string> channels)
    : listener_(std::make_unique<storage::Listener>(
          storage::ListenerOptions{.url = std::move(database_url), .channels = channels})),
      channels_(std::move(channels)) {}

EventBus::~EventBus() {
  stop();
}

void EventBus::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void EventBus::stop() {
  stopping_ = true;
  listener_->interrupt();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t EventBus::subscribe(const std::string& channel, Handler handler) {
  std::lock_guard lock(mu_);
  const auto id = next_id_++;
  subscribers_.emplace(id, std::make_pair(channel, std::move(handler)));
  return id;
}

void EventBus::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mu_);
  subscribers_.erase(id);
}

void EventBus::deliver(const BusEvent& event) {
  std::lock_guard lock(mu_);
  for (const auto& [id, subscriber] : subscribers_) {
    if (subscriber.first != event.channel) continue;
    try {
      subscriber.second(event);
      ++delivered_;
    } catch (const std::exception& e) {
      log::error("event_bus_handler_failed", {{"channel", event.channel}, {"what", e.what()}});
    }
  }
}

void EventBus::run() {
  std::size_t dropped_seen = 0;
  while (!stopping_) {
    // A notification, a (re)connection, the sweep interval, or stop().
    const bool look = listener_->wait(std::chrono::seconds{5});
    if (stopping_) break;
    auto events = listener_->take();
    if (listener_->dropped() != dropped_seen) {
      dropped_ += listener_->dropped() - dropped_seen;
      log::warn("event_bus_burst", {{"dropped", std::to_string(listener_->dropped() - dropped_seen)},
                                    {"action", "subscribers look again"}});
      dropped_seen = listener_->dropped();
      for (const auto& channel : channels_) deliver(BusEvent{channel, "", true});
    }
    if (look && events.empty()) {
      // Opened (again): what was sent while it was closed is lost.
      for (const auto& channel : channels_) deliver(BusEvent{channel, "", true});
      continue;
    }
    for (auto& n : events) deliver(BusEvent{std::move(n.channel), std::move(n.payload), false});
  }
}

void Doorbell::ring() {
  {
    std::lock_guard lock(mu_);
    ++rung_;
  }
  cv_.notify_all();
}

bool Doorbell::wait(std::uint64_t& seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return interrupted_ || rung_ != seen; });
  const bool rang = rung_ != seen;
  seen = rung_;
  return rang && !interrupted_;
}

void Doorbell::interrupt() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

std::uint64_t Doorbell::rung() const {
  std::lock_guard lock(mu_);
  return rung_;
}

}  // namespace switchboard::daemon
