// The generic JSON channel: POST /api/v1/inbound with a per-account bearer token; replies go
// out as signed callbacks to the account's URL (CONTRACT.md "Outbound callback of the API channel").
// Security posture: bearer token per account (compared as SHA-256 digests in constant time),
// body limit from config (1 MiB default), strict UTF-8, unknown fields ignored. Callbacks are
// signed with HMAC-SHA256, never follow redirects, and never log the secret or the body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "channels/adapter.hpp"
#include "channels/tokens.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels::api {

struct Account {
  std::string name;
  std::vector<std::string> tokens;  // secret values; several during rotation
  // Outbound callbacks. The `{}` and the default keep `{name, tokens}` initialisers valid and
  // quiet under -Wmissing-field-initializers.
  std::string callback_url{};                   // http:// or https://; empty: send() fails permanently
  std::vector<std::string> callback_secrets{};  // one, or two during rotation: the first signs
  Duration callback_timeout = std::chrono::seconds{10};  // the whole exchange, connecting included
};

struct Options {
  std::vector<Account> accounts;
  std::size_t max_body_bytes = 1024 * 1024;
  std::string default_region = "PL";  // for phone numbers written without a country code
};

// Parses the inbound API JSON shape (CONTRACT.md "Inbound API request") for `account`.
// `now` is used when sent_at is absent. Errors are `invalid` with a snake_case code.
Result<InboundMessage> parse_inbound_json(std::string_view body, std::string_view account, Timestamp now,
                                          std::string_view default_region = "PL");

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view text);

// The X-Switchboard-Signature value: "sha256=" + lowercase hex HMAC-SHA256(secret, body).
std::string callback_signature(std::string_view secret, std::string_view body);

// The callback settings of one account, for the config loader (kind `config`, code
// "invalid_callback", location "channels.api.accounts.<name>"): a callback URL must be http(s)
// and come with one or two non-empty secrets; the timeout must be positive. No URL is valid:
// that account cannot receive replies.
Status validate_callback(const Account& account);

class ApiAdapter final : public Adapter {
 public:
  using Options = api::Options;
  ApiAdapter(Options options, const Clock& clock);
  // channels.api (channels/api/config.cpp).
  static std::optional<Options> read_config(config::Reader& r, const YAML::Node& section, const Settings& settings);

  std::string_view name() const override { return "api"; }
  Posture posture() const override;
  // POST /api/v1/inbound (channels/api/routes.cpp).
  Status attach(Host& host) override;
  // 401 unknown/missing token, 400 bad body, 403 a token of another account.
  Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) override;
  // POSTs the signed callback (body: see callback_body() in adapter.cpp and CONTRACT.md).
  // 2xx: Delivery{status "delivered", external_id = the receiver's {"id": ...} or ""}.
  // Retryable (ErrorKind::unavailable, "callback_failed"): 408, 429, 5xx, other non-2xx non-4xx
  // statuses ("callback answered 503") and transport errors (curl's text).
  // Permanent (ErrorKind::invalid): "callback_rejected" for other 4xx; "no_callback",
  // "no_callback_secret", "invalid_callback_url" and "invalid_payload" for what no retry fixes.
  // Safe to call from several threads at once.
  SendResult send(const OutboundMessage& message) override;
  // The callback carries the outbox id (X-Switchboard-Delivery, "delivery_id"): the receiver
  // de-duplicates on it, so sending again is safe.
  Result<ResendCheck> check_resend(const OutboundMessage&, Timestamp) override {
    return ResendCheck{{}, "the receiver de-duplicates on X-Switchboard-Delivery", true};
  }

 private:
  Options options_;
  const Clock& clock_;
  BearerTokens tokens_;  // owner: the account
};

}  // namespace switchboard::channels::api
