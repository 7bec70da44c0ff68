#include <catch2/catch.hpp>

#include "routing/text/utf8.hpp"

using namespace switchboard::routing;

TEST_CASE("utf8: well-formed text passes, every RFC 3629 violation fails", "[utf8]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("Zażółć gęślą jaźń 😀"));
  CHECK(is_valid_utf8(std::string("a\0b", 3)));      // NUL is a character
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));            // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));        // overlong, three bytes
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));        // a UTF-16 surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));    // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xC5"));                // cut short
  CHECK_FALSE(is_valid_utf8("\x80"));                // a lone continuation byte
  CHECK(utf8_sequence("ż", 0) == 2);
  CHECK(utf8_sequence("😀", 0) == 4);
}

TEST_CASE("utf8: scrubbing replaces each maximal invalid subpart by one U+FFFD", "[utf8]") {
  CHECK(scrub_utf8("ok") == "ok");
  CHECK(scrub_utf8("\xC3(") == "\xEF\xBF\xBD(");
  CHECK(scrub_utf8("\xE2\x82(") == "\xEF\xBF\xBD(");  // two bytes of a three-byte sequence: one U+FFFD
  CHECK(scrub_utf8("a\xFF\xFE" "b") == "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  bool replaced = false;
  CHECK(scrub_utf8(std::string("x\0y", 3), true, &replaced) == "xy");
  CHECK_FALSE(replaced);
  CHECK(scrub_utf8(std::string("x\0y", 3)) == std::string("x\0y", 3));
  scrub_utf8("\x80", false, &replaced);
  CHECK(replaced);
}

TEST_CASE("utf8: append_utf8 writes each length, and U+FFFD for what is no scalar value", "[utf8]") {
  auto one = [](char32_t cp) {
    std::string out;
    append_utf8(out, cp);
    return out;
  };
  CHECK(one(U'A') == "A");
  CHECK(one(U'ł') == "\xC5\x82");
  CHECK(one(U'€') == "\xE2\x82\xAC");
  CHECK(one(0x1F401) == "\xF0\x9F\x90\x81");
  CHECK(one(0x10FFFF) == "\xF4\x8F\xBF\xBF");
  CHECK(one(0xD800) == kReplacementCharacter);
  CHECK(one(0xDFFF) == kReplacementCharacter);
  CHECK(one(0x110000) == kReplacementCharacter);
  CHECK(one(0) == std::string(1, '\0'));
  for (char32_t cp : {char32_t{0x7F}, char32_t{0x80}, char32_t{0x7FF}, char32_t{0x800}, char32_t{0xFFFF}, char32_t{0x10000}})
    CHECK(is_valid_utf8(one(cp)));
}
