// Tests for daemon/config: validation with positions, secrets, defaults.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "channels/api/adapter.hpp"
#include "channels/email/adapter.hpp"
#include "channels/meta/adapter.hpp"
#include "channels/twilio/adapter.hpp"
#include "config/reader.hpp"
#include "config/secrets.hpp"
#include "daemon/config.hpp"

using namespace switchboard;
using namespace switchboard::daemon;
using config::parse_size;
using config::secret_env_name;
using config::valid_secret_name;

namespace {

std::vector<std::string> errors_of(const std::string& yaml) {
  auto r = parse_config(yaml, "sb.yaml", "/etc/switchboard");
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(d.format());
  return out;
}

struct EnvGuard {
  std::string name;
  EnvGuard(std::string n, const char* value) : name(std::move(n)) {
    if (value)
      ::setenv(name.c_str(), value, 1);
    else
      ::unsetenv(name.c_str());
  }
  ~EnvGuard() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("config: a minimal file gets sane defaults", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", nullptr);
  auto r = parse_config("database: { url: 'postgresql://u@h/db' }\nrules: rules.yaml\n", "sb.yaml", "/etc/switchboard");
  REQUIRE(r.config);
  CHECK(r.diagnostics.empty());
  CHECK(r.config->listen_address == "127.0.0.1");
  CHECK(r.config->listen_port == 8080);
  CHECK(r.config->rules_path == "/etc/switchboard/rules.yaml");
  CHECK(r.config->state_dir == "/etc/switchboard/state");
  CHECK(r.config->pool_size == 8);
  CHECK(r.config->workers == 8);
  CHECK(r.config->api_body_limit == 1024 * 1024);
  CHECK(r.config->webhook_body_limit == 4 * 1024 * 1024);
  CHECK(r.config->public_url == "http://127.0.0.1:8080");
  CHECK(r.config->console_dir.empty());
  auto console = parse_config("database: { url: 'postgresql://u@h/db' }\nrules: rules.yaml\nconsole: { dir: ../share/console }\n",
                              "sb.yaml", "/etc/switchboard");
  REQUIRE(console.config);
  CHECK(console.config->console_dir == "/etc/share/console");
  auto wrong = parse_config("rules: rules.yaml\nconsole: { dir: x, cache: 1 }\n", "sb.yaml", "/etc/switchboard");
  CHECK_FALSE(wrong.config);
}

TEST_CASE("config: SWITCHBOARD_DATABASE_URL overrides the file", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", "postgresql://env@h/db");
  auto r = parse_config("database: { url: 'postgresql://u@h/db' }\nrules: r.yaml\n", "sb.yaml", "/");
  REQUIRE(r.config);
  CHECK(r.config->database_url == "postgresql://env@h/db");
  auto no_db = parse_config("rules: r.yaml\n", "sb.yaml", "/");
  REQUIRE(no_db.config);
  CHECK(no_db.config->database_url == "postgresql://env@h/db");
}

TEST_CASE("config: unknown keys, wrong types and missing fields are reported together", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", nullptr);
  auto errors = errors_of(
      "listen: 8080\n"
      "databse: {}\n"
      "rules: rules.yaml\n"
      "http:\n"
      "  io_threads: many\n"
      "  idle_timeout: forever\n"
      "limits: { api_body: 1XB }\n");
  REQUIRE(errors == std::vector<std::string>{
                        "sb.yaml:1:1: error: 'database.url' is required (or set SWITCHBOARD_DATABASE_URL)",
                        "sb.yaml:1:9: error: 'listen' must be HOST:PORT such as '127.0.0.1:8080'",
                        "sb.yaml:2:1: error: unknown key 'databse' (did you mean 'database'?)",
                        "sb.yaml:5:15: error: 'http.io_threads' must be an integer",
                        "sb.yaml:6:17: error: 'http.idle_timeout' must be a duration of at least 1s such as '30s' or '5m'",
                        "sb.yaml:7:21: error: 'limits.api_body' must be a size such as '1MiB', '512KiB' or a number of bytes",
                    });
}

TEST_CASE("config: public_url is scheme, host and port only (issue 11)", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", "postgresql://env@h/db");
  auto errors = errors_of(
      "rules: r.yaml\n"
      "public_url: https://x.example/webhooks/twilio/sms\n");
  CHECK(errors == std::vector<std::string>{
                      "sb.yaml:2:13: error: 'public_url' must be the scheme, host and port only, without a path: "
                      "'https://x.example/webhooks/twilio/sms' (did you mean 'https://x.example'?)"});
  CHECK(errors_of("rules: r.yaml\npublic_url: 'https://x.example:8443?a=1'\n") ==
        std::vector<std::string>{
            "sb.yaml:2:13: error: 'public_url' must not have a query or fragment: 'https://x.example:8443?a=1'"});
  CHECK(errors_of("rules: r.yaml\npublic_url: 'http://x.example/#top'\n") ==
        std::vector<std::string>{
            "sb.yaml:2:13: error: 'public_url' must not have a query or fragment: 'http://x.example/#top'"});
  CHECK(errors_of("rules: r.yaml\npublic_url: ftp://x.example\n") ==
        std::vector<std::string>{"sb.yaml:2:13: error: 'public_url' must start with http:// or https://"});
  for (const char* ok : {"https://x.example", "https://x.example/", "http://x.example:8080"}) {
    auto r = parse_config(std::string("rules: r.yaml\npublic_url: '") + ok + "'\n", "sb.yaml", "/");
    INFO(ok);
    REQUIRE(r.config);
    CHECK(r.diagnostics.empty());
  }
}

TEST_CASE("config: a missing secret names the secret and where it was looked for", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", nullptr);
  EnvGuard creds("CREDENTIALS_DIRECTORY", nullptr);
  EnvGuard s("SWITCHBOARD_SECRET_SHOP_TOKEN", nullptr);
  auto errors = errors_of(
      "database: { url: 'postgresql://u@h/db' }\nrules: r.yaml\n"
      "channels:\n  api:\n    accounts:\n      shop:\n        tokens: { secret: shop-token }\n");
  REQUIRE(errors == std::vector<std::string>{
                        "sb.yaml:7:27: error: secret 'shop-token' is not set (looked for "
                        "$CREDENTIALS_DIRECTORY/shop-token and SWITCHBOARD_SECRET_SHOP_TOKEN)"});
}

TEST_CASE("config: secret values are read from the environment, never from the file", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", nullptr);
  EnvGuard creds("CREDENTIALS_DIRECTORY", nullptr);
  EnvGuard a("SWITCHBOARD_SECRET_SHOP_TOKEN", "value-a");
  EnvGuard b("SWITCHBOARD_SECRET_SHOP_TOKEN_NEXT", "value-b");
  auto r = parse_config(
      "database: { url: 'postgresql://u@h/db' }\nrules: r.yaml\n"
      "channels:\n  api:\n    accounts:\n      shop:\n"
      "        tokens: [ { secret: shop-token }, { secret: shop-token-next } ]\n",
      "sb.yaml", "/");
  REQUIRE(r.config);
  const auto* api = channel_options<channels::api::Options>(*r.config, "api");
  REQUIRE(api);
  REQUIRE(api->accounts.size() == 1);
  CHECK(api->accounts[0].tokens == std::vector<std::string>{"value-a", "value-b"});
  auto literal = errors_of(
      "database: { url: 'postgresql://u@h/db' }\nrules: r.yaml\nadmin: { tokens: 'plain-text-token' }\n");
  REQUIRE(literal.size() == 1);
  CHECK(literal[0] ==
        "sb.yaml:3:18: error: 'admin.tokens' must name a secret: { secret: NAME } (values never go in the file)");
}

TEST_CASE("config: invalid YAML reports the parser's position", "[daemon][config]") {
  auto errors = errors_of("rules: [unclosed\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("sb.yaml:2:1: error: invalid YAML: ", 0) == 0);
}

TEST_CASE("config: sizes and secret names", "[daemon][config]") {
  CHECK(parse_size("1MiB") == 1024u * 1024u);
  CHECK(parse_size("512KiB") == 512u * 1024u);
  CHECK(parse_size("4MB") == 4000000u);
  CHECK(parse_size("1000") == 1000u);
  CHECK_FALSE(parse_size("MiB"));
  CHECK_FALSE(parse_size("1 TiB"));
  CHECK(secret_env_name("api-shop-token") == "SWITCHBOARD_SECRET_API_SHOP_TOKEN");
  CHECK(valid_secret_name("admin_token"));
  CHECK_FALSE(valid_secret_name("../etc/passwd"));
  CHECK_FALSE(valid_secret_name(""));
}

TEST_CASE("config: Meta pages, Twilio accounts and e-mail mailboxes", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", nullptr);
  EnvGuard s1("SWITCHBOARD_SECRET_T", "value-t");
  const std::string yaml = R"(database: { url: 'postgresql://u@h/db' }
rules: r.yaml
public_url: https://sb.example.com/
channels:
  meta:
    app_secrets: { secret: t }
    verify_token: { secret: t }
    graph_url: http://127.0.0.1:9000/
    pages:
      "1048": { access_token: { secret: t }, human_agent: true }
    whatsapp_numbers:
      "1065": { access_token: { secret: t } }
  twilio:
    accounts:
      main: { account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01, auth_tokens: [ { secret: t }, { secret: t } ], from: "+48732123456" }
  email:
    token_secret: { secret: t }
    mailboxes:
      support:
        address: obsluga@example.pl
        imap: { host: imap.example.pl, user: obsluga, password: { secret: t } }
        smtp: { host: smtp.example.pl, security: starttls }
        poll_interval: 10s
spool: { max_size: 1MiB }
)";
  auto r = parse_config(yaml, "sb.yaml", "/etc/switchboard");
  INFO((r.diagnostics.empty() ? std::string() : r.diagnostics[0].format()));
  REQUIRE(r.config);
  const auto& c = *r.config;
  CHECK(c.public_url == "https://sb.example.com");
  const auto* meta = channel_options<channels::meta::Options>(c, "meta");
  REQUIRE(meta);
  CHECK(meta->graph_base_url == "http://127.0.0.1:9000");
  REQUIRE(meta->pages.size() == 1);
  CHECK(meta->pages[0].human_agent);
  CHECK(meta->pages[0].access_token == "value-t");
  REQUIRE(meta->whatsapp_numbers.size() == 1);
  const auto* twilio = channel_options<channels::twilio::Options>(c, "twilio");
  REQUIRE(twilio);
  CHECK(twilio->public_url == "https://sb.example.com");
  REQUIRE(twilio->accounts.size() == 1);
  CHECK(twilio->accounts[0].auth_tokens.size() == 2);
  CHECK(twilio->accounts[0].from == "+48732123456");
  const auto* mail = channel_options<channels::email::Options>(c, "email");
  REQUIRE(mail);
  REQUIRE(mail->mailboxes.size() == 1);
  CHECK(mail->mailboxes[0].imap.port == 993);
  CHECK(mail->mailboxes[0].imap.security == channels::email::ImapSecurity::tls);
  CHECK(mail->mailboxes[0].smtp.port == 587);
  CHECK(mail->mailboxes[0].smtp.security == channels::email::SmtpSecurity::starttls);
  CHECK(mail->mailboxes[0].poll_interval == std::chrono::seconds{10});
  CHECK(mail->token_secret == "value-t");
  // Only what the file configures is made; api and notify always run.
  std::vector<std::string> names;
  for (const auto& configured : c.channels) names.push_back(configured.name);
  CHECK(names == std::vector<std::string>{"api", "notify", "meta", "twilio", "email"});
  CHECK(c.spool_max_bytes == 1024 * 1024);
}

TEST_CASE("config: channel mistakes are reported with their place", "[daemon][config]") {
  EnvGuard s1("SWITCHBOARD_SECRET_T", "value-t");
  auto errors = errors_of(R"(rules: r.yaml
channels:
  twilio:
    accounts:
      main: { account_sid: AC12, auth_tokens: { secret: t } }
  email:
    mailboxes:
      support: { address: "obsluga+x@example.pl", imap: { host: h, security: ssl }, smtp: { host: s } }
)");
  auto has = [&](const std::string& needle) {
    return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) { return e.find(needle) != std::string::npos; });
  };
  CHECK(has("sb.yaml:5:"));
  CHECK(has("34-character AC"));
  CHECK(has("exactly one of 'from'"));
  CHECK(has("token_secret' is required"));
  CHECK(has("must be a plain address"));
  CHECK(has("must be tls, starttls or none"));
}

TEST_CASE("config: mailbox security follows the port; aliases; the quarantine folder is always set",
          "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", nullptr);
  EnvGuard s1("SWITCHBOARD_SECRET_T", "value-t");
  auto mailbox = [](const std::string& body) {
    return "database: { url: 'postgresql://u@h/db' }\nrules: r.yaml\nchannels:\n  email:\n    token_secret: { secret: t }\n"
           "    mailboxes:\n      support:\n        address: obsluga@example.pl\n" + body;
  };
  auto r = parse_config(mailbox("        imap: { host: i, port: 143 }\n        smtp: { host: s, port: 465 }\n"
                                "        aliases: [kontakt@example.pl, biuro@example.pl]\n"),
                        "sb.yaml", "/etc/switchboard");
  INFO((r.diagnostics.empty() ? std::string() : r.diagnostics[0].format()));
  REQUIRE(r.config);
  using channels::email::ImapSecurity;
  using channels::email::SmtpSecurity;
  const auto mailboxes = [](const Config& c) { return channel_options<channels::email::Options>(c, "email")->mailboxes; };
  const auto box = mailboxes(*r.config).at(0);
  CHECK(box.imap.security == ImapSecurity::starttls);  // 143 speaks STARTTLS: no bare TLS error any more
  CHECK(box.smtp.security == SmtpSecurity::tls);       // 465 is implicit TLS
  CHECK(box.aliases == std::vector<std::string>{"kontakt@example.pl", "biuro@example.pl"});
  CHECK(box.quarantine_folder == "Quarantine");
  auto explicit_security = parse_config(mailbox("        imap: { host: i, port: 143, security: tls }\n"
                                                "        smtp: { host: s, port: 25 }\n"),
                                        "sb.yaml", "/etc/switchboard");
  REQUIRE(explicit_security.config);
  CHECK(mailboxes(*explicit_security.config).at(0).imap.security == ImapSecurity::tls);
  CHECK(mailboxes(*explicit_security.config).at(0).smtp.security == SmtpSecurity::starttls);

  auto errors = errors_of(mailbox("        imap: { host: i }\n        smtp: { host: s }\n"
                                  "        aliases: [\"not an address\"]\n        quarantine_folder: ''\n"));
  auto has = [&](const std::string& needle) {
    return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) { return e.find(needle) != std::string::npos; });
  };
  CHECK(has("sb.yaml:11:19: error: 'channels.email.mailboxes.support.aliases[0]' must be a plain address"));
  CHECK(has("sb.yaml:12:28: error: 'channels.email.mailboxes.support.quarantine_folder' cannot be empty"));
}

namespace {

// Secrets from a map: an adapter's section is read without the process environment.
class MapSecrets final : public config::Secrets {
 public:
  explicit MapSecrets(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  std::optional<std::string> get(std::string_view name) const override {
    auto it = values_.find(std::string(name));
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  std::string where(std::string_view) const override { return "the test's map"; }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace

TEST_CASE("config: secrets come through the resolver it is given", "[daemon][config]") {
  EnvGuard db("SWITCHBOARD_DATABASE_URL", nullptr);
  EnvGuard env("SWITCHBOARD_SECRET_TOK", "from-the-environment");
  const std::string yaml =
      "database: { url: 'postgresql://u@h/db' }\nrules: r.yaml\n"
      "channels:\n  api:\n    accounts:\n      shop:\n        tokens: { secret: tok }\n"
      "  telegram: { token: { secret: tok } }\n";
  auto r = parse_config(yaml, "sb.yaml", "/", MapSecrets(std::map<std::string, std::string>{{"tok", "from-the-map"}}));
  std::vector<std::string> errors;
  for (const auto& d : r.diagnostics) errors.push_back(d.format());
  // A channel this build does not have is an unknown key, with the ones it has.
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "sb.yaml:8:3: error: unknown key 'telegram' (expected one of: api, meta, twilio, email)");
  auto ok = parse_config(yaml.substr(0, yaml.find("  telegram")), "sb.yaml", "/", MapSecrets(std::map<std::string, std::string>{{"tok", "from-the-map"}}));
  REQUIRE(ok.config);
  const auto* api = channel_options<channels::api::Options>(*ok.config, "api");
  REQUIRE(api);
  CHECK(api->accounts.at(0).tokens == std::vector<std::string>{"from-the-map"});
  auto missing = parse_config(yaml.substr(0, yaml.find("  telegram")), "sb.yaml", "/", MapSecrets(std::map<std::string, std::string>{}));
  REQUIRE(missing.diagnostics.size() == 1);
  CHECK(missing.diagnostics[0].format() ==
        "sb.yaml:7:27: error: secret 'tok' is not set (looked for the test's map)");
}
