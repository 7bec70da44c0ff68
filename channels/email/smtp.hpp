// Mail submission (RFC 6409) through libcurl: one connection per message, STARTTLS or implicit
// TLS, AUTH, the envelope given apart from the headers. Like channels/http_client.hpp, plain
// structs in and out and a handle per call: safe from any number of threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "routing/core/result.hpp"

namespace switchboard::channels::email {

enum class SmtpSecurity {
  none,      // plain text: only for a relay on loopback
  starttls,  // smtp://, STARTTLS required before anything else (port 587)
  tls,       // smtps://, TLS from the first byte (port 465, RFC 8314's preference)
};

struct SmtpOptions {
  std::string host;
  std::uint16_t port = 587;
  SmtpSecurity security = SmtpSecurity::starttls;
  std::string user;      // "" = no AUTH
  std::string password;  // never appears in an error
  std::chrono::milliseconds timeout{30000};  // the whole exchange, connecting included
  bool verify_certificate = true;
  std::string ca_file;   // PEM bundle to trust instead of the system's; "" = the system's
};

struct Envelope {
  std::string mail_from;                // "" = the null return path, MAIL FROM:<> (auto-replies)
  std::vector<std::string> recipients;  // RCPT TO, bare addresses
};

// Submits `rendered` (RFC 5322 bytes, CRLF; bare LF or CR are sent as CRLF) to every recipient.
// The server's dot-stuffing and end of data are curl's. Ok means the server accepted the mail
// (2xx after DATA), not that it was delivered. Errors, never thrown; what the outbox does
// follows channels/retry.hpp (unavailable is retried):
//   unavailable "smtp_unavailable"   connection refused or dropped, DNS, timeout, TLS handshake
//                                    or certificate failure (curl's text);
//   unavailable "smtp_tempfail"      a 4xx reply (greylisting, 421, 451, 452), with its text;
//   invalid "smtp_rejected"          a 5xx reply to MAIL, RCPT or DATA, with its text and its
//                                    enhanced status code ("550 5.1.1 ..."): retrying cannot help;
//   config "smtp_auth_failed"        the server refused the credentials (535, other 5xx to AUTH);
//   config "smtp_auth_required"      530: the server wants AUTH (or TLS) that was not given;
//   config "smtp_tls_unsupported"    STARTTLS required by the options, not offered by the server;
//   config "smtp_insecure_auth"      credentials with SmtpSecurity::none to a host that is not
//                                    loopback: refused before connecting;
//   config "smtp_invalid_options"    empty or malformed host, port 0, unreadable CA file;
//   invalid "invalid_envelope"       no recipients, or an address with white space, <, >, or a
//                                    control character.
Status send_mail(const SmtpOptions& options, const Envelope& envelope, std::string_view rendered);

// Whether `host` is loopback: "localhost", 127.0.0.0/8, ::1 (bracketed or not).
bool is_loopback_host(std::string_view host);

}  // namespace switchboard::channels::email
