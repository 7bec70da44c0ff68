// Charsets, RFC 2047 header words and format=flowed for inbound mail.
#include "channels/email/charset.hpp"

#include <gmime/gmime.h>
#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include "channels/email/gmime_init.hpp"
#include "routing/text/utf8.hpp"

namespace switchboard::channels::email {

namespace {

constexpr std::string_view kReplacement = routing::kReplacementCharacter;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

enum class Family { utf8, ascii, latin1, latin2, cp1250, utf7, other };

Family family_of(std::string_view label) {
  static const std::pair<std::string_view, Family> kNames[] = {
      {"utf-8", Family::utf8},          {"utf8", Family::utf8},           {"unicode-1-1-utf-8", Family::utf8},
      {"", Family::ascii},              {"us-ascii", Family::ascii},      {"ascii", Family::ascii},
      {"us", Family::ascii},            {"ansi_x3.4-1968", Family::ascii}, {"iso646-us", Family::ascii},
      {"csascii", Family::ascii},       {"unknown-8bit", Family::ascii},  {"x-unknown", Family::ascii},
      {"unknown", Family::ascii},       {"default", Family::ascii},       {"iso-8859-1", Family::latin1},
      {"iso8859-1", Family::latin1},    {"iso_8859-1", Family::latin1},   {"iso88591", Family::latin1},
      {"latin1", Family::latin1},       {"l1", Family::latin1},           {"iso_8859-1:1987", Family::latin1},
      {"iso-ir-100", Family::latin1},   {"csisolatin1", Family::latin1},  {"iso-8859-2", Family::latin2},
      {"iso8859-2", Family::latin2},    {"iso_8859-2", Family::latin2},   {"iso88592", Family::latin2},
      {"latin2", Family::latin2},       {"l2", Family::latin2},           {"iso_8859-2:1987", Family::latin2},
      {"iso-ir-101", Family::latin2},   {"csisolatin2", Family::latin2},  {"windows-1250", Family::cp1250},
      {"cp1250", Family::cp1250},       {"x-cp1250", Family::cp1250},     {"win-1250", Family::cp1250},
      {"windows1250", Family::cp1250},  {"cp-1250", Family::cp1250},    {"utf-7", Family::utf7},
      {"utf7", Family::utf7},           {"unicode-1-1-utf-7", Family::utf7}, {"csunicode11utf7", Family::utf7},
  };
  for (const auto& [name, family] : kNames)
    if (label == name) return family;
  return Family::other;
}

// A MIME charset label as written: quotes, comments' leftovers and case removed.
std::string clean_label(std::string_view label) {
  label = trim(label);
  while (!label.empty() && (label.front() == '"' || label.front() == '\'')) label.remove_prefix(1);
  while (!label.empty() && (label.back() == '"' || label.back() == '\'')) label.remove_suffix(1);
  return ascii_lower(trim(label));
}

// iconv from `from` to UTF-8; undecodable bytes become U+FFFD one byte at a time. False when
// iconv does not know `from`.
bool iconv_to_utf8(std::string_view bytes, const char* from, std::string& out, bool& replaced) {
  iconv_t cd = iconv_open("UTF-8", from);
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  out.clear();
  out.reserve(bytes.size() + bytes.size() / 2 + 16);
  char* in = const_cast<char*>(bytes.data());  // iconv's signature; it never writes through it
  std::size_t in_left = bytes.size();
  char buffer[8192];
  while (in_left > 0) {
    char* o = buffer;
    std::size_t o_left = sizeof buffer;
    const std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buffer, static_cast<std::size_t>(o - buffer));
    if (r != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG) continue;
    // EILSEQ, EINVAL (truncated sequence at the end) or anything else: skip one byte.
    out += kReplacement;
    replaced = true;
    ++in;
    --in_left;
  }
  char* o = buffer;
  std::size_t o_left = sizeof buffer;
  iconv(cd, nullptr, nullptr, &o, &o_left);  // the shift state's end, for stateful charsets
  out.append(buffer, static_cast<std::size_t>(o - buffer));
  iconv_close(cd);
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// The encoded text of a 'B' word; nullopt on characters outside the alphabet (missing padding
// is tolerated: many mailers drop it).
bool decode_b(std::string_view text, std::string& out) {
  std::uint32_t bits = 0;
  int count = 0;
  bool padding = false;
  for (char c : text) {
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = base64_value(c);
    if (v < 0 || padding) return false;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xFF));
      out.push_back(static_cast<char>((bits >> 8) & 0xFF));
      out.push_back(static_cast<char>(bits & 0xFF));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) return false;
  if (count == 2) out.push_back(static_cast<char>((bits >> 4) & 0xFF));
  if (count == 3) {
    out.push_back(static_cast<char>((bits >> 10) & 0xFF));
    out.push_back(static_cast<char>((bits >> 2) & 0xFF));
  }
  return true;
}

// A 'Q' word: '_' is a space, =XX a byte; a stray '=' stays (and marks the word malformed).
void decode_q(std::string_view text, std::string& out, bool& malformed) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      if (c == '=') malformed = true;
      out.push_back(c);
    }
  }
}

struct EncodedWord {
  std::size_t end = 0;  // one past "?="
  std::string charset;
  std::string bytes;
  bool decoded = false;    // false: well-formed frame, undecodable payload (kept as written)
  bool malformed = false;  // decoded, but with stray characters
};

// An encoded word "=?charset[*lang]?B|Q?text?=" starting at s[i] ("=?"). Scans stop at the next
// '?', so trying every "=?" of a hostile header stays linear.
std::optional<EncodedWord> encoded_word_at(std::string_view s, std::size_t i) {
  std::size_t j = i + 2;
  const std::size_t charset_begin = j;
  while (j < s.size() && s[j] != '?' && !is_wsp(s[j]) && j - charset_begin <= 75) ++j;
  if (j >= s.size() || s[j] != '?' || j == charset_begin) return std::nullopt;
  std::string_view charset = s.substr(charset_begin, j - charset_begin);
  if (j + 2 >= s.size() || s[j + 2] != '?') return std::nullopt;
  const char encoding = s[j + 1];
  if (encoding != 'B' && encoding != 'b' && encoding != 'Q' && encoding != 'q') return std::nullopt;
  const std::size_t text_begin = j + 3;
  std::size_t k = text_begin;
  while (k < s.size() && s[k] != '?') ++k;
  if (k + 1 >= s.size() || s[k + 1] != '=') return std::nullopt;
  EncodedWord w;
  w.end = k + 2;
  if (auto star = charset.find('*'); star != std::string_view::npos) charset = charset.substr(0, star);  // RFC 2231 language
  w.charset = std::string(charset);
  std::string_view text = s.substr(text_begin, k - text_begin);
  if (encoding == 'B' || encoding == 'b') {
    std::string compact;
    for (char c : text)
      if (!is_wsp(c)) compact.push_back(c);
    w.decoded = decode_b(compact, w.bytes);
  } else {
    decode_q(text, w.bytes, w.malformed);
    w.decoded = true;
  }
  return w;
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string sanitize_utf8(std::string_view bytes, bool* replaced) {
  return routing::scrub_utf8(bytes, /*drop_nul=*/true, replaced);
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

// RFC 2152 UTF-7, leniently: what is valid is decoded and only what is not becomes U+FFFD, so
// that one broken base64 run does not take the ASCII lines after it along (iconv's UTF-7 state
// stays broken after the first invalid sequence).
std::string decode_utf7(std::string_view bytes, bool& replaced) {
  std::string out;
  out.reserve(bytes.size());
  auto bad = [&] {
    out += kReplacement;
    replaced = true;
  };
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      bad();
      ++i;
      continue;
    }
    if (c != '+') {
      if (c != 0) out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    ++i;
    if (i < bytes.size() && bytes[i] == '-') {  // "+-" is '+'
      out.push_back('+');
      ++i;
      continue;
    }
    // A base64 run of UTF-16 code units, ended by any character outside the alphabet ('-' absorbed).
    std::uint32_t bits = 0;
    int nbits = 0;
    std::uint32_t high = 0;  // a pending high surrogate
    bool any = false;
    while (i < bytes.size()) {
      const int v = base64_value(bytes[i]);
      if (v < 0) break;
      any = true;
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      nbits += 6;
      ++i;
      if (nbits >= 16) {
        nbits -= 16;
        const std::uint32_t unit = (bits >> nbits) & 0xFFFF;
        bits &= (1u << nbits) - 1;
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          if (high) bad();
          high = unit;
        } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
          if (high) {
            routing::append_utf8(out, 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00));
            high = 0;
          } else {
            bad();
          }
        } else {
          if (high) bad();
          high = 0;
          if (unit == 0) continue;
          routing::append_utf8(out, unit);
        }
      }
    }
    if (high) bad();
    // Left-over bits must be fewer than 6 and zero: anything else is a broken run.
    if (!any || nbits >= 6 || bits != 0) bad();
    if (i < bytes.size() && bytes[i] == '-') ++i;
  }
  return out;
}

DecodedText decode_charset(std::string_view bytes, std::string_view charset) {
  DecodedText out;
  const std::string label = clean_label(charset);
  Family family = family_of(label);

  bool eight_bit = false, c1 = false;
  for (char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    if (b >= 0x80) eight_bit = true;
    if (b >= 0x80 && b <= 0x9F) c1 = true;
  }

  std::string iconv_name;
  if (family == Family::other) {
    // GMime knows many aliases iconv does not ("ks_c_5601-1987", "x-gbk", ...).
    ensure_gmime();
    const char* mapped = g_mime_charset_iconv_name(label.c_str());
    iconv_name = mapped ? mapped : label;
    family = family_of(ascii_lower(iconv_name));
    if (family == Family::other) {
      if (iconv_t cd = iconv_open("UTF-8", iconv_name.c_str()); cd != reinterpret_cast<iconv_t>(-1)) {
        iconv_close(cd);
      } else {
        out.unknown_charset = true;
        family = Family::ascii;  // guess as for an undeclared charset
      }
    }
  }

  auto as_utf8 = [&](std::string_view b) {
    if (b.size() >= 3 && b.substr(0, 3) == "\xEF\xBB\xBF") b.remove_prefix(3);  // a BOM is no text
    out.text = sanitize_utf8(b, &out.replaced);
    out.charset = "utf-8";
  };
  auto single_byte = [&](const char* name, std::string_view canonical) {
    if (!iconv_to_utf8(bytes, name, out.text, out.replaced)) {
      as_utf8(bytes);  // iconv without this charset: cannot happen with glibc
      return;
    }
    out.text = sanitize_utf8(out.text);  // NUL bytes out
    out.charset = std::string(canonical);
  };

  switch (family) {
    case Family::utf8:
      as_utf8(bytes);
      return out;
    case Family::utf7:
      out.text = sanitize_utf8(decode_utf7(bytes, out.replaced));
      out.charset = "utf-7";
      return out;
    case Family::cp1250:
      single_byte("WINDOWS-1250", "windows-1250");
      return out;
    case Family::ascii:
    case Family::latin1:
    case Family::latin2: {
      if (!eight_bit) {
        out.text = sanitize_utf8(bytes);
        out.charset = family == Family::latin1 ? "iso-8859-1" : family == Family::latin2 ? "iso-8859-2" : "us-ascii";
        return out;
      }
      if (is_valid_utf8(bytes)) {
        as_utf8(bytes);
        out.relabelled = true;
        return out;
      }
      if (c1) {
        single_byte("WINDOWS-1250", "windows-1250");
        out.relabelled = true;
        return out;
      }
      if (family == Family::latin1) {
        single_byte("ISO-8859-1", "iso-8859-1");
      } else {
        single_byte("ISO-8859-2", "iso-8859-2");
        out.relabelled = family == Family::ascii;
      }
      return out;
    }
    case Family::other:
      if (!iconv_to_utf8(bytes, iconv_name.c_str(), out.text, out.replaced)) {
        as_utf8(bytes);
        out.unknown_charset = true;
        return out;
      }
      out.text = sanitize_utf8(out.text, &out.replaced);
      out.charset = label;
      return out;
  }
  return out;
}

HeaderText decode_header_text(std::string_view raw, std::string_view hint) {
  HeaderText result;
  // Unfolding: CRLF before whitespace goes; stray CR/LF anywhere go too.
  std::string s;
  s.reserve(raw.size());
  for (char c : raw)
    if (c != '\r' && c != '\n') s.push_back(c);

  struct Piece {
    bool encoded;
    std::string charset;
    std::string bytes;
  };
  std::vector<Piece> pieces;
  auto add_plain = [&](std::string_view text) {
    if (text.empty()) return;
    if (!pieces.empty() && !pieces.back().encoded)
      pieces.back().bytes.append(text);
    else
      pieces.push_back(Piece{false, {}, std::string(text)});
  };

  std::string plain_all;  // every unencoded byte: one charset guess for the whole header
  std::size_t i = 0;
  bool last_encoded = false;
  std::string pending_space;
  while (i < s.size()) {
    if (is_wsp(s[i])) {
      std::size_t j = i;
      while (j < s.size() && is_wsp(s[j])) ++j;
      pending_space.assign(s, i, j - i);
      i = j;
      continue;
    }
    if (s[i] == '=' && i + 1 < s.size() && s[i + 1] == '?') {
      if (auto word = encoded_word_at(s, i)) {
        if (word->decoded) {
          result.malformed_word |= word->malformed;
          // Whitespace between two encoded words is not part of the text (RFC 2047 6.2).
          if (!last_encoded) add_plain(pending_space);
          pending_space.clear();
          const std::string label = ascii_lower(word->charset);
          if (last_encoded && !pieces.empty() && pieces.back().encoded && pieces.back().charset == label)
            pieces.back().bytes += word->bytes;
          else
            pieces.push_back(Piece{true, label, std::move(word->bytes)});
          last_encoded = true;
          i = word->end;
          continue;
        }
        result.malformed_word = true;
        add_plain(pending_space);
        pending_space.clear();
        const std::string_view literal = std::string_view(s).substr(i, word->end - i);
        add_plain(literal);
        plain_all.append(literal);
        last_encoded = false;
        i = word->end;
        continue;
      }
    }
    // A run of plain text up to whitespace or the next possible encoded word.
    std::size_t j = i + 1;
    while (j < s.size() && !is_wsp(s[j]) && !(s[j] == '=' && j + 1 < s.size() && s[j + 1] == '?')) ++j;
    add_plain(pending_space);
    pending_space.clear();
    const std::string_view run = std::string_view(s).substr(i, j - i);
    add_plain(run);
    plain_all.append(run);
    last_encoded = false;
    i = j;
  }

  std::string plain_charset = "us-ascii";
  for (char c : plain_all)
    if (static_cast<unsigned char>(c) >= 0x80) {
      result.raw_8bit = true;
      break;
    }
  if (result.raw_8bit) {
    plain_charset = decode_charset(plain_all, "").charset;
    // A legacy charset of another script (GB2312, Shift_JIS, KOI8-R): the body's charset tells
    // more than the Polish guess, when the bytes are not UTF-8 and decode cleanly in it.
    const std::string label = clean_label(hint);
    const Family family = family_of(label);
    if (!label.empty() && family != Family::ascii && family != Family::utf8 && !is_valid_utf8(plain_all)) {
      DecodedText trial = decode_charset(plain_all, label);
      if (!trial.replaced && !trial.unknown_charset) plain_charset = label;
    }
  }

  std::string text;
  for (const Piece& p : pieces) {
    DecodedText d = decode_charset(p.bytes, p.encoded ? std::string_view(p.charset) : std::string_view(plain_charset));
    result.replaced |= d.replaced;
    if (p.encoded && d.unknown_charset) result.malformed_word = true;
    text += d.text;
  }
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  result.text = std::string(trim(text));
  return result;
}

std::string normalize_newlines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string unflow(std::string_view text, bool delsp) {
  std::string out;
  out.reserve(text.size());
  bool open = false;  // the previous line flowed into this one
  std::size_t open_depth = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool last = end == std::string_view::npos;
    std::string_view line = text.substr(pos, last ? std::string_view::npos : end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t depth = 0;
    while (depth < line.size() && line[depth] == '>') ++depth;
    std::string_view content = line.substr(depth);
    if (!content.empty() && content.front() == ' ') content.remove_prefix(1);  // space-stuffing
    const bool signature = content == "-- ";
    const bool flowed = !signature && !content.empty() && content.back() == ' ';
    if (open && depth != open_depth) {
      out.push_back('\n');  // a flowed line followed by another depth: RFC 3676 4.5, end it here
      open = false;
    }
    if (!open && depth > 0) {
      out.append(depth, '>');
      if (!content.empty()) out.push_back(' ');
    }
    if (flowed && delsp) content.remove_suffix(1);
    out.append(content);
    if (flowed) {
      open = true;
      open_depth = depth;
    } else {
      open = false;
      if (!last) out.push_back('\n');
    }
    if (last) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace switchboard::channels::email
