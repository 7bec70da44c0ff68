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

#include "routing/rules/diagnostic.hpp"

namespace switchboard::daemon {

struct ApiAccountConfig {
  std::string name;
  std::vector<std::string> tokens;  // secret values
  std::string callback_url;         // where replies are POSTed; empty: none
  std::vector<std::string> callback_secrets;  // signing secrets (the first signs)
  std::chrono::milliseconds callback_timeout{10000};
};

struct MetaPageConfig {
  std::string id;            // the Facebook Page id (entry[].id of its webhooks)
  std::string access_token;  // the Page access token (secret value)
  bool human_agent = false;  // the app has Meta's Human Agent permission (agent replies up to 7 days)
};

struct WhatsAppNumberConfig {
  std::string phone_number_id;  // metadata.phone_number_id of its webhooks
  std::string access_token;     // system-user token (secret value)
};

struct TwilioAccountConfig {
  std::string name;         // our name for it: the `account` of its conversations
  std::string account_sid;  // AC...; inbound webhooks are matched on it
  std::vector<std::string> auth_tokens;  // secret values; the first one sends, any verifies
  std::string from;                      // our number (E.164), or
  std::string messaging_service_sid;     // MG...
};

struct MailServerConfig {
  std::string host;
  std::uint16_t port = 0;
  std::string security = "tls";  // tls | starttls | none
  std::string user;
  std::string password;  // secret value
  bool verify_certificate = true;
  std::string ca_file;
  std::chrono::milliseconds timeout{30000};
};

struct MailboxConfig {
  std::string name;          // ours: the `account` of its conversations
  std::string address;       // the support address replies come from
  std::vector<std::string> aliases;  // other addresses delivered to this mailbox: mail to them is addressed to us
  std::string display_name;
  std::string time_zone = "Europe/Warsaw";
  MailServerConfig imap;     // port default 993; security by port (143 starttls, else tls)
  MailServerConfig smtp;     // port default 587; security by port (465 tls, else starttls)
  std::string folder = "INBOX";
  std::string processed_folder;   // "": processed mail is marked \Seen and stays
  // Mail that cannot be stored (too large, not a message, refused by the database) is moved here
  // with a log line; created when missing. Never empty: set aside never means merely \Seen.
  std::string quarantine_folder = "Quarantine";
  std::chrono::milliseconds poll_interval{30000};
  bool idle = true;               // wait with IMAP IDLE where the server has it
  std::size_t max_message_bytes = 25 * 1024 * 1024;
  std::size_t max_attachment_bytes = 10 * 1024 * 1024;
};

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
  std::vector<ApiAccountConfig> api_accounts;
  // Meta (Messenger and WhatsApp Cloud API) webhooks; empty secrets: the channel is off.
  std::vector<std::string> meta_app_secrets;
  std::string meta_verify_token;
  std::string meta_graph_url = "https://graph.facebook.com";
  std::string meta_graph_version = "v25.0";
  std::chrono::milliseconds meta_send_timeout{10000};
  std::vector<MetaPageConfig> meta_pages;
  std::vector<WhatsAppNumberConfig> whatsapp_numbers;
  // Twilio SMS; no accounts: the channel is off.
  std::string twilio_api_url = "https://api.twilio.com";
  std::chrono::milliseconds twilio_send_timeout{10000};
  bool twilio_status_callbacks = true;
  std::vector<TwilioAccountConfig> twilio_accounts;
  // E-mail: mailboxes polled over IMAP, replies by SMTP.
  std::vector<MailboxConfig> mailboxes;
  std::string email_token_secret;  // signs reply tokens (secret value)
  std::chrono::milliseconds email_auto_reply_interval{3600000};  // one automatic mail per address per this
  // The durable spool for webhooks that are not redelivered (state_dir/spool).
  std::size_t spool_max_bytes = 64 * 1024 * 1024;
  OutboxConfig outbox;
  std::vector<std::string> notify_secrets;  // sign the rules' notify: POSTs (the first signs)
  std::chrono::milliseconds notify_timeout{10000};
  std::chrono::milliseconds shutdown_timeout{30000};  // after SIGTERM, then exit regardless
};

struct ConfigResult {
  std::optional<Config> config;  // set iff no error
  std::vector<Diagnostic> diagnostics;
};

// Reads and validates a config file. `environment` lookups go through getenv.
ConfigResult load_config(const std::string& path);
// Same, from text (tests); relative paths resolve against `base_dir`.
ConfigResult parse_config(const std::string& text, const std::string& file_name, const std::string& base_dir);

// "1MiB", "512KiB", "4MB", "1000" -> bytes.
std::optional<std::size_t> parse_size(const std::string& text);

}  // namespace switchboard::daemon
