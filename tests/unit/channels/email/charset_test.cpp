// Tests for channels/email/charset: the Polish charset heuristics, UTF-8 hygiene, RFC 2047
// header decoding and format=flowed.
#include "channels/email/charset.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace switchboard::channels::email;
using namespace std::string_literals;

TEST_CASE("decode_charset: ISO-8859-2, Windows-1250 and their six differing letters", "[email]") {
  // ą ś ź Ą Ś Ź: ISO-8859-2 B1 B6 BC A1 A6 AC, Windows-1250 B9 9C 9F A5 8C 8F (protocols/email.md).
  CHECK(decode_charset("\xB1\xB6\xBC\xA1\xA6\xAC", "ISO-8859-2").text == "ąśźĄŚŹ");
  CHECK(decode_charset("\xB9\x9C\x9F\xA5\x8C\x8F", "windows-1250").text == "ąśźĄŚŹ");
  CHECK(decode_charset("\xB9\x9C\x9F\xA5\x8C\x8F", "cp1250").text == "ąśźĄŚŹ");
  // Labelled ISO-8859-2 but with 0x80-0x9F: Windows-1250.
  const DecodedText mislabelled = decode_charset("\x9C" "ci\xB9gn\xB9\xE6", "iso-8859-2");
  CHECK(mislabelled.text == "ściągnąć");
  CHECK(mislabelled.relabelled);
  CHECK(mislabelled.charset == "windows-1250");
  CHECK(decode_charset("\x8C" "wi\xEAto", "ISO-8859-1").text == "Święto");
  CHECK(decode_charset("\x8C" "wi\xEAto", "us-ascii").text == "Święto");
  // Without C1 bytes a Latin-2 label is believed.
  const DecodedText latin2 = decode_charset("\xBF\xF3\xB3w", "latin2");
  CHECK(latin2.text == "żółw");
  CHECK_FALSE(latin2.relabelled);
}

TEST_CASE("decode_charset: labels, guesses, replacements", "[email]") {
  CHECK(decode_charset("plain", "").text == "plain");
  CHECK_FALSE(decode_charset("plain", "").relabelled);
  CHECK(decode_charset("\xBF\xF3\xB3w", "").text == "żółw");           // undeclared 8-bit: Latin-2
  CHECK(decode_charset("\xC5\xBC\xC3\xB3\xC5\x82w", "").text == "żółw");  // undeclared but UTF-8
  CHECK(decode_charset("\xC5\xBC\xC3\xB3\xC5\x82w", "iso-8859-2").text == "żółw");  // UTF-8 mislabelled
  CHECK(decode_charset("\xEF\xBB\xBFtekst", "utf-8").text == "tekst");  // BOM dropped
  CHECK(decode_charset("\"UTF-8\"", "\"UTF-8\"").text == "\"UTF-8\"");
  const DecodedText bad = decode_charset("a\xC3(b\xFF", "UTF-8");
  CHECK(bad.text == "a\uFFFD(b\uFFFD");
  CHECK(bad.replaced);
  CHECK(decode_charset("\x81", "windows-1250").text == "\uFFFD");  // undefined in CP1250
  const DecodedText unknown = decode_charset("abc", "x-made-up");
  CHECK(unknown.unknown_charset);
  CHECK(unknown.text == "abc");
  CHECK(decode_charset("\xA4", "iso-8859-15").text == "€");
  CHECK(decode_charset("\xB5\xA5\xC0\xCC", "ks_c_5601-1987").text == "데이");  // a GMime alias
  CHECK(decode_charset("a\0b"s, "utf-8").text == "ab");
  CHECK(decode_charset("a\0b"s, "windows-1250").text == "ab");
}

TEST_CASE("sanitize_utf8: one U+FFFD per maximal invalid subsequence", "[email]") {
  CHECK(sanitize_utf8("zażółć") == "zażółć");
  CHECK(sanitize_utf8("\xC3(") == "\uFFFD(");
  CHECK(sanitize_utf8("\xED\xA0\x80") == "\uFFFD\uFFFD\uFFFD");  // a UTF-16 surrogate
  CHECK(sanitize_utf8("\xF0(\x8C\xBC") == "\uFFFD(\uFFFD\uFFFD");
  CHECK(sanitize_utf8("\xE2\x82") == "\uFFFD");                  // truncated at the end
  CHECK(sanitize_utf8("\xC0\xAF") == "\uFFFD\uFFFD");             // overlong
  CHECK(sanitize_utf8("\xF4\x90\x80\x80") == "\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  CHECK(sanitize_utf8("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");
  bool replaced = false;
  CHECK(sanitize_utf8("a\0b"s, &replaced) == "ab");
  CHECK_FALSE(replaced);
  CHECK(is_valid_utf8("żółw"));
  CHECK_FALSE(is_valid_utf8("\xBF"));
  CHECK(utf8_prefix("żółw", 3) == "ż");
  CHECK(utf8_prefix("żółw", 4) == "żó");
}

TEST_CASE("decode_header_text: RFC 2047", "[email]") {
  CHECK(decode_header_text(" =?ISO-8859-2?Q?Gdzie_jest_moja_przesy=B3ka=3F?=\r\n").text == "Gdzie jest moja przesyłka?");
  // Whitespace (folding included) between adjacent encoded words goes; around plain words it stays.
  CHECK(decode_header_text("=?UTF-8?B?UmU6IEdkemllIGplc3QgbW9qYSBwcnplc3nFgmthPyBaYW3Ds3dp?=\r\n "
                           "=?UTF-8?B?ZW5pZSA0NzExIFsjMTA0Ml0=?=")
            .text == "Re: Gdzie jest moja przesyłka? Zamówienie 4711 [#1042]");
  CHECK(decode_header_text("Re: =?UTF-8?Q?zam=C3=B3wienie?= nr =?UTF-8?Q?4711?=").text == "Re: zamówienie nr 4711");
  // A character split over two words of one charset.
  CHECK(decode_header_text("=?UTF-8?Q?a=C5?= =?UTF-8?Q?=BCb?=").text == "ażb");
  CHECK(decode_header_text("=?utf-8*pl?q?za=C5=BC=C3=B3=C5=82=C4=87?=").text == "zażółć");  // RFC 2231 language
  CHECK(decode_header_text("=?UTF-8?B?xbzDs8WCdw?=").text == "żółw");  // padding dropped by the sender
  // Encoded words glued to text (some mailers do it) are decoded too.
  CHECK(decode_header_text("Faktura=?UTF-8?Q?_za=C5=BC=C3=B3=C5=82=C4=87?=.pdf").text == "Faktura zażółć.pdf");

  const HeaderText malformed = decode_header_text("a =?UTF-8?B?invalid!!?= b");
  CHECK(malformed.text == "a =?UTF-8?B?invalid!!?= b");
  CHECK(malformed.malformed_word);
  const HeaderText stray = decode_header_text("=?UTF-8?Q?a=ZZb?=");
  CHECK(stray.text == "a=ZZb");
  CHECK(stray.malformed_word);
  CHECK(decode_header_text("=?UTF-8?Q?no end").text == "=?UTF-8?Q?no end");
  CHECK(decode_header_text("what =? is this ?=").text == "what =? is this ?=");

  const HeaderText raw = decode_header_text("Zam\xF3wienie \x9C");
  CHECK(raw.raw_8bit);
  CHECK(raw.text == "Zamówienie ś");  // C1 byte present: Windows-1250
  CHECK(decode_header_text("a\tb\x01" "c").text == "a b c");
  const HeaderText invalid = decode_header_text("=?UTF-8?B?/w==?=");
  CHECK(invalid.text == "\uFFFD");
  CHECK(invalid.replaced);
}

TEST_CASE("decode_header_text: hostile input stays linear", "[email]") {
  std::string s;
  while (s.size() < (1 << 20)) s += "=?a?B?";
  CHECK(decode_header_text(s).text.size() == s.size());
  std::string q = "=?UTF-8?Q?" + std::string(1 << 20, 'x');
  CHECK(decode_header_text(q).text == q);
}

TEST_CASE("unflow: RFC 3676", "[email]") {
  CHECK(unflow("Ala ma \nkota.\nNowa linia.", false) == "Ala ma kota.\nNowa linia.");
  CHECK(unflow("Zaża \nłć", true) == "Zażałć");
  CHECK(unflow("> cytat \n> dalszy\n>> głębszy \n>> koniec\n", false) == "> cytat dalszy\n>> głębszy koniec\n");
  CHECK(unflow("-- \nPodpis", false) == "-- \nPodpis");  // the signature separator never flows
  CHECK(unflow(" From here\n  stuffed", false) == "From here\n stuffed");
  CHECK(unflow("płynie \n> do cytatu\n", false) == "płynie \n> do cytatu\n");
}
