// Who is calling the agent API: people sign in with a password (Argon2id through libsodium) and
// get a server-side session (the sb_session cookie plus a CSRF token for changes); scripts use
// the config's admin tokens. Failed logins are limited per login and per client address, and
// concurrent hashing is bounded, so a login flood answers 429 and never grows the process's
// memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "channels/http.hpp"
#include "channels/tokens.hpp"
#include "daemon/config.hpp"
#include "routing/core/result.hpp"
#include "routing/core/time.hpp"
#include "routing/rules/ruleset.hpp"
#include "storage/people.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

// Password hashing with a bound on how many run at once.
class Passwords {
 public:
  explicit Passwords(const AuthOptions& options);
  // Errors: unavailable "busy" (every hashing slot taken), bug (libsodium failed).
  Result<std::string> hash(std::string_view password);
  // False for a wrong password or a hash that is not one of ours. Errors: unavailable "busy".
  Result<bool> verify(const std::string& hash, std::string_view password);
  // Passwords people may set: at least 10 characters, valid UTF-8, at most 1024 bytes.
  static Status acceptable(std::string_view password);

 private:
  class Slot;
  const AuthOptions& options_;
  std::mutex mu_;
  std::size_t busy_ = 0;
};

// Failed logins in a sliding window, per login and per client address; bounded in size.
class LoginLimiter {
 public:
  explicit LoginLimiter(const AuthOptions& options) : options_(options) {}
  // When the next attempt may come (Retry-After), or nullopt when it may come now.
  std::optional<std::chrono::seconds> blocked(const std::string& login, const std::string& address,
                                              std::chrono::steady_clock::time_point now);
  void failed(const std::string& login, const std::string& address, std::chrono::steady_clock::time_point now);
  void succeeded(const std::string& login);

 private:
  static constexpr std::size_t kMaxKeys = 100000;
  using Times = std::deque<std::chrono::steady_clock::time_point>;
  std::optional<std::chrono::seconds> over(Times& times, int limit, std::chrono::steady_clock::time_point now) const;
  void prune(std::chrono::steady_clock::time_point now);

  const AuthOptions& options_;
  std::mutex mu_;
  std::unordered_map<std::string, Times> logins_;
  std::unordered_map<std::string, Times> addresses_;
};

// The caller of an /api/v1 request.
struct Caller {
  std::string login;  // the person, or "admin-token" for a config admin token
  routing::Role role = routing::Role::agent;
  bool by_session = false;
  bool config_token = false;  // an admin token of the config, not a person
  // What a long-lived stream re-checks: the session (its token's SHA-256) or the API token's id.
  std::string session_digest = {};
  std::string token_id = {};
};

class Auth {
 public:
  using Rules = std::function<std::shared_ptr<const routing::RuleSet>()>;
  Auth(AuthOptions options, storage::Pool& pool, const Clock& clock, const channels::BearerTokens& admin_tokens,
       Rules rules);

  // The caller: a config admin token (Authorization: Bearer), else the sb_session cookie of a
  // person still in the rules file (role as the file says now). A request with the cookie that
  // changes state (POST, PUT, PATCH, DELETE) needs X-CSRF-Token too. Errors: unauthorized
  // (no or unknown credentials, expired or revoked session), forbidden "csrf".
  Result<Caller> authenticate(const HttpRequest& request);
  // As authenticate(), and the caller must be an admin: forbidden "admin_only" otherwise.
  Result<Caller> require_admin(const HttpRequest& request);

  // POST /api/v1/session, DELETE /api/v1/session, GET /api/v1/session.
  HttpResponse login(const HttpRequest& request);
  HttpResponse logout(const HttpRequest& request);
  HttpResponse whoami(const HttpRequest& request);
  // Admins: POST /api/v1/people/{login}/tokens {"name"} (201 with the token, shown once),
  // GET /api/v1/people/{login}/tokens, DELETE /api/v1/tokens/{id}.
  HttpResponse create_token(const HttpRequest& request, const std::string& login);
  HttpResponse list_tokens(const HttpRequest& request, const std::string& login);
  HttpResponse revoke_token(const HttpRequest& request, const std::string& id);

  // The client's address: the peer, or the last X-Forwarded-For entry a trusted proxy added.
  std::string client_address(const HttpRequest& request) const;
  Passwords& passwords() { return passwords_; }

 private:
  // The session the request's cookie names, or an error.
  Result<std::pair<storage::SessionRow, std::string>> session_of(const HttpRequest& request);

  AuthOptions options_;
  storage::Pool& pool_;
  const Clock& clock_;
  const channels::BearerTokens& admin_tokens_;
  Rules rules_;
  Passwords passwords_;
  LoginLimiter limiter_;
  std::string dummy_hash_;  // verified against for an unknown login: the same time either way
};

// The IP of a peer as the server writes it ("1.2.3.4:5678", "[::1]:5678"), without the port.
std::string peer_ip(std::string_view remote);

// The value of cookie `name` in the request's Cookie headers, "" when absent.
std::string cookie_value(const HttpRequest& request, std::string_view name);

}  // namespace switchboard::daemon
