// Outgoing mail by hand rather than through a MIME library: every byte that leaves is decided
// here (line lengths, encoded-word splitting, header order), and the tests read it back with
// GMime, an independent parser.
#include "channels/email/compose.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>

#include "routing/calendar/zone.hpp"
#include "routing/text/utf8.hpp"

namespace switchboard::channels::email {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::size_t kFoldAt = 78;         // RFC 5322's recommended line length
constexpr std::size_t kEncodedLineMax = 76; // RFC 2047: a line with encoded words
constexpr std::size_t kMaxIdLength = 900;   // an id must fit on one line (998 with " <>")
constexpr std::string_view kDefaultSubject = "Twoja wiadomość";

// ---- bytes and characters ----------------------------------------------------------------

// `count` random characters from [a-z2-7] (base32's alphabet, lower-case: 5 bits each).
std::string random_token(std::size_t count) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  std::string bytes(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) {
    // OpenSSL's generator failed (it does not in practice): uniqueness still matters more than secrecy.
    std::random_device device;
    for (auto& b : bytes) b = static_cast<char>(device());
  }
  std::string out;
  out.reserve(count);
  for (unsigned char b : bytes) out += kAlphabet[b & 31];
  return out;
}

// Invalid UTF-8 becomes U+FFFD: charset=UTF-8 must not be a lie.
std::string scrub_utf8(std::string_view s) { return routing::scrub_utf8(s); }

std::size_t valid_sequence(std::string_view s, std::size_t i) { return routing::utf8_sequence(s, i); }

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

// Header text: valid UTF-8, controls (CR and LF included) as spaces, runs of white space as one
// space, trimmed. Nothing a caller passes can end the header or start another one.
std::string clean_text(std::string_view raw) {
  const std::string s = scrub_utf8(raw);
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_control(c) || c == ' ') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += ch;
  }
  return out;
}

// An address or an id: no white space, controls, angle brackets or commas (each would end it or
// start another one).
std::string clean_token(std::string_view raw) {
  const std::string s = scrub_utf8(raw);
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_control(c) || c == ' ' || c == '<' || c == '>' || c == ',') continue;
    out += ch;
  }
  return out;
}

bool is_ascii_printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7F;
  });
}

// RFC 5322 atext.
bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::size_t ifind(std::string_view hay, std::string_view needle) {
  if (needle.empty() || needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

// ---- RFC 2047 encoded words -------------------------------------------------------------------

constexpr char kHex[] = "0123456789ABCDEF";

// Q encoding as allowed in a phrase (RFC 2047 5(3)), which is also valid in Subject.
bool q_literal(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' || c == '*' ||
         c == '+' || c == '-' || c == '/';
}

void append_q(std::string& out, unsigned char c) {
  if (c == ' ') {
    out += '_';
  } else if (q_literal(c)) {
    out += static_cast<char>(c);
  } else {
    out += '=';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
}

std::size_t q_length(unsigned char c) { return c == ' ' || q_literal(c) ? 1 : 3; }

std::string base64(std::string_view bytes) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

constexpr std::string_view kQOpen = "=?UTF-8?Q?";
constexpr std::string_view kBOpen = "=?UTF-8?B?";
constexpr std::string_view kClose = "?=";
constexpr std::size_t kWordOverhead = 12;  // "=?UTF-8?Q?" + "?="

// `utf8` (valid) as encoded words, whole characters in each. The first word's line starts with
// `first_prefix` characters, the others with one space; every line stays within 76 characters.
// Q unless it is half as long again as B: Q keeps mostly-ASCII (Polish) text readable in the raw
// header, B is shorter for text with few ASCII letters.
std::vector<std::string> encoded_words(std::string_view utf8, std::size_t first_prefix) {
  std::size_t q_total = 0;
  for (char c : utf8) q_total += q_length(static_cast<unsigned char>(c));
  const std::size_t b_total = (utf8.size() + 2) / 3 * 4;
  const bool use_q = q_total * 2 <= b_total * 3;

  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < utf8.size()) {
    const std::size_t prefix = words.empty() ? first_prefix : 1;
    const std::size_t budget = kEncodedLineMax - std::min(kEncodedLineMax - 16, prefix) - kWordOverhead;
    std::size_t end = i;
    std::size_t used = 0;      // Q: encoded length so far
    std::size_t whole = i;     // B: the last end that leaves no padding ("=") in the word
    while (end < utf8.size()) {
      const std::size_t len = std::max<std::size_t>(1, valid_sequence(utf8, end));
      std::size_t grown = 0;
      if (use_q) {
        for (std::size_t k = 0; k < len; ++k) grown += q_length(static_cast<unsigned char>(utf8[end + k]));
        grown += used;
      } else {
        grown = (end + len - i + 2) / 3 * 4;
      }
      if (grown > budget && end > i) break;
      used = grown;
      end += len;
      if ((end - i) % 3 == 0) whole = end;
    }
    // Some decoders (GMime among them) join adjacent B words before decoding them, and stop at
    // the first padding: only the last word may have any.
    if (!use_q && end < utf8.size() && whole > i) end = whole;
    std::string word(use_q ? kQOpen : kBOpen);
    if (use_q) {
      for (std::size_t k = i; k < end; ++k) append_q(word, static_cast<unsigned char>(utf8[k]));
    } else {
      word += base64(utf8.substr(i, end - i));
    }
    word += kClose;
    words.push_back(std::move(word));
    i = end;
  }
  return words;
}

// ---- header lines -----------------------------------------------------------------------------

// "Name: " + pieces, a space between pieces, folded before a piece that would pass `limit`.
std::string fold_pieces(std::string_view name, const std::vector<std::string>& pieces, std::size_t limit = kFoldAt) {
  std::string out(name);
  out += ':';
  std::size_t line = out.size();
  for (const auto& piece : pieces) {
    if (line + 1 + piece.size() > limit && line > name.size() + 1) {
      out += kCrlf;
      line = 0;
    }
    out += ' ';
    out += piece;
    line += 1 + piece.size();
  }
  out += kCrlf;
  return out;
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t next = text.find(' ', i);
    const std::size_t end = next == std::string_view::npos ? text.size() : next;
    if (end > i) words.emplace_back(text.substr(i, end - i));
    i = end + 1;
  }
  return words;
}

// Unstructured text (Subject): printable ASCII words as they are, the run from the first word
// that cannot be (non-ASCII, "=?" that would read as an encoded word, too long to fold) to the
// last one as encoded words. "Re: " and the "[#1042]" tag stay readable in the raw header, which
// filters that match raw text rely on. Only white space between two encoded words is dropped by
// decoders, so the spaces of the run travel inside it.
std::string unstructured_header(std::string_view name, std::string_view raw) {
  const std::string value = clean_text(raw);
  const auto words = split_words(value);
  const auto plain = [&](const std::string& w) {
    return is_ascii_printable(w) && w.find("=?") == std::string::npos && name.size() + 2 + w.size() <= kEncodedLineMax;
  };
  std::size_t first = words.size();
  std::size_t last = 0;
  for (std::size_t k = 0; k < words.size(); ++k) {
    if (plain(words[k])) continue;
    first = std::min(first, k);
    last = k;
  }
  if (first == words.size()) return fold_pieces(name, words);

  std::string run;
  for (std::size_t k = first; k <= last; ++k) run += (k > first ? " " : "") + words[k];
  std::vector<std::string> pieces(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(first));
  // The run's first word opens the line only when nothing precedes it; otherwise it may fold
  // onto a line of its own, where one space precedes it.
  for (auto& word : encoded_words(run, first == 0 ? name.size() + 2 : 1)) pieces.push_back(std::move(word));
  pieces.insert(pieces.end(), words.begin() + static_cast<std::ptrdiff_t>(last) + 1, words.end());
  return fold_pieces(name, pieces, kEncodedLineMax);
}

// "Display Name <address>", the name as atoms, a quoted string or encoded words.
std::string mailbox_header(std::string_view name, std::string_view raw_display, std::string_view raw_address) {
  const std::string address = clean_token(raw_address);
  const std::string display = clean_text(raw_display);
  const std::string angle = "<" + address + ">";
  if (display.empty()) return fold_pieces(name, {address.empty() ? std::string("undisclosed-recipients:;") : address});

  const bool ascii = is_ascii_printable(display) && display.find("=?") == std::string::npos;
  if (ascii && display.size() <= 60) {
    const bool atoms = std::all_of(display.begin(), display.end(), [](char c) { return c == ' ' || is_atext(c); });
    std::string phrase;
    if (atoms) {
      phrase = display;
    } else {
      phrase = "\"";
      for (char c : display) {
        if (c == '"' || c == '\\') phrase += '\\';
        phrase += c;
      }
      phrase += '"';
    }
    return fold_pieces(name, {phrase, angle});
  }
  auto pieces = encoded_words(display, name.size() + 2);
  pieces.push_back(angle);
  // The address may share the last encoded word's line only within 76 characters.
  return fold_pieces(name, pieces, kEncodedLineMax);
}

std::string strip_id(std::string_view raw) {
  std::string id = clean_token(raw);
  return id.size() > kMaxIdLength ? std::string() : id;
}

std::string id_list_header(std::string_view name, const std::vector<std::string>& ids) {
  std::vector<std::string> pieces;
  for (const auto& raw : ids) {
    std::string id = strip_id(raw);
    if (id.empty()) continue;
    std::string bracketed = "<" + id + ">";
    if (std::find(pieces.begin(), pieces.end(), bracketed) == pieces.end()) pieces.push_back(std::move(bracketed));
  }
  if (pieces.empty()) return {};
  return fold_pieces(name, pieces);
}

// "Tue, 05 Jan 2027 15:20:00 +0100": the wall-clock time of `zone` with its offset.
std::string format_date(Timestamp when, std::string_view zone_name) {
  using namespace std::chrono;
  const auto utc = floor<seconds>(when);
  seconds offset{0};
  if (auto zone = routing::TimeZone::find(zone_name)) {
    offset = floor<seconds>(zone->to_local(when).time_since_epoch()) - utc.time_since_epoch();
  }
  const auto local = utc + offset;  // still a sys_time, only used for its calendar fields
  const auto day = floor<days>(local);
  const year_month_day ymd(day);
  const hh_mm_ss<seconds> tod(local - day);
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const long minutes_east = static_cast<long>(duration_cast<minutes>(offset).count());
  const long abs_minutes = minutes_east < 0 ? -minutes_east : minutes_east;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02ld:%02ld:%02ld %c%02ld%02ld",
                kDays[weekday(day).c_encoding()], static_cast<unsigned>(ymd.day()),
                kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                static_cast<long>(tod.seconds().count()), minutes_east < 0 ? '-' : '+', abs_minutes / 60,
                abs_minutes % 60);
  return buf;
}

std::string domain_of(std::string_view address) {
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

// Keeps the characters a Message-ID part may hold (dot-atom text without the dots, which could
// double up or end the part).
std::string id_part(std::string_view raw) {
  std::string out;
  for (char c : raw)
    if (is_atext(c)) out += c;
  return out;
}

std::string id_domain(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (ok && !(c == '.' && (out.empty() || out.back() == '.'))) out += c;
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out.empty() ? std::string("localhost") : out;
}

// ---- bodies -----------------------------------------------------------------------------------

// Quoted-printable (RFC 2045 6.7) of UTF-8 text with any line ends: lines of at most 76
// characters, soft breaks never inside an escape, trailing white space escaped, a line opening
// with "From " escaped (mbox), CRLF line ends. A line starting with "." stays as it is: SMTP's
// dot-stuffing is the transport's business.
std::string quoted_printable(std::string_view raw) {
  const std::string text = scrub_utf8(raw);
  std::string out;
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    const bool last = end == std::string::npos;
    if (last) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (last && line.empty() && start > 0) break;  // the text ended with a line end

    tokens.clear();
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      const bool trailing_space = is_space(static_cast<char>(c)) && i + 1 == line.size();
      const bool from_escape = i == 0 && line.substr(0, 5) == "From ";
      if ((c >= 33 && c <= 126 && c != '=' && !from_escape) || (is_space(static_cast<char>(c)) && !trailing_space)) {
        tokens.emplace_back(1, static_cast<char>(c));
      } else {
        tokens.push_back({'=', kHex[c >> 4], kHex[c & 15]});
      }
    }
    std::size_t column = 0;
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      const std::size_t limit = t + 1 == tokens.size() ? 76 : 75;  // room for the soft break's '='
      if (column + tokens[t].size() > limit) {
        out += "=\r\n";
        column = 0;
      }
      out += tokens[t];
      column += tokens[t].size();
    }
    out += kCrlf;
    if (last) break;
    start = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  return out;
}

std::string text_part_headers(std::string_view subtype) {
  std::string out = "Content-Type: text/";
  out += subtype;
  out += "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n";
  return out;
}

// Whether `prefix` at the start of s is a reply prefix ("Re:", "RE :", "Re[2]:", "Odp:"...);
// returns its length including the white space after it, or 0.
std::size_t reply_prefix_length(std::string_view s) {
  static constexpr std::array<std::string_view, 7> kPrefixes = {"re", "odp", "aw", "sv", "vs", "antw", "res"};
  for (const auto prefix : kPrefixes) {
    if (s.size() <= prefix.size() || !iequals(s.substr(0, prefix.size()), prefix)) continue;
    std::size_t i = prefix.size();
    if (i < s.size() && (s[i] == '[' || s[i] == '(')) {  // "Re[2]:" / "Re(2):"
      const char close = s[i] == '[' ? ']' : ')';
      std::size_t j = i + 1;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      if (j == i + 1 || j >= s.size() || s[j] != close) continue;
      i = j + 1;
    }
    if (i < s.size() && s[i] == ' ') ++i;  // "RE :" (French clients)
    if (i >= s.size() || s[i] != ':') continue;
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i;
  }
  return 0;
}

// The subject without conversation tags "[#digits]" other than `tag` (a customer who answers
// one thread from the mail of another would otherwise collect both), spaces collapsed again.
std::string strip_foreign_tags(std::string_view subject, std::string_view tag) {
  std::string out;
  for (std::size_t i = 0; i < subject.size();) {
    std::size_t j = i + 2;
    if (subject.substr(i, 2) == "[#") {
      while (j < subject.size() && subject[j] >= '0' && subject[j] <= '9') ++j;
      if (j > i + 2 && j < subject.size() && subject[j] == ']' && subject.substr(i, j + 1 - i) != tag) {
        i = j + 1;
        continue;
      }
    }
    if (subject[i] != ' ' || (!out.empty() && out.back() != ' ')) out += subject[i];
    ++i;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string make_message_id(std::string_view conversation_id, std::string_view message_id, std::string_view domain,
                            std::string_view token) {
  const std::string unique = token.empty() ? random_token(12) : id_part(token);
  return "sb.c" + id_part(conversation_id) + ".m" + id_part(message_id) + "." + unique + "@" +
         id_domain(domain);
}

std::vector<std::string> thread_references(const std::vector<std::string>& parent_references,
                                           const std::vector<std::string>& parent_in_reply_to,
                                           std::string_view parent_message_id) {
  std::vector<std::string> out;
  const auto add = [&out](std::string_view raw) {
    std::string id = strip_id(raw);
    if (!id.empty() && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
  };
  if (!parent_references.empty()) {
    for (const auto& id : parent_references) add(id);
  } else if (parent_in_reply_to.size() == 1) {
    add(parent_in_reply_to.front());
  }
  add(parent_message_id);
  return out;
}

std::string reply_subject(std::string_view original_subject, std::string_view conversation_tag) {
  std::string subject = clean_text(original_subject);
  for (std::size_t n = reply_prefix_length(subject); n > 0; n = reply_prefix_length(subject)) subject.erase(0, n);

  std::string tag = clean_text(conversation_tag);
  if (!tag.empty() && tag.front() == '[') tag.erase(0, 1);
  if (!tag.empty() && tag.back() == ']') tag.pop_back();
  if (!tag.empty() && tag.front() == '#') tag.erase(0, 1);
  if (!tag.empty()) tag = "[#" + tag + "]";
  if (!tag.empty()) {
    subject = strip_foreign_tags(subject, tag);
    for (std::size_t n = reply_prefix_length(subject); n > 0; n = reply_prefix_length(subject)) subject.erase(0, n);
  }

  if (subject.empty() || subject == tag) subject = std::string(kDefaultSubject) + (tag.empty() ? "" : " " + tag);
  else if (!tag.empty() && ifind(subject, tag) == std::string::npos) subject += " " + tag;
  return "Re: " + subject;
}

std::string render(const OutgoingMail& mail) {
  const Timestamp date = mail.date == Timestamp{}
                             ? std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())
                             : mail.date;
  std::string message_id = strip_id(mail.message_id);
  if (message_id.empty()) message_id = "sb." + random_token(20) + "@" + id_domain(domain_of(clean_token(mail.from_address)));

  std::string out;
  out += "Date: " + format_date(date, mail.time_zone) + "\r\n";
  out += mailbox_header("From", mail.from_name, mail.from_address);
  out += mailbox_header("To", mail.to_name, mail.to_address);
  if (const std::string reply_to = clean_token(mail.reply_to); !reply_to.empty())
    out += fold_pieces("Reply-To", {reply_to});
  out += unstructured_header("Subject", mail.subject);
  out += "Message-ID: <" + message_id + ">\r\n";
  out += id_list_header("In-Reply-To", mail.in_reply_to);
  out += id_list_header("References", mail.references);
  if (mail.automatic) out += "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n";
  if (!mail.loop_marker.empty()) {
    std::string marker = clean_text(mail.loop_marker);
    marker.erase(std::remove_if(marker.begin(), marker.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }),
                 marker.end());
    if (!marker.empty()) out += fold_pieces("X-Switchboard-Loop", split_words(marker));
  }
  out += "MIME-Version: 1.0\r\n";

  if (mail.html.empty()) {
    out += text_part_headers("plain");
    out += kCrlf;
    out += quoted_printable(mail.text);
    return out;
  }
  // "=_" cannot occur in quoted-printable text ('=' is always followed by hex or a line end).
  const std::string boundary = "=_sb." + random_token(24);
  out += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary + "\"\r\n";
  out += kCrlf;
  out += "--" + boundary + "\r\n";
  out += text_part_headers("plain");
  out += kCrlf;
  out += quoted_printable(mail.text);
  out += "--" + boundary + "\r\n";
  out += text_part_headers("html");
  out += kCrlf;
  out += quoted_printable(mail.html);
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace switchboard::channels::email
