// Delivery status notifications and plain-text bounces (protocols/email.md "Bounces").
#include "channels/email/report.hpp"

#include "channels/email/charset.hpp"

namespace switchboard::channels::email {

namespace {

constexpr std::size_t kMaxRecipients = 100;
constexpr std::size_t kMaxDiagnostic = 1000;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool is_field_name_char(char c) { return c > ' ' && c < 0x7F && c != ':'; }

void add_unique(std::vector<std::string>& list, std::string value) {
  if (value.empty() || list.size() >= kMaxRecipients) return;
  for (const auto& v : list)
    if (v == value) return;
  list.push_back(std::move(value));
}

bool looks_like_address(std::string_view s) {
  const std::size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.size() > 254) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
        c == ';' || c == '"')
      return false;
  return s.find('.', at) != std::string_view::npos;
}

// "5.1.1" at s[i]: digit '.' 1-3 digits '.' 1-3 digits, not inside a longer number.
std::size_t status_code_at(std::string_view s, std::size_t i) {
  auto digit = [&](std::size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (i > 0 && (digit(i - 1) || s[i - 1] == '.')) return 0;
  if (!(s[i] == '2' || s[i] == '4' || s[i] == '5') || i + 1 >= s.size() || s[i + 1] != '.') return 0;
  std::size_t k = i + 2;
  std::size_t n = 0;
  while (digit(k) && n < 3) ++k, ++n;
  if (n == 0 || k >= s.size() || s[k] != '.') return 0;
  ++k;
  n = 0;
  while (digit(k) && n < 3) ++k, ++n;
  if (n == 0 || digit(k) || (k < s.size() && s[k] == '.')) return 0;
  return k - i;
}

}  // namespace

std::vector<HeaderBlock> parse_header_blocks(std::string_view text, std::size_t max_fields) {
  std::vector<HeaderBlock> blocks(1);
  std::size_t fields = 0;
  bool in_field = false;
  std::size_t pos = 0;
  while (pos < text.size() && fields <= max_fields) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      if (!blocks.back().empty()) blocks.emplace_back();
      in_field = false;
      continue;
    }
    if (is_wsp(line.front())) {
      if (in_field && blocks.back().back().value.size() < 16384) {
        auto& value = blocks.back().back().value;
        if (!value.empty()) value.push_back(' ');
        value += sanitize_utf8(trim(line));
      }
      continue;
    }
    std::size_t colon = 0;
    while (colon < line.size() && is_field_name_char(line[colon])) ++colon;
    if (colon == 0 || colon >= line.size() || line[colon] != ':') {
      in_field = false;
      continue;
    }
    blocks.back().push_back(HeaderField{std::string(line.substr(0, colon)), sanitize_utf8(trim(line.substr(colon + 1)))});
    ++fields;
    in_field = true;
  }
  if (blocks.back().empty()) blocks.pop_back();
  return blocks;
}

const std::string* field_value(const HeaderBlock& block, std::string_view name) {
  const std::string wanted = ascii_lower(name);
  for (const auto& f : block)
    if (f.name.size() == wanted.size() && ascii_lower(f.name) == wanted) return &f.value;
  return nullptr;
}

std::string bare_address(std::string_view text) {
  text = trim(text);
  // "rfc822; a@b" (an address type first, RFC 3464 2.3.2)
  if (auto semicolon = text.find(';'); semicolon != std::string_view::npos && text.find('@') > semicolon)
    text = trim(text.substr(semicolon + 1));
  if (auto lt = text.find('<'); lt != std::string_view::npos) {
    auto gt = text.find('>', lt);
    text = text.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
  }
  text = trim(text);
  // A source route "@a,@b:user@host" (RFC 5321 4.1.2) is obsolete: keep the mailbox.
  if (!text.empty() && text.front() == '@') {
    if (auto colon = text.find(':'); colon != std::string_view::npos) text = text.substr(colon + 1);
  }
  return ascii_lower(sanitize_utf8(trim(text)));
}

Bounce parse_delivery_status(std::string_view text) {
  Bounce bounce;
  const std::vector<HeaderBlock> blocks = parse_header_blocks(text);
  const HeaderBlock* chosen = nullptr;
  bool chosen_failed = false;
  for (const HeaderBlock& block : blocks) {
    const std::string* final_recipient = field_value(block, "Final-Recipient");
    const std::string* original_recipient = field_value(block, "Original-Recipient");
    const std::string* action = field_value(block, "Action");
    if (!final_recipient && !original_recipient && !action) continue;  // the per-message block
    const std::string* recipient = final_recipient ? final_recipient : original_recipient;
    if (recipient) add_unique(bounce.recipients, bare_address(*recipient));
    const bool failed = action && ascii_lower(trim(*action)).rfind("failed", 0) == 0;
    if (!chosen || (failed && !chosen_failed)) {
      chosen = &block;
      chosen_failed = failed;
    }
  }
  if (chosen) {
    if (const std::string* action = field_value(*chosen, "Action")) {
      std::string a = ascii_lower(trim(*action));
      if (auto paren = a.find_first_of(" ;("); paren != std::string::npos) a.resize(paren);  // "failed (bad)"
      bounce.action = a;
    }
    if (const std::string* status = field_value(*chosen, "Status")) {
      std::string_view s = trim(*status);
      if (auto space = s.find_first_of(" \t("); space != std::string_view::npos) s = s.substr(0, space);
      bounce.status = std::string(s);
    }
    if (const std::string* diagnostic = field_value(*chosen, "Diagnostic-Code"))
      bounce.diagnostic = std::string(utf8_prefix(*diagnostic, kMaxDiagnostic));
  }
  return bounce;
}

std::string message_id_in_headers(std::string_view headers) {
  for (const HeaderBlock& block : parse_header_blocks(headers)) {
    const std::string* id = field_value(block, "Message-ID");
    if (!id) continue;
    std::string_view v = trim(*id);
    if (auto lt = v.find('<'); lt != std::string_view::npos) {
      auto gt = v.find('>', lt);
      v = v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1);
    }
    v = trim(v);
    if (!v.empty() && v.size() <= 998) return std::string(v);
    return {};
  }
  return {};
}

void scan_text_bounce(std::string_view text, const std::vector<std::string>& ignore, Bounce& bounce) {
  auto ignored = [&](const std::string& address) {
    for (const auto& i : ignore)
      if (i == address) return true;
    return false;
  };
  std::size_t pos = 0;
  bool in_original = false;  // past the quoted original's headers: its addresses are not recipients
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view t = trim(line);
    const std::string lower = ascii_lower(t.substr(0, 12));
    if (lower.rfind("message-id:", 0) == 0) {
      if (bounce.original_message_id.empty()) bounce.original_message_id = message_id_in_headers(t);
      in_original = true;
      continue;
    }
    if (lower.rfind("received:", 0) == 0 || lower.rfind("from:", 0) == 0 || lower.rfind("to:", 0) == 0 ||
        lower.rfind("subject:", 0) == 0 || lower.rfind("return-path:", 0) == 0)
      in_original = true;
    if (bounce.status.empty()) {
      for (std::size_t i = 0; i < t.size(); ++i) {
        if (std::size_t n = status_code_at(t, i)) {
          bounce.status = std::string(t.substr(i, n));
          if (bounce.diagnostic.empty()) bounce.diagnostic = sanitize_utf8(utf8_prefix(t, kMaxDiagnostic));
          break;
        }
      }
    }
    if (in_original || t.empty()) continue;
    // Postfix/qmail "<addr>: reason", exim "  addr" alone on an indented line.
    std::string_view candidate;
    if (t.front() == '<') {
      const std::size_t gt = t.find('>');
      if (gt != std::string_view::npos && (gt + 1 == t.size() || t[gt + 1] == ':')) candidate = t.substr(1, gt - 1);
    } else if (is_wsp(line.front()) && t.find(' ') == std::string_view::npos) {
      candidate = t;
      if (!candidate.empty() && candidate.back() == ':') candidate.remove_suffix(1);
    }
    if (!candidate.empty() && looks_like_address(candidate)) {
      std::string address = ascii_lower(sanitize_utf8(candidate));
      if (!ignored(address)) add_unique(bounce.recipients, std::move(address));
    }
  }
  if (bounce.action.empty()) bounce.action = !bounce.status.empty() && bounce.status.front() == '4' ? "delayed" : "failed";
}

std::pair<std::string, std::string> split_plus_address(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {std::string(address), {}};
  const std::string_view local = address.substr(0, at);
  const std::size_t plus = local.find('+');
  if (plus == std::string_view::npos) return {std::string(address), {}};
  std::string base(local.substr(0, plus));
  base += address.substr(at);
  return {std::move(base), std::string(local.substr(plus + 1))};
}

std::string verp_tag(std::string_view address) {
  auto [base, detail] = split_plus_address(address);
  const std::string local = ascii_lower(base.substr(0, base.find('@')));
  if (detail.empty() || (local != "bounces" && local != "bounce")) return {};
  return detail;
}

}  // namespace switchboard::channels::email
