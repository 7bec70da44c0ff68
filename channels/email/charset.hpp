// Text decoding for inbound mail: charsets (with the Polish mislabelling heuristics of
// protocols/email.md "Charsets seen in Polish mail"), RFC 2047 encoded words in headers,
// RFC 3676 format=flowed and UTF-8 hygiene. Never fails: what cannot be decoded becomes U+FFFD.
// Used by channels/email/mime.cpp; public so that tests and other e-mail code can use it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "routing/text/utf8.hpp"

namespace switchboard::channels::email {

// Valid UTF-8 from any bytes: each maximal invalid subsequence becomes one U+FFFD (the WHATWG
// rule, so "\xC3(" is "\uFFFD(") and NUL bytes are dropped. `replaced` (if given) is set when
// anything was replaced.
std::string sanitize_utf8(std::string_view bytes, bool* replaced = nullptr);

// True when `bytes` is valid UTF-8 (NUL allowed).
using routing::is_valid_utf8;

// The longest prefix of `text` (valid UTF-8) of at most `max_bytes` that ends on a character
// boundary.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

struct DecodedText {
  std::string text;         // valid UTF-8 without NUL
  std::string charset;      // what the bytes were read as, e.g. "windows-1250"
  bool relabelled = false;  // read as another charset than declared (mislabelled or 8-bit "us-ascii")
  bool unknown_charset = false;  // the declared charset is unknown to iconv: guessed
  bool replaced = false;    // some bytes were undecodable and became U+FFFD
};

// Bytes declared as `charset` (a MIME label, any case, "" when none) to UTF-8.
//  - 8-bit text that is valid UTF-8 is read as UTF-8 when declared us-ascii, ISO-8859-1/-2 or
//    nothing (a Latin text is practically never valid UTF-8 by accident);
//  - otherwise text declared ISO-8859-2, ISO-8859-1, us-ascii or nothing that contains bytes
//    0x80-0x9F (C1 controls there) is Windows-1250, and undeclared 8-bit text is ISO-8859-2;
//  - UTF-7 is decoded here, leniently (only invalid sequences become U+FFFD);
//  - everything else goes through iconv with the declared charset.
DecodedText decode_charset(std::string_view bytes, std::string_view charset);

struct HeaderText {
  std::string text;             // decoded UTF-8, one line: controls became spaces, trimmed
  bool raw_8bit = false;        // unencoded 8-bit bytes (not allowed in RFC 5322 headers)
  bool malformed_word = false;  // an encoded word that could not be decoded (kept as written)
  bool replaced = false;        // undecodable bytes became U+FFFD
};

// An unstructured header value or phrase as found in the message (possibly folded, possibly
// with raw 8-bit bytes) to UTF-8: RFC 2047 encoded words decoded (leniently: also inside words
// and quoted strings), whitespace between adjacent encoded words dropped, adjacent words in one
// charset joined before conversion (some mailers split a character over two words).
// Raw 8-bit bytes are read as the `hint` charset (the body's) when they are not UTF-8 and decode
// cleanly in it, else by the heuristics of decode_charset(). Linear in the input.
HeaderText decode_header_text(std::string_view raw, std::string_view hint = {});

// RFC 3676: joins the lines of a format=flowed text (a line ending in a space continues on the
// next one at the same quote depth; with delsp=yes that space is removed), undoes space-stuffing.
// The signature separator "-- " never flows. Lines end in '\n'.
std::string unflow(std::string_view text, bool delsp);

// "\r\n" and lone '\r' to '\n'.
std::string normalize_newlines(std::string_view text);

// ASCII lower-case.
std::string ascii_lower(std::string_view text);

}  // namespace switchboard::channels::email
