// SMS text: which encoding a text needs (GSM-7 or UCS-2, 3GPP TS 23.038), how many units and
// segments it takes, transliteration to GSM-7 and cutting a text to a number of segments.
// Polish letters (ą ć ę ł ń ó ś ź ż) are not in GSM-7: one of them makes the whole SMS UCS-2,
// which holds 70 characters per single segment instead of 160.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::routing {

enum class SmsCharset { gsm7, ucs2 };
std::string_view to_string(SmsCharset charset);  // "gsm7", "ucs2"

struct SmsEncoding {
  SmsCharset encoding = SmsCharset::gsm7;
  // GSM-7: septets (a character of the extension table ^ { } \ [ ~ ] | € and form feed takes
  // 2: the escape and the character). UCS-2: UTF-16 code units (a character outside the BMP,
  // most emoji, takes 2).
  int units = 0;
  // GSM-7: up to 160 septets in one segment, else parts of up to 153; UCS-2: 70 units in one,
  // else parts of up to 67. Parts hold whole characters: an escape pair or a surrogate pair
  // that would straddle a part's end starts the next part (so 306 septets may need 3 parts).
  // An empty text counts as 1 segment (an empty SMS is still one message).
  int segments = 1;
};

// The encoding an SMS with this text needs: GSM-7 when every character is in the GSM 03.38
// default alphabet or its extension table, else UCS-2. Invalid UTF-8 bytes count as U+FFFD.
SmsEncoding classify(std::string_view utf8);

// The text with every character GSM-7 can carry kept, and the others replaced: Polish letters
// by their base letters (ą->a ... ż->z, Ł->L), other Latin letters with diacritics by their
// base letters (č->c, ő->o; those in GSM-7, such as é ü ñ Å, are kept), typographic look-alikes
// (curly quotes -> ' or ", dashes -> -, … -> ..., no-break and other spaces -> space, tab ->
// space), ligatures and compatibility forms by their plain letters (ﬁ -> fi, œ -> oe, ™ -> TM),
// invisible characters (zero-width space, soft hyphen, BOM) dropped. Any other user-perceived
// character (an emoji with its modifiers, a Cyrillic letter) becomes one '?'.
// classify(transliterate_gsm7(t)).encoding is always gsm7.
std::string transliterate_gsm7(std::string_view utf8);

// The text unchanged when it takes at most `max_segments` segments (a value below 1 counts as
// 1); otherwise its longest prefix that, with an ellipsis appended ("..." when the prefix is
// GSM-7, "…" when it is UCS-2), takes at most `max_segments`. The cut falls between
// user-perceived characters (never inside an emoji or an escape pair), at the last space
// before the limit unless that would drop more than a third of the prefix; spaces and ", ; : -
// ." before the ellipsis are trimmed.
std::string cap_segments(std::string_view utf8, int max_segments);

}  // namespace switchboard::routing
