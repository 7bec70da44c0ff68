// Text folding for word matching: lower-case, Polish (and other Latin) diacritics removed,
// 'ł' -> 'l' included (it has no Unicode decomposition), and splitting into words.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::routing {

// "Zażółć GĘŚLĄ" -> "zazolc gesla". Invalid UTF-8 bytes become U+FFFD.
// Steps: ICU default case folding (so 'ß' -> "ss"), NFD, nonspacing marks dropped, the letters
// with a stroke or slash that do not decompose mapped by hand (ł đ ø ħ ŧ, and dotless ı), NFC.
std::string fold(std::string_view utf8);

// Lower case only (ICU default case folding), diacritics kept: "Awarię" -> "awarię". What a
// dictionary looks words up by.
std::string lower(std::string_view utf8);

// Folded words: maximal runs of letters and digits. "Nie działa!!" -> {"nie", "dziala"}.
// Combining marks that survive folding (spacing marks of Indic scripts) stay inside their word.
std::vector<std::string> folded_words(std::string_view utf8);

// The words of text that is already folded: folded_words(t) == split_words(fold(t)).
// evaluate() folds a message once and splits the result, instead of folding twice.
std::vector<std::string> split_words(std::string_view folded_utf8);

// Whether the last code point of `utf8` is a letter, a digit or a combining mark.
bool ends_with_word_char(std::string_view utf8);

}  // namespace switchboard::routing
