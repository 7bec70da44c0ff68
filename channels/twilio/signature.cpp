// X-Twilio-Signature: HMAC-SHA1 over the requested URL and the sorted form parameters, and the URL
// variants (default port added or removed) that Twilio's own validators accept.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include <algorithm>

#include "channels/twilio/adapter.hpp"

namespace switchboard::channels::twilio {

namespace {

// Name+value of every pair, sorted by name then value (std::string compares bytes as unsigned).
std::string sorted_concat(const Params& params) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(params.size());
  std::size_t size = 0;
  for (const auto& p : params) {
    sorted.push_back(&p);
    size += p.first.size() + p.second.size();
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::string out;
  out.reserve(size);
  for (const auto* p : sorted) out.append(p->first).append(p->second);
  return out;
}

std::string hmac_sha1_base64(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), mac, &mac_len))
    return {};
  unsigned char text[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(text, mac, static_cast<int>(mac_len));
  return std::string(reinterpret_cast<const char*>(text), n > 0 ? static_cast<std::size_t>(n) : 0);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ::strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

}  // namespace

std::string signature(std::string_view auth_token, std::string_view url, const Params& params) {
  std::string data(url);
  data += sorted_concat(params);
  return hmac_sha1_base64(auth_token, data);
}

std::vector<std::string> url_variants(std::string_view url) {
  std::vector<std::string> out{std::string(url)};
  std::string_view default_port;
  std::size_t authority_begin = 0;
  if (starts_with_nocase(url, "https://")) {
    default_port = "443";
    authority_begin = 8;
  } else if (starts_with_nocase(url, "http://")) {
    default_port = "80";
    authority_begin = 7;
  } else {
    return out;
  }
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority_begin), url.size());
  const std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  // user:pass@ may hold ':' too: the host starts after the last '@'.
  const std::size_t at = authority.rfind('@');
  const std::size_t host_begin = at == std::string_view::npos ? 0 : at + 1;
  const std::string_view host = authority.substr(host_begin);
  if (host.empty()) return out;
  // An IPv6 literal's colons are inside the brackets.
  const std::size_t bracket = host.rfind(']');
  std::size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && bracket != std::string_view::npos && colon < bracket)
    colon = std::string_view::npos;

  if (colon == std::string_view::npos) {
    std::string added(url.substr(0, authority_end));
    added.append(":").append(default_port).append(url.substr(authority_end));
    out.push_back(std::move(added));
  } else if (host.substr(colon + 1) == default_port) {
    const std::size_t colon_at = authority_begin + host_begin + colon;
    std::string removed(url.substr(0, colon_at));
    removed.append(url.substr(authority_end));
    out.push_back(std::move(removed));
  }
  return out;
}

bool signature_matches(std::string_view header, std::string_view url, const Params& params,
                       const std::vector<std::string>& auth_tokens) {
  const std::string concat = sorted_concat(params);
  bool matched = false;
  for (const std::string& variant : url_variants(url)) {
    const std::string data = variant + concat;
    for (const std::string& token : auth_tokens) {
      if (token.empty()) continue;
      const std::string expected = hmac_sha1_base64(token, data);
      // Lengths are public (always 28); the bytes are compared in constant time, and every
      // combination is tried so the time taken does not tell which one matched.
      if (expected.empty() || expected.size() != header.size()) continue;
      matched |= CRYPTO_memcmp(expected.data(), header.data(), header.size()) == 0;
    }
  }
  return matched;
}

}  // namespace switchboard::channels::twilio
