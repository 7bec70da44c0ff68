// Polish stems for search, from Debian's hunspell-pl dictionary through libhunspell:
// "awarii" -> "awaria", "zamówienia" -> "zamówienie", "zamówić". PostgreSQL is not asked to
// stem (an external server may have no Polish dictionary installed): the daemon stems, and
// PostgreSQL stores and matches the words as they are ('simple').
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routing/core/result.hpp"

class Hunspell;

namespace switchboard::search {

class Stemmer {
 public:
  // Debian's hunspell-pl files.
  static constexpr const char* kPolishAff = "/usr/share/hunspell/pl_PL.aff";
  static constexpr const char* kPolishDic = "/usr/share/hunspell/pl_PL.dic";

  // Errors: config "dictionary" naming the missing or unreadable file.
  static Result<std::unique_ptr<Stemmer>> open(const std::string& aff = kPolishAff,
                                               const std::string& dic = kPolishDic);
  ~Stemmer();
  Stemmer(const Stemmer&) = delete;
  Stemmer& operator=(const Stemmer&) = delete;

  // The stems of one lower-case word (UTF-8), without the word itself; none when the dictionary
  // does not know it. Thread-safe; the stems of recent words are remembered.
  std::vector<std::string> stems(std::string_view word);

 private:
  Stemmer() = default;
  std::vector<std::string> look_up(const std::string& word);

  std::mutex mu_;  // hunspell_ and cache_
  std::unique_ptr<Hunspell> hunspell_;
  std::string encoding_;  // the dictionary's, e.g. ISO8859-2
  std::unordered_map<std::string, std::vector<std::string>> cache_;
};

}  // namespace switchboard::search
