// A signed JSON POST to a receiver of ours (the API channel's callbacks, rule notifications):
// X-Switchboard-Signature (HMAC-SHA256 of the raw body), X-Switchboard-Delivery (the outbox id,
// the receiver's de-duplication key), and the retry classification every such send shares.
#pragma once

#include <string>
#include <string_view>

#include "channels/adapter.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels {

// "sha256=<lower-case hex HMAC-SHA256(secret, body)>"
std::string body_signature(std::string_view secret, std::string_view body);

// True for http:// and https:// URLs (any case), the only schemes posted to.
bool http_url(std::string_view url);

struct SignedPost {
  std::string url;
  std::string secret;
  std::string delivery_id;
  std::string body;  // JSON
  Duration timeout = std::chrono::seconds{10};
  std::string channel;  // for log lines: "api", "notify"
  std::string account;
};

// 2xx: Delivery{receiver's {"id"} if any, "delivered"}. 408, 429, 3xx, 5xx and transport errors:
// retryable (ErrorKind::unavailable, "callback_failed"); other 4xx: permanent
// ("callback_rejected"). Neither the URL, the secret nor the body is logged.
Result<Delivery> post_signed(const SignedPost& post);

}  // namespace switchboard::channels
