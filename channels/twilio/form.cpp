// application/x-www-form-urlencoded in both directions: Twilio's webhook bodies and our Messages
// API requests. Strict on input: the decoded bytes are signed, stored and shown to people.
#include <cstdint>

#include "channels/twilio/adapter.hpp"
#include "routing/text/utf8.hpp"

namespace switchboard::channels::twilio {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}


Error malformed(std::string message) { return make_error(ErrorKind::invalid, "malformed_form", std::move(message)); }

Result<std::string> decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      const int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
      if (lo < 0) return malformed("a '%' in the form is not followed by two hex digits");
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  if (!routing::is_valid_utf8(out)) return malformed("a form name or value is not valid UTF-8");
  return out;
}

bool kept(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' || c == '-' ||
         c == '.' || c == '_';
}

void encode_into(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (kept(c)) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
}

}  // namespace

Result<Params> parse_form(std::string_view body) {
  Params params;
  while (!body.empty()) {
    const std::size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto name = decode(pair.substr(0, eq));
    if (!name) return name.error();
    auto value = decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) return value.error();
    params.emplace_back(std::move(*name), std::move(*value));
  }
  return params;
}

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    encode_into(out, name);
    out.push_back('=');
    encode_into(out, value);
  }
  return out;
}

const std::string* find_param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace switchboard::channels::twilio
