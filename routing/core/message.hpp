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

struct MailDetails {
  std::string message_id_header;          // the Message-ID without <>, "" when none
  std::string subject;                    // decoded
  std::vector<std::string> thread_hints;  // Message-IDs from In-Reply-To/References, newest first
  std::vector<std::string> reply_tokens;  // verified tokens of our plus-addresses: conversation ids
  std::vector<std::string> defects;       // what was malformed: stored as far as it parsed
  std::string full_text;  // the whole text, quoted history included (`text` is the new part)
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
  // Why no rule may see it (an out-of-office, a list; a message to an account that is not
  // configured): it is stored but not routed, and the audit row's `not_routed` says this text,
  // e.g. "automatic mail: List-Id header". Empty for a person's message.
  std::string automated{};
  // Why a person may have written it although it looks machine-made (a subject like "Delivery
  // failure", no sender address, mail not addressed to any of our addresses): it is routed by the
  // rules like any message, but no automatic reply is sent to it. Rules see it as
  // `automatic: unsure`. Empty when sure either way.
  std::string automatic_unsure{};
  // The attachments' bytes, parallel to `attachments`; "" where not kept (over the size limit,
  // or a channel that only gives a URL).
  std::vector<std::string> attachment_contents{};
  // Mail only (threaded as mail: by reply token, Message-IDs, subject tag): what threading and
  // replies need. Absent for every other channel.
  std::optional<MailDetails> mail{};
};

// A platform's report on a message we sent.
struct DeliveryStatus {
  Channel channel = Channel::api;
  std::string account;
  std::string external_id;  // the platform's id of our outbound message
  std::string status;       // sent | delivered | read | failed | blocked (the platform's window)
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
  std::string metadata{};  // what the sender attached
  // Our own send coming back (the adapter recognises its mark): its outbound message exists
  // already, so the intake skips it.
  bool ours = false;
};

// The customer asked not to be contacted on this channel (SMS STOP), or asked again to be
// (START): opted_out false.
struct OptOut {
  Channel channel = Channel::sms;
  std::string account;
  Identity identity;
  bool opted_out = true;
};

// A message that is not part of any customer dialogue: a bounce, a delivery report, a read
// receipt, an abuse report. Stored (in the conversation of the message it concerns when that is
// known, else in the account's own list), counted, never routed and never answered.
struct SystemMessage {
  Channel channel = Channel::email;
  std::string account;
  std::string external_id;  // unique per (channel, account), as for customers' messages
  std::string kind;         // bounce | delivery_report | read_receipt | abuse_report
  std::string sender;
  std::string subject;
  std::string text;
  // Which of our messages it concerns: the platform id of our outbound message (an e-mail's
  // Message-ID), and/or our own message id (from a VERP tag "m5600" -> "5600"); "" when unknown.
  std::string concerns_external_id{};
  std::string concerns_message_id{};
  // For a bounce or a report of a delivery: the status it gives the message it concerns
  // ("failed"; "" when it changes nothing, e.g. "delayed"), and why.
  std::string status{};
  std::string error{};
  std::vector<std::string> defects{};
  Timestamp at{};
};

using InboundEvent = std::variant<InboundMessage, DeliveryStatus, Echo, OptOut, SystemMessage>;

}  // namespace switchboard
