// The Meta channel (Messenger Platform and WhatsApp Cloud API), inbound side: the webhook
// verification handshake (GET) and signed webhook POSTs (protocols/meta.md (a)-(c), (g)).
// Security posture: every POST must carry X-Hub-Signature-256 = HMAC-SHA256(app secret, raw body),
// checked in constant time against each configured app secret before any JSON is parsed; the
// legacy SHA-1 header is never trusted. The verify token is compared as SHA-256 digests in
// constant time; an empty configured token refuses every handshake. Body limit from config (4 MiB).
// Elements of a verified payload that are malformed or of unknown kinds are skipped, not fatal:
// an error answer would only make Meta retry the same bytes for days.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/adapter.hpp"

namespace switchboard::channels::meta {

struct Options {
  std::vector<std::string> app_secrets;  // one per Meta app; two during rotation. Empty ones are ignored
  std::string verify_token;              // hub.verify_token of the handshake; empty: refuse all
  std::size_t max_body_bytes = 4 * 1024 * 1024;
};

// The percent-decoded value ('+' is a space) of the first `name` parameter of a query string
// (without '?'); nullopt when absent or badly encoded.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// Checks `header` ("sha256=<64 hex>", hex in any case) against HMAC-SHA256(secret, body) for every
// secret, in constant time. Error: forbidden "bad_signature" (missing, malformed or wrong).
Status check_signature(const std::string* header, std::string_view body, const std::vector<std::string>& secrets);

// Parses a body whose signature was already checked. Errors: invalid "invalid_json" (not JSON,
// not an object). An unknown "object" gives an empty vector.
//  Messenger ("page"): InboundMessage per message or postback (account = page id, sender = PSID,
//    identities = [messenger_psid]); Echo per is_echo message (sender = the page, identities =
//    [messenger_psid of the recipient], i.e. the customer of that conversation); DeliveryStatus per
//    delivered mid ("delivered"), or one with an empty external_id and at = watermark for a read
//    receipt or a delivery without mids (a watermark: everything sent up to `at`).
//  WhatsApp ("whatsapp_business_account", field "messages"): InboundMessage per message with text
//    or media (account = phone_number_id; identities = [phone "+<from>", whatsapp_user BSUID], at
//    least one), DeliveryStatus per status sent|delivered|read|failed (error "<code> <title>").
Result<std::vector<InboundEvent>> parse_payload(std::string_view body);

class MetaAdapter final : public Adapter {
 public:
  explicit MetaAdapter(Options options);

  std::string_view name() const override { return "meta"; }
  Posture posture() const override;
  // GET /webhooks/meta: 200 text/plain with hub.challenge when hub.mode is "subscribe" and
  // hub.verify_token matches; else 403 "verification_failed".
  HttpResponse verify(const HttpRequest& request) const;
  // POST /webhooks/meta: too_large "body_too_large", forbidden "bad_signature", then parse_payload().
  Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) override;
  // Not built yet: always a permanent error ("not_implemented").
  Result<Delivery> send(const OutboundMessage& message) override;

 private:
  Options options_;
  std::string verify_digest_;  // SHA-256 of the verify token; empty when no token is configured
};

}  // namespace switchboard::channels::meta
