// GSM-7 / UCS-2 classification with segment counts, transliteration to GSM-7 and capping a text
// to a number of segments. The GSM 03.38 tables below follow 3GPP TS 23.038 section 6.2.1.
#include "routing/text/sms.hpp"
#include "routing/text/utf8.hpp"

#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace switchboard::routing {

namespace {

constexpr char32_t kEscape = 0xFFFFFFFF;  // position 0x1B: the escape to the extension table

// The default alphabet, indexed by septet value.
constexpr char32_t kDefaultAlphabet[128] = {
    // 0x00
    U'@', U'\u00A3', U'$', U'\u00A5', U'\u00E8', U'\u00E9', U'\u00F9', U'\u00EC',
    U'\u00F2', U'\u00C7', U'\n', U'\u00D8', U'\u00F8', U'\r', U'\u00C5', U'\u00E5',
    // 0x10
    U'\u0394', U'_', U'\u03A6', U'\u0393', U'\u039B', U'\u03A9', U'\u03A0', U'\u03A8',
    U'\u03A3', U'\u0398', U'\u039E', kEscape, U'\u00C6', U'\u00E6', U'\u00DF', U'\u00C9',
    // 0x20
    U' ', U'!', U'"', U'#', U'\u00A4', U'%', U'&', U'\'', U'(', U')', U'*', U'+', U',', U'-', U'.', U'/',
    // 0x30
    U'0', U'1', U'2', U'3', U'4', U'5', U'6', U'7', U'8', U'9', U':', U';', U'<', U'=', U'>', U'?',
    // 0x40
    U'\u00A1', U'A', U'B', U'C', U'D', U'E', U'F', U'G', U'H', U'I', U'J', U'K', U'L', U'M', U'N', U'O',
    // 0x50
    U'P', U'Q', U'R', U'S', U'T', U'U', U'V', U'W', U'X', U'Y', U'Z', U'\u00C4', U'\u00D6', U'\u00D1', U'\u00DC', U'\u00A7',
    // 0x60
    U'\u00BF', U'a', U'b', U'c', U'd', U'e', U'f', U'g', U'h', U'i', U'j', U'k', U'l', U'm', U'n', U'o',
    // 0x70
    U'p', U'q', U'r', U's', U't', U'u', U'v', U'w', U'x', U'y', U'z', U'\u00E4', U'\u00F6', U'\u00F1', U'\u00FC', U'\u00E0',
};

// The extension table: characters sent as the escape (0x1B) followed by this septet.
struct Extension {
  std::uint8_t septet;
  char32_t character;
};
constexpr Extension kExtensionTable[] = {
    {0x0A, U'\f'}, {0x14, U'^'}, {0x28, U'{'}, {0x29, U'}'}, {0x2F, U'\\'},
    {0x3C, U'['},  {0x3D, U'~'}, {0x3E, U']'}, {0x40, U'|'}, {0x65, U'\u20AC'},
};

// Septets per character below U+0400 (every GSM-7 character but the euro sign): 0 = none.
constexpr std::array<std::uint8_t, 0x400> kSeptetsBelow400 = [] {
  std::array<std::uint8_t, 0x400> table{};
  for (char32_t c : kDefaultAlphabet)
    if (c < table.size()) table[c] = 1;
  for (const Extension& e : kExtensionTable)
    if (e.character < table.size()) table[e.character] = 2;
  return table;
}();

// 1 for the default alphabet, 2 for the extension table, 0 when GSM-7 cannot carry it.
int septets_of(char32_t c) {
  if (c < kSeptetsBelow400.size()) return kSeptetsBelow400[c];
  for (const Extension& e : kExtensionTable)
    if (e.character == c) return 2;
  return 0;
}

// Counts segments of whole characters: a character that does not fit in what is left of a
// part starts the next one.
class Parts {
 public:
  Parts(int single, int per_part) : single_(single), per_part_(per_part) {}
  void add(int size) {
    total_ += size;
    if (used_ + size > per_part_) {
      ++parts_;
      used_ = 0;
    }
    used_ += size;
  }
  int total() const { return total_; }
  int segments() const { return total_ <= single_ ? 1 : parts_; }

 private:
  int single_;
  int per_part_;
  int total_ = 0;
  int used_ = 0;
  int parts_ = 1;
};

// The code point at `i` (advanced past it); invalid sequences read as U+FFFD.
char32_t next_code_point(std::string_view utf8, std::size_t& i) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(utf8.data());
  const auto length = static_cast<std::int32_t>(utf8.size());
  auto at = static_cast<std::int32_t>(i);
  UChar32 c = 0;
  U8_NEXT(bytes, at, length, c);
  i = static_cast<std::size_t>(at);
  return c < 0 ? U'\uFFFD' : static_cast<char32_t>(c);
}


// Byte offsets between user-perceived characters (grapheme clusters), 0 and size included.
// Without ICU's break data: between code points.
std::vector<std::size_t> character_boundaries(std::string_view utf8) {
  std::vector<std::size_t> out;
  if (utf8.empty()) return {0};
  thread_local const std::unique_ptr<icu::BreakIterator> iterator = [] {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) it.reset();
    return it;
  }();
  if (iterator && utf8.size() < static_cast<std::size_t>(INT32_MAX)) {
    UErrorCode status = U_ZERO_ERROR;
    icu::LocalUTextPointer text(utext_openUTF8(nullptr, utf8.data(), static_cast<std::int64_t>(utf8.size()), &status));
    if (U_SUCCESS(status)) iterator->setText(text.getAlias(), status);
    if (U_SUCCESS(status)) {
      for (std::int32_t b = iterator->first(); b != icu::BreakIterator::DONE; b = iterator->next())
        out.push_back(static_cast<std::size_t>(b));
      if (out.size() >= 2 && out.front() == 0 && out.back() == utf8.size()) return out;
    }
    out.clear();
  }
  for (std::size_t i = 0; i < utf8.size(); next_code_point(utf8, i)) out.push_back(i);
  out.push_back(utf8.size());
  return out;
}

// Replacements GSM-7 needs that Unicode normalization does not give: Polish letters (listed
// although most decompose: they are the point), letters whose stroke is part of the glyph,
// ligatures, typographic punctuation and spaces. "" drops the character.
struct Replacement {
  char32_t from;
  const char* to;
};
constexpr Replacement kReplacements[] = {
    // Polish
    {U'\u0105', "a"}, {U'\u0104', "A"}, {U'\u0107', "c"}, {U'\u0106', "C"}, {U'\u0119', "e"}, {U'\u0118', "E"},
    {U'\u0142', "l"}, {U'\u0141', "L"}, {U'\u0144', "n"}, {U'\u0143', "N"}, {U'\u00F3', "o"}, {U'\u00D3', "O"},
    {U'\u015B', "s"}, {U'\u015A', "S"}, {U'\u017A', "z"}, {U'\u0179', "Z"}, {U'\u017C', "z"}, {U'\u017B', "Z"},
    // Letters without a decomposition
    {U'\u0111', "d"}, {U'\u0110', "D"}, {U'\u0127', "h"}, {U'\u0126', "H"}, {U'\u0167', "t"}, {U'\u0166', "T"},
    {U'\u0131', "i"}, {U'\u0138', "k"}, {U'\u0180', "b"}, {U'\u0192', "f"}, {U'\u00F0', "d"}, {U'\u00D0', "D"},
    {U'\u00FE', "th"}, {U'\u00DE', "Th"}, {U'\u0153', "oe"}, {U'\u0152', "OE"}, {U'\u00E7', "c"},
    // Quotes and primes
    {U'\u2018', "'"}, {U'\u2019', "'"}, {U'\u201A', "'"}, {U'\u201B', "'"}, {U'\u2032', "'"}, {U'\u00B4', "'"},
    {U'`', "'"}, {U'\u2039', "'"}, {U'\u203A', "'"},
    {U'\u201C', "\""}, {U'\u201D', "\""}, {U'\u201E', "\""}, {U'\u201F', "\""}, {U'\u2033', "\""},
    {U'\u00AB', "\""}, {U'\u00BB', "\""},
    // Dashes, hyphens, minus, bullet, fraction slash, multiplication sign
    {U'\u2010', "-"}, {U'\u2011', "-"}, {U'\u2012', "-"}, {U'\u2013', "-"}, {U'\u2014', "-"}, {U'\u2015', "-"},
    {U'\u2212', "-"}, {U'\u2022', "-"}, {U'\u2044', "/"}, {U'\u00D7', "x"},
    // Ellipsis
    {U'\u2026', "..."},
    // Spaces: tab, no-break, the typographic ones, ideographic
    {U'\t', " "}, {U'\u00A0', " "}, {U'\u2000', " "}, {U'\u2001', " "}, {U'\u2002', " "}, {U'\u2003', " "},
    {U'\u2004', " "}, {U'\u2005', " "}, {U'\u2006', " "}, {U'\u2007', " "}, {U'\u2008', " "}, {U'\u2009', " "},
    {U'\u200A', " "}, {U'\u202F', " "}, {U'\u205F', " "}, {U'\u3000', " "},
    // Invisible: soft hyphen, zero-width space and joiners, word joiner, byte order mark
    {U'\u00AD', ""}, {U'\u200B', ""}, {U'\u200C', ""}, {U'\u200D', ""}, {U'\u2060', ""}, {U'\uFEFF', ""},
};

const char* replacement_of(char32_t c) {
  for (const Replacement& r : kReplacements)
    if (r.from == c) return r.to;
  return nullptr;
}

// Marks and format characters: dropped when a character is reduced to its base letter.
bool is_mark_or_format(char32_t c) {
  const auto mask = U_GET_GC_MASK(static_cast<UChar32>(c));
  return (mask & (U_GC_MN_MASK | U_GC_ME_MASK | U_GC_CF_MASK)) != 0;
}

std::u32string code_points(std::string_view utf8) {
  std::u32string out;
  for (std::size_t i = 0; i < utf8.size();) out += next_code_point(utf8, i);
  return out;
}

std::u32string normalized(const std::u32string& text, bool compose) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer =
      compose ? icu::Normalizer2::getNFCInstance(status) : icu::Normalizer2::getNFKDInstance(status);
  if (U_FAILURE(status) || normalizer == nullptr) return text;
  icu::UnicodeString source = icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()),
                                                            static_cast<std::int32_t>(text.size()));
  icu::UnicodeString result = normalizer->normalize(source, status);
  if (U_FAILURE(status)) return text;
  std::u32string out;
  for (std::int32_t i = 0; i < result.length();) {
    const UChar32 c = result.char32At(i);
    out += static_cast<char32_t>(c);
    i += U16_LENGTH(c);
  }
  return out;
}

// One character (code point) as GSM-7 text, or nullopt.
std::optional<std::string> gsm_form(char32_t c) {
  if (septets_of(c) > 0) {
    std::string out;
    append_utf8(out, c);
    return out;
  }
  if (const char* r = replacement_of(c)) return std::string(r);
  return std::nullopt;
}

// One user-perceived character as GSM-7 text: itself, its replacement, its composed form
// (e + combining acute -> é), or its compatibility decomposition without marks (č -> c,
// ﬁ -> fi); "" for invisible characters, "?" when none of those works.
std::string transliterate_character(std::string_view character) {
  const std::u32string cps = code_points(character);
  if (std::all_of(cps.begin(), cps.end(), [](char32_t c) { return septets_of(c) > 0; })) return std::string(character);
  if (cps.size() == 1)
    if (auto form = gsm_form(cps[0])) return *form;
  const std::u32string composed = normalized(cps, true);
  if (composed.size() == 1)
    if (auto form = gsm_form(composed[0])) return *form;
  std::string out;
  bool visible = false;
  for (char32_t c : normalized(cps, false)) {
    if (is_mark_or_format(c)) continue;
    auto form = gsm_form(c);
    if (!form) return "?";
    out += *form;
    visible = true;
  }
  if (!visible) {
    // Only marks and format characters: invisible ones go; a lone visible mark is no letter.
    const bool invisible = std::all_of(cps.begin(), cps.end(), [](char32_t c) {
      const char* r = replacement_of(c);
      return (r != nullptr && *r == '\0') || (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_CF_MASK) != 0;
    });
    return invisible ? std::string() : std::string("?");
  }
  return out;
}

bool is_gsm7(std::string_view utf8) { return classify(utf8).encoding == SmsCharset::gsm7; }

std::string with_ellipsis(std::string_view prefix) {
  return std::string(prefix) + (is_gsm7(prefix) ? "..." : "\u2026");
}

// Drops trailing spaces and the punctuation that reads badly before an ellipsis.
std::string_view trim_before_ellipsis(std::string_view text) {
  while (!text.empty()) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    auto end = static_cast<std::int32_t>(text.size());
    UChar32 c = 0;
    U8_PREV(bytes, 0, end, c);
    const bool trim = c >= 0 && (u_isUWhiteSpace(c) || c == ',' || c == ';' || c == ':' || c == '-' || c == '.' ||
                                 c == 0x2013 || c == 0x2014 || c == 0x2026);
    if (!trim) break;
    text = text.substr(0, static_cast<std::size_t>(end));
  }
  return text;
}

bool starts_with_space(std::string_view text) {
  if (text.empty()) return false;
  std::size_t i = 0;
  return u_isUWhiteSpace(static_cast<UChar32>(next_code_point(text, i)));
}

}  // namespace

std::string_view to_string(SmsCharset charset) { return charset == SmsCharset::gsm7 ? "gsm7" : "ucs2"; }

SmsEncoding classify(std::string_view utf8) {
  Parts gsm(160, 153);
  Parts ucs2(70, 67);
  bool all_gsm = true;
  for (std::size_t i = 0; i < utf8.size();) {
    const char32_t c = next_code_point(utf8, i);
    const int septets = septets_of(c);
    if (septets == 0) all_gsm = false;
    if (all_gsm) gsm.add(septets);
    ucs2.add(c > 0xFFFF ? 2 : 1);
  }
  if (all_gsm) return SmsEncoding{SmsCharset::gsm7, gsm.total(), gsm.segments()};
  return SmsEncoding{SmsCharset::ucs2, ucs2.total(), ucs2.segments()};
}

std::string transliterate_gsm7(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  const std::vector<std::size_t> bounds = character_boundaries(utf8);
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i)
    out += transliterate_character(utf8.substr(bounds[i], bounds[i + 1] - bounds[i]));
  return out;
}

std::string cap_segments(std::string_view utf8, int max_segments) {
  max_segments = std::max(max_segments, 1);
  if (classify(utf8).segments <= max_segments) return std::string(utf8);
  const std::vector<std::size_t> bounds = character_boundaries(utf8);
  auto fits = [&](std::string_view prefix) { return classify(with_ellipsis(prefix)).segments <= max_segments; };
  // bounds[lo] fits (the ellipsis alone does), bounds[hi] (the whole text) does not; segments
  // only grow with the prefix, so the longest prefix that fits is found by bisection.
  std::size_t lo = 0;
  std::size_t hi = bounds.size() - 1;
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    (fits(utf8.substr(0, bounds[mid])) ? lo : hi) = mid;
  }
  // A word boundary: the last space at or before the cut, unless that drops over a third.
  std::size_t cut = lo;
  for (std::size_t j = lo; j > 0 && j * 3 >= lo * 2; --j) {
    if (starts_with_space(utf8.substr(bounds[j]))) {
      cut = j;
      break;
    }
  }
  std::string_view prefix = trim_before_ellipsis(utf8.substr(0, bounds[cut]));
  if (prefix.empty()) prefix = utf8.substr(0, bounds[lo]);
  // Shorter prefixes always fit; this only guards the argument above.
  while (!fits(prefix) && !prefix.empty()) {
    auto shorter = std::find_if(bounds.rbegin(), bounds.rend(), [&](std::size_t b) { return b < prefix.size(); });
    prefix = utf8.substr(0, shorter != bounds.rend() ? *shorter : 0);
  }
  return with_ellipsis(prefix);
}

}  // namespace switchboard::routing
