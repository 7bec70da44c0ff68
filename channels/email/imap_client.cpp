// The IMAP client behind channels/email/imap_client.hpp: a non-blocking socket driven by poll()
// (so that every wait has a timeout), TLS through OpenSSL memory BIOs (the socket I/O stays ours:
// send() with MSG_NOSIGNAL, never SIGPIPE), and a response reader that assembles a whole response,
// literals included, before parsing it.
#include "channels/email/imap_client.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

#include "routing/text/utf8.hpp"

namespace switchboard::channels::email {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxLine = 8 * 1024 * 1024;          // one response line, literals aside
constexpr std::uint64_t kDefaultLiteralLimit = 1024 * 1024;  // literals outside fetch()
constexpr std::size_t kMaxServerText = 300;                  // server text quoted in an error
constexpr std::size_t kUidsPerFetch = 500;                   // ranges per UID FETCH command line
constexpr auto kMaxIdle = std::chrono::minutes{29};          // RFC 2177: re-issue IDLE within 29 min
constexpr auto kLogoutWait = milliseconds{5000};

char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_upper);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_upper(x) == ascii_upper(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class T>
std::optional<T> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (v > std::numeric_limits<T>::max()) return std::nullopt;
  return static_cast<T>(v);
}

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// ---- base64 (AUTHENTICATE PLAIN) and modified UTF-7 (mailbox names) ----

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 with padding, or RFC 3501's variant (',' for '/', no padding).
std::string base64(std::string_view bytes, bool modified) {
  std::string out;
  std::size_t i = 0;
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  const auto sym = [&](unsigned v) { return modified && v == 63 ? ',' : kBase64[v]; };
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += sym((n >> 18) & 63);
    out += sym((n >> 12) & 63);
    out += sym((n >> 6) & 63);
    out += sym(n & 63);
  }
  if (bytes.size() - i == 1) {
    const unsigned n = at(i) << 16;
    out += sym((n >> 18) & 63);
    out += sym((n >> 12) & 63);
    if (!modified) out += "==";
  } else if (bytes.size() - i == 2) {
    const unsigned n = (at(i) << 16) | (at(i + 1) << 8);
    out += sym((n >> 18) & 63);
    out += sym((n >> 12) & 63);
    out += sym((n >> 6) & 63);
    if (!modified) out += '=';
  }
  return out;
}

Error bad_name(std::string message) {
  return make_error(ErrorKind::invalid, "imap_bad_folder_name", std::move(message));
}


// The next code point of well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
std::optional<char32_t> next_utf8(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) return std::nullopt;
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += static_cast<std::size_t>(len);
  return cp;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

// ---- responses ----

// One parsed item of response data.
struct Value {
  enum class Kind { atom, string, nil, list };
  Kind kind = Kind::atom;
  std::string text;  // atom or string (quoted or literal, unescaped, binary-safe)
  std::vector<Value> items;

  template <class T>
  std::optional<T> number() const {
    return kind == Kind::atom ? parse_number<T>(text) : std::nullopt;
  }
};

// Reads response data: atoms (with a [...] section kept whole, as in BODY[HEADER.FIELDS (X)]),
// quoted strings, literals {n}\r\n..., NIL and parenthesised lists.
class Parser {
 public:
  Parser(std::string_view s, std::size_t pos) : s_(s), pos_(pos) {}

  bool at_end() {
    skip_spaces();
    return pos_ >= s_.size();
  }

  std::optional<Value> next(int depth = 0) {
    skip_spaces();
    if (pos_ >= s_.size() || depth > 64) return std::nullopt;
    const char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      Value list;
      list.kind = Value::Kind::list;
      for (;;) {
        skip_spaces();
        if (pos_ >= s_.size()) return std::nullopt;
        if (s_[pos_] == ')') {
          ++pos_;
          return list;
        }
        auto item = next(depth + 1);
        if (!item) return std::nullopt;
        list.items.push_back(std::move(*item));
      }
    }
    if (c == ')') return std::nullopt;
    if (c == '"') return quoted();
    if (c == '{' || (c == '~' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '{')) return literal();
    return atom();
  }

 private:
  void skip_spaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }

  std::optional<Value> quoted() {
    Value v;
    v.kind = Value::Kind::string;
    for (++pos_; pos_ < s_.size(); ++pos_) {
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return v;
      }
      if (c == '\r' || c == '\n') return std::nullopt;
      if (c == '\\') {
        if (++pos_ >= s_.size()) return std::nullopt;
        c = s_[pos_];
      }
      v.text += c;
    }
    return std::nullopt;
  }

  std::optional<Value> literal() {
    if (s_[pos_] == '~') ++pos_;
    const auto close = s_.find('}', pos_);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view digits = s_.substr(pos_ + 1, close - pos_ - 1);
    if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
    const auto n = parse_number<std::size_t>(digits);
    if (!n || s_.substr(close + 1, 2) != "\r\n") return std::nullopt;
    const std::size_t start = close + 3;
    if (*n > s_.size() - std::min(s_.size(), start)) return std::nullopt;
    Value v;
    v.kind = Value::Kind::string;
    v.text.assign(s_.substr(start, *n));
    pos_ = start + *n;
    return v;
  }

  std::optional<Value> atom() {
    const std::size_t start = pos_;
    int brackets = 0;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '[') {
        ++brackets;
      } else if (c == ']') {
        if (brackets > 0) --brackets;
      } else if (brackets == 0 && (c == ' ' || c == '(' || c == ')' || c == '"' || c == '\r' || c == '\n')) {
        break;
      }
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    Value v;
    v.text.assign(s_.substr(start, pos_ - start));
    if (iequals(v.text, "NIL")) v.kind = Value::Kind::nil;
    return v;
  }

  std::string_view s_;
  std::size_t pos_;
};

struct Response {
  std::string raw;          // the whole response, literals included, without the final CRLF
  std::string tag;          // "*" untagged, "+" continuation request, else a command's tag
  std::optional<std::uint32_t> number;  // "* 12 EXISTS" -> 12
  std::string kind;         // upper-cased: OK NO BAD BYE PREAUTH EXISTS EXPUNGE FETCH SEARCH LIST ...
  std::size_t data_pos = 0; // where the data after `kind` starts in raw
  std::string code;         // a status response's [code], without the brackets
  std::string text;         // a status response's (or a continuation's) human text

  bool untagged() const { return tag == "*"; }
  bool is_status() const {
    return kind == "OK" || kind == "NO" || kind == "BAD" || kind == "BYE" || kind == "PREAUTH";
  }
  std::string code_name() const { return upper(code.substr(0, code.find(' '))); }
  std::string_view code_args() const {
    const auto sp = code.find(' ');
    return sp == std::string::npos ? std::string_view{} : trim(std::string_view(code).substr(sp + 1));
  }
};

std::optional<Response> parse_response(std::string raw) {
  Response r;
  r.raw = std::move(raw);
  const std::string_view s = r.raw;
  // The word at pos (up to the next space or the end; npos - pos is past the end either way).
  const auto word_at = [&](std::size_t pos) { return s.substr(pos, s.find(' ', pos) - pos); };
  const auto sp = s.find(' ');
  r.tag = std::string(s.substr(0, sp));
  if (r.tag.empty()) return std::nullopt;
  if (r.tag == "+") {
    r.text = sp == std::string_view::npos ? "" : std::string(s.substr(sp + 1));
    return r;
  }
  if (sp == std::string_view::npos) return std::nullopt;
  std::size_t pos = sp + 1;
  std::string_view word = word_at(pos);
  if (r.tag == "*") {
    if (auto n = parse_number<std::uint32_t>(word)) {
      r.number = n;
      pos += word.size();
      if (pos >= s.size()) return std::nullopt;
      ++pos;
      word = word_at(pos);
    }
  }
  if (word.empty()) return std::nullopt;
  r.kind = upper(word);
  pos += word.size();
  if (pos < s.size()) ++pos;
  r.data_pos = pos;
  if (r.is_status() && !r.number) {
    std::string_view rest = s.substr(pos);
    if (!rest.empty() && rest.front() == '[') {
      const auto close = rest.find(']');
      if (close != std::string_view::npos) {
        r.code = std::string(rest.substr(1, close - 1));
        rest.remove_prefix(close + 1);
      }
    }
    r.text = std::string(trim(rest));
  } else if (r.tag != "*") {
    return std::nullopt;  // a tagged response is always a status
  }
  return r;
}

// The n of a line ending in a literal announcement "{n}" (or "{n+}").
std::optional<std::uint64_t> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  const auto open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
  return parse_number<std::uint64_t>(digits);
}

// Data items of a FETCH response that we use.
struct FetchItems {
  std::optional<std::uint32_t> uid;
  std::optional<std::uint64_t> size;
  std::optional<std::string> body;  // BODY[] (a NIL body stays empty)
  std::optional<std::string> header;  // BODY[HEADER]
  bool flags_seen = false;
};

std::optional<FetchItems> parse_fetch(const Response& r) {
  Parser p(r.raw, r.data_pos);
  auto list = p.next();
  if (!list || list->kind != Value::Kind::list || list->items.size() % 2 != 0) return std::nullopt;
  FetchItems f;
  for (std::size_t i = 0; i + 1 < list->items.size(); i += 2) {
    const Value& name = list->items[i];
    Value& value = list->items[i + 1];
    if (name.kind != Value::Kind::atom) return std::nullopt;
    const std::string key = upper(name.text);
    if (key == "UID") {
      f.uid = value.number<std::uint32_t>();
      if (!f.uid) return std::nullopt;
    } else if (key == "RFC822.SIZE") {
      f.size = value.number<std::uint64_t>();
      if (!f.size) return std::nullopt;
    } else if (key == "BODY[]" || key == "BODY[]<0>") {
      if (value.kind == Value::Kind::string) f.body = std::move(value.text);
      else if (value.kind != Value::Kind::nil) return std::nullopt;
    } else if (key == "BODY[HEADER]" || key == "BODY[HEADER]<0>") {
      if (value.kind == Value::Kind::string) f.header = std::move(value.text);
      else if (value.kind != Value::Kind::nil) return std::nullopt;
    } else if (key == "FLAGS" && value.kind == Value::Kind::list) {
      for (const auto& flag : value.items) f.flags_seen = f.flags_seen || iequals(flag.text, "\\Seen");
    }
  }
  return f;
}

// "1:3,7,9:10" from ascending unique uids.
std::string sequence_set(const std::vector<std::uint32_t>& uids, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to;) {
    std::size_t j = i;
    while (j + 1 < to && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) out += ':' + std::to_string(uids[j]);
    i = j + 1;
  }
  return out;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

bool quotable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace

// ---- modified UTF-7 ----

Result<std::string> encode_mailbox_name(std::string_view utf8) {
  if (utf8.empty()) return bad_name("the folder name is empty");
  std::string out;
  std::string run;  // UTF-16BE bytes of characters waiting to be base64-encoded
  const auto flush = [&] {
    if (run.empty()) return;
    out += '&';
    out += base64(run, true);
    out += '-';
    run.clear();
  };
  for (std::size_t i = 0; i < utf8.size();) {
    const auto cp = next_utf8(utf8, i);
    if (!cp) return bad_name("the folder name is not valid UTF-8");
    if (*cp < 0x20 || *cp == 0x7f) return bad_name("the folder name contains a control character");
    if (*cp < 0x7f) {
      flush();
      out += static_cast<char>(*cp);
      if (*cp == '&') out += '-';
      continue;
    }
    const auto unit = [&](char32_t u) {
      run += static_cast<char>(u >> 8);
      run += static_cast<char>(u & 0xFF);
    };
    if (*cp >= 0x10000) {
      const char32_t v = *cp - 0x10000;
      unit(0xD800 + (v >> 10));
      unit(0xDC00 + (v & 0x3FF));
    } else {
      unit(*cp);
    }
  }
  flush();
  return out;
}

Result<std::string> decode_mailbox_name(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c < 0x20 || c > 0x7e) return bad_name("a modified UTF-7 name has a byte outside printable ASCII");
    if (c != '&') {
      out += c;
      ++i;
      continue;
    }
    const auto dash = s.find('-', i + 1);
    if (dash == std::string_view::npos) return bad_name("a modified UTF-7 name has '&' without '-'");
    if (dash == i + 1) {
      out += '&';
      i = dash + 1;
      continue;
    }
    std::string bytes;
    unsigned bits = 0;
    int nbits = 0;
    for (std::size_t k = i + 1; k < dash; ++k) {
      const int v = base64_value(s[k]);
      if (v < 0) return bad_name("a modified UTF-7 name has a bad base64 character");
      bits = (bits << 6) | static_cast<unsigned>(v);
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        bytes += static_cast<char>((bits >> nbits) & 0xFF);
      }
    }
    if (bytes.size() % 2 != 0) return bad_name("a modified UTF-7 name has an odd number of UTF-16 bytes");
    for (std::size_t k = 0; k < bytes.size(); k += 2) {
      char32_t u = (static_cast<unsigned char>(bytes[k]) << 8) | static_cast<unsigned char>(bytes[k + 1]);
      if (u >= 0xD800 && u <= 0xDBFF) {
        if (k + 3 >= bytes.size()) return bad_name("a modified UTF-7 name has a lone surrogate");
        const char32_t lo = (static_cast<unsigned char>(bytes[k + 2]) << 8) | static_cast<unsigned char>(bytes[k + 3]);
        if (lo < 0xDC00 || lo > 0xDFFF) return bad_name("a modified UTF-7 name has a lone surrogate");
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        k += 2;
      } else if (u >= 0xDC00 && u <= 0xDFFF) {
        return bad_name("a modified UTF-7 name has a lone surrogate");
      }
      routing::append_utf8(out, u);
    }
    i = dash + 1;
  }
  return out;
}

// ---- the connection ----

struct ImapClient::Impl {
  // One part of a command line: plain text, a literal ({n} then the bytes, after the server's
  // continuation unless LITERAL+), or a line sent after a continuation (SASL responses).
  struct Part {
    enum class Kind { text, literal, continuation };
    std::string text;
    Kind kind = Kind::text;
  };
  struct Reply {
    Response tagged;
    std::vector<Response> untagged;
  };

  ImapOptions o;
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO* wbio = nullptr;  // owned by ssl
  BIO* rbio = nullptr;  // owned by ssl
  std::string in;       // received (decrypted) bytes not yet consumed
  std::vector<std::string> caps;  // upper-cased
  std::uint64_t tags = 0;
  bool selected = false;
  std::uint32_t exists = 0;
  bool new_mail = false;  // an EXISTS grew the folder since select()/uids_after()
  std::string bye;        // text of an untagged BYE, for the error when the connection ends
  std::uint64_t literal_limit = kDefaultLiteralLimit;

  explicit Impl(ImapOptions options) : o(std::move(options)) {}
  ~Impl() { close(); }

  std::string location() const { return "imap " + o.host + ":" + std::to_string(o.port); }

  // Server (or OpenSSL) text made safe for an error message: printable, short, no password.
  std::string clean(std::string_view text) const {
    std::string out;
    for (char c : text.substr(0, kMaxServerText)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    if (text.size() > kMaxServerText) out += "...";
    if (o.password.size() >= 3) {
      for (auto at = out.find(o.password); at != std::string::npos; at = out.find(o.password, at + 3))
        out.replace(at, o.password.size(), "***");
    }
    return out;
  }

  Error error(ErrorKind kind, std::string code, const std::string& message) const {
    return make_error(kind, std::move(code), clean(message), location());
  }

  // The connection cannot be used any more (lost, timed out, or out of step): drop it.
  Error fatal(ErrorKind kind, std::string code, const std::string& message) {
    close();
    return error(kind, std::move(code), message);
  }

  // An untagged BYE outside LOGOUT: the server is about to close the connection.
  Error bye_error() {
    return fatal(ErrorKind::unavailable, "imap_bye", "the server is closing the connection: " + bye);
  }

  Error closed_error() {
    std::string message = "the server closed the connection";
    if (!bye.empty()) message += ": " + bye;
    return fatal(ErrorKind::unavailable, bye.empty() ? "imap_connection_closed" : "imap_bye", message);
  }

  Error protocol_error(const std::string& what, std::string_view raw = {}) {
    std::string message = what;
    if (!raw.empty()) message += ": " + std::string(raw.substr(0, 120));
    return fatal(ErrorKind::invalid, "imap_protocol_error", message);
  }

  bool connected() const { return fd >= 0; }

  void close() {
    if (ssl) SSL_free(ssl);  // frees both BIOs
    if (ctx) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
    ssl = nullptr;
    ctx = nullptr;
    rbio = wbio = nullptr;
    fd = -1;
    in.clear();
    selected = false;
    new_mail = false;
    exists = 0;
  }

  bool has(std::string_view name) const {
    return std::any_of(caps.begin(), caps.end(), [&](const std::string& c) { return iequals(c, name); });
  }

  void set_caps(std::string_view list) {
    caps.clear();
    std::size_t pos = 0;
    while (pos < list.size()) {
      const auto sp = list.find(' ', pos);
      const auto word = list.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
      if (!word.empty()) caps.push_back(upper(word));
      if (sp == std::string_view::npos) break;
      pos = sp + 1;
    }
  }

  // ---- raw socket I/O ----

  enum class Wait { ready, timeout, failed };

  bool watch_wake = false;  // during IDLE's wait: o.wake_fd readable ends it like a timeout

  Wait wait_for(short events, Clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Wait::timeout;
      pollfd p[2] = {{fd, events, 0}, {o.wake_fd, POLLIN, 0}};
      const nfds_t count = watch_wake && o.wake_fd >= 0 ? 2 : 1;
      const int n = ::poll(p, count, static_cast<int>(std::min<long long>(left, 60000)));
      if (n > 0 && p[0].revents != 0) return Wait::ready;
      if (n > 0) return Wait::timeout;  // woken: the caller is stopping
      if (n < 0 && errno != EINTR) return Wait::failed;
    }
  }

  Status send_raw(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        const Wait w = wait_for(POLLOUT, Clock::now() + o.timeout);
        if (w == Wait::timeout)
          return fatal(ErrorKind::unavailable, "imap_timeout", "the server took no data for " + ms_text(o.timeout));
        if (w == Wait::failed) return fatal(ErrorKind::unavailable, "imap_connection_lost", std::strerror(errno));
        continue;
      }
      return fatal(ErrorKind::unavailable, "imap_connection_lost", std::string("send: ") + std::strerror(errno));
    }
    return Ok{};
  }

  // Reads what the socket has (waiting until deadline): >0 bytes, 0 on timeout; errors: closed/lost.
  Result<std::size_t> recv_raw(char* buf, std::size_t size, Clock::time_point deadline) {
    for (;;) {
      const ssize_t n = ::recv(fd, buf, size, 0);
      if (n > 0) return static_cast<std::size_t>(n);
      if (n == 0) return closed_error();
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        return fatal(ErrorKind::unavailable, "imap_connection_lost", std::string("recv: ") + std::strerror(errno));
      const Wait w = wait_for(POLLIN, deadline);
      if (w == Wait::timeout) return std::size_t{0};
      if (w == Wait::failed) return fatal(ErrorKind::unavailable, "imap_connection_lost", std::strerror(errno));
    }
  }

  // ---- TLS over memory BIOs ----

  Status flush_tls() {
    char buf[16384];
    while (BIO_ctrl_pending(wbio) > 0) {
      const int n = BIO_read(wbio, buf, sizeof buf);
      if (n <= 0) break;
      if (auto s = send_raw(std::string_view(buf, static_cast<std::size_t>(n))); !s) return s;
    }
    return Ok{};
  }

  // Moves bytes from the socket into OpenSSL; false on timeout.
  Result<bool> feed_tls(Clock::time_point deadline) {
    char buf[16384];
    auto n = recv_raw(buf, sizeof buf, deadline);
    if (!n) return n.error();
    if (*n == 0) return false;
    BIO_write(rbio, buf, static_cast<int>(*n));
    return true;
  }

  Error tls_error(const std::string& what) {
    std::string message = what;
    const long verify = ssl && o.verify_certificate ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verify != X509_V_OK) message += ": certificate verification failed: " + std::string(X509_verify_cert_error_string(verify));
    const std::string queue = openssl_errors();
    if (!queue.empty()) message += ": " + queue;
    return fatal(ErrorKind::unavailable, "imap_tls_failed", message);
  }

  Status start_tls() {
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return tls_error("cannot create a TLS context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (o.verify_certificate) {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      if (!o.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
          const std::string why = openssl_errors();
          close();
          return error(ErrorKind::config, "imap_ca_file", "cannot load the CA file " + o.ca_file + ": " + why);
        }
      } else {
        SSL_CTX_set_default_verify_paths(ctx);
      }
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    ssl = SSL_new(ctx);
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    if (!ssl || !rbio || !wbio) {
      if (rbio) BIO_free(rbio);
      if (wbio) BIO_free(wbio);
      rbio = wbio = nullptr;
      return tls_error("cannot create a TLS session");
    }
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_connect_state(ssl);
    if (is_ip_address(o.host)) {
      if (o.verify_certificate) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, o.host.c_str());
      if (o.verify_certificate) {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, o.host.c_str());
      }
    }
    for (;;) {
      const int r = SSL_connect(ssl);
      if (auto s = flush_tls(); !s) return s;
      if (r == 1) return Ok{};
      const int e = SSL_get_error(ssl, r);
      if (e != SSL_ERROR_WANT_READ) return tls_error("TLS handshake failed");
      auto fed = feed_tls(Clock::now() + o.timeout);
      if (!fed) return fed.error();
      if (!*fed) return fatal(ErrorKind::unavailable, "imap_timeout", "TLS handshake: no answer for " + ms_text(o.timeout));
    }
  }

  // ---- plaintext I/O ----

  Status send(std::string_view data) {
    if (!ssl) return send_raw(data);
    ERR_clear_error();
    while (!data.empty()) {
      const int n = SSL_write(ssl, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)));
      if (n <= 0) return tls_error("TLS write failed");
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return flush_tls();
  }

  // Appends received bytes to `in`: true, or false when nothing came within `wait`.
  Result<bool> fill(milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    char buf[65536];
    if (!ssl) {
      auto n = recv_raw(buf, sizeof buf, deadline);
      if (!n) return n.error();
      in.append(buf, *n);
      return *n > 0;
    }
    ERR_clear_error();
    for (;;) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        in.append(buf, static_cast<std::size_t>(n));
        return true;
      }
      const int e = SSL_get_error(ssl, n);
      if (auto s = flush_tls(); !s) return s.error();
      if (e == SSL_ERROR_ZERO_RETURN) return closed_error();
      if (e != SSL_ERROR_WANT_READ) return tls_error("TLS read failed");
      auto fed = feed_tls(deadline);
      if (!fed) return fed.error();
      if (!*fed) return false;
    }
  }

  // One whole response (its literals included). `first_wait` bounds the wait for its first
  // byte: nullopt when nothing came by then; once it has started, every wait is o.timeout.
  Result<std::optional<Response>> read_response(milliseconds first_wait) {
    std::string raw;
    std::size_t scan = 0;
    bool started = !in.empty();
    for (;;) {
      const auto nl = in.find('\n', scan);
      if (nl == std::string::npos) {
        if (in.size() > kMaxLine) return protocol_error("a response line is longer than " + std::to_string(kMaxLine) + " bytes");
        scan = in.size();
        auto got = fill(started ? o.timeout : first_wait);
        if (!got) return got.error();
        if (!*got) {
          if (!started) return std::optional<Response>{};
          return fatal(ErrorKind::unavailable, "imap_timeout", "the server stopped in mid-response for " + ms_text(o.timeout));
        }
        started = true;
        continue;
      }
      const std::size_t end = nl > 0 && in[nl - 1] == '\r' ? nl - 1 : nl;
      const std::string_view line(in.data(), end);
      raw.append(line);
      const auto literal = trailing_literal(line);
      in.erase(0, nl + 1);
      scan = 0;
      if (!literal) break;
      if (*literal > literal_limit)
        return fatal(ErrorKind::too_large, "imap_response_too_large",
                     "the server sent a literal of " + std::to_string(*literal) + " bytes, over the limit of " +
                         std::to_string(literal_limit));
      const auto size = static_cast<std::size_t>(*literal);
      raw += "\r\n";
      raw.reserve(raw.size() + size + 64);
      while (in.size() < size) {
        auto got = fill(o.timeout);
        if (!got) return got.error();
        if (!*got)
          return fatal(ErrorKind::unavailable, "imap_timeout", "the server stopped in mid-literal for " + ms_text(o.timeout));
      }
      raw.append(in, 0, size);
      in.erase(0, size);
    }
    const std::string head = raw.substr(0, 120);
    auto parsed = parse_response(std::move(raw));
    if (!parsed) return protocol_error("an unparseable response", head);
    return std::optional<Response>(std::move(*parsed));
  }

  Result<Response> read_response() {
    auto r = read_response(o.timeout);
    if (!r) return r.error();
    if (!*r) return fatal(ErrorKind::unavailable, "imap_timeout", "no answer from the server for " + ms_text(o.timeout));
    return std::move(**r);
  }

  // What an untagged response tells about the session, whichever command it came with.
  void note(const Response& r) {
    if (!r.untagged()) return;
    if (r.number && r.kind == "EXISTS") {
      if (*r.number > exists) new_mail = true;
      exists = *r.number;
    } else if (r.number && r.kind == "EXPUNGE") {
      if (exists > 0) --exists;
    } else if (r.kind == "CAPABILITY") {
      set_caps(std::string_view(r.raw).substr(r.data_pos));
    } else if (r.kind == "BYE") {
      bye = r.text;
    } else if (r.is_status() && r.code_name() == "CAPABILITY") {
      set_caps(r.code_args());
    }
  }

  // ---- commands ----

  std::string next_tag() { return "sb" + std::to_string(++tags); }

  Result<Reply> run_parts(std::vector<Part> parts) {
    if (!connected()) return error(ErrorKind::unavailable, "imap_not_connected", "not connected (call connect())");
    const std::string tag = next_tag();
    Reply reply;
    std::string out = tag + " ";
    // Waits for the server's "+" before the next part; a tagged answer instead ends the command.
    const auto await_continuation = [&]() -> Result<bool> {
      for (;;) {
        auto r = read_response();
        if (!r) return r.error();
        if (r->tag == "+") return true;
        if (r->tag == tag) {
          if (r->kind == "OK") return protocol_error("OK before the command was complete", r->raw);
          reply.tagged = std::move(*r);
          return false;
        }
        if (!r->untagged()) return protocol_error("a response with an unknown tag", r->raw);
        note(*r);
        if (r->kind == "BYE") return bye_error();
        reply.untagged.push_back(std::move(*r));
      }
    };
    for (auto& part : parts) {
      if (part.kind == Part::Kind::text) {
        out += part.text;
        continue;
      }
      const bool sync = part.kind == Part::Kind::continuation || !has("LITERAL+");
      if (part.kind == Part::Kind::literal)
        out += "{" + std::to_string(part.text.size()) + (sync ? "}" : "+}");
      out += "\r\n";
      if (sync) {
        if (auto s = send(out); !s) return s.error();
        out.clear();
        auto cont = await_continuation();
        if (!cont) return cont.error();
        if (!*cont) return reply;
      }
      out += part.text;
    }
    out += "\r\n";
    if (auto s = send(out); !s) return s.error();
    for (;;) {
      auto r = read_response();
      if (!r) return r.error();
      if (r->tag == tag) {
        reply.tagged = std::move(*r);
        return reply;
      }
      if (r->tag == "+") return protocol_error("an unexpected continuation request", r->raw);
      if (!r->untagged()) return protocol_error("a response with an unknown tag", r->raw);
      note(*r);
      if (r->kind == "BYE") return bye_error();
      reply.untagged.push_back(std::move(*r));
    }
  }

  Result<Reply> run(std::string command) {
    std::vector<Part> parts(1);
    parts[0].text = std::move(command);
    return run_parts(std::move(parts));
  }

  // The error for a tagged NO or BAD: response codes (RFC 5530) first, then the caller's default.
  Error refused(std::string_view what, const Response& r, ErrorKind no_kind, std::string no_code) const {
    const std::string code = r.code_name();
    std::string message = std::string(what) + ": " + r.kind + " " + (r.code.empty() ? "" : "[" + r.code + "] ") + r.text;
    if (code == "UNAVAILABLE" || code == "SERVERBUG" || code == "INUSE" || code == "LIMIT" || code == "OVERQUOTA" ||
        code == "CONTACTADMIN")
      return error(ErrorKind::unavailable, "imap_server_unavailable", message);
    if (code == "NONEXISTENT" || code == "TRYCREATE") return error(ErrorKind::not_found, "imap_folder_not_found", message);
    if (r.kind == "BAD") return error(ErrorKind::invalid, "imap_command_rejected", message);
    return error(no_kind, std::move(no_code), message);
  }

  Status check(const Result<Reply>& reply, std::string_view what, ErrorKind no_kind = ErrorKind::unavailable,
               std::string no_code = "imap_command_failed") const {
    if (!reply) return reply.error();
    if (reply->tagged.kind != "OK") return refused(what, reply->tagged, no_kind, std::move(no_code));
    return Ok{};
  }

  Status need_selected() const {
    if (!connected()) return error(ErrorKind::unavailable, "imap_not_connected", "not connected (call connect())");
    if (!selected) return error(ErrorKind::invalid, "imap_no_folder_selected", "no folder is selected (call select())");
    return Ok{};
  }

  Status refresh_caps(const Response& tagged) {
    if (tagged.code_name() == "CAPABILITY") {
      set_caps(tagged.code_args());
      return Ok{};
    }
    caps.clear();
    auto reply = run("CAPABILITY");
    if (auto s = check(reply, "CAPABILITY"); !s) return s;
    if (caps.empty()) return protocol_error("CAPABILITY answered without capabilities");
    return Ok{};
  }

  Status open_socket() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(o.port);
    if (const int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &found); rc != 0)
      return error(ErrorKind::unavailable, "imap_connect_failed", "cannot resolve " + o.host + ": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
    const auto deadline = Clock::now() + o.timeout;
    std::string why;
    for (const addrinfo* a = found; a; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        why = std::strerror(errno);
        continue;
      }
      int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        const Wait w = wait_for(POLLOUT, deadline);
        int err = 0;
        socklen_t len = sizeof err;
        if (w == Wait::timeout) {
          err = ETIMEDOUT;
        } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
        rc = err == 0 ? 0 : -1;
        errno = err;
      }
      if (rc == 0) {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return Ok{};
      }
      why = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
    return error(ErrorKind::unavailable, "imap_connect_failed",
                 "cannot connect to " + o.host + ":" + port + ": " + (why.empty() ? "no address" : why));
  }

  Status login() {
    if (has("LOGINDISABLED"))
      return fatal(ErrorKind::config, "imap_login_disabled", "the server does not allow logging in on this connection (LOGINDISABLED)");
    Result<Reply> reply = Error{};
    if (has("AUTH=PLAIN")) {
      std::string plain;
      plain += '\0';
      plain += o.user;
      plain += '\0';
      plain += o.password;
      const std::string response = base64(plain, false);
      if (has("SASL-IR")) {
        reply = run("AUTHENTICATE PLAIN " + response);
      } else {
        reply = run_parts({{"AUTHENTICATE PLAIN"}, {response, Part::Kind::continuation}});
      }
    } else {
      if (o.user.find('\0') != std::string::npos || o.password.find('\0') != std::string::npos)
        return fatal(ErrorKind::config, "imap_login_failed", "the user name or password contains a NUL byte");
      const auto astring = [](const std::string& s) {
        return quotable(s) ? Part{quoted(s)} : Part{s, Part::Kind::literal};
      };
      reply = run_parts({{"LOGIN "}, astring(o.user), {" "}, astring(o.password)});
    }
    if (!reply) return reply.error();
    if (reply->tagged.kind != "OK") {
      Error e = refused("login as " + o.user + " refused", reply->tagged, ErrorKind::config, "imap_login_failed");
      if (e.kind != ErrorKind::unavailable) e = error(ErrorKind::config, "imap_login_failed", e.message);
      close();
      return e;
    }
    return refresh_caps(reply->tagged);
  }

  Status connect() {
    close();
    caps.clear();
    bye.clear();
    tags = 0;
    literal_limit = kDefaultLiteralLimit;
    if (o.host.empty()) return error(ErrorKind::config, "imap_connect_failed", "no IMAP host configured");
    if (auto s = open_socket(); !s) return s;
    if (o.security == ImapSecurity::tls) {
      if (auto s = start_tls(); !s) return s;
    }
    auto greeting = read_response();
    if (!greeting) return greeting.error();
    if (!greeting->untagged() || (greeting->kind != "OK" && greeting->kind != "PREAUTH" && greeting->kind != "BYE"))
      return protocol_error("not an IMAP greeting", greeting->raw);
    if (greeting->kind == "BYE")
      return fatal(ErrorKind::unavailable, "imap_bye", "the server refused the connection: " + greeting->text);
    const bool preauth = greeting->kind == "PREAUTH";
    if (preauth && o.security == ImapSecurity::starttls)
      return fatal(ErrorKind::config, "imap_starttls_unsupported",
                   "the server pre-authenticated the connection in clear text: STARTTLS is impossible");
    if (auto s = refresh_caps(*greeting); !s) return s;
    if (o.security == ImapSecurity::starttls) {
      if (!has("STARTTLS"))
        return fatal(ErrorKind::config, "imap_starttls_unsupported", "the server does not offer STARTTLS");
      auto reply = run("STARTTLS");
      if (auto s = check(reply, "STARTTLS"); !s) {
        close();
        return s;
      }
      // Anything the server sent after its OK came in clear text: it may be an injection.
      if (!in.empty()) return protocol_error("clear-text data after the STARTTLS answer");
      if (auto s = start_tls(); !s) return s;
      caps.clear();
      if (auto s = refresh_caps(Response{}); !s) return s;
    }
    if (!preauth) return login();
    return Ok{};
  }
};

// ---- the API ----

ImapClient::ImapClient(ImapOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
ImapClient::~ImapClient() = default;
ImapClient::ImapClient(ImapClient&&) noexcept = default;
ImapClient& ImapClient::operator=(ImapClient&&) noexcept = default;

Status ImapClient::connect() { return impl_->connect(); }

bool ImapClient::has_capability(std::string_view name) const { return impl_->has(name); }

Result<FolderState> ImapClient::select(std::string_view folder) {
  auto& m = *impl_;
  if (!m.connected()) return m.error(ErrorKind::unavailable, "imap_not_connected", "not connected (call connect())");
  auto name = encode_mailbox_name(folder);
  if (!name) return m.error(name.error().kind, name.error().code, name.error().message);
  m.selected = false;
  m.exists = 0;
  auto reply = m.run("SELECT " + quoted(*name));
  if (auto s = m.check(reply, "SELECT " + std::string(folder), ErrorKind::not_found, "imap_folder_not_found"); !s)
    return s.error();
  FolderState state;
  bool have_validity = false;
  for (const auto& r : reply->untagged) {
    if (r.number && r.kind == "EXISTS") state.exists = *r.number;
    if (r.number || r.kind != "OK") continue;
    const std::string code = r.code_name();
    if (code == "UIDVALIDITY") {
      auto v = parse_number<std::uint32_t>(r.code_args());
      if (!v) return m.protocol_error("a bad UIDVALIDITY", r.raw);
      state.uidvalidity = *v;
      have_validity = true;
    } else if (code == "UIDNEXT") {
      auto v = parse_number<std::uint32_t>(r.code_args());
      if (!v) return m.protocol_error("a bad UIDNEXT", r.raw);
      state.uidnext = *v;
    }
  }
  if (!have_validity) return m.protocol_error("SELECT answered without UIDVALIDITY");
  m.selected = true;
  m.exists = state.exists;
  m.new_mail = false;
  return state;
}

Result<std::vector<std::uint32_t>> ImapClient::uids_after(std::uint32_t last_uid) {
  auto& m = *impl_;
  if (auto s = m.need_selected(); !s) return s.error();
  m.new_mail = false;
  if (last_uid == std::numeric_limits<std::uint32_t>::max()) return std::vector<std::uint32_t>{};
  auto reply = m.run("UID SEARCH UID " + std::to_string(last_uid + 1) + ":*");
  if (auto s = m.check(reply, "UID SEARCH"); !s) return s.error();
  std::vector<std::uint32_t> uids;
  for (const auto& r : reply->untagged) {
    if (r.number || r.kind != "SEARCH") continue;
    Parser p(r.raw, r.data_pos);
    while (!p.at_end()) {
      auto v = p.next();
      if (!v) return m.protocol_error("an unparseable SEARCH response", r.raw);
      if (v->kind == Value::Kind::list) continue;  // (MODSEQ n) with CONDSTORE
      auto uid = v->number<std::uint32_t>();
      if (!uid) return m.protocol_error("a SEARCH response with a non-number", r.raw);
      if (*uid > last_uid) uids.push_back(*uid);
    }
  }
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  return uids;
}

Result<std::vector<std::pair<std::uint32_t, std::uint64_t>>> ImapClient::sizes(const std::vector<std::uint32_t>& uids) {
  auto& m = *impl_;
  if (auto s = m.need_selected(); !s) return s.error();
  std::vector<std::uint32_t> wanted(uids);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  wanted.erase(std::remove(wanted.begin(), wanted.end(), 0U), wanted.end());
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  for (std::size_t from = 0; from < wanted.size(); from += kUidsPerFetch) {
    const std::size_t to = std::min(wanted.size(), from + kUidsPerFetch);
    auto reply = m.run("UID FETCH " + sequence_set(wanted, from, to) + " (UID RFC822.SIZE)");
    if (auto s = m.check(reply, "UID FETCH"); !s) return s.error();
    for (const auto& r : reply->untagged) {
      if (!r.number || r.kind != "FETCH") continue;
      auto f = parse_fetch(r);
      if (!f) return m.protocol_error("an unparseable FETCH response", r.raw);
      if (!f->uid || !f->size) continue;  // e.g. an unsolicited flags update
      if (std::binary_search(wanted.begin() + static_cast<std::ptrdiff_t>(from),
                             wanted.begin() + static_cast<std::ptrdiff_t>(to), *f->uid))
        out.emplace_back(*f->uid, *f->size);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first == b.first; }), out.end());
  return out;
}

Result<FetchedMail> ImapClient::fetch(std::uint32_t uid, std::uint64_t max_bytes) {
  auto& m = *impl_;
  if (auto s = m.need_selected(); !s) return s.error();
  const std::string id = std::to_string(uid);
  auto found = sizes({uid});
  if (!found) return found.error();
  if (found->empty())
    return m.error(ErrorKind::not_found, "imap_message_not_found", "no message with UID " + id + " (expunged?)");
  const std::uint64_t size = found->front().second;
  if (size > max_bytes)
    return m.error(ErrorKind::too_large, "message_too_large",
                   "message UID " + id + " is " + std::to_string(size) + " bytes, over the limit of " +
                       std::to_string(max_bytes));

  m.literal_limit = max_bytes;
  auto reply = m.run("UID FETCH " + id + " (UID RFC822.SIZE BODY.PEEK[])");
  m.literal_limit = kDefaultLiteralLimit;
  if (!reply && reply.error().kind == ErrorKind::too_large)
    return m.error(ErrorKind::too_large, "message_too_large",
                   "message UID " + id + " came larger than the limit of " + std::to_string(max_bytes) +
                       " bytes (RFC822.SIZE said " + std::to_string(size) + ")");
  if (auto s = m.check(reply, "UID FETCH " + id); !s) return s.error();
  FetchedMail mail;
  mail.uid = uid;
  mail.size = size;
  bool have_body = false;
  for (auto& r : reply->untagged) {
    if (!r.number || r.kind != "FETCH") continue;
    auto f = parse_fetch(r);
    if (!f) return m.protocol_error("an unparseable FETCH response", std::string_view(r.raw).substr(0, 80));
    if (f->uid != uid) continue;
    if (f->size) mail.size = *f->size;
    if (f->body) {
      mail.raw = std::move(*f->body);
      have_body = true;
    }
  }
  if (!have_body)
    return m.error(ErrorKind::not_found, "imap_message_not_found", "the server sent no body for UID " + id + " (expunged?)");
  return mail;
}

Result<std::string> ImapClient::fetch_header(std::uint32_t uid) {
  auto& m = *impl_;
  if (auto s = m.need_selected(); !s) return s.error();
  const std::string id = std::to_string(uid);
  auto reply = m.run("UID FETCH " + id + " (UID BODY.PEEK[HEADER])");  // within kDefaultLiteralLimit
  if (auto s = m.check(reply, "UID FETCH " + id + " header"); !s) return s.error();
  for (auto& r : reply->untagged) {
    if (!r.number || r.kind != "FETCH") continue;
    auto f = parse_fetch(r);
    if (!f) return m.protocol_error("an unparseable FETCH response", std::string_view(r.raw).substr(0, 80));
    if (f->uid == uid && f->header) return std::move(*f->header);
  }
  return m.error(ErrorKind::not_found, "imap_message_not_found", "the server sent no header for UID " + id + " (expunged?)");
}

Status ImapClient::mark_seen(std::uint32_t uid) {
  auto& m = *impl_;
  if (auto s = m.need_selected(); !s) return s;
  return m.check(m.run("UID STORE " + std::to_string(uid) + " +FLAGS.SILENT (\\Seen)"), "UID STORE \\Seen");
}

Status ImapClient::move(std::uint32_t uid, std::string_view folder) {
  auto& m = *impl_;
  if (auto s = m.need_selected(); !s) return s;
  auto name = encode_mailbox_name(folder);
  if (!name) return m.error(name.error().kind, name.error().code, name.error().message);
  const std::string id = std::to_string(uid);
  const std::string target = quoted(*name);
  if (m.has("MOVE")) return m.check(m.run("UID MOVE " + id + " " + target), "UID MOVE to " + std::string(folder));
  if (auto s = m.check(m.run("UID COPY " + id + " " + target), "UID COPY to " + std::string(folder)); !s) return s;
  if (auto s = m.check(m.run("UID STORE " + id + " +FLAGS.SILENT (\\Deleted)"), "UID STORE \\Deleted"); !s) return s;
  if (m.has("UIDPLUS")) return m.check(m.run("UID EXPUNGE " + id), "UID EXPUNGE");
  return m.check(m.run("EXPUNGE"), "EXPUNGE");
}

Status ImapClient::create_folder_if_missing(std::string_view folder) {
  auto& m = *impl_;
  if (!m.connected()) return m.error(ErrorKind::unavailable, "imap_not_connected", "not connected (call connect())");
  auto name = encode_mailbox_name(folder);
  if (!name) return m.error(name.error().kind, name.error().code, name.error().message);
  auto listed = m.run("LIST \"\" " + quoted(*name));
  if (auto s = m.check(listed, "LIST " + std::string(folder)); !s) return s;
  for (const auto& r : listed->untagged) {
    if (r.number || r.kind != "LIST") continue;
    Parser p(r.raw, r.data_pos);
    auto flags = p.next();
    auto delimiter = p.next();
    auto listed_name = p.next();
    if (!flags || !delimiter || !listed_name || flags->kind != Value::Kind::list)
      return m.protocol_error("an unparseable LIST response", r.raw);
    const bool same = listed_name->text == *name || (iequals(*name, "INBOX") && iequals(listed_name->text, "INBOX"));
    const bool nonexistent = std::any_of(flags->items.begin(), flags->items.end(),
                                         [](const Value& f) { return iequals(f.text, "\\NonExistent"); });
    if (same && !nonexistent) return Ok{};
  }
  auto created = m.run("CREATE " + quoted(*name));
  if (!created) return created.error();
  if (created->tagged.kind != "OK") {
    if (created->tagged.code_name() == "ALREADYEXISTS") return Ok{};
    return m.refused("CREATE " + std::string(folder), created->tagged, ErrorKind::config, "imap_create_failed");
  }
  // So that people looking at the mailbox with a mail client see the folder; failure is harmless.
  auto subscribed = m.run("SUBSCRIBE " + quoted(*name));
  if (!subscribed && !m.connected()) return subscribed.error();
  return Ok{};
}

Result<bool> ImapClient::idle(std::chrono::milliseconds max_wait) {
  auto& m = *impl_;
  if (auto s = m.need_selected(); !s) return s.error();
  if (!m.has("IDLE"))
    return m.error(ErrorKind::invalid, "imap_idle_unsupported", "the server does not support IDLE: poll instead");
  if (m.new_mail) {
    m.new_mail = false;
    return true;
  }
  max_wait = std::clamp<milliseconds>(max_wait, milliseconds{0}, milliseconds{kMaxIdle});
  const std::string tag = m.next_tag();
  if (auto s = m.send(tag + " IDLE\r\n"); !s) return s.error();
  for (;;) {  // until the server's "+ idling"
    auto r = m.read_response();
    if (!r) return r.error();
    if (r->tag == "+") break;
    if (r->tag == tag) return m.refused("IDLE", *r, ErrorKind::invalid, "imap_idle_unsupported");
    if (!r->untagged()) return m.protocol_error("a response with an unknown tag", r->raw);
    m.note(*r);
    if (r->kind == "BYE") return m.bye_error();
  }
  const auto deadline = Clock::now() + max_wait;
  std::optional<Response> ended;  // the server ended IDLE itself
  while (!m.new_mail) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds{0}) break;
    if (m.o.wake_fd >= 0) {
      pollfd woken{m.o.wake_fd, POLLIN, 0};
      if (::poll(&woken, 1, 0) > 0) break;
    }
    m.watch_wake = true;
    auto r = m.read_response(left);
    m.watch_wake = false;
    if (!r) return r.error();
    if (!*r) break;
    if ((*r)->tag == tag) {
      ended = std::move(**r);
      break;
    }
    if (!(*r)->untagged()) return m.protocol_error("a response with an unknown tag during IDLE", (*r)->raw);
    m.note(**r);
    if ((*r)->kind == "BYE") return m.bye_error();
  }
  if (!ended) {
    if (auto s = m.send("DONE\r\n"); !s) return s.error();
    for (;;) {
      auto r = m.read_response();
      if (!r) return r.error();
      if (r->tag == tag) {
        ended = std::move(*r);
        break;
      }
      if (!r->untagged()) return m.protocol_error("a response with an unknown tag after DONE", r->raw);
      m.note(*r);
      if (r->kind == "BYE") return m.bye_error();
    }
  }
  if (ended->kind != "OK") return m.refused("IDLE", *ended, ErrorKind::unavailable, "imap_command_failed");
  const bool got = m.new_mail;
  m.new_mail = false;
  return got;
}

void ImapClient::logout() {
  auto& m = *impl_;
  if (!m.connected()) return;
  const std::string tag = m.next_tag();
  const auto saved = m.o.timeout;
  m.o.timeout = std::min<milliseconds>(saved, kLogoutWait);
  if (m.send(tag + " LOGOUT\r\n")) {
    for (;;) {
      auto r = m.read_response();
      if (!r || r->tag == tag) break;
    }
  }
  m.o.timeout = saved;
  m.close();
}

}  // namespace switchboard::channels::email
