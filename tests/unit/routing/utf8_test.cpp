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
