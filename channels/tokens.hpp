// Bearer tokens kept as SHA-256 digests and checked in constant time: the API channel's
// per-account tokens and the admin API's tokens both go through here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "channels/http.hpp"
#include "routing/core/result.hpp"

namespace switchboard::channels {

// Raw 32-byte SHA-256, and lower-case hex of any bytes.
std::string sha256(std::string_view data);
std::string to_hex(std::string_view bytes);

class BearerTokens {
 public:
  // `owner` names who the token belongs to (an account, "admin"); the token itself is not kept.
  void add(std::string owner, std::string_view token);

  // The owners of the request's "Authorization: Bearer" token (the scheme is case-insensitive).
  // Every digest is compared, so the time taken tells nothing about which one matched.
  // Errors: unauthorized "missing_token" or "unknown_token" (with `unknown_message`).
  Result<std::vector<std::string>> owners(const HttpRequest& request,
                                          std::string_view unknown_message = "the bearer token is not valid") const;

 private:
  struct Entry {
    std::string owner;
    std::string digest;
  };
  std::vector<Entry> entries_;
};

}  // namespace switchboard::channels
