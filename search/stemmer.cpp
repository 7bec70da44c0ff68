#include "search/stemmer.hpp"

#include <iconv.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <hunspell.hxx>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>

namespace switchboard::search {

namespace {

constexpr std::size_t kCacheWords = 100000;  // then the cache starts again
constexpr std::size_t kMaxWordBytes = 100;   // longer "words" are not looked up

// `text` from one encoding to another; nullopt when a character has no counterpart (a word
// the dictionary cannot hold, such as one in another script).
std::optional<std::string> convert(const std::string& to, const std::string& from, std::string_view text) {
  if (to == from) return std::string(text);
  iconv_t cd = iconv_open(to.c_str(), from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out(text.size() * 4 + 4, '\0');
  char* in = const_cast<char*>(text.data());
  std::size_t in_left = text.size();
  char* o = out.data();
  std::size_t out_left = out.size();
  const std::size_t rc = iconv(cd, &in, &in_left, &o, &out_left);
  iconv_close(cd);
  if (rc == static_cast<std::size_t>(-1) || in_left != 0) return std::nullopt;
  out.resize(out.size() - out_left);
  return out;
}

// The word with its first letter in upper case.
std::string capitalised(const std::string& word) {
  icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(word.data(), static_cast<int32_t>(word.size())));
  if (text.isEmpty()) return word;
  const UChar32 first = text.char32At(0);
  icu::UnicodeString out;
  out.append(u_toupper(first));
  out.append(text, U16_LENGTH(first), text.length() - U16_LENGTH(first));
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

}  // namespace

Result<std::unique_ptr<Stemmer>> Stemmer::open(const std::string& aff, const std::string& dic) {
  for (const auto& path : {aff, dic}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      return make_error(ErrorKind::config, "dictionary",
                        "the Polish dictionary file " + path + " is missing (Debian package hunspell-pl)");
  }
  std::unique_ptr<Stemmer> s(new Stemmer());
  s->hunspell_ = std::make_unique<Hunspell>(aff.c_str(), dic.c_str());
  s->encoding_ = s->hunspell_->get_dict_encoding();
  if (s->encoding_.empty()) s->encoding_ = "ISO8859-1";
  if (!convert(s->encoding_, "UTF-8", "zażółć"))
    return make_error(ErrorKind::config, "dictionary",
                      "the dictionary " + aff + " is in " + s->encoding_ + ", which cannot be converted to");
  return s;
}

Stemmer::~Stemmer() = default;

std::vector<std::string> Stemmer::stems(std::string_view word) {
  if (word.empty() || word.size() > kMaxWordBytes) return {};
  const std::string key(word);
  std::lock_guard lock(mu_);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  auto found = look_up(key);
  if (cache_.size() >= kCacheWords) cache_.clear();
  cache_.emplace(key, found);
  return found;
}

std::vector<std::string> Stemmer::look_up(const std::string& word) {
  std::vector<std::string> out;
  auto encoded = convert(encoding_, "UTF-8", word);
  if (!encoded) return out;
  auto stems = hunspell_->stem(*encoded);
  // Proper nouns are in the dictionary capitalised ("Gdańsk"), and hunspell does not take the
  // lower-case form of a capitalised entry: "gdańsku" is looked up as "Gdańsku" too.
  if (auto capital = convert(encoding_, "UTF-8", capitalised(word)); capital && *capital != *encoded)
    for (auto& stem : hunspell_->stem(*capital)) stems.push_back(std::move(stem));
  for (const auto& stem : stems) {
    auto utf8 = convert("UTF-8", encoding_, stem);
    if (!utf8 || *utf8 == word || std::find(out.begin(), out.end(), *utf8) != out.end()) continue;
    out.push_back(std::move(*utf8));
  }
  return out;
}

}  // namespace switchboard::search
