// Readable text from the HTML part of a mail: a small single-pass tokenizer, not a browser. It
// only has to give agents and rules the words, line structure, list items and link targets, in
// time linear in the input whatever the markup (unclosed tags, stray '<', hostile nesting).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "channels/email/charset.hpp"
#include "channels/email/mime.hpp"

namespace switchboard::channels::email {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

// Character references: NUL and what is no scalar value become U+FFFD (as HTML says).
void append_utf8(std::string& out, std::uint32_t cp) { routing::append_utf8(out, cp == 0 ? 0xFFFD : cp); }

// The named references mail actually uses (HTML has ~2000; these cover Western and Polish text).
struct Entity {
  std::string_view name;
  std::uint32_t cp;
};
constexpr Entity kEntities[] = {
    {"amp", '&'},        {"lt", '<'},          {"gt", '>'},         {"quot", '"'},      {"apos", '\''},
    {"nbsp", ' '},       {"ensp", ' '},        {"emsp", ' '},       {"thinsp", ' '},    {"shy", 0xAD},
    {"zwnj", 0x200C},    {"zwj", 0x200D},      {"lrm", 0x200E},     {"rlm", 0x200F},    {"copy", 0xA9},
    {"reg", 0xAE},       {"trade", 0x2122},    {"hellip", 0x2026},  {"mdash", 0x2014},  {"ndash", 0x2013},
    {"lsquo", 0x2018},   {"rsquo", 0x2019},    {"sbquo", 0x201A},   {"ldquo", 0x201C},  {"rdquo", 0x201D},
    {"bdquo", 0x201E},   {"laquo", 0xAB},      {"raquo", 0xBB},     {"bull", 0x2022},   {"middot", 0xB7},
    {"euro", 0x20AC},    {"pound", 0xA3},      {"cent", 0xA2},      {"yen", 0xA5},      {"sect", 0xA7},
    {"para", 0xB6},      {"deg", 0xB0},        {"plusmn", 0xB1},    {"times", 0xD7},    {"divide", 0xF7},
    {"frac12", 0xBD},    {"frac14", 0xBC},     {"frac34", 0xBE},    {"iexcl", 0xA1},    {"iquest", 0xBF},
    {"larr", 0x2190},    {"rarr", 0x2192},     {"uarr", 0x2191},    {"darr", 0x2193},   {"dagger", 0x2020},
    {"aacute", 0xE1},    {"Aacute", 0xC1},     {"eacute", 0xE9},    {"Eacute", 0xC9},   {"iacute", 0xED},
    {"Iacute", 0xCD},    {"oacute", 0xF3},     {"Oacute", 0xD3},    {"uacute", 0xFA},   {"Uacute", 0xDA},
    {"agrave", 0xE0},    {"egrave", 0xE8},     {"auml", 0xE4},      {"Auml", 0xC4},     {"ouml", 0xF6},
    {"Ouml", 0xD6},      {"uuml", 0xFC},       {"Uuml", 0xDC},      {"szlig", 0xDF},    {"ccedil", 0xE7},
    {"ntilde", 0xF1},    {"aogon", 0x105},     {"Aogon", 0x104},    {"cacute", 0x107},  {"Cacute", 0x106},
    {"eogon", 0x119},    {"Eogon", 0x118},     {"lstrok", 0x142},   {"Lstrok", 0x141},  {"nacute", 0x144},
    {"Nacute", 0x143},   {"sacute", 0x15B},    {"Sacute", 0x15A},   {"zacute", 0x17A},  {"Zacute", 0x179},
    {"zdot", 0x17C},     {"Zdot", 0x17B},      {"ecaron", 0x11B},   {"scaron", 0x161},  {"Scaron", 0x160},
    {"zcaron", 0x17E},   {"Zcaron", 0x17D},    {"ccaron", 0x10D},   {"rcaron", 0x159},  {"oelig", 0x153},
};

// HTML maps numeric references 128-159 through Windows-1252 (what the authors meant).
constexpr std::array<std::uint16_t, 32> kC1 = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

// Decodes character references in `s` (text or an attribute value).
std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    std::size_t j = i + 1;
    if (j < s.size() && s[j] == '#') {
      ++j;
      const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
      if (hex) ++j;
      std::uint32_t cp = 0;
      std::size_t digits = 0;
      while (j < s.size() && digits < 8) {
        const char c = s[j];
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v < 0) break;
        cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
        ++digits;
        ++j;
      }
      if (digits == 0) {
        out.push_back('&');
        continue;
      }
      if (j < s.size() && s[j] == ';') ++j;
      if (cp >= 0x80 && cp <= 0x9F) cp = kC1[cp - 0x80];
      if (cp == 0xA0) cp = ' ';
      append_utf8(out, cp);
      i = j - 1;
      continue;
    }
    while (j < s.size() && j - i <= 32 && is_alnum(s[j])) ++j;
    const std::string_view name = s.substr(i + 1, j - i - 1);
    const bool semicolon = j < s.size() && s[j] == ';';
    bool found = false;
    for (const Entity& e : kEntities) {
      if (e.name != name) continue;
      // Without ';' only the old ones browsers still accept.
      if (!semicolon && name != "amp" && name != "lt" && name != "gt" && name != "quot" && name != "nbsp") break;
      if (e.cp != 0xAD) append_utf8(out, e.cp);  // a soft hyphen is invisible
      i = semicolon ? j : j - 1;
      found = true;
      break;
    }
    if (!found) out.push_back('&');
  }
  return out;
}

// The text being built: runs of whitespace collapse to one space, blocks add line breaks.
class Output {
 public:
  void text(std::string_view s) {
    for (char c : s) {
      if (is_space(c)) {
        space_ = true;
        continue;
      }
      if (space_ && !out_.empty() && out_.back() != '\n') out_.push_back(' ');
      space_ = false;
      out_.push_back(c);
    }
  }
  // Inside <pre>: as written.
  void verbatim(std::string_view s) {
    space_ = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\r') {
        out_.push_back('\n');
        if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
      } else {
        out_.push_back(s[i]);
      }
    }
  }
  void space() { space_ = true; }
  void line_break() {
    trim_spaces();
    out_.push_back('\n');
    space_ = false;
  }
  // At least `n` line ends before what follows (n = 2: a blank line).
  void block(int n) {
    trim_spaces();
    space_ = false;
    if (out_.empty()) return;
    int have = 0;
    for (auto it = out_.rbegin(); it != out_.rend() && *it == '\n' && have < n; ++it) ++have;
    for (; have < n; ++have) out_.push_back('\n');
  }
  std::size_t size() const { return out_.size(); }
  std::string_view since(std::size_t pos) const { return std::string_view(out_).substr(pos); }
  std::string finish() {
    // No line ends in spaces, at most one blank line in a row, none at the ends.
    std::string result;
    result.reserve(out_.size());
    int newlines = 0;
    for (char c : out_) {
      if (c == '\n') {
        while (!result.empty() && result.back() == ' ') result.pop_back();
        if (++newlines <= 2 && !result.empty()) result.push_back('\n');
        continue;
      }
      newlines = 0;
      result.push_back(c);
    }
    while (!result.empty() && (result.back() == '\n' || result.back() == ' ')) result.pop_back();
    return sanitize_utf8(result);
  }

 private:
  void trim_spaces() {
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
  }
  std::string out_;
  bool space_ = false;
};

struct Tag {
  std::string name;  // lower-case
  bool closing = false;
  bool self_closing = false;
  std::vector<std::pair<std::string, std::string>> attributes;  // names lower-case, values decoded

  std::string_view attribute(std::string_view key) const {
    for (const auto& [k, v] : attributes)
      if (k == key) return v;
    return {};
  }
  bool has_class(std::string_view cls) const {
    std::string_view classes = attribute("class");
    while (!classes.empty()) {
      std::size_t start = 0;
      while (start < classes.size() && is_space(classes[start])) ++start;
      std::size_t end = start;
      while (end < classes.size() && !is_space(classes[end])) ++end;
      if (classes.substr(start, end - start) == cls) return true;
      classes.remove_prefix(end);
    }
    return false;
  }
};

// Parses the tag at html[i] == '<' (followed by a letter or '/'); returns the index after '>'.
std::size_t parse_tag(std::string_view html, std::size_t i, Tag& tag) {
  std::size_t j = i + 1;
  if (j < html.size() && html[j] == '/') {
    tag.closing = true;
    ++j;
  }
  const std::size_t name_begin = j;
  while (j < html.size() && (is_alnum(html[j]) || html[j] == '-' || html[j] == ':')) ++j;
  tag.name = ascii_lower(html.substr(name_begin, j - name_begin));
  while (j < html.size() && html[j] != '>') {
    if (is_space(html[j]) || html[j] == '/') {
      if (html[j] == '/') tag.self_closing = true;
      ++j;
      continue;
    }
    tag.self_closing = false;
    const std::size_t key_begin = j;
    while (j < html.size() && !is_space(html[j]) && html[j] != '=' && html[j] != '>' && html[j] != '/') ++j;
    std::string key = ascii_lower(html.substr(key_begin, j - key_begin));
    if (key.empty()) {  // a stray character such as '"': skip it
      ++j;
      continue;
    }
    while (j < html.size() && is_space(html[j])) ++j;
    std::string value;
    if (j < html.size() && html[j] == '=') {
      ++j;
      while (j < html.size() && is_space(html[j])) ++j;
      if (j < html.size() && (html[j] == '"' || html[j] == '\'')) {
        const char quote = html[j++];
        const std::size_t end = html.find(quote, j);
        const std::size_t stop = end == std::string_view::npos ? html.size() : end;
        value = decode_entities(html.substr(j, stop - j));
        j = end == std::string_view::npos ? html.size() : end + 1;
      } else {
        const std::size_t value_begin = j;
        while (j < html.size() && !is_space(html[j]) && html[j] != '>') ++j;
        value = decode_entities(html.substr(value_begin, j - value_begin));
      }
    }
    if (tag.attributes.size() < 32) tag.attributes.emplace_back(std::move(key), std::move(value));
  }
  return j < html.size() ? j + 1 : html.size();
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    if (name == n) return true;
  return false;
}

bool is_void(std::string_view name) {
  return one_of(name, {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "param", "source",
                       "track", "wbr"});
}

// Is this opening tag the start of quoted history (protocols/email.md, HTML mail)?
bool starts_quote(const Tag& tag) {
  return tag.name == "blockquote" || tag.attribute("type") == "cite" || tag.has_class("gmail_quote") ||
         tag.has_class("gmail_attr") || tag.has_class("moz-cite-prefix") || tag.has_class("yahoo_quoted");
}

// Outlook: everything after these is the original message.
bool starts_outlook_history(const Tag& tag) {
  const std::string_view id = tag.attribute("id");
  return id == "divRplyFwdMsg" || id == "appendonsend";
}

// Skips to after "</name" ... '>' (case-insensitive) for raw-text elements; returns html.size()
// when unterminated.
std::size_t skip_raw_text(std::string_view html, std::size_t i, std::string_view name) {
  while (true) {
    const std::size_t lt = html.find("</", i);
    if (lt == std::string_view::npos) return html.size();
    if (ascii_lower(html.substr(lt + 2, name.size())) == name) {
      const std::size_t gt = html.find('>', lt);
      return gt == std::string_view::npos ? html.size() : gt + 1;
    }
    i = lt + 2;
  }
}

}  // namespace

std::string html_to_text(std::string_view html, bool strip_quotes) {
  Output out;
  struct Link {
    std::string href;
    std::size_t start;
  };
  std::vector<Link> links;
  std::vector<char> lists;  // 'u' or 'o' per open list
  int pre = 0;
  // An element being dropped (head, or quoted history): its name and nesting count.
  std::string dropping;
  int drop_depth = 0;

  std::size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c != '<') {
      const std::size_t lt = html.find('<', i);
      const std::size_t end = lt == std::string_view::npos ? html.size() : lt;
      if (drop_depth == 0) {
        const std::string text = decode_entities(html.substr(i, end - i));
        if (pre > 0)
          out.verbatim(text);
        else
          out.text(text);
      }
      i = end;
      continue;
    }
    // Comments, doctype, CDATA, processing instructions.
    if (html.substr(i, 4) == "<!--") {
      const std::size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {
      const std::size_t end = html.find('>', i);
      i = end == std::string_view::npos ? html.size() : end + 1;
      continue;
    }
    const bool tag_like = i + 1 < html.size() && (is_alpha(html[i + 1]) || (html[i + 1] == '/' && i + 2 < html.size() && is_alpha(html[i + 2])));
    if (!tag_like) {  // a lone '<' is text
      if (drop_depth == 0) out.text("<");
      ++i;
      continue;
    }
    Tag tag;
    i = parse_tag(html, i, tag);
    const std::string& name = tag.name;

    if (!tag.closing && one_of(name, {"script", "style", "template", "noscript", "textarea", "title"})) {
      if (!tag.self_closing) i = skip_raw_text(html, i, name);
      continue;
    }
    if (drop_depth > 0) {
      if (name == dropping && !is_void(name)) {
        if (tag.closing)
          --drop_depth;
        else if (!tag.self_closing)
          ++drop_depth;
      }
      if (dropping == "head" && name == "body" && !tag.closing) drop_depth = 0;  // an unclosed <head>
      continue;
    }
    if (!tag.closing) {
      if (name == "head") {
        dropping = name;
        drop_depth = 1;
        continue;
      }
      if (strip_quotes && starts_outlook_history(tag)) break;
      if (strip_quotes && starts_quote(tag)) {
        if (!is_void(name) && !tag.self_closing) {
          dropping = name;
          drop_depth = 1;
        }
        continue;
      }
    }

    if (name == "br") {
      out.line_break();
    } else if (one_of(name, {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})) {
      out.block(2);
    } else if (name == "pre") {
      out.block(2);
      pre = tag.closing ? (pre > 0 ? pre - 1 : 0) : pre + 1;
    } else if (name == "ul" || name == "ol") {
      out.block(1);
      if (!tag.closing && lists.size() < 64)
        lists.push_back(name == "ul" ? 'u' : 'o');
      else if (tag.closing && !lists.empty())
        lists.pop_back();
    } else if (name == "li") {
      out.block(1);
      if (!tag.closing) {
        const std::size_t level = lists.empty() ? 0 : lists.size() - 1;
        out.verbatim(std::string(2 * level, ' '));
        out.verbatim("- ");
      }
    } else if (one_of(name, {"div", "tr", "dl", "dt", "dd", "section", "article", "header", "footer", "nav",
                             "aside", "main", "form", "fieldset", "figure", "figcaption", "address", "center",
                             "hr", "caption", "legend", "details", "summary"})) {
      out.block(1);
    } else if (name == "td" || name == "th") {
      out.space();
    } else if (name == "a") {
      if (!tag.closing && !tag.self_closing) {
        if (links.size() < 64) links.push_back(Link{std::string(tag.attribute("href")), out.size()});
      } else if (tag.closing && !links.empty()) {
        Link link = std::move(links.back());
        links.pop_back();
        std::string_view href = link.href;
        while (!href.empty() && is_space(href.front())) href.remove_prefix(1);
        while (!href.empty() && is_space(href.back())) href.remove_suffix(1);
        const std::string lower = ascii_lower(href.substr(0, 11));
        if (href.empty() || href.front() == '#' || lower.rfind("javascript:", 0) == 0 || lower.rfind("cid:", 0) == 0)
          continue;
        std::string_view shown = out.size() >= link.start ? out.since(link.start) : std::string_view();
        while (!shown.empty() && is_space(shown.front())) shown.remove_prefix(1);
        while (!shown.empty() && is_space(shown.back())) shown.remove_suffix(1);
        std::string_view bare = href;
        if (ascii_lower(bare.substr(0, 7)) == "mailto:") bare.remove_prefix(7);
        if (ascii_lower(bare.substr(0, 4)) == "tel:") bare.remove_prefix(4);
        auto strip_slash = [](std::string_view s) {
          while (!s.empty() && s.back() == '/') s.remove_suffix(1);
          return s;
        };
        if (shown.empty()) {
          out.text(std::string(href));
        } else if (shown != href && shown != bare && strip_slash(shown) != strip_slash(href)) {
          out.text(" (" + std::string(href) + ")");
        }
      }
    }
  }
  return out.finish();
}

}  // namespace switchboard::channels::email
