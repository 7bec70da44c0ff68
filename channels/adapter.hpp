// The channel adapter interface, the unit of extension: an adapter turns a platform's request
// into InboundEvents (verifying its signature first), declares its HTTP routes and hands those
// events to the daemon's intake (attach), and sends OutboundMessages to the platform for the
// channels it names (sends_for). Adapters never run SQL. channels/README.md walks through
// adding one.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/config.hpp"
#include "channels/host.hpp"
#include "channels/http.hpp"
#include "channels/send_result.hpp"
#include "routing/core/message.hpp"
#include "routing/core/outbound.hpp"
#include "routing/core/result.hpp"

namespace switchboard::channels {

struct OutboundMessage {
  std::string outbox_id;
  Channel channel = Channel::api;
  std::string account;
  std::string conversation_id;
  std::string recipient;  // the customer's address on this channel
  std::string text;
  OutboundPayload payload;  // what the outbox row carries besides its text (routing/core/outbound.hpp)
  // Last, with `{}`: positional and designated initialisers written before it stay valid.
  std::string message_id{};  // our id of the outbound message (the outbox row's message)
  // The customer's newest inbound message on this channel and account: the platforms' reply
  // windows (Messenger 24 h / 7 d HUMAN_AGENT, WhatsApp 24 h) are measured from it.
  std::optional<Timestamp> last_inbound_at{};
  // Written by a person (an agent's reply), not by the rules: only these may use Messenger's
  // HUMAN_AGENT tag.
  bool from_human = false;
};

// What a channel allows a reply a person writes now: POST .../reply-preview shows it, and an
// agent's reply is refused (422, nothing queued) when `allowed` is false.
struct ReplyCheck {
  bool allowed = true;
  std::string reason;   // when refused: "window_closed", "too_long", "empty"
  std::string message;  // why, for people
  int characters = 0;   // as the channel counts them
  std::optional<int> limit;             // the most characters the channel takes
  std::optional<std::string> encoding;  // SMS: "gsm7" or "ucs2"
  std::optional<int> segments;          // SMS: parts billed
  std::string window;                   // the reply window that applies, "" for none
  bool window_open = true;
  std::optional<Timestamp> window_closes_at;
};

// Unicode code points in UTF-8 text (the unit Meta's and Twilio's limits count).
int code_points(std::string_view utf8);

// What a sender does before sending again a message whose earlier attempt has no recorded result
// (the daemon died between calling the platform and recording its answer, or the answer never
// came): Adapter::check_resend.
struct ResendCheck {
  // Messages the platform has that may be this one (same recipient, text and time), oldest
  // first. The outbox takes the first that no other outbound message of ours has as its
  // external_id: recorded as that delivery, not sent again. None left: sent again.
  std::vector<Delivery> candidates;
  // Otherwise, why sending again is safe or what it risks, for the log line (outbox_resend).
  std::string how;
  // False when a resend may reach the customer twice (the platform offers no way to tell).
  bool exactly_once = false;
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
  // Plugs the adapter into the daemon before it serves: its routes (Host::route), whose handlers
  // verify and parse a request and hand its events to Host::intake(). By default none: an
  // adapter that only sends (notify).
  virtual Status attach(Host& host) {
    (void)host;
    return Ok{};
  }
  // Background work (pollers): started once the database schema is current, stopped before the
  // daemon exits; attach() came first. By default none.
  virtual void start() {}
  virtual void stop() {}
  // The sources its background work fetches from, for /readyz, under `source_kind()`
  // ("mailboxes"). A source being down never fails readiness.
  virtual std::string_view source_kind() const { return {}; }
  virtual std::vector<SourceStatus> sources() const { return {}; }
  // At most one automatic reply (one the rules wrote, not a person) per recipient on the
  // channels it sends for within this time (RFC 3834 for mail: two robots answering each other
  // stop here). By default none.
  virtual std::optional<Duration> auto_reply_interval() const { return std::nullopt; }
  // The outbox channels whose rows it sends (outbox.channel: "messenger", "sms", ...). By
  // default its own name.
  virtual std::vector<std::string> sends_for() const { return {std::string(name())}; }
  // A request the adapter gave Host::spooler(), parsed again to be replayed (it was verified
  // when it arrived). By default: no adapter of this kind spools.
  virtual Result<std::vector<InboundEvent>> parse_spooled(const SpooledRequest& request) {
    return make_error(ErrorKind::bug, "not_spooled", "adapter " + std::string(name()) +
                                                         " keeps no spooled requests (path " + request.path + ")");
  }
  // What the channel allows `draft` (a person's reply) at `now`. By default: anything but an
  // empty text.
  virtual ReplyCheck check_reply(const OutboundMessage& draft, Timestamp now) const;
  // Verifies the request's credentials or signature, then parses it. Never throws.
  virtual Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) = 0;
  // Sends one message. What the outbox worker does with a failure depends on its outcome
  // (channels/send_result.hpp), which the adapter decides from its platform's answer:
  //   retry_after          -> retried with backoff (rate limits, 5xx, timeouts);
  //   blocked_by_window    -> the row becomes 'blocked' (a platform window is closed and no
  //                           template applies), visible to agents;
  //   opted_out            -> failed, and the customer is marked opted out of the channel (Twilio
  //                           21610): no auto-reply goes there again;
  //   credentials_rejected -> failed, logged for the operator (token revoked or expired);
  //   permanent            -> failed.
  // A failure whose request reached the platform unanswered is in doubt (SendResult::in_doubt).
  virtual SendResult send(const OutboundMessage& message) = 0;
  // Before sending again a message whose attempt since `attempted_at` has an unknown outcome.
  // An error (kind unavailable) means "cannot tell now": the outbox tries again later rather
  // than send blindly. By default the platform offers no way to tell: at-least-once.
  virtual Result<ResendCheck> check_resend(const OutboundMessage& message, Timestamp attempted_at) {
    (void)message;
    (void)attempted_at;
    return ResendCheck{{}, "at-least-once: the platform cannot say whether it has the message", false};
  }
};

}  // namespace switchboard::channels
