// The Twilio channel (Programmable Messaging, SMS/MMS): inbound message webhooks, status callbacks
// and sending through the Messages API (protocols/twilio.md).
// Security posture: every webhook carries X-Twilio-Signature = base64(HMAC-SHA1(auth token,
// public URL + target + the form parameters sorted by name then value)). The request is matched
// to a configured account by its AccountSid before anything but the form is read, and the
// signature is checked in constant time against each of that account's auth tokens, for the URL
// as received and with the default port added or removed. JSON-body webhooks sign the URL alone
// and carry bodySHA256 (hex SHA-256 of the raw body) in the query. Body limit from config (4 MiB).
//
// Durable spool: verify() returns a Verified request (canonical path, content type, raw body,
// account name). The daemon may write those four strings to disk while the database is down and
// later hand them back to parse_verified(), which re-parses without checking the signature again.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/adapter.hpp"

namespace switchboard::channels::twilio {

struct Account {
  std::string name;  // ours: the events' account and OutboundMessage::account
  std::string account_sid;
  // The first one signs and sends; two during rotation, either verifies.
  std::vector<std::string> auth_tokens;
  // Exactly one of these two: the sender number / alphanumeric ID, or a Messaging Service.
  std::string from;
  std::string messaging_service_sid;
};

struct Options {
  std::string public_url;  // what Twilio requests, e.g. "https://switchboard.example.com" (no trailing '/')
  std::string api_base_url = "https://api.twilio.com";
  std::vector<Account> accounts;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds send_timeout{10000};
  bool status_callbacks = true;  // send() asks for StatusCallback at public_url
  std::string default_region = "PL";
};

// Errors: config "invalid_twilio_options" naming the first problem (empty or non-http(s)
// public_url or one ending in '/', no account, a duplicate name or AccountSid, an account
// without an auth token, not exactly one of from / messaging_service_sid).
Status validate(const Options& options);

inline constexpr std::string_view kSmsPath = "/webhooks/twilio/sms";
inline constexpr std::string_view kStatusPath = "/webhooks/twilio/status";

// --- application/x-www-form-urlencoded ---

using Params = std::vector<std::pair<std::string, std::string>>;

// The (name, value) pairs in order, '+' a space, %XX decoded; empty segments ("a=1&&b=2") are
// skipped, a segment without '=' is a name with an empty value. Errors: invalid "malformed_form"
// (a '%' not followed by two hex digits, a name or value that is not valid UTF-8).
Result<Params> parse_form(std::string_view body);

// The encoding of a form body: ALPHA, DIGIT and "*-._" kept, ' ' as '+', every other byte %XX
// (upper-case hex).
std::string form_encode(const Params& params);

// The value of the first `name`, or nullptr.
const std::string* find_param(const Params& params, std::string_view name);

// --- X-Twilio-Signature ---

// base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + ...)), the pairs sorted by name then
// value in byte order. `params` are the decoded form parameters; empty for a JSON body.
std::string signature(std::string_view auth_token, std::string_view url, const Params& params);

// The URLs a signature is accepted for: `url` itself, then the same URL with the scheme's default
// port (443 for https, 80 for http) removed when present or added when no port is given. A
// non-default port gives `url` alone, as does a URL that is not http(s)://.
std::vector<std::string> url_variants(std::string_view url);

// True when `header` equals signature(token, variant, params) for some non-empty token and some
// variant of `url`. Every combination is computed and compared in constant time.
bool signature_matches(std::string_view header, std::string_view url, const Params& params,
                       const std::vector<std::string>& auth_tokens);

// --- the adapter ---

// A request whose signature was checked: what the daemon spools and later replays.
struct Verified {
  std::string path;          // kSmsPath or kStatusPath (the canonical one, whatever was routed)
  std::string content_type;  // as received
  std::string body;          // the raw bytes
  std::string account;       // the configured account's name
};

class TwilioAdapter final : public Adapter {
 public:
  using Options = twilio::Options;
  explicit TwilioAdapter(Options options);
  // channels.twilio (channels/twilio/config.cpp).
  static std::optional<Options> read_config(config::Reader& r, const YAML::Node& section, const Settings& settings);

  std::string_view name() const override { return "twilio"; }
  Posture posture() const override;
  // POST kSmsPath and kStatusPath (channels/twilio/routes.cpp): verified, then stored, or spooled
  // while the database is down (Twilio does not redeliver).
  Status attach(Host& host) override;
  std::vector<std::string> sends_for() const override { return {"sms"}; }
  Result<std::vector<InboundEvent>> parse_spooled(const SpooledRequest& request) override;

  // Dispatches on request.path: kSmsPath to parse_sms, kStatusPath to parse_status; any other
  // path: not_found "unknown_path".
  Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) override;

  // POST /webhooks/twilio/sms. Checks in this order: body size (too_large "body_too_large"),
  // Content-Type application/x-www-form-urlencoded or application/json (invalid
  // "unsupported_content_type"), the body (invalid "malformed_form" / "invalid_json"), the account
  // (forbidden "unknown_account"), the signature and bodySHA256 (forbidden "bad_signature"; for a
  // signature that does not match, the message names the URLs it was checked against), then the
  // fields (see parse_verified()).
  Result<std::vector<InboundEvent>> parse_sms(const HttpRequest& request) const;
  // POST /webhooks/twilio/status: the same checks, then a status callback.
  Result<std::vector<InboundEvent>> parse_status(const HttpRequest& request) const;

  // The checks of parse_sms() / parse_status() alone, for `path` kSmsPath or kStatusPath.
  // The account is the one whose AccountSid the body names (form parameter or top-level JSON
  // member); a body without AccountSid (a JSON webhook) may name the account by the signed query
  // parameter `account=<name>`.
  Result<Verified> verify(const HttpRequest& request, std::string_view path) const;

  // Parses a verified request without checking its signature; the account need not be configured
  // any more. Errors: invalid "unknown_path", "unsupported_content_type", "malformed_form",
  // "invalid_json", "missing_field" (no MessageSid, or an SMS without From).
  //  SMS: InboundMessage{sms, account, external_id = MessageSid, sender = From, identities =
  //    [E.164 phone of From in default_region], or for a sender that is no phone number (an
  //    alphanumeric ID, a short code) [api "sms:<account>:<From>"], text = Body, attachments =
  //    MediaUrl{N} / MediaContentType{N} for N < NumMedia, sent_at unknown (Twilio gives none)}.
  //    Then an OptOut for OptOutType STOP (opted_out) / START (opted back in), or without
  //    OptOutType for a Body that is one of Twilio's default keywords once trimmed and
  //    upper-cased (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT / START, YES,
  //    UNSTOP).
  //  Status: DeliveryStatus{sms, account, MessageSid, sent | delivered | read | failed}, failed
  //    for MessageStatus failed and undelivered with error "<ErrorCode> <meaning>"; any other
  //    MessageStatus (queued, sending, accepted, ...) gives no event.
  Result<std::vector<InboundEvent>> parse_verified(const Verified& request) const;

  // POST {api_base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json as the message's account
  // (Basic auth AccountSid:first auth token): To, From or MessagingServiceSid, Body and, with
  // status_callbacks, StatusCallback = public_url + kStatusPath + "?outbox=<outbox_id>".
  // 2xx: Delivery{sid, "sent"}. Errors (message "twilio answered <status>, error <code>: <text>"):
  //   unavailable "twilio_unavailable" (429, 20429, 408, 5xx), "transport_error" (refused
  //     connections, DNS, TLS: nothing reached Twilio) or "request_sent_no_answer" (the request
  //     went out, the answer never came: in doubt, see check_resend): retried;
  //   forbidden "opted_out" (21610), "region_not_enabled" (21408);
  //   config "invalid_credentials" (401, 20003), "unknown_account", "invalid_account", "invalid_url";
  //   invalid "invalid_recipient" (21211, 21614, no recipient), "empty_message", "twilio_error"
  //     (any other answer).
  SendResult send(const OutboundMessage& message) override;
  // SMS: the encoding (GSM-7 or UCS-2) and segments the text takes; over Twilio's 1600
  // characters it is refused ("too_long"). No reply window.
  ReplyCheck check_reply(const OutboundMessage& draft, Timestamp now) const override;
  // Twilio's Messages API has no idempotency key, but it lists what was sent: GET
  // .../Messages.json?To=<recipient>&From=<from>&PageSize=50 (newest first; To alone with a
  // Messaging Service, whose sender is picked later). Messages with the same Body whose
  // date_created is at or after `attempted_at` less two minutes (clock skew) are the candidates:
  // one that is no other reply's sid is ours, recorded as sent, not sent again. Errors: unavailable
  // "twilio_lookup_failed" (any failure to list: the outbox asks again later, never sends blind).
  Result<ResendCheck> check_resend(const OutboundMessage& message, Timestamp attempted_at) override;

 private:
  struct Checked;
  Result<Checked> check(const HttpRequest& request) const;
  Result<std::vector<InboundEvent>> events(std::string_view path, const std::string& account,
                                           const Params& params) const;
  const Account* account_by_sid(std::string_view sid) const;
  const Account* account_by_name(std::string_view name) const;

  Options options_;
};

}  // namespace switchboard::channels::twilio
