// Polish search as PostgreSQL runs it: the daemon's lexemes (search/terms.hpp) stored with
// array_to_tsvector and matched by to_tsquery('simple', ...), with Debian's hunspell-pl.
#include <catch2/catch.hpp>

#include "search/terms.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard;
using namespace switchboard::search;

namespace {

std::string array_literal(const std::vector<std::string>& terms) {
  std::string out = "ARRAY[";
  for (std::size_t i = 0; i < terms.size(); ++i) {
    std::string quoted = "'";
    for (char c : terms[i]) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    out += (i ? "," : "") + quoted + "'";
  }
  return out + "]::text[]";
}

std::string literal(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

TEST_CASE("search: Polish inflection, missing diacritics and prefixes find their messages", "[search]") {
  switchboard::testing::TestDatabase db;
  auto stemmer = Stemmer::open();
  REQUIRE(stemmer.ok());
  Stemmer* s = stemmer->get();
  const auto finds = [&](const std::string& query, const std::string& message) {
    const auto q = text_query(query, s);
    if (q.empty()) return false;
    return db.scalar("SELECT array_to_tsvector(" + array_literal(document_terms(message, s)) +
                     ") @@ to_tsquery('simple', " + literal(q) + ")") == "t";
  };
  struct Case {
    const char* query;
    const char* message;
    bool found;
  };
  const Case cases[] = {
      // Inflection: the query's form and the message's differ, the stem is shared.
      {"awarii", "Mamy awarię sieci od rana", true},
      {"awaria", "Zgłaszam usunięcie awarii", true},
      {"zamówienie", "Jaki jest status zamówienia 1234?", true},
      {"faktury", "Wysłałem fakturę wczoraj", true},
      {"przesyłka", "Przesyłki nie dotarły", true},
      {"pralki", "Kupiłem pralkę w zeszłym tygodniu", true},
      {"kupić", "Kupiłem pralkę", true},
      {"Łódź", "Dostawa do Łodzi", true},
      {"Gdańsku", "Oddział Gdańsk Wrzeszcz", true},  // a proper noun, capitalised in the dictionary
      {"gdańsk", "Mieszkam w Gdańsku", true},
      {"zwrot pieniędzy", "Proszę o zwrot tych pieniędzy", true},
      // Without diacritics: the folded forms meet.
      {"zamowienia", "status zamówienia", true},
      {"lodz", "Sklep w Łódź Kaliska", true},
      {"zolw", "Pluszowy żółw", true},
      {"AWARIA", "awaria", true},
      // The last word as a prefix, while typing.
      {"awar", "Awaria routera", true},
      {"status zam", "status zamówienia", true},
      // What must not match.
      {"awaria", "Faktura za marzec", false},
      {"zwrot pieniędzy", "Proszę o zwrot towaru", false},  // every word must match
      {"aw", "awaria", false},                              // two letters are no prefix
  };
  for (const auto& c : cases) {
    INFO(c.query << " -> " << c.message << " (lexemes: " << text_query(c.query, s) << ")");
    CHECK(finds(c.query, c.message) == c.found);
  }
  CHECK(finds("kot", "kotlet"));                      // a last word is a prefix...
  CHECK_FALSE(finds("kot mruczy", "kotlet mruczy"));  // ...an earlier one is not
}

TEST_CASE("search: nothing in a query is tsquery syntax", "[search]") {
  switchboard::testing::TestDatabase db;
  auto stemmer = Stemmer::open();
  REQUIRE(stemmer.ok());
  for (const char* hostile : {"' | !", "a:* & !b", "\\' OR 1=1 --", "<script>alert(1)</script>", "(((", "ą'ę", "!!!"}) {
    INFO(hostile);
    const auto q = text_query(hostile, stemmer->get());
    if (q.empty()) continue;  // no word at all
    CHECK_NOTHROW(db.scalar("SELECT to_tsquery('simple', " + literal(q) + ")::text"));
  }
  CHECK(text_query("  ,.!? ", stemmer->get()).empty());
  CHECK(text_query("", stemmer->get()).empty());
}

TEST_CASE("search: a message's lexemes are unique, bounded and survive invalid UTF-8", "[search]") {
  auto stemmer = Stemmer::open();
  REQUIRE(stemmer.ok());
  const auto terms = document_terms("Awaria, awaria! AWARIA awarii", stemmer->get());
  CHECK(terms == std::vector<std::string>{"awaria", "awarii"});
  std::string big;
  for (int i = 0; i < 40000; ++i) big += "słowo" + std::to_string(i) + " ";
  const auto many = document_terms(big, stemmer->get());
  CHECK(many.size() < 10000);  // only the first 64 KiB
  CHECK_NOTHROW(document_terms(std::string("\xff\xfe awaria \xc3", 11), stemmer->get()));
  CHECK_FALSE(Stemmer::open("/nonexistent.aff", "/nonexistent.dic").ok());
}
