// libFuzzer: parse_mail on arbitrary bytes (anyone can mail us), and the text helpers it feeds:
// whatever comes in, no crash, no unbounded work, and every string out is valid UTF-8 without NUL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "channels/email/charset.hpp"
#include "channels/email/mime.hpp"

namespace email = switchboard::channels::email;

namespace {

void check(const std::string& s) {
  if (!email::is_valid_utf8(s) || s.find('\0') != std::string::npos) std::abort();
}

const email::ParseOptions& options() {
  static const email::ParseOptions o = [] {
    email::ParseOptions p;
    p.mailbox = "support";
    p.own_addresses = {"obsluga@support.example.com"};
    p.loop_marker = "sb-fuzz";
    p.max_attachment_bytes = 64 * 1024;  // small limits: the truncation paths get exercised
    p.max_text_bytes = 64 * 1024;
    return p;
  }();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);

  auto parsed = email::parse_mail(raw, options());
  if (parsed) {
    const email::ParsedMail& m = *parsed;
    for (const std::string* s : {&m.subject, &m.message_id, &m.full_text, &m.html, &m.message.text,
                                 &m.message.display_name, &m.message.sender, &m.message.external_id, &m.return_path})
      check(*s);
    for (const auto& list : {m.thread_hints, m.recipients, m.reply_tokens, m.defects, m.reply_to})
      for (const auto& s : list) check(s);
    if (m.message.attachments.size() != m.attachment_data.size()) std::abort();
    for (const auto& a : m.attachment_data) {
      check(a.meta.name);
      if (a.meta.name.find('/') != std::string::npos || a.meta.name.find('\\') != std::string::npos) std::abort();
      if (a.bytes.size() > options().max_attachment_bytes) std::abort();
      if (a.truncated && !a.bytes.empty()) std::abort();
    }
    if (m.thread_hints.size() > email::kMaxThreadHints) std::abort();
    if (m.bounce != m.bounce_info.has_value()) std::abort();
  } else if (parsed.error().code != "not_a_message") {
    std::abort();
  }

  check(email::strip_quoted(email::sanitize_utf8(raw)));
  check(email::html_to_text(raw, size % 2 == 0));
  check(email::decode_header_text(raw).text);
  check(email::decode_charset(raw, size % 3 == 0 ? "iso-8859-2" : "utf-8").text);
  return 0;
}
