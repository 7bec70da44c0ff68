#include "channels/signed_post.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include <boost/json.hpp>

#include "channels/http_client.hpp"
#include "channels/retry.hpp"
#include "routing/core/log.hpp"

namespace switchboard::channels {

namespace json = boost::json;

namespace {

// A receiver's id longer than this is not stored (the messages index has a size limit).
constexpr std::size_t kMaxExternalId = 255;

std::string receiver_id(const HttpClientResponse& response) {
  if (response.truncated) return {};
  json::error_code ec;
  json::value v = json::parse(response.body, ec);
  if (ec || !v.is_object()) return {};
  const json::value* id = v.get_object().if_contains("id");
  std::string out;
  if (!id) return {};
  if (id->is_string()) out.assign(id->get_string().data(), id->get_string().size());
  else if (id->is_int64()) out = std::to_string(id->get_int64());
  else if (id->is_uint64()) out = std::to_string(id->get_uint64());
  return out.size() <= kMaxExternalId ? out : std::string();
}

bool retryable_status(int status) {
  if (status == 408 || status == 429) return true;
  // CONTRACT.md retries anything but 2xx; only a 4xx says the request itself is wrong.
  return status < 400 || status >= 500;
}

}  // namespace

std::string body_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_len);
  constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  out.reserve(out.size() + 2 * mac_len);
  for (unsigned int i = 0; i < mac_len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0x0F]);
  }
  return out;
}

bool http_url(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  return (url.size() > kHttp.size() && ::strncasecmp(url.data(), kHttp.data(), kHttp.size()) == 0) ||
         (url.size() > kHttps.size() && ::strncasecmp(url.data(), kHttps.data(), kHttps.size()) == 0);
}

Result<Delivery> post_signed(const SignedPost& post) {
  HttpClientRequest request;
  request.url = post.url;
  request.headers = {
      {"Content-Type", "application/json"},
      {"X-Switchboard-Signature", body_signature(post.secret, post.body)},
      {"X-Switchboard-Delivery", post.delivery_id},
      {"User-Agent", "switchboard"},
  };
  request.body = post.body;
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(post.timeout);
  request.connect_timeout = request.timeout;

  auto response = channels::post(request);
  if (!response) {
    const Error& e = response.error();
    log::warn("callback_failed", {{"channel", post.channel}, {"account", post.account}, {"delivery", post.delivery_id},
                                  {"reason", e.code}, {"error", e.message}});
    if (classify(e) == SendFailure::retryable)  // kRequestSentNoAnswer stays: the attempt is in doubt
      return send_error(SendFailure::retryable, e.code == kRequestSentNoAnswer ? e.code : "callback_failed",
                        e.message);
    return send_error(SendFailure::permanent, e.code == "invalid_url" ? "invalid_callback_url" : e.code, e.message);
  }

  const int status = response->status;
  const std::string status_text = std::to_string(status);
  if (status >= 200 && status < 300) {
    log::info("callback_delivered", {{"channel", post.channel}, {"account", post.account},
                                     {"delivery", post.delivery_id}, {"status", status_text}});
    return Delivery{receiver_id(*response), "delivered"};
  }
  const bool retry = retryable_status(status);
  log::warn("callback_failed", {{"channel", post.channel},
                                {"account", post.account},
                                {"delivery", post.delivery_id},
                                {"reason", retry ? "callback_failed" : "callback_rejected"},
                                {"status", status_text}});
  if (retry) return send_error(SendFailure::retryable, "callback_failed", "callback answered " + status_text);
  return send_error(SendFailure::permanent, "callback_rejected", "callback answered " + status_text);
}

}  // namespace switchboard::channels
