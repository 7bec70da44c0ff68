// The "new text" of a reply: protocols/email.md "Quoted reply stripping". Heuristics, tuned to
// cut late rather than early: losing a customer's words is worse than showing some history.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "channels/email/charset.hpp"
#include "channels/email/mime.hpp"

namespace switchboard::channels::email {

namespace {

struct Line {
  std::size_t begin = 0;  // offset in the text
  std::size_t end = 0;    // without the line end
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::size_t content_end = end > pos && text[end - 1] == '\r' ? end - 1 : end;
    lines.push_back(Line{pos, content_end});
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  // A no-break space (U+00A0) from an HTML conversion counts as blank too.
  while (s.size() >= 2 && s.substr(0, 2) == "\xC2\xA0") s.remove_prefix(2);
  while (s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0") s.remove_suffix(2);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool has_digit(std::string_view s) {
  for (char c : s)
    if (c >= '0' && c <= '9') return true;
  return false;
}

bool is_quoted(std::string_view line) { return starts_with(trim(line), ">"); }

// "W dniu 5.01.2026 o 15:20, X pisze:", "On ..., X wrote:", Gmail's "pon., 5 sty 2026 o 15:20
// X <x@...> napisał(a):", Apple's "Wiadomość napisana przez X w dniu 5 sty 2026, o godz. 15:20:".
// A date (a digit) or an address must be there: "Kolega pisze:" in a customer's own words is
// not an attribution.
bool is_attribution(std::string_view s) {
  s = trim(s);
  if (s.size() > 400) return false;
  const std::string lower = ascii_lower(s);
  static constexpr std::array<std::string_view, 7> kSuffixes = {
      "pisze:", "napisał(a):", "napisał:", "napisała:", "wrote:", "writes:", "napisał/a:"};
  for (std::string_view suffix : kSuffixes)
    if (ends_with(lower, suffix) && (has_digit(s) || s.find('@') != std::string_view::npos)) return true;
  if (starts_with(lower, "wiadomość napisana przez ") && ends_with(s, ":") && has_digit(s)) return true;
  return false;
}

// How an attribution begins when a client wrapped it over two lines.
bool opens_attribution(std::string_view s) {
  s = trim(s);
  const std::string lower = ascii_lower(s.substr(0, 40));
  static constexpr std::array<std::string_view, 22> kOpeners = {
      "w dniu ", "dnia ", "on ", "wiadomość napisana przez ", "pon., ", "wt., ", "śr., ", "czw., ",
      "pt., ", "sob., ", "niedz., ", "mon, ", "tue, ", "wed, ", "thu, ", "fri, ", "sat, ", "sun, ",
      "am ", "le ", "el ", "il "};
  for (std::string_view opener : kOpeners)
    if (starts_with(lower, opener)) return true;
  return !s.empty() && s.front() >= '0' && s.front() <= '9';
}

// -----Original Message----- / -----Wiadomość oryginalna----- (any number of dashes).
bool is_separator(std::string_view s) {
  s = trim(s);
  if (!starts_with(s, "--") || !ends_with(s, "--")) return false;
  while (!s.empty() && (s.front() == '-' || s.front() == ' ')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '-' || s.back() == ' ')) s.remove_suffix(1);
  const std::string lower = ascii_lower(s);
  return lower == "original message" || lower == "wiadomość oryginalna" || lower == "oryginalna wiadomość" ||
         lower == "ursprüngliche nachricht";
}

bool is_signature(std::string_view line) {
  // "-- " is the standard separator; many clients trim it to "--".
  return line == "-- " || line == "--";
}

bool is_mobile_footer(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 80) return false;
  const std::string lower = ascii_lower(s);
  static constexpr std::array<std::string_view, 10> kFooters = {
      "sent from my ", "sent from outlook", "get outlook for ", "wysłane z iphone", "wysłane z mojego ",
      "wysłano z iphone", "wysłano z mojego ", "wysłane z aplikacji", "wysłano z aplikacji", "pobierz aplikację outlook"};
  for (std::string_view footer : kFooters)
    if (starts_with(lower, footer)) return true;
  return false;
}

// "From: X" (or "*From:* X" from a converted HTML) / "Od: X".
std::string_view header_field(std::string_view line) {
  line = trim(line);
  while (!line.empty() && line.front() == '*') line.remove_prefix(1);
  return line;
}

bool field_is(std::string_view line, std::initializer_list<std::string_view> names) {
  line = header_field(line);
  const std::string lower = ascii_lower(line.substr(0, 16));
  for (std::string_view name : names)
    if (starts_with(lower, name)) return true;
  return false;
}

// Outlook's block "From:/Sent:/To:/Subject:" (PL "Od:/Wysłano:/Do:/Temat:") starting at line i.
bool is_header_block(std::string_view text, const std::vector<Line>& lines, std::size_t i) {
  auto line = [&](std::size_t k) { return text.substr(lines[k].begin, lines[k].end - lines[k].begin); };
  if (!field_is(line(i), {"from:", "od:", "von:"})) return false;
  bool sent = false, to = false, subject = false;
  for (std::size_t k = i + 1; k < lines.size() && k <= i + 8; ++k) {
    if (field_is(line(k), {"sent:", "date:", "wysłano:", "data:", "gesendet:"})) sent = true;
    if (field_is(line(k), {"to:", "do:", "an:", "cc:", "dw:"})) to = true;
    if (field_is(line(k), {"subject:", "temat:", "betreff:"})) subject = true;
  }
  return subject && (sent || to);
}

bool is_rule(std::string_view s) {
  s = trim(s);
  if (s.size() < 10) return false;
  for (char c : s)
    if (c != '_' && c != '-' && c != '=') return false;
  return true;
}

}  // namespace

std::string strip_quoted(std::string_view text) {
  const std::vector<Line> lines = split_lines(text);
  auto line = [&](std::size_t k) { return text.substr(lines[k].begin, lines[k].end - lines[k].begin); };

  std::size_t cut = lines.size();
  for (std::size_t i = 0; i < lines.size() && cut == lines.size(); ++i) {
    const std::string_view l = line(i);
    if (is_signature(l) || is_mobile_footer(l) || is_separator(l) || is_attribution(l)) {
      cut = i;
    } else if (i + 1 < lines.size() && opens_attribution(l) &&
               !(is_attribution(line(i + 1)) && opens_attribution(line(i + 1))) &&
               is_attribution(std::string(trim(l)) + " " + std::string(trim(line(i + 1))))) {
      // An attribution wrapped over two lines; a complete one on the next line is taken alone
      // (the line above it is the customer's).
      cut = i;
    } else if (is_header_block(text, lines, i)) {
      cut = i;
      // The rule Outlook draws above the block belongs to the quote.
      std::size_t k = i;
      while (k > 0 && trim(line(k - 1)).empty()) --k;
      if (k > 0 && is_rule(line(k - 1))) cut = k - 1;
    }
  }

  // Trailing quoted lines and blank lines go; quotes with answers after them stay (inline replies).
  std::size_t keep = cut;
  while (keep > 0 && (trim(line(keep - 1)).empty() || is_quoted(line(keep - 1)))) --keep;
  if (keep == 0) return std::string(text);  // nothing new: better the whole text than none
  std::string out(text.substr(0, lines[keep - 1].end));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t' || out.back() == '\r' || out.back() == '\n'))
    out.pop_back();
  if (out.empty()) return std::string(text);
  return out;
}

}  // namespace switchboard::channels::email
