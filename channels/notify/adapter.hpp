// Rule notifications: the `notify:` action POSTs a signed JSON note to a URL named in the rules
// file (a chat webhook, an incident tool), through the outbox like any reply.
// Security posture: outbound only (no webhook); signed with the config's notify secret.
#pragma once

#include <string>
#include <vector>

#include "channels/adapter.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels::notify {

struct Options {
  std::vector<std::string> secrets;  // the first signs; none: every notification fails, loudly
  Duration timeout = std::chrono::seconds{10};
};

class NotifyAdapter final : public Adapter {
 public:
  using Options = notify::Options;
  explicit NotifyAdapter(Options options) : options_(std::move(options)) {}
  // notify: at the top of the file (channels/notify/config.cpp).
  static std::optional<Options> read_config(config::Reader& r, const YAML::Node& section, const Settings& settings);

  std::string_view name() const override { return "notify"; }
  Posture posture() const override { return Posture{0, "outbound only: signed POSTs, no inbound requests"}; }
  Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) override;
  // POSTs {"delivery_id","conversation_id","message_id","rule","template","text"} to the URL
  // (OutboundMessage::recipient), signed like the API channel's callbacks.
  SendResult send(const OutboundMessage& message) override;
  // Signed like the API channel's callbacks, with the outbox id as X-Switchboard-Delivery.
  Result<ResendCheck> check_resend(const OutboundMessage&, Timestamp) override {
    return ResendCheck{{}, "the receiver de-duplicates on X-Switchboard-Delivery", true};
  }

 private:
  Options options_;
};

}  // namespace switchboard::channels::notify
