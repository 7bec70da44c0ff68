// A small blocking HTTP client (libcurl) for adapters that call out: the API channel's signed
// callbacks now, platform APIs (Twilio, Meta) later. Plain structs in and out, like channels/http.hpp,
// so adapters never see curl. Every call has its own handle: safe from any number of threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/core/result.hpp"

namespace switchboard::channels {

struct BasicAuth {
  std::string user;
  std::string password;
};

struct HttpClientRequest {
  std::string url;  // http:// or https:// only; redirects are never followed
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};  // the whole exchange, connecting included
  std::optional<BasicAuth> basic_auth;
  // A larger response body is cut here (and `truncated` set): a misbehaving peer cannot make us
  // buffer without bound, and callers only ever read a status or a short JSON answer.
  std::size_t max_response_bytes = 64 * 1024;
};

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;
  bool truncated = false;

  // The first header named `name` (any case); nullptr when absent.
  const std::string* header(std::string_view name) const;
};

// POSTs `request.body`. Any HTTP status is a response, not an error. Errors, never thrown:
// - unavailable "transport_error" with curl's text: connection refused, DNS, TLS, a timeout
//   before the request was sent (the peer may answer later: retryable);
// - unavailable "request_sent_no_answer": the request went out but no answer came (a timeout,
//   a reset): the peer may have acted on it, so a resend may repeat it;
// - invalid "invalid_url" (malformed, or a scheme other than http/https) and "invalid_header"
//   (a name or value with CR, LF or NUL, or a name with ':'): retrying cannot help.
Result<HttpClientResponse> post(const HttpClientRequest& request);
// The same with GET (the body is not sent).
Result<HttpClientResponse> get(const HttpClientRequest& request);

}  // namespace switchboard::channels
