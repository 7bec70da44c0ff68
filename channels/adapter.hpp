// The channel adapter interface. An adapter turns a platform's request into InboundEvents
// (verifying its signature first) and sends OutboundMessages to the platform. Adapters never
// run SQL; the daemon hands their events to storage's pipeline.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/http.hpp"
#include "routing/core/message.hpp"
#include "routing/core/result.hpp"

namespace switchboard::channels {

struct OutboundMessage {
  std::string outbox_id;
  Channel channel = Channel::api;
  std::string account;
  std::string conversation_id;
  std::string recipient;  // the customer's address on this channel
  std::string text;
  std::string payload;    // JSON stored with the outbox row
  // Last, with `{}`: positional and designated initialisers written before it stay valid.
  std::string message_id{};  // our id of the outbound message (the outbox row's message)
  // The customer's newest inbound message on this channel and account: the platforms' reply
  // windows (Messenger 24 h / 7 d HUMAN_AGENT, WhatsApp 24 h) are measured from it.
  std::optional<Timestamp> last_inbound_at{};
  // Written by a person (an agent's reply), not by the rules: only these may use Messenger's
  // HUMAN_AGENT tag.
  bool from_human = false;
};

struct Delivery {
  std::string external_id;  // the platform's id of the sent message
  std::string status;       // "sent" (accepted by the platform) or "delivered" (by the receiver)
};

// What a webhook request is allowed to be: stated by each adapter (security posture).
struct Posture {
  std::size_t max_body_bytes = 0;
  std::string authentication;  // e.g. "bearer token per account", "X-Hub-Signature-256"
};

// Who sent an authenticated request: set by the adapter that checked the credentials.
struct Caller {
  std::string account;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  virtual std::string_view name() const = 0;
  virtual Posture posture() const = 0;
  // Verifies the request's credentials or signature, then parses it. Never throws.
  virtual Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) = 0;
  // Sends one message. What the outbox worker does with an error depends on it:
  //   kind unavailable                 -> retried with backoff (rate limits, 5xx, timeouts);
  //   code "outside_window"            -> the row becomes 'blocked' (a platform window is
  //                                       closed and no template applies), visible to agents;
  //   code "opted_out"                 -> failed, and the customer is marked opted out of the
  //                                       channel (Twilio 21610): no auto-reply goes there again;
  //   code "invalid_credentials"       -> failed, logged for the operator (token revoked/expired);
  //   anything else                    -> failed.
  virtual Result<Delivery> send(const OutboundMessage& message) = 0;
};

}  // namespace switchboard::channels
