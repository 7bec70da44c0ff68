// UTF-8 well-formedness (RFC 3629: shortest forms only, no UTF-16 surrogates, nothing above
// U+10FFFF), shared by every parser that takes bytes from outside and every writer that must not
// pass malformed text on (PostgreSQL refuses it, mail headers must not lie about it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::routing {

// The length of the well-formed sequence starting at s[i]; 0 when there is none, with `bad` set
// to the length of the maximal invalid subpart there (what one U+FFFD replaces, as Unicode
// recommends).
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::size_t& bad);
std::size_t utf8_sequence(std::string_view s, std::size_t i);

bool is_valid_utf8(std::string_view s);

// Every maximal invalid subpart becomes U+FFFD; NUL bytes are dropped when `drop_nul`.
std::string scrub_utf8(std::string_view s, bool drop_nul = false, bool* replaced = nullptr);

// Appends code point `cp` as UTF-8; a value that is no Unicode scalar value (a UTF-16 surrogate,
// or above U+10FFFF) becomes U+FFFD. NUL is appended as it is: callers that must not pass it on
// check for it first.
void append_utf8(std::string& out, char32_t cp);

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace switchboard::routing
