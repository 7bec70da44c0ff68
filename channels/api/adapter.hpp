// The generic JSON channel: POST /api/v1/inbound with a per-account bearer token.
// Security posture: bearer token per account (compared as SHA-256 digests in constant time),
// body limit from config (1 MiB default), strict UTF-8, unknown fields ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "channels/adapter.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels::api {

struct Account {
  std::string name;
  std::vector<std::string> tokens;  // secret values; several during rotation
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

class ApiAdapter final : public Adapter {
 public:
  ApiAdapter(Options options, const Clock& clock);

  std::string_view name() const override { return "api"; }
  Posture posture() const override;
  // 401 unknown/missing token, 400 bad body, 403 a token of another account.
  Result<std::vector<InboundEvent>> parse_webhook(const HttpRequest& request) override;
  Result<Delivery> send(const OutboundMessage& message) override;

 private:
  struct Credential {
    std::string account;
    std::string digest;  // SHA-256 of the token
  };
  Options options_;
  const Clock& clock_;
  std::vector<Credential> credentials_;
};

}  // namespace switchboard::channels::api
