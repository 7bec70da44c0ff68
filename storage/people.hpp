// People's credentials and sessions (the people themselves are declared in the rules file).
// Secrets never reach this module in the clear: it stores password hashes and the SHA-256 of
// session and CSRF tokens.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "routing/core/result.hpp"
#include "routing/core/time.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

// Sets (or replaces) a person's password hash and revokes their sessions, in one transaction.
Status set_password_hash(Pool& pool, const std::string& login, const std::string& hash);
// nullopt when the person has no password yet.
Result<std::optional<std::string>> password_hash(Pool& pool, const std::string& login);

struct SessionRow {
  std::string login;
  std::string csrf_sha256;
  Timestamp expires_at{};
};

Status create_session(Pool& pool, const std::string& login, const std::string& token_sha256,
                      const std::string& csrf_sha256, Timestamp expires_at);
// A live session (not revoked, not expired at `now`); nullopt otherwise.
Result<std::optional<SessionRow>> find_session(Pool& pool, const std::string& token_sha256, Timestamp now);
// True when a live session was revoked.
Result<bool> revoke_session(Pool& pool, const std::string& token_sha256);

// Every live session and API token of these people (removed from the rules file, or no longer
// admins); how many ended.
Result<long> revoke_credentials(Pool& pool, const std::vector<std::string>& logins);

// Of these sessions (SHA-256 of their tokens) and API token ids, the ones still live at `now`.
struct LiveCredentials {
  std::vector<std::string> sessions;
  std::vector<std::string> tokens;
};
Result<LiveCredentials> live_credentials(Pool& pool, const LiveCredentials& asked, Timestamp now);

struct ApiTokenRow {
  std::string id;
  std::string login;
  std::string name;
  std::string created_at;    // RFC 3339
  std::string last_used_at;  // RFC 3339, "" when never used
};

// A new token of `login` (its digest only); returns the row.
Result<ApiTokenRow> create_api_token(Pool& pool, const std::string& login, const std::string& name,
                                     const std::string& token_sha256);
// The live token with this digest (and marks it used), nullopt when unknown or revoked.
Result<std::optional<ApiTokenRow>> use_api_token(Pool& pool, const std::string& token_sha256);
// The person's live tokens, newest first.
Result<std::vector<ApiTokenRow>> list_api_tokens(Pool& pool, const std::string& login);
// True when a live token with this id was revoked.
Result<bool> revoke_api_token(Pool& pool, const std::string& id);

}  // namespace switchboard::storage
