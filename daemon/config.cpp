#include "daemon/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "daemon/secrets.hpp"
#include "routing/core/time.hpp"
#include "routing/rules/suggest.hpp"

namespace switchboard::daemon {

namespace {

// Walks the YAML tree, collecting every problem instead of stopping at the first.
class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>& out) : file_(std::move(file)), out_(out) {}

  void error(const YAML::Mark& mark, std::string message) {
    Diagnostic d;
    d.severity = Diagnostic::Severity::error;
    d.file = file_;
    d.line = mark.line >= 0 ? mark.line + 1 : 0;
    d.column = mark.column >= 0 ? mark.column + 1 : 0;
    d.message = std::move(message);
    out_.push_back(std::move(d));
  }
  void error(const YAML::Node& node, std::string message) { error(node.Mark(), std::move(message)); }

  // A mapping whose keys must all be in `allowed`; reports unknown and duplicate keys.
  bool mapping(const YAML::Node& node, const std::string& what, const std::vector<std::string>& allowed) {
    if (!node.IsMap()) {
      error(node, "'" + what + "' must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      if (!seen.insert(key).second) error(it->first, "duplicate key '" + key + "'");
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        error(it->first, unknown_key(key, allowed));
    }
    return true;
  }

  std::optional<std::string> string(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar()) {
      error(node, "'" + what + "' must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<long long> integer(const YAML::Node& node, const std::string& what, long long min, long long max) {
    long long v = 0;
    if (!node.IsScalar() || !YAML::convert<long long>::decode(node, v)) {
      error(node, "'" + what + "' must be an integer");
      return std::nullopt;
    }
    if (v < min || v > max) {
      error(node, "'" + what + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return v;
  }

  // Any duration ("250ms", "5s", "1h30m"), at least `min`.
  std::optional<std::chrono::milliseconds> millis(const YAML::Node& node, const std::string& what,
                                                  std::chrono::milliseconds min = std::chrono::milliseconds{1}) {
    auto s = string(node, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d || *d < min) {
      error(node, "'" + what + "' must be a duration such as '500ms', '30s' or '5m'");
      return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }

  std::optional<std::chrono::seconds> seconds(const YAML::Node& node, const std::string& what) {
    auto s = string(node, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d || *d < std::chrono::seconds{1}) {
      error(node, "'" + what + "' must be a duration of at least 1s such as '30s' or '5m'");
      return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::seconds>(*d);
  }

  std::optional<std::size_t> size(const YAML::Node& node, const std::string& what) {
    auto s = string(node, what);
    if (!s) return std::nullopt;
    auto v = parse_size(*s);
    if (!v || *v == 0) {
      error(node, "'" + what + "' must be a size such as '1MiB', '512KiB' or a number of bytes");
      return std::nullopt;
    }
    return v;
  }

  // `{ secret: NAME }` -> the secret's value; a missing secret is an error naming it.
  std::optional<std::string> secret(const YAML::Node& node, const std::string& what) {
    if (!node.IsMap() || !node["secret"]) {
      error(node, "'" + what + "' must name a secret: { secret: NAME } (values never go in the file)");
      return std::nullopt;
    }
    if (!mapping(node, what, {"secret"})) return std::nullopt;
    auto name = string(node["secret"], what + ".secret");
    if (!name) return std::nullopt;
    if (!valid_secret_name(*name)) {
      error(node["secret"], "invalid secret name '" + *name + "' (letters, digits, '_', '-', '.')");
      return std::nullopt;
    }
    auto value = read_secret(*name);
    if (!value || value->empty()) {
      error(node["secret"], "secret '" + *name + "' is not set (looked for $CREDENTIALS_DIRECTORY/" + *name +
                                " and " + secret_env_name(*name) + ")");
      return std::nullopt;
    }
    return value;
  }

  // One `{secret: X}` or a list of them (two values during rotation).
  std::vector<std::string> secrets(const YAML::Node& node, const std::string& what) {
    std::vector<std::string> out;
    if (node.IsSequence()) {
      if (node.size() == 0) error(node, "'" + what + "' must name at least one secret");
      for (std::size_t i = 0; i < node.size(); ++i)
        if (auto v = secret(node[i], what + "[" + std::to_string(i) + "]")) out.push_back(*v);
    } else if (auto v = secret(node, what)) {
      out.push_back(*v);
    }
    return out;
  }

 private:
  static std::string unknown_key(const std::string& key, const std::vector<std::string>& allowed) {
    std::vector<std::string_view> names(allowed.begin(), allowed.end());
    if (auto best = routing::nearest(key, names)) return "unknown key '" + key + "' (did you mean '" + *best + "'?)";
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return "unknown key '" + key + "' (expected one of: " + list + ")";
  }

  std::string file_;
  std::vector<Diagnostic>& out_;
};

std::string resolve(const std::string& base_dir, const std::string& p) {
  namespace fs = std::filesystem;
  fs::path path(p);
  if (path.is_absolute() || base_dir.empty()) return path.lexically_normal().string();
  return (fs::path(base_dir) / path).lexically_normal().string();
}

bool split_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
  long v = std::stol(p);
  if (v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

bool valid_id(const std::string& s, std::size_t max = 64) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
  });
}

std::optional<std::string> http_url(Reader& r, const YAML::Node& node, const std::string& what) {
  auto u = r.string(node, what);
  if (!u) return std::nullopt;
  if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0) {
    r.error(node, "'" + what + "' must start with http:// or https://");
    return std::nullopt;
  }
  std::string url = *u;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::optional<bool> boolean(Reader& r, const YAML::Node& node, const std::string& what) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) return node.Scalar() == "true";
  r.error(node, "'" + what + "' must be true or false");
  return std::nullopt;
}

void parse_meta_outbound(Reader& r, const YAML::Node& meta, Config& c) {
  if (meta["graph_url"])
    if (auto u = http_url(r, meta["graph_url"], "channels.meta.graph_url")) c.meta_graph_url = *u;
  if (meta["graph_version"]) {
    if (auto v = r.string(meta["graph_version"], "channels.meta.graph_version")) {
      if (v->size() < 4 || (*v)[0] != 'v' || v->find('.') == std::string::npos)
        r.error(meta["graph_version"], "'channels.meta.graph_version' must look like 'v25.0'");
      c.meta_graph_version = *v;
    }
  }
  if (meta["send_timeout"])
    if (auto v = r.millis(meta["send_timeout"], "channels.meta.send_timeout")) c.meta_send_timeout = *v;
  if (YAML::Node pages = meta["pages"]; pages && r.mapping(pages, "channels.meta.pages", {})) {
    for (auto it = pages.begin(); it != pages.end(); ++it) {
      std::string id = it->first.Scalar();
      std::string what = "channels.meta.pages." + id;
      if (!valid_id(id)) {
        r.error(it->first, "page id '" + id + "' must be the Page's numeric id");
        continue;
      }
      if (!r.mapping(it->second, what, {"access_token", "human_agent"})) continue;
      MetaPageConfig page;
      page.id = id;
      if (it->second["access_token"]) {
        if (auto v = r.secret(it->second["access_token"], what + ".access_token")) page.access_token = *v;
      } else {
        r.error(it->first, "'" + what + ".access_token' is required to send Messenger replies");
      }
      if (YAML::Node h = it->second["human_agent"])
        if (auto v = boolean(r, h, what + ".human_agent")) page.human_agent = *v;
      c.meta_pages.push_back(std::move(page));
    }
  }
  if (YAML::Node numbers = meta["whatsapp_numbers"];
      numbers && r.mapping(numbers, "channels.meta.whatsapp_numbers", {})) {
    for (auto it = numbers.begin(); it != numbers.end(); ++it) {
      std::string id = it->first.Scalar();
      std::string what = "channels.meta.whatsapp_numbers." + id;
      if (!valid_id(id)) {
        r.error(it->first, "phone number id '" + id + "' must be the number's id from WhatsApp Manager");
        continue;
      }
      if (!r.mapping(it->second, what, {"access_token"})) continue;
      WhatsAppNumberConfig number;
      number.phone_number_id = id;
      if (it->second["access_token"]) {
        if (auto v = r.secret(it->second["access_token"], what + ".access_token")) number.access_token = *v;
      } else {
        r.error(it->first, "'" + what + ".access_token' is required to send WhatsApp replies");
      }
      c.whatsapp_numbers.push_back(std::move(number));
    }
  }
}

void parse_twilio(Reader& r, const YAML::Node& tw, Config& c) {
  if (!r.mapping(tw, "channels.twilio", {"api_url", "send_timeout", "status_callbacks", "accounts"})) return;
  if (tw["api_url"])
    if (auto u = http_url(r, tw["api_url"], "channels.twilio.api_url")) c.twilio_api_url = *u;
  if (tw["send_timeout"])
    if (auto v = r.millis(tw["send_timeout"], "channels.twilio.send_timeout")) c.twilio_send_timeout = *v;
  if (YAML::Node s = tw["status_callbacks"])
    if (auto v = boolean(r, s, "channels.twilio.status_callbacks")) c.twilio_status_callbacks = *v;
  YAML::Node accounts = tw["accounts"];
  if (!accounts) {
    r.error(tw, "'channels.twilio.accounts' is required: inbound webhooks are matched on their AccountSid");
    return;
  }
  if (!r.mapping(accounts, "channels.twilio.accounts", {})) return;
  for (auto it = accounts.begin(); it != accounts.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string what = "channels.twilio.accounts." + name;
    if (!valid_id(name)) {
      r.error(it->first, "account name '" + name + "' must be 1-64 letters, digits, '_', '-' or '.'");
      continue;
    }
    if (!r.mapping(it->second, what, {"account_sid", "auth_tokens", "from", "messaging_service_sid"})) continue;
    TwilioAccountConfig acc;
    acc.name = name;
    if (it->second["account_sid"]) {
      if (auto v = r.string(it->second["account_sid"], what + ".account_sid")) {
        if (v->size() != 34 || v->rfind("AC", 0) != 0)
          r.error(it->second["account_sid"], "'" + what + ".account_sid' must be the 34-character AC... id");
        acc.account_sid = *v;
      }
    } else {
      r.error(it->first, "'" + what + ".account_sid' is required");
    }
    if (it->second["auth_tokens"])
      acc.auth_tokens = r.secrets(it->second["auth_tokens"], what + ".auth_tokens");
    else
      r.error(it->first, "'" + what + ".auth_tokens' is required: every webhook is checked against them");
    if (it->second["from"])
      if (auto v = r.string(it->second["from"], what + ".from")) acc.from = *v;
    if (it->second["messaging_service_sid"])
      if (auto v = r.string(it->second["messaging_service_sid"], what + ".messaging_service_sid"))
        acc.messaging_service_sid = *v;
    if (acc.from.empty() == acc.messaging_service_sid.empty())
      r.error(it->first, "'" + what + "' needs exactly one of 'from' (our number) and 'messaging_service_sid'");
    for (const auto& other : c.twilio_accounts)
      if (!acc.account_sid.empty() && other.account_sid == acc.account_sid)
        r.error(it->first, "'" + what + "' has the same account_sid as '" + other.name + "'");
    c.twilio_accounts.push_back(std::move(acc));
  }
}

// Without `security:`, the port says it (IMAP 143 and SMTP 25/587 speak STARTTLS, 993 and 465
// implicit TLS); other ports default to implicit TLS for IMAP and STARTTLS for SMTP.
std::string default_security(bool imap, std::uint16_t port) {
  if (port == 143 || port == 25 || port == 587) return "starttls";
  if (port == 993 || port == 465) return "tls";
  return imap ? "tls" : "starttls";
}

void parse_mail_server(Reader& r, const YAML::Node& node, const std::string& what, MailServerConfig& server) {
  if (!r.mapping(node, what, {"host", "port", "security", "user", "password", "verify_certificate", "ca_file", "timeout"}))
    return;
  if (node["host"]) {
    if (auto v = r.string(node["host"], what + ".host")) server.host = *v;
  } else {
    r.error(node, "'" + what + ".host' is required");
  }
  if (node["port"])
    if (auto v = r.integer(node["port"], what + ".port", 1, 65535)) server.port = static_cast<std::uint16_t>(*v);
  if (node["security"]) {
    if (auto v = r.string(node["security"], what + ".security")) {
      if (*v != "tls" && *v != "starttls" && *v != "none")
        r.error(node["security"], "'" + what + ".security' must be tls, starttls or none");
      server.security = *v;
    }
  }
  if (node["user"])
    if (auto v = r.string(node["user"], what + ".user")) server.user = *v;
  if (node["password"])
    if (auto v = r.secret(node["password"], what + ".password")) server.password = *v;
  if (node["verify_certificate"])
    if (auto v = boolean(r, node["verify_certificate"], what + ".verify_certificate")) server.verify_certificate = *v;
  if (node["ca_file"])
    if (auto v = r.string(node["ca_file"], what + ".ca_file")) server.ca_file = *v;
  if (node["timeout"])
    if (auto v = r.millis(node["timeout"], what + ".timeout")) server.timeout = *v;
  if (!node["security"]) server.security = default_security(what.ends_with(".imap"), server.port);
}

void parse_email(Reader& r, const YAML::Node& em, Config& c) {
  if (!r.mapping(em, "channels.email", {"token_secret", "mailboxes", "auto_reply_interval"})) return;
  if (em["auto_reply_interval"])
    if (auto v = r.millis(em["auto_reply_interval"], "channels.email.auto_reply_interval"))
      c.email_auto_reply_interval = *v;
  if (em["token_secret"]) {
    if (auto v = r.secret(em["token_secret"], "channels.email.token_secret")) c.email_token_secret = *v;
  } else {
    r.error(em, "'channels.email.token_secret' is required: it signs the reply addresses of our mail");
  }
  YAML::Node boxes = em["mailboxes"];
  if (!boxes) {
    r.error(em, "'channels.email.mailboxes' is required");
    return;
  }
  if (!r.mapping(boxes, "channels.email.mailboxes", {})) return;
  for (auto it = boxes.begin(); it != boxes.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string what = "channels.email.mailboxes." + name;
    if (!valid_id(name)) {
      r.error(it->first, "mailbox name '" + name + "' must be 1-64 letters, digits, '_', '-' or '.'");
      continue;
    }
    const YAML::Node b = it->second;  // a copy: the iterator yields a temporary
    if (!r.mapping(b, what, {"address", "aliases", "name", "time_zone", "imap", "smtp", "folder", "processed_folder",
                             "quarantine_folder", "poll_interval", "idle", "max_message_size", "max_attachment_size"}))
      continue;
    MailboxConfig box;
    box.name = name;
    box.imap.port = 993;
    box.smtp.port = 587;
    box.smtp.security = "starttls";
    if (b["address"]) {
      if (auto v = r.string(b["address"], what + ".address")) {
        if (v->find('@') == std::string::npos || v->find('+') != std::string::npos)
          r.error(b["address"], "'" + what + ".address' must be a plain address such as obsluga@example.pl");
        box.address = *v;
      }
    } else {
      r.error(it->first, "'" + what + ".address' is required: replies come from it");
    }
    if (const YAML::Node aliases = b["aliases"]) {
      if (!aliases.IsSequence()) {
        r.error(aliases, "'" + what + ".aliases' must be a list of addresses such as [kontakt@example.pl]");
      } else {
        for (std::size_t i = 0; i < aliases.size(); ++i) {
          auto v = r.string(aliases[i], what + ".aliases[" + std::to_string(i) + "]");
          if (!v) continue;
          if (v->find('@') == std::string::npos || v->find_first_of(" <>,;") != std::string::npos)
            r.error(aliases[i], "'" + what + ".aliases[" + std::to_string(i) + "]' must be a plain address such as kontakt@example.pl");
          else
            box.aliases.push_back(*v);
        }
      }
    }
    if (b["name"])
      if (auto v = r.string(b["name"], what + ".name")) box.display_name = *v;
    if (b["time_zone"])
      if (auto v = r.string(b["time_zone"], what + ".time_zone")) box.time_zone = *v;
    if (b["imap"])
      parse_mail_server(r, b["imap"], what + ".imap", box.imap);
    else
      r.error(it->first, "'" + what + ".imap' is required");
    if (b["smtp"])
      parse_mail_server(r, b["smtp"], what + ".smtp", box.smtp);
    else
      r.error(it->first, "'" + what + ".smtp' is required");
    if (b["folder"])
      if (auto v = r.string(b["folder"], what + ".folder")) box.folder = *v;
    if (b["processed_folder"])
      if (auto v = r.string(b["processed_folder"], what + ".processed_folder")) box.processed_folder = *v;
    if (b["quarantine_folder"])
      if (auto v = r.string(b["quarantine_folder"], what + ".quarantine_folder")) {
        if (v->empty())
          r.error(b["quarantine_folder"], "'" + what + ".quarantine_folder' cannot be empty: mail that cannot be "
                                          "stored is moved there (default Quarantine)");
        box.quarantine_folder = *v;
      }
    if (b["poll_interval"])
      if (auto v = r.millis(b["poll_interval"], what + ".poll_interval")) box.poll_interval = *v;
    if (b["idle"])
      if (auto v = boolean(r, b["idle"], what + ".idle")) box.idle = *v;
    if (b["max_message_size"])
      if (auto v = r.size(b["max_message_size"], what + ".max_message_size")) box.max_message_bytes = *v;
    if (b["max_attachment_size"])
      if (auto v = r.size(b["max_attachment_size"], what + ".max_attachment_size")) box.max_attachment_bytes = *v;
    c.mailboxes.push_back(std::move(box));
  }
}

}  // namespace

std::optional<std::size_t> parse_size(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) return std::nullopt;
  std::size_t n = std::stoull(text.substr(0, i));
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::pair<const char*, std::size_t> kUnits[] = {
      {"", 1},          {"B", 1},           {"KiB", 1024},      {"MiB", 1024 * 1024}, {"GiB", 1024ull * 1024 * 1024},
      {"KB", 1000},     {"kB", 1000},       {"MB", 1000 * 1000}, {"GB", 1000ull * 1000 * 1000}};
  for (const auto& [name, mult] : kUnits)
    if (unit == name) return n * mult;
  return std::nullopt;
}

ConfigResult parse_config(const std::string& text, const std::string& file_name, const std::string& base_dir) {
  ConfigResult result;
  Reader r(file_name, result.diagnostics);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.error(e.mark, "invalid YAML: " + e.msg);
    return result;
  }
  Config c;
  c.path = file_name;
  if (!r.mapping(root, "config", {"listen", "public_url", "database", "rules", "state_dir", "http", "limits",
                                  "admin", "channels", "default_region", "outbox", "shutdown_timeout", "notify",
                                  "spool"}))
    return result;

  if (root["listen"]) {
    if (auto s = r.string(root["listen"], "listen"))
      if (!split_listen(*s, c.listen_address, c.listen_port))
        r.error(root["listen"], "'listen' must be HOST:PORT such as '127.0.0.1:8080'");
  }
  if (root["public_url"]) {
    if (auto s = r.string(root["public_url"], "public_url")) {
      const std::size_t scheme = s->rfind("https://", 0) == 0 ? 8 : s->rfind("http://", 0) == 0 ? 7 : 0;
      // Platforms sign the full URL: public_url + the path they were given. With a path in it
      // (the webhook's own URL, say) every signature would be checked against the wrong URL.
      const std::size_t path = scheme == 0 ? std::string::npos : s->find('/', scheme);
      if (scheme == 0)
        r.error(root["public_url"], "'public_url' must start with http:// or https://");
      else if (s->find_first_of("?#", scheme) != std::string::npos)
        r.error(root["public_url"], "'public_url' must not have a query or fragment: '" + *s + "'");
      else if (path != std::string::npos && s->substr(path) != "/")
        r.error(root["public_url"], "'public_url' must be the scheme, host and port only, without a path: '" + *s +
                                        "' (did you mean '" + s->substr(0, path) + "'?)");
      c.public_url = *s;
      while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
    }
  }
  if (c.public_url.empty()) c.public_url = "http://" + c.listen_address + ":" + std::to_string(c.listen_port);

  const char* env_url = std::getenv("SWITCHBOARD_DATABASE_URL");
  if (YAML::Node db = root["database"]) {
    if (r.mapping(db, "database", {"url", "pool_size", "connect_timeout"})) {
      if (db["url"])
        if (auto s = r.string(db["url"], "database.url")) c.database_url = *s;
      if (db["pool_size"])
        if (auto v = r.integer(db["pool_size"], "database.pool_size", 1, 512)) c.pool_size = static_cast<std::size_t>(*v);
      if (db["connect_timeout"])
        if (auto v = r.seconds(db["connect_timeout"], "database.connect_timeout")) c.connect_timeout = *v;
    }
  }
  if (env_url && *env_url) c.database_url = env_url;
  if (c.database_url.empty())
    r.error(root["database"] ? root["database"].Mark() : root.Mark(),
            "'database.url' is required (or set SWITCHBOARD_DATABASE_URL)");

  if (root["rules"]) {
    if (auto s = r.string(root["rules"], "rules")) c.rules_path = resolve(base_dir, *s);
  } else {
    r.error(root.Mark(), "'rules' is required: the path of the rules file");
  }
  if (root["state_dir"]) {
    if (auto s = r.string(root["state_dir"], "state_dir")) c.state_dir = resolve(base_dir, *s);
  } else {
    c.state_dir = resolve(base_dir, "state");
  }
  if (root["default_region"]) {
    if (auto s = r.string(root["default_region"], "default_region")) {
      if (s->size() != 2 || !std::isupper(static_cast<unsigned char>((*s)[0])) ||
          !std::isupper(static_cast<unsigned char>((*s)[1])))
        r.error(root["default_region"], "'default_region' must be a two-letter country code such as 'PL'");
      c.default_region = *s;
    }
  }

  if (YAML::Node h = root["http"]) {
    if (r.mapping(h, "http", {"io_threads", "workers", "header_timeout", "body_timeout", "idle_timeout"})) {
      if (h["io_threads"])
        if (auto v = r.integer(h["io_threads"], "http.io_threads", 1, 64)) c.io_threads = static_cast<std::size_t>(*v);
      if (h["workers"])
        if (auto v = r.integer(h["workers"], "http.workers", 1, 1024)) c.workers = static_cast<std::size_t>(*v);
      if (h["header_timeout"])
        if (auto v = r.seconds(h["header_timeout"], "http.header_timeout")) c.header_timeout = *v;
      if (h["body_timeout"])
        if (auto v = r.seconds(h["body_timeout"], "http.body_timeout")) c.body_timeout = *v;
      if (h["idle_timeout"])
        if (auto v = r.seconds(h["idle_timeout"], "http.idle_timeout")) c.idle_timeout = *v;
    }
  }
  if (c.workers == 0) c.workers = c.pool_size;

  if (YAML::Node l = root["limits"]) {
    if (r.mapping(l, "limits", {"api_body", "webhook_body"})) {
      if (l["api_body"])
        if (auto v = r.size(l["api_body"], "limits.api_body")) c.api_body_limit = *v;
      if (l["webhook_body"])
        if (auto v = r.size(l["webhook_body"], "limits.webhook_body")) c.webhook_body_limit = *v;
    }
  }

  if (YAML::Node a = root["admin"]) {
    if (r.mapping(a, "admin", {"tokens"}) && a["tokens"]) c.admin_tokens = r.secrets(a["tokens"], "admin.tokens");
  }

  if (YAML::Node ch = root["channels"]) {
    if (r.mapping(ch, "channels", {"api", "meta", "twilio", "email"})) {
      if (YAML::Node tw = ch["twilio"]) parse_twilio(r, tw, c);
      if (YAML::Node em = ch["email"]) parse_email(r, em, c);
      if (YAML::Node meta = ch["meta"]) {
        if (r.mapping(meta, "channels.meta", {"app_secrets", "verify_token", "graph_url", "graph_version",
                                              "send_timeout", "pages", "whatsapp_numbers"})) {
          parse_meta_outbound(r, meta, c);
          if (meta["app_secrets"])
            c.meta_app_secrets = r.secrets(meta["app_secrets"], "channels.meta.app_secrets");
          else
            r.error(meta, "'channels.meta.app_secrets' is required: every webhook is checked against them");
          if (meta["verify_token"]) {
            if (auto v = r.secret(meta["verify_token"], "channels.meta.verify_token")) c.meta_verify_token = *v;
          } else {
            r.error(meta, "'channels.meta.verify_token' is required for Meta's verification handshake");
          }
        }
      }
      if (YAML::Node api = ch["api"]) {
        if (r.mapping(api, "channels.api", {"accounts"}) && api["accounts"]) {
          YAML::Node accounts = api["accounts"];
          if (r.mapping(accounts, "channels.api.accounts", {})) {
            for (auto it = accounts.begin(); it != accounts.end(); ++it) {
              std::string name = it->first.Scalar();
              std::string what = "channels.api.accounts." + name;
              if (name.empty() || name.size() > 64 || name.find_first_of(" :/\t") != std::string::npos) {
                r.error(it->first, "account name '" + name + "' must be 1-64 characters without spaces, ':' or '/'");
                continue;
              }
              if (!r.mapping(it->second, what, {"tokens", "callback"})) continue;
              ApiAccountConfig acc;
              acc.name = name;
              if (it->second["tokens"])
                acc.tokens = r.secrets(it->second["tokens"], what + ".tokens");
              else
                r.error(it->first, "'" + what + ".tokens' is required");
              if (YAML::Node cb = it->second["callback"]) {
                std::string cw = what + ".callback";
                if (r.mapping(cb, cw, {"url", "secrets", "timeout"})) {
                  if (cb["url"]) {
                    if (auto u = r.string(cb["url"], cw + ".url")) {
                      if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0)
                        r.error(cb["url"], "'" + cw + ".url' must start with http:// or https://");
                      acc.callback_url = *u;
                    }
                  } else {
                    r.error(cb, "'" + cw + ".url' is required");
                  }
                  if (cb["secrets"])
                    acc.callback_secrets = r.secrets(cb["secrets"], cw + ".secrets");
                  else
                    r.error(cb, "'" + cw + ".secrets' is required: callbacks are always signed");
                  if (cb["timeout"])
                    if (auto v = r.millis(cb["timeout"], cw + ".timeout")) acc.callback_timeout = *v;
                }
              }
              c.api_accounts.push_back(std::move(acc));
            }
          }
        }
      }
    }
  }

  if (YAML::Node ob = root["outbox"]) {
    if (r.mapping(ob, "outbox", {"workers", "batch", "sweep_interval", "lease", "retry"})) {
      if (ob["workers"])
        if (auto v = r.integer(ob["workers"], "outbox.workers", 0, 64)) c.outbox.workers = static_cast<std::size_t>(*v);
      if (ob["batch"])
        if (auto v = r.integer(ob["batch"], "outbox.batch", 1, 1000)) c.outbox.batch = static_cast<std::size_t>(*v);
      if (ob["sweep_interval"])
        if (auto v = r.millis(ob["sweep_interval"], "outbox.sweep_interval")) c.outbox.sweep_interval = *v;
      if (ob["lease"])
        if (auto v = r.millis(ob["lease"], "outbox.lease", std::chrono::seconds{1})) c.outbox.lease = *v;
      if (YAML::Node rt = ob["retry"]) {
        if (r.mapping(rt, "outbox.retry", {"base", "cap", "max_attempts"})) {
          if (rt["base"])
            if (auto v = r.millis(rt["base"], "outbox.retry.base")) c.outbox.retry_base = *v;
          if (rt["cap"])
            if (auto v = r.millis(rt["cap"], "outbox.retry.cap")) c.outbox.retry_cap = *v;
          if (rt["max_attempts"])
            if (auto v = r.integer(rt["max_attempts"], "outbox.retry.max_attempts", 1, 100))
              c.outbox.max_attempts = static_cast<int>(*v);
          if (c.outbox.retry_cap < c.outbox.retry_base)
            r.error(rt, "'outbox.retry.cap' must not be less than 'outbox.retry.base'");
        }
      }
    }
  }
  if (YAML::Node nt = root["notify"]) {
    if (r.mapping(nt, "notify", {"secrets", "timeout"})) {
      if (nt["secrets"]) c.notify_secrets = r.secrets(nt["secrets"], "notify.secrets");
      if (nt["timeout"])
        if (auto v = r.millis(nt["timeout"], "notify.timeout")) c.notify_timeout = *v;
    }
  }
  if (YAML::Node sp = root["spool"]) {
    if (r.mapping(sp, "spool", {"max_size"}) && sp["max_size"])
      if (auto v = r.size(sp["max_size"], "spool.max_size")) c.spool_max_bytes = *v;
  }
  if (root["shutdown_timeout"])
    if (auto v = r.millis(root["shutdown_timeout"], "shutdown_timeout", std::chrono::seconds{1})) c.shutdown_timeout = *v;

  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (!has_errors(result.diagnostics)) result.config = std::move(c);
  return result;
}

ConfigResult load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult r;
    Diagnostic d;
    d.file = path;
    d.message = "cannot read the config file";
    r.diagnostics.push_back(d);
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, std::filesystem::path(path).parent_path().string());
}

}  // namespace switchboard::daemon
