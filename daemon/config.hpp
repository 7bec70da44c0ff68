// switchboard.yaml: parsed, validated (every error with file:line:col), secrets resolved.
// Secrets are named in the file (`secret: NAME`) and read from $CREDENTIALS_DIRECTORY/NAME or
// SWITCHBOARD_SECRET_<NAME>; their values never appear in logs or error messages.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "channels/config.hpp"
#include "config/secrets.hpp"
#include "routing/rules/diagnostic.hpp"

namespace switchboard::daemon {

// Sending from the outbox: how many senders, how often to look without a NOTIFY, retries.
struct OutboxConfig {
  std::size_t workers = 2;
  std::size_t batch = 16;
  std::chrono::milliseconds sweep_interval{1000};
  std::chrono::milliseconds lease{300000};  // a claimed row returns to the queue after this
  std::chrono::milliseconds retry_base{5000};
  std::chrono::milliseconds retry_cap{600000};
  int max_attempts = 8;
};

// Signing in (the `auth:` section; daemon/auth.hpp).
struct AuthOptions {
  std::chrono::seconds session_ttl{12 * 3600};
  // Argon2id cost (libsodium crypto_pwhash): memory per hash and passes over it.
  std::size_t password_memory = 64 * 1024 * 1024;
  unsigned long long password_passes = 2;
  std::size_t max_concurrent_hashes = 2;  // more waiting logins answer 429
  int max_failures_per_login = 10;        // within failure_window
  int max_failures_per_address = 50;
  std::chrono::seconds failure_window{15 * 60};
  std::vector<std::string> trusted_proxies;  // peers whose X-Forwarded-For names the client
  bool secure_cookie = false;                // public_url is https
};

// The live stream (the `stream:` section; daemon/api/stream.hpp).
struct StreamConfig {
  std::chrono::seconds keep{7 * 24 * 3600};  // events older than this are pruned
  std::size_t max_backlog = 1000;            // events waiting for one client before it is closed (1013)
};

struct Config {
  std::string path;          // the file it came from
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string public_url;    // how platforms reach us; defaults to http://listen
  std::string database_url;  // SWITCHBOARD_DATABASE_URL overrides the file
  std::size_t pool_size = 8;
  std::chrono::seconds connect_timeout{5};
  std::string rules_path;    // absolute, or relative to the working directory
  std::string state_dir;
  std::size_t io_threads = 1;
  std::size_t workers = 0;   // 0: same as pool_size
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds body_timeout{30};
  std::chrono::seconds idle_timeout{60};
  std::size_t api_body_limit = 1024 * 1024;
  std::size_t webhook_body_limit = 4 * 1024 * 1024;
  std::vector<std::string> admin_tokens;  // secret values
  std::string default_region = "PL";
  // The channel adapters the file configures, each with the options it read from its own
  // section (channels/builtin.cpp).
  std::vector<channels::Configured> channels;
  // The durable spool for webhooks that are not redelivered (state_dir/spool).
  std::size_t spool_max_bytes = 64 * 1024 * 1024;
  OutboxConfig outbox;
  AuthOptions auth;
  StreamConfig stream;
  // The agent console's build (console/build.mjs's output: index.html and assets/), served at
  // /console/; empty: not installed (the route says so).
  std::string console_dir;
  std::chrono::milliseconds shutdown_timeout{30000};  // after SIGTERM, then exit regardless
};

struct ConfigResult {
  std::optional<Config> config;  // set iff no error
  std::vector<Diagnostic> diagnostics;
};

// Reads and validates a config file; secrets from the environment (config/secrets.hpp).
ConfigResult load_config(const std::string& path);
// Same, from text (tests); relative paths resolve against `base_dir`.
ConfigResult parse_config(const std::string& text, const std::string& file_name, const std::string& base_dir,
                          const config::Secrets& secrets = config::EnvironmentSecrets{});

// The options an adapter read from its section, nullptr when it is not configured (tools and
// tests: the daemon itself never looks inside).
template <class Options>
const Options* channel_options(const Config& config, std::string_view name) {
  for (const auto& c : config.channels)
    if (c.name == name) return std::any_cast<Options>(&c.options);
  return nullptr;
}


}  // namespace switchboard::daemon
