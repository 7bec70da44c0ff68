// libcurl behind channels/http_client.hpp: one easy handle per call, no signals, http/https only,
// no redirects, a capped response body.
#include "channels/http_client.hpp"

#include "channels/send_result.hpp"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>

namespace switchboard::channels {

namespace {

// curl_global_init is not guaranteed thread-safe on every libcurl build: run it exactly once, on
// first use, whichever thread gets there first. It is never undone (the daemon exits with it).
bool curl_ready() {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] { ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  return ready;
}

Error transport_error(std::string message) {
  return make_error(ErrorKind::unavailable, "transport_error", std::move(message));
}

bool has_scheme(std::string_view url, std::string_view scheme) {
  return url.size() > scheme.size() && ::strncasecmp(url.data(), scheme.data(), scheme.size()) == 0;
}

// CR or LF would let a value start a header (or a request) of its own; curl does not check.
bool header_safe(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

struct Exchange {
  HttpClientResponse response;
  std::size_t limit = 0;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& x = *static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  const std::size_t room = x.limit - std::min(x.limit, x.response.body.size());
  if (n > room) {
    x.response.body.append(data, room);
    x.response.truncated = true;
    return 0;  // stops the transfer (CURLE_WRITE_ERROR): the rest would be thrown away anyway
  }
  x.response.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& headers = static_cast<Exchange*>(user)->response.headers;
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.empty()) return n;
  // A status line opens a response; an interim one (100 Continue) came before: forget its headers.
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();
    return n;
  }
  if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {  // obsolete line folding
    const auto more = trim(line);
    if (!more.empty()) headers.back().second.append(" ").append(more);
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;  // the blank line that ends the block
  std::string name(trim(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  headers.emplace_back(std::move(name), std::string(trim(line.substr(colon + 1))));
  return n;
}

// curl takes longs; 0 would mean "no timeout", so anything below 1 ms becomes 1 ms.
long to_curl_ms(std::chrono::milliseconds ms) {
  return static_cast<long>(std::clamp<std::chrono::milliseconds::rep>(ms.count(), 1, LONG_MAX));
}

using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

}  // namespace

const std::string* HttpClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0) return &v;
  return nullptr;
}

namespace {

// Connecting failed: the request never left. Any other failure after that (a timeout, a reset)
// may have come after the peer had the whole request.
bool before_sending(CURLcode rc) {
  return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT ||
         rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE;
}

Result<HttpClientResponse> perform(const HttpClientRequest& request, bool is_get) {
  // Checked here rather than left to CURLOPT_PROTOCOLS_STR alone: curl reports a refused scheme
  // with the same code as some server replies, and a bad URL must not look retryable.
  if (!has_scheme(request.url, "http://") && !has_scheme(request.url, "https://"))
    return make_error(ErrorKind::invalid, "invalid_url", "only http:// and https:// URLs are allowed");

  HeaderList list(nullptr, &curl_slist_free_all);
  bool caller_sets_expect = false;
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || name.find(':') != std::string::npos || !header_safe(name) || !header_safe(value))
      return make_error(ErrorKind::invalid, "invalid_header", "header '" + name + "' has a forbidden character");
    if (::strcasecmp(name.c_str(), "Expect") == 0) caller_sets_expect = true;
    // "Name:" alone tells curl to drop the header; "Name;" sends it empty.
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (!grown) return transport_error("out of memory building the request headers");
    list.release();
    list.reset(grown);
  }
  // Without this curl sends "Expect: 100-continue" for bodies over 1 KiB and waits up to a second
  // for an answer many servers never send.
  if (!caller_sets_expect) {
    curl_slist* grown = curl_slist_append(list.get(), "Expect:");
    if (!grown) return transport_error("out of memory building the request headers");
    list.release();
    list.reset(grown);
  }

  if (!curl_ready()) return transport_error("libcurl could not be initialised");
  EasyHandle easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) return transport_error("libcurl could not create a handle");
  CURL* h = easy.get();

  Exchange exchange;
  exchange.limit = request.max_response_bytes;
  char error_text[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  // Signals are process-wide: a SIGALRM-based DNS timeout would break the daemon's other threads.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: CURLOPT_PROTOCOLS is deprecated from here on
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  // A redirect could send a signed body (or credentials) somewhere the configuration never named.
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (is_get) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, to_curl_ms(request.connect_timeout));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, to_curl_ms(request.timeout));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &exchange);
  if (request.basic_auth) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, request.basic_auth->user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, request.basic_auth->password.c_str());
  }

  const CURLcode rc = curl_easy_perform(h);
  const bool cut_short = rc == CURLE_WRITE_ERROR && exchange.response.truncated;
  if (rc != CURLE_OK && !cut_short) {
    std::string text(trim(error_text));
    if (text.empty()) text = curl_easy_strerror(rc);
    if (rc == CURLE_URL_MALFORMAT) return make_error(ErrorKind::invalid, "invalid_url", std::move(text));
    long sent = 0;
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent);
    if (!before_sending(rc) && sent > 0)
      return make_error(ErrorKind::unavailable, std::string(kRequestSentNoAnswer), std::move(text));
    return transport_error(std::move(text));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  exchange.response.status = static_cast<int>(status);
  return std::move(exchange.response);
}

}  // namespace

Result<HttpClientResponse> post(const HttpClientRequest& request) { return perform(request, false); }

Result<HttpClientResponse> get(const HttpClientRequest& request) { return perform(request, true); }

}  // namespace switchboard::channels
