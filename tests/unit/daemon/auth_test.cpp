// Tests for daemon/auth: the pieces that need no database (limits, cookies, addresses, passwords).
#include <catch2/catch.hpp>

#include "daemon/auth.hpp"

using namespace switchboard;
using namespace switchboard::daemon;

TEST_CASE("auth: failed logins are limited per login and per address, in a window", "[daemon][auth]") {
  AuthOptions o;
  o.max_failures_per_login = 3;
  o.max_failures_per_address = 5;
  o.failure_window = std::chrono::seconds{60};
  LoginLimiter limiter(o);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours{1};
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(limiter.blocked("anna", "10.0.0.1", t0));
    limiter.failed("anna", "10.0.0.1", t0);
  }
  auto wait = limiter.blocked("anna", "10.0.0.1", t0 + std::chrono::seconds{10});
  REQUIRE(wait);
  CHECK(*wait == std::chrono::seconds{50});  // until the oldest failure leaves the window
  CHECK_FALSE(limiter.blocked("anna", "10.0.0.1", t0 + std::chrono::seconds{60}));
  // Per address: five failures on different logins block the address for every login.
  const auto t1 = t0 + std::chrono::seconds{61};
  for (int i = 0; i < 5; ++i) limiter.failed("login" + std::to_string(i), "10.0.0.1", t1);
  CHECK(limiter.blocked("ewa", "10.0.0.1", t1));
  CHECK_FALSE(limiter.blocked("ewa", "10.0.0.2", t1));
  // A success clears the login's failures (not the address's).
  limiter.succeeded("anna");
  CHECK_FALSE(limiter.blocked("anna", "10.0.0.9", t1));
}

TEST_CASE("auth: peer addresses, cookies and acceptable passwords", "[daemon][auth]") {
  CHECK(peer_ip("127.0.0.1:5678") == "127.0.0.1");
  CHECK(peer_ip("[::1]:5678") == "::1");
  CHECK(peer_ip("[2001:db8::7]:443") == "2001:db8::7");
  CHECK(peer_ip("unknown") == "unknown");

  HttpRequest r;
  r.headers = {{"Cookie", "theme=dark; sb_session=abc123; other=x"}, {"cookie", "late=1"}};
  CHECK(cookie_value(r, "sb_session") == "abc123");
  CHECK(cookie_value(r, "late") == "1");
  CHECK(cookie_value(r, "missing").empty());
  CHECK(cookie_value(r, "sb").empty());  // a prefix is not a name

  CHECK(Passwords::acceptable("zażółć gęś").ok());  // ten characters, more bytes
  CHECK(Passwords::acceptable("123456789").error().code == "password_too_short");
  CHECK(Passwords::acceptable(std::string("abcdefghij\0k", 12)).error().code == "invalid_password");
  CHECK(Passwords::acceptable("abcdefghij\xff").error().code == "invalid_password");
  CHECK(Passwords::acceptable(std::string(1025, 'a')).error().code == "password_too_long");

  AuthOptions cheap;
  cheap.password_memory = 64 * 1024;
  cheap.password_passes = 1;
  Passwords passwords(cheap);
  auto hash = passwords.hash("zażółć gęślą jaźń");
  REQUIRE(hash.ok());
  CHECK(hash->rfind("$argon2id$", 0) == 0);
  CHECK(*passwords.verify(*hash, "zażółć gęślą jaźń"));
  CHECK_FALSE(*passwords.verify(*hash, "zażółć gęślą jaźN"));
  CHECK_FALSE(*passwords.verify("not a hash", "x"));
}
