// "Did you mean" for names in rules files: the nearest known name by edit distance or prefix.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace switchboard::routing {

// Edit distance over bytes (the names compared are ASCII keys and identifiers): insertions,
// deletions, substitutions and swaps of neighbours ("hgih" -> "high") each count one.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`: within edit distance 2, or 1 for words of up to 4 characters
// (so that "page" does not suggest "tag"), or one being a prefix of the other when the word has
// at least 3 characters ("prio" -> "priority"). The smallest distance wins; ties go to the first.
std::optional<std::string> nearest(std::string_view word, std::span<const std::string_view> candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace switchboard::routing
