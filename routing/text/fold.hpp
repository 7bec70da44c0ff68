// Text folding for word matching: lower-case, Polish (and other Latin) diacritics removed,
// 'ł' -> 'l' included (it has no Unicode decomposition), and splitting into words.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::routing {

// "Zażółć GĘŚLĄ" -> "zazolc gesla". Invalid UTF-8 bytes become U+FFFD.
std::string fold(std::string_view utf8);

// Folded words: maximal runs of letters and digits. "Nie działa!!" -> {"nie", "dziala"}.
std::vector<std::string> folded_words(std::string_view utf8);

}  // namespace switchboard::routing
