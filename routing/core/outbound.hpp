// What an outbound message carries besides its recipient: written by storage (the rules'
// replies and notify: POSTs in the pipeline, agents' replies), kept as the outbox row's JSON
// payload, and read back by the outbox worker for the adapter that sends it. One struct,
// serialised and parsed here only: adapters never see the JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/core/decision.hpp"
#include "routing/core/result.hpp"

namespace switchboard {

// Where a reply goes in a mail thread (the customer's last mail): its subject and Message-IDs.
struct MailThread {
  std::string subject;                  // the customer's subject, decoded
  std::string in_reply_to;              // the Message-ID of the customer's mail, without <>
  std::vector<std::string> references;  // oldest first, ending with in_reply_to
  bool operator==(const MailThread&) const = default;
};

struct OutboundPayload {
  std::string text;
  std::string template_name;  // the rules' template ("template"); "" for a person's reply
  std::string html;           // e-mail: the text as an HTML fragment, everything escaped
  std::string author;         // the agent who wrote it; "" for the rules' replies
  std::string in_reply_to;    // our id of the inbound message it answers
  std::string conversation_id;
  std::string sms_encoding;  // SMS: "gsm7" | "ucs2" (routing/text/sms.hpp)
  int sms_segments = 0;
  std::optional<WhatsAppTemplate> whatsapp_template;  // WhatsApp outside the 24-hour window
  std::optional<MailThread> mail;                     // e-mail ("email")
  // A notify: POST: the rule that fired (null when none did) and the message it is about.
  std::optional<std::string> rule;
  std::string message_id;

  bool from_human() const { return !author.empty(); }
  bool operator==(const OutboundPayload&) const = default;
};

// The payload as the outbox row keeps it: a JSON object whose keys are those of the struct
// ("template", "email" for `mail`); empty fields are left out.
std::string serialize(const OutboundPayload& payload);

// "" is an empty payload (a row written before payloads existed). Errors: invalid
// "invalid_payload" naming the field (not a JSON object, a field of the wrong type, a
// whatsapp_template without name or language).
Result<OutboundPayload> parse_outbound_payload(std::string_view json);

}  // namespace switchboard
