#include "daemon/auth.hpp"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>

#include "routing/core/log.hpp"
#include "routing/text/utf8.hpp"
#include "storage/people.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

constexpr std::string_view kCookie = "sb_session";

Error unauthorized(std::string code, std::string message) {
  return make_error(ErrorKind::unauthorized, std::move(code), std::move(message));
}

// 32 random bytes as URL-safe base64 without padding (a cookie value, a CSRF token).
std::string random_token() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char out[sodium_base64_ENCODED_LEN(sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

std::string digest(std::string_view token) {
  return channels::to_hex(channels::sha256(token));
}

// The request's X-CSRF-Token is the session's (compared as digests of equal length).
bool csrf_matches(const HttpRequest& request, const storage::SessionRow& session) {
  const std::string* csrf = request.header("X-CSRF-Token");
  if (!csrf || csrf->empty()) return false;
  const std::string given = digest(*csrf);
  return given.size() == session.csrf_sha256.size() &&
         sodium_memcmp(given.data(), session.csrf_sha256.data(), given.size()) == 0;
}

// The credentials of "Authorization: Bearer X" (the scheme in any case), "" when absent.
std::string bearer_value(const HttpRequest& request) {
  const std::string* header = request.header("Authorization");
  if (!header || header->size() < 7) return {};
  std::string scheme = header->substr(0, 7);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return {};
  std::string_view value = std::string_view(*header).substr(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return std::string(value);
}

json::object token_json(const storage::ApiTokenRow& t) {
  json::object o{{"id", t.id}, {"login", t.login}, {"name", t.name}, {"created_at", t.created_at}};
  o["last_used_at"] = t.last_used_at.empty() ? json::value(nullptr) : json::value(t.last_used_at);
  return o;
}

bool changes_state(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

json::object person_json(const routing::Person& p) {
  return json::object{{"login", p.login}, {"name", p.name}, {"role", to_string(p.role)}};
}

}  // namespace

// --- Passwords ---

class Passwords::Slot {
 public:
  explicit Slot(Passwords& p) : p_(p) {
    std::lock_guard lock(p_.mu_);
    if (p_.busy_ < std::max<std::size_t>(p_.options_.max_concurrent_hashes, 1)) {
      ++p_.busy_;
      held_ = true;
    }
  }
  ~Slot() {
    if (!held_) return;
    std::lock_guard lock(p_.mu_);
    --p_.busy_;
  }
  bool held() const { return held_; }

 private:
  Passwords& p_;
  bool held_ = false;
};

Passwords::Passwords(const AuthOptions& options) : options_(options) {
  if (sodium_init() < 0) log::error("sodium_init_failed", {});
}

Status Passwords::acceptable(std::string_view password) {
  if (password.size() > 1024)
    return make_error(ErrorKind::invalid, "password_too_long", "a password is at most 1024 bytes");
  if (!routing::is_valid_utf8(password) || password.find('\0') != std::string_view::npos)
    return make_error(ErrorKind::invalid, "invalid_password", "a password must be UTF-8 text");
  // Characters, not bytes: "zażółć gęś" is 10.
  std::size_t characters = 0;
  for (unsigned char c : password) characters += (c & 0xC0) != 0x80;
  if (characters < 10)
    return make_error(ErrorKind::invalid, "password_too_short", "a password needs at least 10 characters");
  return Ok{};
}

Result<std::string> Passwords::hash(std::string_view password) {
  const Slot slot(*this);
  if (!slot.held())
    return make_error(ErrorKind::unavailable, "busy", "too many passwords are being checked; try again");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), options_.password_passes, options_.password_memory,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return make_error(ErrorKind::bug, "hash_failed", "the password could not be hashed (out of memory?)");
  return std::string(out);
}

Result<bool> Passwords::verify(const std::string& hash, std::string_view password) {
  const Slot slot(*this);
  if (!slot.held())
    return make_error(ErrorKind::unavailable, "busy", "too many passwords are being checked; try again");
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

// --- LoginLimiter ---

std::optional<std::chrono::seconds> LoginLimiter::over(Times& times, int limit,
                                                       std::chrono::steady_clock::time_point now) const {
  while (!times.empty() && now - times.front() >= options_.failure_window) times.pop_front();
  if (static_cast<int>(times.size()) < limit) return std::nullopt;
  const auto wait = std::chrono::ceil<std::chrono::seconds>(times.front() + options_.failure_window - now);
  return std::max(wait, std::chrono::seconds{1});
}

void LoginLimiter::prune(std::chrono::steady_clock::time_point now) {
  for (auto* map : {&logins_, &addresses_})
    for (auto it = map->begin(); it != map->end();) {
      while (!it->second.empty() && now - it->second.front() >= options_.failure_window) it->second.pop_front();
      it = it->second.empty() ? map->erase(it) : std::next(it);
    }
}

std::optional<std::chrono::seconds> LoginLimiter::blocked(const std::string& login, const std::string& address,
                                                          std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  std::optional<std::chrono::seconds> wait;
  if (auto it = logins_.find(login); it != logins_.end()) wait = over(it->second, options_.max_failures_per_login, now);
  if (auto it = addresses_.find(address); it != addresses_.end())
    if (auto w = over(it->second, options_.max_failures_per_address, now)) wait = std::max(wait.value_or(*w), *w);
  if (!wait && logins_.size() + addresses_.size() >= kMaxKeys) {
    prune(now);
    // Still full: a flood of distinct logins or addresses. Refused until the window frees room,
    // rather than remembered without bound.
    if (logins_.size() + addresses_.size() >= kMaxKeys) wait = std::chrono::seconds{60};
  }
  return wait;
}

void LoginLimiter::failed(const std::string& login, const std::string& address,
                          std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  if (logins_.size() + addresses_.size() >= kMaxKeys) prune(now);
  auto add = [&](std::unordered_map<std::string, Times>& map, const std::string& key, int limit) {
    if (map.size() >= kMaxKeys && !map.contains(key)) return;
    auto& times = map[key];
    times.push_back(now);
    while (static_cast<int>(times.size()) > limit) times.pop_front();  // only the last `limit` matter
  };
  add(logins_, login, options_.max_failures_per_login);
  add(addresses_, address, options_.max_failures_per_address);
}

void LoginLimiter::succeeded(const std::string& login) {
  std::lock_guard lock(mu_);
  logins_.erase(login);
}

// --- Auth ---

std::string cookie_value(const HttpRequest& request, std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (header.size() != 6 || !std::equal(header.begin(), header.end(), "cookie", [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        }))
      continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    }
  }
  return {};
}

Auth::Auth(AuthOptions options, storage::Pool& pool, const Clock& clock, const channels::BearerTokens& admin_tokens,
           Rules rules)
    : options_(std::move(options)),
      pool_(pool),
      clock_(clock),
      admin_tokens_(admin_tokens),
      rules_(std::move(rules)),
      passwords_(options_),
      limiter_(options_) {
  // Made once: a login that does not exist costs the same verification as one that does.
  if (auto h = passwords_.hash(random_token())) dummy_hash_ = *h;
}

std::string peer_ip(std::string_view remote) {
  if (remote.starts_with('[')) {  // "[::1]:5678" -> "::1"
    const auto close = remote.find(']');
    return std::string(close == std::string_view::npos ? remote.substr(1) : remote.substr(1, close - 1));
  }
  const auto colon = remote.rfind(':');  // "1.2.3.4:5678" -> "1.2.3.4"
  return std::string(colon == std::string_view::npos ? remote : remote.substr(0, colon));
}

std::string Auth::client_address(const HttpRequest& request) const {
  const std::string address = peer_ip(request.remote);
  if (std::find(options_.trusted_proxies.begin(), options_.trusted_proxies.end(), address) ==
      options_.trusted_proxies.end())
    return address;
  const std::string* forwarded = request.header("X-Forwarded-For");
  if (!forwarded) return address;
  // The proxy appends the address it saw: the last entry is the one it vouches for.
  std::string_view list = *forwarded;
  const auto comma = list.rfind(',');
  std::string_view last = comma == std::string_view::npos ? list : list.substr(comma + 1);
  while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
  while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
  return last.empty() || last.size() > 64 ? address : std::string(last);
}

Result<std::pair<storage::SessionRow, std::string>> Auth::session_of(const HttpRequest& request) {
  const std::string token = cookie_value(request, kCookie);
  if (token.empty()) return unauthorized("no_session", "sign in first (no session cookie)");
  const std::string token_digest = digest(token);
  auto found = storage::find_session(pool_, token_digest, clock_.now());
  if (!found) return found.error();
  if (!*found) return unauthorized("session_expired", "the session has expired or was ended; sign in again");
  return std::make_pair(**found, token_digest);
}

Result<Caller> Auth::authenticate(const HttpRequest& request) {
  if (request.header("Authorization")) {
    auto owners = admin_tokens_.owners(request, "the bearer token is not a valid token");
    if (owners) return Caller{"admin-token", routing::Role::admin, false, true};
    if (owners.error().code != "unknown_token") return owners.error();
    // A person's API token: its role is the one the rules file gives the person now.
    auto token = storage::use_api_token(pool_, digest(bearer_value(request)));
    if (!token) return token.error();
    const auto rules = rules_();
    const routing::Person* person = *token && rules ? rules->person((*token)->login) : nullptr;
    if (!person) return owners.error();
    Caller caller{person->login, person->role, false};
    caller.token_id = (*token)->id;
    return caller;
  }
  if (cookie_value(request, kCookie).empty())
    return unauthorized("missing_token", "send Authorization: Bearer <token>, or sign in (POST /api/v1/session)");
  auto session = session_of(request);
  if (!session) return session.error();
  const auto rules = rules_();
  const routing::Person* person = rules ? rules->person(session->first.login) : nullptr;
  if (!person) {
    // Removed from the rules file since signing in: the session ends with the person.
    (void)storage::revoke_session(pool_, session->second);
    return unauthorized("session_expired", "the session's person is no longer in the rules file");
  }
  if (changes_state(request.method) && !csrf_matches(request, session->first))
    return make_error(ErrorKind::forbidden, "csrf", "a change made with the session cookie needs X-CSRF-Token");
  Caller caller{person->login, person->role, true};
  caller.session_digest = session->second;
  return caller;
}

Result<Caller> Auth::require_admin(const HttpRequest& request) {
  auto caller = authenticate(request);
  if (!caller) return caller;
  if (caller->role != routing::Role::admin)
    return make_error(ErrorKind::forbidden, "admin_only", "this needs an admin (role: admin in the rules file)");
  return caller;
}

HttpResponse Auth::login(const HttpRequest& request) {
  auto fail = [&](const Error& e) { return error_response(e); };
  json::error_code ec;
  const json::value body = json::parse(request.body, ec);
  const json::object* o = !ec ? body.if_object() : nullptr;
  const json::value* login_v = o ? o->if_contains("login") : nullptr;
  const json::value* password_v = o ? o->if_contains("password") : nullptr;
  if (!login_v || !login_v->is_string() || !password_v || !password_v->is_string())
    return fail(make_error(ErrorKind::invalid, "invalid_login_request",
                           "the body must be {\"login\":\"...\",\"password\":\"...\"}"));
  const std::string login(login_v->get_string());
  const std::string password(password_v->get_string());
  const std::string address = client_address(request);
  const auto now = std::chrono::steady_clock::now();
  if (login.size() > 128 || password.size() > 1024)
    return fail(unauthorized("invalid_credentials", "wrong login or password"));
  if (auto wait = limiter_.blocked(login, address, now)) {
    log::warn("login_limited", {{"login", login},
                                {"address", address},
                                {"retry_after", std::to_string(wait->count())},
                                {"req", request.request_id}});
    HttpResponse r = error_response(429, "too_many_attempts", "too many failed sign-ins; try again later");
    r.headers.emplace_back("Retry-After", std::to_string(wait->count()));
    return r;
  }
  const auto rules = rules_();
  const routing::Person* person = rules ? rules->person(login) : nullptr;
  std::string stored;
  if (person) {
    auto hash = storage::password_hash(pool_, login);
    if (!hash) return fail(hash.error());
    if (*hash) stored = **hash;
  }
  // The same work whether the login exists, has a password, or neither: the answer and its
  // time tell nothing about which logins exist.
  auto ok = passwords_.verify(stored.empty() ? dummy_hash_ : stored, password);
  if (!ok) {
    HttpResponse r = fail(ok.error());
    if (ok.error().code == "busy") {
      r = error_response(429, "busy", ok.error().message);
      r.headers.emplace_back("Retry-After", "1");
    }
    return r;
  }
  if (!*ok || stored.empty()) {
    limiter_.failed(login, address, now);
    log::warn("login_failed", {{"login", login}, {"address", address}, {"req", request.request_id}});
    return fail(unauthorized("invalid_credentials", "wrong login or password"));
  }
  limiter_.succeeded(login);
  const std::string token = random_token();
  const std::string csrf = random_token();
  if (auto made =
          storage::create_session(pool_, login, digest(token), digest(csrf), clock_.now() + options_.session_ttl);
      !made)
    return fail(made.error());
  log::info("login", {{"login", login}, {"address", address}, {"req", request.request_id}});
  HttpResponse r =
      json_response(200, json::serialize(json::object{{"person", person_json(*person)}, {"csrf_token", csrf}}));
  r.headers.emplace_back("Set-Cookie",
                         std::string(kCookie) + "=" + token + "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" +
                             std::to_string(options_.session_ttl.count()) + (options_.secure_cookie ? "; Secure" : ""));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Auth::logout(const HttpRequest& request) {
  auto session = session_of(request);
  if (!session) return error_response(session.error());
  if (!csrf_matches(request, session->first))
    return error_response(make_error(ErrorKind::forbidden, "csrf", "signing out needs X-CSRF-Token"));
  if (auto revoked = storage::revoke_session(pool_, session->second); !revoked) return error_response(revoked.error());
  log::info("logout", {{"login", session->first.login}, {"req", request.request_id}});
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
  return r;
}

HttpResponse Auth::create_token(const HttpRequest& request, const std::string& login) {
  auto caller = require_admin(request);
  if (!caller) return error_response(caller.error());
  const auto rules = rules_();
  if (!rules || !rules->person(login))
    return error_response(make_error(ErrorKind::not_found, "person_not_found",
                                     "no person '" + login + "' in the rules file's 'people:'"));
  json::error_code ec;
  const json::value body = json::parse(request.body, ec);
  const json::object* o = !ec ? body.if_object() : nullptr;
  const json::value* name = o ? o->if_contains("name") : nullptr;
  if (!name || !name->is_string() || name->get_string().empty() || name->get_string().size() > 200 ||
      !routing::is_valid_utf8(name->get_string()))
    return error_response(make_error(ErrorKind::invalid, "invalid_token_request",
                                     "the body must be {\"name\":\"...\"} (what the token is for, 1-200 bytes)"));
  const std::string token = "sbp_" + random_token();
  auto row = storage::create_api_token(pool_, login, std::string(name->get_string()), digest(token));
  if (!row) return error_response(row.error());
  log::info("api_token_created",
            {{"login", login}, {"id", row->id}, {"by", caller->login}, {"req", request.request_id}});
  json::object out = token_json(*row);
  out["token"] = token;  // shown once: only its digest is kept
  HttpResponse r = json_response(201, json::serialize(out));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Auth::list_tokens(const HttpRequest& request, const std::string& login) {
  auto caller = require_admin(request);
  if (!caller) return error_response(caller.error());
  auto rows = storage::list_api_tokens(pool_, login);
  if (!rows) return error_response(rows.error());
  json::array items;
  for (const auto& t : *rows) items.push_back(token_json(t));
  return json_response(200, json::serialize(json::object{{"items", std::move(items)}, {"next_cursor", nullptr}}));
}

HttpResponse Auth::revoke_token(const HttpRequest& request, const std::string& id) {
  auto caller = require_admin(request);
  if (!caller) return error_response(caller.error());
  auto revoked = storage::revoke_api_token(pool_, id);
  if (!revoked) return error_response(revoked.error());
  if (!*revoked) return error_response(make_error(ErrorKind::not_found, "token_not_found", "no live token " + id));
  log::info("api_token_revoked", {{"id", id}, {"by", caller->login}, {"req", request.request_id}});
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse Auth::whoami(const HttpRequest& request) {
  auto caller = authenticate(request);
  if (!caller) return error_response(caller.error());
  const auto rules = rules_();
  const routing::Person* person = rules ? rules->person(caller->login) : nullptr;
  json::object body;
  body["person"] = person ? json::value(person_json(*person))
                          : json::value(json::object{{"login", caller->login}, {"role", to_string(caller->role)}});
  return json_response(200, json::serialize(body));
}

}  // namespace switchboard::daemon
