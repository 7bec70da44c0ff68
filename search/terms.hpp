// What a message is found by, and what a search asks for, as PostgreSQL 'simple' lexemes: every
// word folded (lower case, no diacritics: "Awarię" -> "awarie") and the folded Polish stems of
// its lower-case form ("awaria"). A query word matches a message word when they share any of
// these, so "awarii" finds "awaria", "awaria" finds "awarię", and "zolw" finds "żółw".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "search/stemmer.hpp"

namespace switchboard::search {

// At most this many bytes of a message are indexed (a long e-mail's quoted tail is not).
inline constexpr std::size_t kMaxIndexedBytes = 64 * 1024;

// The message's lexemes, unique, in first-seen order (stemmer may be null: words only).
std::vector<std::string> document_terms(std::string_view text, Stemmer* stemmer);

// A tsquery for to_tsquery('simple', ...): every word of `q` must match (its lexemes OR-ed), the
// last one also as a prefix when it has 3 letters or more ("awar" finds "awaria"). Empty when
// `q` has no word. Lexemes are quoted: nothing in `q` is tsquery syntax.
std::string text_query(std::string_view q, Stemmer* stemmer);

}  // namespace switchboard::search
