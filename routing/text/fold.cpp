// Case and diacritic folding with ICU, and splitting folded text into words.
#include "routing/text/fold.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <cstdint>

namespace switchboard::routing {

namespace {

// Letters whose stroke or slash is part of the glyph, not a combining mark: NFD leaves them
// whole. Case folding runs first, so only the lower-case forms need mapping.
UChar32 strip_stroke(UChar32 c) {
  switch (c) {
    case 0x0142: return U'l';  // ł (Polish)
    case 0x0111: return U'd';  // đ
    case 0x00F8: return U'o';  // ø
    case 0x0127: return U'h';  // ħ
    case 0x0167: return U't';  // ŧ
    case 0x0131: return U'i';  // dotless ı
    default: return c;
  }
}

bool is_word_code_point(UChar32 c) {
  return (U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_ND_MASK | U_GC_M_MASK)) != 0;
}

}  // namespace

std::string fold(std::string_view utf8) {
  // fromUTF8 replaces each invalid sequence with U+FFFD.
  icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  text.foldCase(U_FOLD_CASE_DEFAULT);

  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  icu::UnicodeString decomposed = U_SUCCESS(status) ? nfd->normalize(text, status) : text;
  if (U_FAILURE(status)) decomposed = text;  // no normalization data: case folding is still right

  icu::UnicodeString stripped;
  for (int32_t i = 0; i < decomposed.length();) {
    UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) == U_NON_SPACING_MARK) continue;
    stripped.append(strip_stroke(c));
  }

  // Recompose what stays decomposed (Hangul syllables, spacing marks) so the output is tidy NFC.
  UErrorCode nfc_status = U_ZERO_ERROR;
  icu::UnicodeString composed = nfc != nullptr ? nfc->normalize(stripped, nfc_status) : stripped;
  if (U_FAILURE(nfc_status)) composed = stripped;

  std::string out;
  composed.toUTF8String(out);
  return out;
}

std::string lower(std::string_view utf8) {
  icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  text.foldCase(U_FOLD_CASE_DEFAULT);
  std::string out;
  text.toUTF8String(out);
  return out;
}

std::vector<std::string> split_words(std::string_view folded_utf8) {
  std::vector<std::string> words;
  const auto* bytes = reinterpret_cast<const uint8_t*>(folded_utf8.data());
  const auto length = static_cast<int32_t>(folded_utf8.size());
  int32_t word_start = -1;
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);  // c < 0 for an invalid sequence: a separator
    const bool word_char = c >= 0 && is_word_code_point(c);
    if (word_char && word_start < 0) word_start = start;
    if (!word_char && word_start >= 0) {
      words.emplace_back(folded_utf8.substr(word_start, start - word_start));
      word_start = -1;
    }
  }
  if (word_start >= 0) words.emplace_back(folded_utf8.substr(word_start));
  return words;
}

std::vector<std::string> folded_words(std::string_view utf8) { return split_words(fold(utf8)); }

bool ends_with_word_char(std::string_view utf8) {
  if (utf8.empty()) return false;
  const auto* bytes = reinterpret_cast<const uint8_t*>(utf8.data());
  auto i = static_cast<int32_t>(utf8.size());
  UChar32 c = 0;
  U8_PREV(bytes, 0, i, c);
  return c >= 0 && is_word_code_point(c);
}

}  // namespace switchboard::routing
