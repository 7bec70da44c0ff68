// The Meta channel (Messenger Platform and WhatsApp Cloud API): the webhook verification
// handshake (GET) and signed webhook POSTs (protocols/meta.md (a)-(c), (g)), and sending through
// the Graph API (send.cpp, (d)-(f)).
// Security posture: every POST must carry X-Hub-Signature-256 = HMAC-SHA256(app secret, raw body),
// checked in constant time against each configured app secret before any JSON is parsed; the
// legacy SHA-1 header is never trusted. The verify token is compared as SHA-256 digests in
// constant time; an empty configured token refuses every handshake. Body limit from config (4 MiB).
// Elements of a verified payload that are malformed or of unknown kinds are skipped, not fatal:
// an error answer would only make Meta retry the same bytes for days.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/adapter.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels::meta {

struct Options {
  std::vector<std::string> app_secrets;  // one per Meta app; two during rotation. Empty ones are ignored
  std::string verify_token;              // hub.verify_token of the handshake; empty: refuse all
  std::size_t max_body_bytes = 4 * 1024 * 1024;

  // Sending (protocols/meta.md (d)): POST {graph_base_url}/{graph_version}/{id}/messages.
  std::string graph_base_url = "https://graph.facebook.com";
  std::string graph_version = "v25.0";  // pinned: Graph changes behaviour between versions
  std::chrono::milliseconds send_timeout{10000};
  struct Page {
    std::string id;
    std::string access_token;
    bool human_agent = false;  // app has the Human Agent permission
  };
  std::vector<Page> pages;  // Messenger: OutboundMessage::account is the page id
  struct WhatsAppNumber {
    std::string phone_number_id;
    std::string access_token;
  };
  std::vector<WhatsAppNumber> whatsapp_numbers;  // WhatsApp: account is the phone_number_id
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

// The Error for a Graph answer other than 2xx (protocols/meta.md (f)): the kind says whether the
// outbox retries (unavailable) and the code what the worker does (see Adapter::send). The message
// holds the HTTP status, Graph's code/subcode, message and fbtrace_id, for last_error.
// graph_failure() is the same with its outcome (invalid_credentials -> credentials_rejected,
// outside_window -> blocked_by_window, opted_out -> opted_out, unavailable -> retry_after).
Error graph_error(int http_status, std::string_view body);
SendResult graph_failure(int http_status, std::string_view body);

// What our sends attach (Messenger metadata, WhatsApp biz_opaque_callback_data): "outbox:<id>".
// An echo that carries it is our own send coming back (Echo::ours).
inline constexpr std::string_view kOutboxMark = "outbox:";

class MetaAdapter final : public Adapter {
 public:
  // `clock` (not owned, must outlive the adapter) decides the reply windows in send().
  using Options = meta::Options;
  MetaAdapter(Options options, const Clock& clock);
  // channels.meta (channels/meta/config.cpp).
  static std::optional<Options> read_config(config::Reader& r, const YAML::Node& section, const Settings& settings);

  std::string_view name() const override { return "meta"; }
  Posture posture() const override;
  // GET and POST /webhooks/meta (channels/meta/routes.cpp).
  Status attach(Host& host) override;
  std::vector<std::string> sends_for() const override { return {"messenger", "whatsapp"}; }
  // GET /webhooks/meta: 200 text/plain with hub.challenge when hub.mode is "subscribe" and
  // hub.verify_token matches; else 403 "verification_failed".
  HttpResponse verify(const HttpRequest& request) const;
  // POST /webhooks/meta: too_large "body_too_large", forbidden "bad_signature", then parse_payload().
  Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) override;
  // Messenger Send API / WhatsApp Cloud API (channels/meta/send.cpp). The reply window is decided
  // here from last_inbound_at, before any request: Messenger < 24 h RESPONSE, else < 7 d
  // MESSAGE_TAG HUMAN_AGENT for an agent's reply on a page with the permission; WhatsApp < 24 h
  // free text, else the payload's whatsapp_template. Otherwise conflict "outside_window".
  // Text over the platform's limit (2000 / 4096 code points) is refused (invalid "text_too_long"),
  // not split: a retry after a partly sent split would repeat the parts already delivered.
  // Errors: config "unknown_account" / "invalid_credentials", invalid "invalid_payload" /
  // "invalid_recipient" / "empty_text" / "text_too_long" / "unsupported_channel", then graph_error()
  // and unavailable "graph_unavailable" for transport failures.
  SendResult send(const OutboundMessage& message) override;
  // The windows and limits above, for a person's reply.
  ReplyCheck check_reply(const OutboundMessage& draft, Timestamp now) const override;

 private:
  Options options_;
  const Clock& clock_;
  std::string verify_digest_;  // SHA-256 of the verify token; empty when no token is configured

  // Marks WhatsApp messages to a phone_number_id that is not configured as not to be routed
  // (InboundMessage::automated), with a warning and a count.
  void hold_unconfigured_numbers(Host& host, const std::string& request_id, std::vector<InboundEvent>& events) const;
};

}  // namespace switchboard::channels::meta
