#include "channels/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

namespace switchboard::channels {

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

void BearerTokens::add(std::string owner, std::string_view token) {
  entries_.push_back({std::move(owner), sha256(token)});
}

Result<std::vector<std::string>> BearerTokens::owners(const HttpRequest& request,
                                                      std::string_view unknown_message) const {
  constexpr std::string_view kBearer = "bearer ";
  const std::string* auth = request.header("Authorization");
  if (!auth || auth->size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), auth->begin(),
                  [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
    return make_error(ErrorKind::unauthorized, "missing_token", "an 'Authorization: Bearer <token>' header is required");
  const std::string digest = sha256(std::string_view(*auth).substr(kBearer.size()));
  std::vector<std::string> out;
  for (const auto& e : entries_)
    if (CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0) out.push_back(e.owner);
  if (out.empty()) return make_error(ErrorKind::unauthorized, "unknown_token", std::string(unknown_message));
  return out;
}

}  // namespace switchboard::channels
