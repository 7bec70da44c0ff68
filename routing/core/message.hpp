// The shared vocabulary of an inbound event: what every channel adapter produces and what
// routing and storage consume. Plain structs, no I/O types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "routing/core/time.hpp"

namespace switchboard {

enum class Channel { api, webchat, email, messenger, whatsapp, sms };
inline constexpr Channel kAllChannels[] = {Channel::api,       Channel::webchat,  Channel::email,
                                           Channel::messenger, Channel::whatsapp, Channel::sms};
std::string_view to_string(Channel c);
std::optional<Channel> channel_from_string(std::string_view s);

// How a customer is reached or recognised; unique per (kind, value) in the database.
enum class IdentityKind { phone, email, messenger_psid, whatsapp_user, webchat_visitor, api };
std::string_view to_string(IdentityKind k);
std::optional<IdentityKind> identity_kind_from_string(std::string_view s);

struct Identity {
  IdentityKind kind = IdentityKind::api;
  std::string value;  // normalised: E.164 phone, lower-cased e-mail, "account:address" for api
  bool operator==(const Identity&) const = default;
};

struct Attachment {
  std::string url;
  std::string mime_type;
  std::string name;
  std::optional<std::int64_t> size;
  bool operator==(const Attachment&) const = default;
};

struct InboundMessage {
  Channel channel = Channel::api;
  std::string account;      // the channel account it arrived on ("shop", a page id, a number)
  std::string external_id;  // the platform's id; (channel, account, external_id) is unique
  std::string sender;       // the address as the platform gave it
  std::vector<Identity> identities;  // normalised identities of the sender, the primary first
  std::string display_name;
  std::string text;
  std::vector<Attachment> attachments;
  Timestamp sent_at{};
  std::optional<std::string> language;
  std::vector<std::string> thread_hints;  // e-mail Message-IDs from In-Reply-To/References
  // Why no automatic reply may answer it (an out-of-office, a list, a bounce): it is stored
  // but not routed. Empty for a person's message.
  std::string automated{};
  // E-mail only: what threading and replies need.
  std::string message_id_header{};          // the Message-ID without <>, "" when none
  std::string subject{};                    // decoded
  std::vector<std::string> reply_tokens{};  // from our plus-addresses among the recipients
  // The attachments' bytes, parallel to `attachments`; "" where not kept (over the size limit,
  // or a channel that only gives a URL).
  std::vector<std::string> attachment_contents{};
  std::vector<std::string> defects{};  // what was malformed (e-mail): stored as far as it parsed
  std::string full_text{};  // e-mail: the whole text, quoted history included (`text` is the new part)
};

// A platform's report on a message we sent.
struct DeliveryStatus {
  Channel channel = Channel::api;
  std::string account;
  std::string external_id;  // the platform's id of our outbound message
  std::string status;       // sent | delivered | read | failed
  std::string error;        // platform error code and text, when failed
  Timestamp at{};
  // For a watermark (empty external_id: Messenger read/delivery receipts cover everything sent
  // to this recipient up to `at`): the customer's address on the channel.
  std::string recipient{};
};

// A copy of a message the business sent from another tool (Messenger echo): stored, never routed.
struct Echo {
  InboundMessage message;
  std::string app_id{};    // the app that sent it
  std::string metadata{};  // what the sender attached; ours is "outbox:<id>"
};

// The customer asked not to be contacted on this channel (SMS STOP), or asked again to be
// (START): opted_out false.
struct OptOut {
  Channel channel = Channel::sms;
  std::string account;
  Identity identity;
  bool opted_out = true;
};

using InboundEvent = std::variant<InboundMessage, DeliveryStatus, Echo, OptOut>;

}  // namespace switchboard
