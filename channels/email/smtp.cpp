// libcurl's SMTP behind channels/email/smtp.hpp. curl reports a refused command only as
// "RCPT failed: 550"; the server's own words (and the enhanced status code) are read from the
// protocol trace, of which only the server's replies and the names of our commands are kept.
#include "channels/email/smtp.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <mutex>

namespace switchboard::channels::email {

namespace {

constexpr std::size_t kMaxReplyText = 1024;  // of the server's last reply, in an error message

bool curl_ready() {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] { ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  return ready;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// An address for MAIL FROM or RCPT TO: anything that could end the command, the angle-bracket
// form or the line is refused rather than cleaned (the envelope decides where mail goes).
// No controls, no angle brackets; a space only inside a quoted local part ("System
// Administrator"@example.com is a valid address, RFC 5321 Quoted-string).
bool envelope_safe(std::string_view address) {
  const std::size_t closing = !address.empty() && address.front() == '"' ? address.find('"', 1) : 0;
  for (std::size_t i = 0; i < address.size(); ++i) {
    const auto c = static_cast<unsigned char>(address[i]);
    if (c == ' ' && closing != std::string_view::npos && i < closing) continue;
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>') return false;
  }
  return true;
}

bool host_safe(std::string_view host) {
  return !host.empty() && std::none_of(host.begin(), host.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7F || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\';
  });
}

// What the protocol trace tells: the last complete reply and the command it answered.
struct Trace {
  std::string reply;         // "550 5.1.1 <x@y>: Recipient address rejected", lines joined by " "
  int code = 0;              // its three-digit code
  bool reply_complete = true;
  std::string last_command;  // the verb only ("MAIL", "RCPT", "AUTH"...): arguments may be secrets
  std::string reply_to;      // the verb the last complete reply answered
};

void on_reply_line(Trace& t, std::string_view line) {
  line = trim(line);
  if (line.size() < 3 || !std::all_of(line.begin(), line.begin() + 3, [](char c) { return c >= '0' && c <= '9'; }))
    return;
  const bool last = line.size() == 3 || line[3] == ' ';
  if (t.reply_complete) {
    t.reply.clear();
    t.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  }
  if (t.reply.size() < kMaxReplyText) {
    // Continuation lines repeat the code: keep it once, then the text of each line.
    const std::string_view text = trim(line.size() > 4 ? line.substr(4) : std::string_view());
    if (t.reply.empty()) t.reply = std::string(line.substr(0, 3));
    if (!text.empty()) t.reply.append(" ").append(text);
    if (t.reply.size() > kMaxReplyText) t.reply.resize(kMaxReplyText);
  }
  t.reply_complete = last;
  if (last) t.reply_to = t.last_command;
}

int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  auto& t = *static_cast<Trace*>(user);
  const std::string_view chunk(data, size);
  if (type == CURLINFO_HEADER_IN) {
    if (t.last_command == "QUIT") return 0;  // "221 bye" after a failure must not hide its reply
    std::size_t start = 0;
    while (start < chunk.size()) {
      std::size_t end = chunk.find('\n', start);
      if (end == std::string_view::npos) end = chunk.size();
      on_reply_line(t, chunk.substr(start, end - start));
      start = end + 1;
    }
  } else if (type == CURLINFO_HEADER_OUT) {
    // Keeps a known verb only: the lines of AUTH LOGIN after the command are bare base64
    // credentials.
    static constexpr std::string_view kVerbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "QUIT", "RSET"};
    for (const auto verb : kVerbs) {
      if (chunk.size() >= verb.size() && chunk.substr(0, verb.size()) == verb &&
          (chunk.size() == verb.size() || chunk[verb.size()] == ' ' || chunk[verb.size()] == '\r')) {
        t.last_command = std::string(verb);
        break;
      }
    }
  }
  return 0;
}

struct Upload {
  std::string_view data;
  std::size_t sent = 0;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto& u = *static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, u.data.size() - u.sent);
  std::copy_n(u.data.data() + u.sent, n, buffer);
  u.sent += n;
  return n;
}

// Every line end as CRLF: curl sends the bytes as they are, and a bare LF would neither be
// dot-stuffed nor end a line for the server.
std::string with_crlf(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

long to_curl_ms(std::chrono::milliseconds ms) {
  return static_cast<long>(std::clamp<std::chrono::milliseconds::rep>(ms.count(), 1, LONG_MAX));
}

std::string scrub(std::string text, const std::string& secret) {
  if (secret.size() < 4) return text;  // shorter ones would blank ordinary words
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "***");
  return text;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return s;
}

Error classify(CURLcode rc, const Trace& trace, std::string curl_text, const SmtpOptions& options) {
  const auto fail = [&](ErrorKind kind, const char* code, std::string message) {
    return make_error(kind, code, scrub(std::move(message), options.password), "smtp://" + options.host);
  };
  const std::string command = lower(trace.reply_to.empty() ? std::string("connect") : trace.reply_to);
  const std::string said = "the smtp server answered " + command + " with: " + trace.reply;

  if (rc == CURLE_OPERATION_TIMEDOUT) return fail(ErrorKind::unavailable, "smtp_unavailable", curl_text);
  if (trace.code >= 400 && trace.code < 500) return fail(ErrorKind::unavailable, "smtp_tempfail", said);
  if (trace.code >= 500 && trace.code < 600) {
    if (rc == CURLE_LOGIN_DENIED || trace.reply_to == "AUTH")
      return fail(ErrorKind::config, "smtp_auth_failed", said);
    if (trace.code == 530) return fail(ErrorKind::config, "smtp_auth_required", said);
    return fail(ErrorKind::invalid, "smtp_rejected", said);
  }
  switch (rc) {
    case CURLE_LOGIN_DENIED:
      return fail(ErrorKind::config, "smtp_auth_failed", curl_text);
    case CURLE_USE_SSL_FAILED:
      return fail(ErrorKind::config, "smtp_tls_unsupported", "the smtp server does not offer starttls: " + curl_text);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_SSL_CACERT_BADFILE:
      return fail(ErrorKind::config, "smtp_invalid_options", curl_text);
    default:
      return fail(ErrorKind::unavailable, "smtp_unavailable", curl_text);
  }
}

using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using List = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string h = lower(std::string(host));
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Status send_mail(const SmtpOptions& options, const Envelope& envelope, std::string_view rendered) {
  const std::string location = "smtp://" + options.host;
  if (!host_safe(options.host) || options.port == 0)
    return make_error(ErrorKind::config, "smtp_invalid_options", "the smtp host or port is missing or malformed", location);
  if (!options.user.empty() && options.security == SmtpSecurity::none && !is_loopback_host(options.host))
    return make_error(ErrorKind::config, "smtp_insecure_auth",
                      "refusing to send smtp credentials without tls to a host that is not loopback", location);
  if (envelope.recipients.empty())
    return make_error(ErrorKind::invalid, "invalid_envelope", "the envelope has no recipients", location);
  if (!envelope_safe(envelope.mail_from))
    return make_error(ErrorKind::invalid, "invalid_envelope", "the envelope sender has a forbidden character", location);
  for (const auto& rcpt : envelope.recipients)
    if (rcpt.empty() || !envelope_safe(rcpt))
      return make_error(ErrorKind::invalid, "invalid_envelope", "a recipient is empty or has a forbidden character",
                        location);

  List recipients(nullptr, &curl_slist_free_all);
  for (const auto& rcpt : envelope.recipients) {
    curl_slist* grown = curl_slist_append(recipients.get(), ("<" + rcpt + ">").c_str());
    if (!grown) return make_error(ErrorKind::unavailable, "smtp_unavailable", "out of memory", location);
    recipients.release();
    recipients.reset(grown);
  }

  const bool v6 = options.host.find(':') != std::string::npos && options.host.front() != '[';
  const std::string url = std::string(options.security == SmtpSecurity::tls ? "smtps://" : "smtp://") +
                          (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
  const std::string mail_from = "<" + envelope.mail_from + ">";
  const std::string body = with_crlf(rendered);

  if (!curl_ready()) return make_error(ErrorKind::unavailable, "smtp_unavailable", "libcurl could not be initialised", location);
  EasyHandle easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) return make_error(ErrorKind::unavailable, "smtp_unavailable", "libcurl could not create a handle", location);
  CURL* h = easy.get();

  Trace trace;
  Upload upload{body, 0};
  char error_text[CURL_ERROR_SIZE] = {};

  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: CURLOPT_PROTOCOLS is deprecated from here on
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, to_curl_ms(options.timeout));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, to_curl_ms(options.timeout));
  if (options.security == SmtpSecurity::starttls) curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, options.verify_certificate ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, options.verify_certificate ? 2L : 0L);
  if (!options.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
  if (!options.user.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, options.user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, options.password.c_str());
  }
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, &on_read);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
  // The trace: the debug callback is only called in verbose mode, and then nothing goes to stderr.
  curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, &on_debug);
  curl_easy_setopt(h, CURLOPT_DEBUGDATA, &trace);
  curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);

  const CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) return Ok{};
  std::string text(trim(error_text));
  if (text.empty()) text = curl_easy_strerror(rc);
  return classify(rc, trace, std::move(text), options);
}

}  // namespace switchboard::channels::email
