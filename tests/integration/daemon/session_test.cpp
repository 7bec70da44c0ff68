// Signing in (issue 14, part 2): person set-password, POST/DELETE/GET /api/v1/session with the
// cookie and CSRF token, roles on the admin endpoints, failed logins limited per login.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>
#include <signal.h>

#include "tests/support/daemon_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard::testing;
namespace json = boost::json;

namespace {

constexpr const char* kRules = R"(version: 1
people:
  boss: { name: Szefowa, role: admin }
  anna: { name: Anna Nowak }
queues: { support: {} }
rules:
  - name: default
    then: [ { enqueue: support } ]
)";

// Cheap hashing for tests (the defaults cost 64 MiB and a noticeable time per login).
constexpr const char* kAuth =
    "auth: { password_memory: 64KiB, password_passes: 1, login_failures: { per_login: 3, per_address: 50 } }\n";

const std::map<std::string, std::string> kEnv = {{"SWITCHBOARD_SECRET_ADMIN_TOKEN", "x"},
                                                 {"SWITCHBOARD_SECRET_SHOP_TOKEN", "x"},
                                                 {"SWITCHBOARD_SECRET_OTHER_TOKEN", "x"}};

int set_password(const DaemonProcess& d, const std::string& login, const std::string& password,
                 std::string* out = nullptr) {
  const std::string file = d.dir() + "/pw.txt";
  std::ofstream(file) << password << "\n";
  auto [code, text] =
      run_switchboard("person set-password " + login + " --config " + d.dir() + "/switchboard.yaml < " + file, kEnv);
  if (out) *out = text;
  return code;
}

HttpResult login(const DaemonProcess& d, const std::string& login, const std::string& password) {
  return http_request("POST", d.url("/api/v1/session"), {"Content-Type: application/json"},
                      json::serialize(json::object{{"login", login}, {"password", password}}));
}

// "sb_session=VALUE" from the Set-Cookie header.
std::string cookie_of(const HttpResult& r) {
  const auto it = r.headers.find("set-cookie");
  if (it == r.headers.end()) return {};
  return it->second.substr(0, it->second.find(';'));
}

}  // namespace

TEST_CASE("session: a person signs in, acts with the cookie and CSRF token, and signs out", "[daemon][session]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRules;
  o.extra_config = kAuth;
  DaemonProcess d(o);

  std::string out;
  CHECK(set_password(d, "nobody", "dlugie-haslo-123", &out) == 1);
  CHECK(out.find("no person 'nobody'") != std::string::npos);
  CHECK(set_password(d, "boss", "krótkie", &out) == 1);
  CHECK(out.find("at least 10 characters") != std::string::npos);
  REQUIRE(set_password(d, "boss", "zażółć gęślą jaźń", &out) == 0);
  REQUIRE(set_password(d, "anna", "anna-ma-kota-123") == 0);
  // Only the hash is stored.
  CHECK(db.scalar("SELECT password_hash LIKE '$argon2id$%' FROM person_credentials WHERE login = 'boss'") == "t");

  // Wrong password and unknown login get the same answer.
  const auto wrong = login(d, "boss", "zażółć gęślą jaźN");
  const auto unknown = login(d, "ghost", "zażółć gęślą jaźń");
  CHECK(wrong.status == 401);
  CHECK(unknown.status == 401);
  CHECK(wrong.body == unknown.body);
  CHECK(wrong.headers.count("set-cookie") == 0);

  const auto ok = login(d, "boss", "zażółć gęślą jaźń");
  REQUIRE(ok.status == 200);
  const auto body = json::parse(ok.body).as_object();
  CHECK(body.at("person").at("login").as_string() == "boss");
  CHECK(body.at("person").at("role").as_string() == "admin");
  const std::string csrf(body.at("csrf_token").as_string());
  const std::string set_cookie = ok.headers.at("set-cookie");
  CHECK(set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(set_cookie.find("Path=/") != std::string::npos);
  CHECK(set_cookie.find("Secure") == std::string::npos);  // public_url is http here
  const std::string cookie = "Cookie: " + cookie_of(ok);
  // Neither token is stored in the clear.
  CHECK(db.scalar("SELECT count(*) FROM sessions WHERE token_sha256 = '" + cookie_of(ok).substr(11) + "'") == "0");

  auto me = http_request("GET", d.url("/api/v1/session"), {cookie});
  REQUIRE(me.status == 200);
  CHECK(json::parse(me.body).at("person").at("name").as_string() == "Szefowa");

  // An admin's session reads conversations like the admin token (404: none with that id).
  CHECK(http_request("GET", d.url("/api/v1/conversations/999"), {cookie}).status == 404);
  // A change without the CSRF token is refused before anything happens.
  auto no_csrf = http_request("POST", d.url("/api/v1/conversations/999/messages"),
                              {cookie, "Content-Type: application/json"}, R"({"text":"Dzień dobry"})");
  CHECK(no_csrf.status == 403);
  CHECK(no_csrf.body.find("\"csrf\"") != std::string::npos);
  auto with_csrf =
      http_request("POST", d.url("/api/v1/conversations/999/messages"),
                   {cookie, "X-CSRF-Token: " + csrf, "Content-Type: application/json"}, R"({"text":"Dzień dobry"})");
  CHECK(with_csrf.status == 404);  // past auth: the conversation does not exist

  // An agent's session is not an admin's.
  const auto agent = login(d, "anna", "anna-ma-kota-123");
  REQUIRE(agent.status == 200);
  auto forbidden = http_request("GET", d.url("/api/v1/people/anna/tokens"), {"Cookie: " + cookie_of(agent)});
  CHECK(forbidden.status == 403);
  CHECK(forbidden.body.find("admin_only") != std::string::npos);

  // Signing out needs the CSRF token, then the cookie is dead.
  CHECK(http_request("DELETE", d.url("/api/v1/session"), {cookie}).status == 403);
  CHECK(http_request("DELETE", d.url("/api/v1/session"), {cookie, "X-CSRF-Token: " + csrf}).status == 204);
  auto after = http_request("GET", d.url("/api/v1/session"), {cookie});
  CHECK(after.status == 401);
  CHECK(after.headers.count("www-authenticate") == 1);
  CHECK(http_request("DELETE", d.url("/api/v1/session"), {cookie, "X-CSRF-Token: " + csrf}).status == 401);

  // A new password ends the person's sessions.
  auto anna_cookie = "Cookie: " + cookie_of(agent);
  CHECK(http_request("GET", d.url("/api/v1/session"), {anna_cookie}).status == 200);
  REQUIRE(set_password(d, "anna", "nowe-haslo-anny-456") == 0);
  CHECK(http_request("GET", d.url("/api/v1/session"), {anna_cookie}).status == 401);
}

TEST_CASE("session: failed logins are limited per login with Retry-After", "[daemon][session]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRules;
  o.extra_config = kAuth;
  DaemonProcess d(o);
  REQUIRE(set_password(d, "anna", "anna-ma-kota-123") == 0);
  for (int i = 0; i < 3; ++i) CHECK(login(d, "anna", "zgadywanie-" + std::to_string(i)).status == 401);
  const auto limited = login(d, "anna", "anna-ma-kota-123");  // even the right one, for now
  CHECK(limited.status == 429);
  REQUIRE(limited.headers.count("retry-after") == 1);
  CHECK(std::stoi(limited.headers.at("retry-after")) > 0);
  CHECK(limited.body.find("too_many_attempts") != std::string::npos);
  CHECK(d.log().find("event=login_limited") != std::string::npos);
  // Another login is not held up by anna's failures.
  REQUIRE(set_password(d, "boss", "zażółć gęślą jaźń") == 0);
  CHECK(login(d, "boss", "zażółć gęślą jaźń").status == 200);
  // Garbage bodies are a clear 400, never a crash.
  for (const char* bad : {"", "{", "[]", R"({"login":1,"password":"x"})", R"({"login":"anna"})"})
    CHECK(http_request("POST", d.url("/api/v1/session"), {"Content-Type: application/json"}, bad).status == 400);
}

TEST_CASE("session: admins give people API tokens, shown once, revocable, with the person's role",
          "[daemon][session]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRules;
  o.extra_config = kAuth;
  DaemonProcess d(o);
  const std::string admin = std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken;
  const std::string json_type = "Content-Type: application/json";

  auto made =
      http_request("POST", d.url("/api/v1/people/anna/tokens"), {admin, json_type}, R"({"name":"skrypt raportów"})");
  REQUIRE(made.status == 201);
  const auto token_body = json::parse(made.body).as_object();
  const std::string token(token_body.at("token").as_string());
  const std::string id(token_body.at("id").as_string());
  CHECK(token.rfind("sbp_", 0) == 0);
  CHECK(token_body.at("login").as_string() == "anna");
  // Only its digest is kept, and the list never shows it again.
  CHECK(db.scalar("SELECT count(*) FROM api_tokens WHERE token_sha256 = '" + token + "'") == "0");
  auto list = http_request("GET", d.url("/api/v1/people/anna/tokens"), {admin});
  REQUIRE(list.status == 200);
  CHECK(list.body.find(token) == std::string::npos);
  CHECK(json::parse(list.body).at("items").as_array().size() == 1);
  CHECK(json::parse(list.body).at("next_cursor").is_null());

  // The token is anna: an agent, so not on admin endpoints and not able to make tokens.
  const std::string anna = "Authorization: Bearer " + token;
  auto me = http_request("GET", d.url("/api/v1/session"), {anna});
  REQUIRE(me.status == 200);
  CHECK(json::parse(me.body).at("person").at("login").as_string() == "anna");
  CHECK(http_request("GET", d.url("/api/v1/people/anna/tokens"), {anna}).status == 403);
  CHECK(http_request("POST", d.url("/api/v1/people/anna/tokens"), {anna, json_type}, R"({"name":"x"})").status == 403);
  CHECK(db.scalar("SELECT last_used_at IS NOT NULL FROM api_tokens WHERE id = " + id) == "t");

  // Mistakes: an unknown person, a bad body, an unknown token id.
  CHECK(http_request("POST", d.url("/api/v1/people/ghost/tokens"), {admin, json_type}, R"({"name":"x"})").status ==
        404);
  for (const char* bad : {"", "{", R"({"name":""})", R"({"name":5})"})
    CHECK(http_request("POST", d.url("/api/v1/people/anna/tokens"), {admin, json_type}, bad).status == 400);
  CHECK(http_request("DELETE", d.url("/api/v1/tokens/999999"), {admin}).status == 404);
  CHECK(http_request("DELETE", d.url("/api/v1/tokens/abc"), {admin}).status == 404);

  // Revoked: the token is refused at once.
  CHECK(http_request("DELETE", d.url("/api/v1/tokens/" + id), {admin}).status == 204);
  auto after = http_request("GET", d.url("/api/v1/session"), {anna});
  CHECK(after.status == 401);
  CHECK(after.body.find("unknown_token") != std::string::npos);
}

TEST_CASE("session: a reload that removes a person or takes their admin role ends their sessions and tokens",
          "[daemon][session]") {
  TestDatabase db;
  DaemonOptions o;
  o.database_url = db.url();
  o.rules_yaml = kRules;
  o.extra_config = kAuth;
  DaemonProcess d(o);
  REQUIRE(set_password(d, "boss", "szefowa-ma-klucze-1") == 0);
  REQUIRE(set_password(d, "anna", "anna-ma-kota-123") == 0);
  const auto boss = login(d, "boss", "szefowa-ma-klucze-1");
  const auto anna = login(d, "anna", "anna-ma-kota-123");
  REQUIRE(boss.status == 200);
  REQUIRE(anna.status == 200);
  const std::string admin = std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken;
  auto made = http_request("POST", d.url("/api/v1/people/boss/tokens"), {admin, "Content-Type: application/json"},
                           R"({"name":"raporty"})");
  REQUIRE(made.status == 201);
  const std::string boss_token = "Authorization: Bearer " + std::string(json::parse(made.body).at("token").as_string());
  REQUIRE(http_request("GET", d.url("/api/v1/people/anna/tokens"), {boss_token}).status == 200);

  // boss becomes an agent, anna stays as she is.
  std::string demoted = kRules;
  demoted.replace(demoted.find("role: admin"), std::string("role: admin").size(), "role: agent");
  std::ofstream(d.dir() + "/rules.yaml") << demoted;
  d.signal(SIGHUP);
  REQUIRE(d.wait_for_log("event=credentials_revoked"));
  CHECK(http_request("GET", d.url("/api/v1/session"), {"Cookie: " + cookie_of(boss)}).status == 401);
  CHECK(http_request("GET", d.url("/api/v1/session"), {boss_token}).status == 401);
  CHECK(http_request("GET", d.url("/api/v1/session"), {"Cookie: " + cookie_of(anna)}).status == 200);
  CHECK(db.scalar("SELECT count(*) FROM api_tokens WHERE login = 'boss' AND revoked_at IS NULL") == "0");
  CHECK(db.scalar("SELECT count(*) FROM sessions WHERE login = 'boss' AND revoked_at IS NULL") == "0");
  CHECK(db.scalar("SELECT count(*) FROM sessions WHERE login = 'anna' AND revoked_at IS NULL") == "1");
}
