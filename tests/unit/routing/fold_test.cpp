// fold() and folded_words(): case and diacritic folding, Polish letters, word splitting.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing/text/fold.hpp"

using switchboard::routing::ends_with_word_char;
using switchboard::routing::fold;
using switchboard::routing::folded_words;
using switchboard::routing::split_words;
using Words = std::vector<std::string>;

TEST_CASE("fold: every Polish letter, lower and upper case, folds to ASCII", "[routing][fold]") {
  struct Row {
    const char* letter;
    const char* folded;
  };
  const Row rows[] = {
      {"ą", "a"}, {"Ą", "a"}, {"ć", "c"}, {"Ć", "c"}, {"ę", "e"}, {"Ę", "e"},
      {"ł", "l"}, {"Ł", "l"}, {"ń", "n"}, {"Ń", "n"}, {"ó", "o"}, {"Ó", "o"},
      {"ś", "s"}, {"Ś", "s"}, {"ź", "z"}, {"Ź", "z"}, {"ż", "z"}, {"Ż", "z"},
  };
  for (const Row& row : rows) {
    INFO(row.letter);
    CHECK(fold(row.letter) == row.folded);
  }
}

TEST_CASE("fold: a Polish pangram folds to lower-case ASCII", "[routing][fold]") {
  CHECK(fold("Zażółć GĘŚLĄ jaźń") == "zazolc gesla jazn");
  CHECK(fold("Pchnąć w tę łódź jeża lub ośm skrzyń fig") == "pchnac w te lodz jeza lub osm skrzyn fig");
  CHECK(fold("ŁÓDŹ, ŻÓŁW, ŹDŹBŁO") == "lodz, zolw, zdzblo");
}

TEST_CASE("fold: other Latin letters: stroke letters mapped, sharp s case-folds to ss", "[routing][fold]") {
  CHECK(fold("Straße") == "strasse");
  CHECK(fold("Đakovo Øresund") == "dakovo oresund");
  CHECK(fold("Crème brûlée, naïve, Ångström") == "creme brulee, naive, angstrom");
  CHECK(fold("ČŘŽ ŠŤ") == "crz st");
}

TEST_CASE("fold: decomposed input folds like precomposed input", "[routing][fold]") {
  // "ż" written as z + combining dot above, "ó" as o + combining acute.
  CHECK(fold("z\u0307o\u0301\u0142w") == "zolw");
  CHECK(fold("z\u0307o\u0301\u0142w") == fold("żółw"));
}

TEST_CASE("fold: punctuation, digits and other scripts pass through", "[routing][fold]") {
  CHECK(fold("Zamówienie nr 123/2027!") == "zamowienie nr 123/2027!");
  CHECK(fold("") == "");
  CHECK(fold("ПРИВЕТ") == "привет");
  CHECK(fold("한국어") == "한국어");  // Hangul is recomposed after marks are dropped
}

TEST_CASE("fold: invalid UTF-8 becomes U+FFFD", "[routing][fold]") {
  CHECK(fold(std::string("ab\xff" "cd")) == "ab\xEF\xBF\xBD" "cd");
  CHECK(fold(std::string("\xC3")) == "\xEF\xBF\xBD");  // truncated two-byte sequence
  CHECK(folded_words(std::string("awaria\xff" "serwera")) == Words{"awaria", "serwera"});
}

TEST_CASE("fold: folding is idempotent", "[routing][fold]") {
  for (const char* text : {"Zażółć GĘŚLĄ jaźń", "Straße", "ǅemal", "한국어", "ﬁnal"}) {
    INFO(text);
    CHECK(fold(fold(text)) == fold(text));
  }
}

TEST_CASE("fold: words are maximal runs of letters and digits", "[routing][fold]") {
  CHECK(folded_words("Nie działa!!") == Words{"nie", "dziala"});
  CHECK(folded_words("  Awaria, serwer-3 nie\tDZIAŁA...") == Words{"awaria", "serwer", "3", "nie", "dziala"});
  CHECK(folded_words("e-mail: jan@example.pl") == Words{"e", "mail", "jan", "example", "pl"});
  CHECK(folded_words("it's ok_now") == Words{"it", "s", "ok", "now"});
  CHECK(folded_words("!!! ...").empty());
  CHECK(folded_words("").empty());
  CHECK(folded_words("Zamówienie 12345") == Words{"zamowienie", "12345"});
}

TEST_CASE("fold: split_words of folded text equals folded_words", "[routing][fold]") {
  for (const char* text : {"Zażółć GĘŚLĄ jaźń", "Nie działa!!", "a-b c_d", ""}) {
    INFO(text);
    CHECK(split_words(fold(text)) == folded_words(text));
  }
}

TEST_CASE("fold: ends_with_word_char looks at the last code point", "[routing][fold]") {
  CHECK(ends_with_word_char("awari"));
  CHECK(ends_with_word_char("żółw"));
  CHECK(ends_with_word_char("nr 5"));
  CHECK_FALSE(ends_with_word_char("awaria "));
  CHECK_FALSE(ends_with_word_char("e-"));
  CHECK_FALSE(ends_with_word_char(""));
}
