#include "search/terms.hpp"

#include <algorithm>
#include <unordered_set>

#include "routing/text/fold.hpp"

namespace switchboard::search {

namespace {

constexpr std::size_t kMaxQueryWords = 12;
constexpr std::size_t kMaxLexemeBytes = 200;  // PostgreSQL refuses lexemes over 2 KiB; none is a word

// The lexemes of one lower-case word: the word folded, then its stems folded.
std::vector<std::string> lexemes(const std::string& lower, Stemmer* stemmer) {
  std::vector<std::string> out;
  const auto add = [&out](std::string s) {
    if (s.empty() || s.size() > kMaxLexemeBytes || std::find(out.begin(), out.end(), s) != out.end()) return;
    out.push_back(std::move(s));
  };
  add(routing::fold(lower));
  if (stemmer)
    for (const auto& stem : stemmer->stems(lower)) add(routing::fold(stem));
  return out;
}

std::size_t letters(std::string_view utf8) {
  return static_cast<std::size_t>(
      std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string quoted(const std::string& lexeme) {
  std::string out = "'";
  for (char c : lexeme) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::vector<std::string> document_terms(std::string_view text, Stemmer* stemmer) {
  if (text.size() > kMaxIndexedBytes) {
    text = text.substr(0, kMaxIndexedBytes);
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.remove_suffix(1);
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.remove_suffix(1);
  }
  std::vector<std::string> out;
  std::unordered_set<std::string> seen_words;
  std::unordered_set<std::string> seen;
  for (auto& word : routing::split_words(routing::lower(text))) {
    if (!seen_words.insert(word).second) continue;
    for (auto& lexeme : lexemes(word, stemmer))
      if (seen.insert(lexeme).second) out.push_back(std::move(lexeme));
  }
  return out;
}

std::string text_query(std::string_view q, Stemmer* stemmer) {
  auto words = routing::split_words(routing::lower(q));
  if (words.size() > kMaxQueryWords) words.resize(kMaxQueryWords);
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    auto alternatives = lexemes(words[i], stemmer);
    if (alternatives.empty()) continue;
    std::string group;
    for (const auto& lexeme : alternatives) group += (group.empty() ? "" : " | ") + quoted(lexeme);
    // The last word may still be being typed.
    if (i + 1 == words.size() && letters(alternatives.front()) >= 3)
      group += " | " + quoted(alternatives.front()) + ":*";
    out += (out.empty() ? "(" : " & (") + group + ")";
  }
  return out;
}

}  // namespace switchboard::search
