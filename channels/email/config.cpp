// channels.email: the reply-token secret and the mailboxes (IMAP in, SMTP out, folders, limits).
#include "channels/email/adapter.hpp"

namespace switchboard::channels::email {

namespace {

// A server block as written: security is decided once the port is known.
struct Server {
  std::string host;
  std::uint16_t port = 0;
  std::string security;  // tls | starttls | none; "": by port
  std::string user;
  std::string password;
  bool verify_certificate = true;
  std::string ca_file;
  std::chrono::milliseconds timeout{30000};
};

// Without `security:`, the port says it (IMAP 143 and SMTP 25/587 speak STARTTLS, 993 and 465
// implicit TLS); other ports default to implicit TLS for IMAP and STARTTLS for SMTP.
std::string security_of(const Server& s, bool imap) {
  if (!s.security.empty()) return s.security;
  if (s.port == 143 || s.port == 25 || s.port == 587) return "starttls";
  if (s.port == 993 || s.port == 465) return "tls";
  return imap ? "tls" : "starttls";
}

Server read_server(config::Reader& r, const YAML::Node& node, const std::string& what, std::uint16_t port) {
  Server server;
  server.port = port;
  if (!r.mapping(node, what,
                 {"host", "port", "security", "user", "password", "verify_certificate", "ca_file", "timeout"}))
    return server;
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
    if (auto v = r.boolean(node["verify_certificate"], what + ".verify_certificate")) server.verify_certificate = *v;
  if (node["ca_file"])
    if (auto v = r.string(node["ca_file"], what + ".ca_file")) server.ca_file = *v;
  if (node["timeout"])
    if (auto v = r.millis(node["timeout"], what + ".timeout")) server.timeout = *v;
  return server;
}

ImapOptions imap_options(const Server& s) {
  ImapOptions o;
  o.host = s.host;
  o.port = s.port;
  const std::string security = security_of(s, true);
  o.security = security == "none"       ? ImapSecurity::none
               : security == "starttls" ? ImapSecurity::starttls
                                        : ImapSecurity::tls;
  o.user = s.user;
  o.password = s.password;
  o.timeout = s.timeout;
  o.verify_certificate = s.verify_certificate;
  o.ca_file = s.ca_file;
  return o;
}

SmtpOptions smtp_options(const Server& s) {
  SmtpOptions o;
  o.host = s.host;
  o.port = s.port;
  const std::string security = security_of(s, false);
  o.security = security == "none" ? SmtpSecurity::none : security == "tls" ? SmtpSecurity::tls : SmtpSecurity::starttls;
  o.user = s.user;
  o.password = s.password;
  o.timeout = s.timeout;
  o.verify_certificate = s.verify_certificate;
  o.ca_file = s.ca_file;
  return o;
}

}  // namespace

std::optional<Options> EmailAdapter::read_config(config::Reader& r, const YAML::Node& em, const Settings&) {
  Options o;
  if (!r.mapping(em, "channels.email", {"token_secret", "mailboxes", "auto_reply_interval"})) return o;
  if (em["auto_reply_interval"])
    if (auto v = r.millis(em["auto_reply_interval"], "channels.email.auto_reply_interval")) o.auto_reply_interval = *v;
  if (em["token_secret"]) {
    if (auto v = r.secret(em["token_secret"], "channels.email.token_secret")) o.token_secret = *v;
  } else {
    r.error(em, "'channels.email.token_secret' is required: it signs the reply addresses of our mail");
  }
  const YAML::Node boxes = em["mailboxes"];
  if (!boxes) {
    r.error(em, "'channels.email.mailboxes' is required");
    return o;
  }
  if (!r.mapping(boxes, "channels.email.mailboxes", {})) return o;
  for (auto it = boxes.begin(); it != boxes.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string what = "channels.email.mailboxes." + name;
    if (!config::valid_id(name)) {
      r.error(it->first, "mailbox name '" + name + "' must be 1-64 letters, digits, '_', '-' or '.'");
      continue;
    }
    const YAML::Node b = it->second;  // a copy: the iterator yields a temporary
    if (!r.mapping(b, what,
                   {"address", "aliases", "name", "time_zone", "imap", "smtp", "folder", "processed_folder",
                    "quarantine_folder", "poll_interval", "idle", "max_message_size", "max_attachment_size"}))
      continue;
    Mailbox box;
    box.name = name;
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
            r.error(aliases[i], "'" + what + ".aliases[" + std::to_string(i) +
                                    "]' must be a plain address such as kontakt@example.pl");
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
      box.imap = imap_options(read_server(r, b["imap"], what + ".imap", 993));
    else
      r.error(it->first, "'" + what + ".imap' is required");
    if (b["smtp"])
      box.smtp = smtp_options(read_server(r, b["smtp"], what + ".smtp", 587));
    else
      r.error(it->first, "'" + what + ".smtp' is required");
    if (b["folder"])
      if (auto v = r.string(b["folder"], what + ".folder")) box.folder = *v;
    if (b["processed_folder"])
      if (auto v = r.string(b["processed_folder"], what + ".processed_folder")) box.processed_folder = *v;
    if (b["quarantine_folder"])
      if (auto v = r.string(b["quarantine_folder"], what + ".quarantine_folder")) {
        if (v->empty())
          r.error(b["quarantine_folder"], "'" + what +
                                              ".quarantine_folder' cannot be empty: mail that cannot be "
                                              "stored is moved there (default Quarantine)");
        box.quarantine_folder = *v;
      }
    if (b["poll_interval"])
      if (auto v = r.millis(b["poll_interval"], what + ".poll_interval")) box.poll_interval = *v;
    if (b["idle"])
      if (auto v = r.boolean(b["idle"], what + ".idle")) box.idle = *v;
    if (b["max_message_size"])
      if (auto v = r.size(b["max_message_size"], what + ".max_message_size")) box.max_message_bytes = *v;
    if (b["max_attachment_size"])
      if (auto v = r.size(b["max_attachment_size"], what + ".max_attachment_size")) box.max_attachment_bytes = *v;
    o.mailboxes.push_back(std::move(box));
  }
  if (o.mailboxes.empty()) return std::nullopt;  // `mailboxes: {}`: the channel is off
  return o;
}

}  // namespace switchboard::channels::email
