// Inbound mail with GMime 3: MIME structure, addresses and dates from GMime; charsets, encoded
// words, quotes and the mail-loop rules of protocols/email.md here (see mime.hpp).
#include "channels/email/mime.hpp"

#include <gmime/gmime.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <utility>

#include "channels/email/charset.hpp"
#include "channels/email/gmime_init.hpp"
#include "channels/email/report.hpp"
#include "channels/email/robots.hpp"
#include "channels/identity.hpp"

namespace switchboard::channels::email {

namespace {

constexpr std::size_t kMaxDefects = 32;
constexpr std::size_t kMaxIdBytes = 998;          // RFC 5322 line limit: longer is not an id
constexpr std::size_t kMaxHeaderText = 998;       // subject and display name kept
constexpr std::size_t kMaxAddresses = 1000;
constexpr std::size_t kMaxAttachments = 1000;
constexpr std::size_t kMaxReportBytes = 256 * 1024;  // a delivery-status or headers part read
constexpr std::size_t kMaxSalvageBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxRawBytes = std::size_t{1} << 31;  // GByteArray lengths are 32-bit
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

struct Unref {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;
struct FreeOptions {
  void operator()(GMimeParserOptions* p) const { g_mime_parser_options_free(p); }
};
struct FreeReferences {
  void operator()(GMimeReferences* p) const { g_mime_references_free(p); }
};

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

// One line of valid UTF-8: controls become spaces, ends trimmed.
std::string one_line(std::string_view s) {
  std::string out = sanitize_utf8(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  return std::string(trim(out));
}

std::string short_item(const char* item) {
  std::string s = one_line(item ? item : "");
  return std::string(utf8_prefix(s, 60));
}

void add_defect(ParsedMail& mail, std::string reason) {
  for (const auto& d : mail.defects)
    if (d == reason) return;
  if (mail.defects.size() < kMaxDefects)
    mail.defects.push_back(std::move(reason));
  else if (mail.defects.size() == kMaxDefects)
    mail.defects.push_back("more defects: not listed");
}

// GMime's parser warnings, as defects of the mail being parsed (user_data).
void on_warning(gint64 /*offset*/, GMimeParserWarning code, const gchar* item, gpointer user_data) {
  auto& mail = *static_cast<ParsedMail*>(user_data);
  const std::string what = short_item(item);
  std::string reason;
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER: reason = "duplicated header " + what; break;
    case GMIME_WARN_DUPLICATED_PARAMETER: reason = "duplicated parameter " + what; break;
    case GMIME_WARN_UNENCODED_8BIT_HEADER: reason = "unencoded 8-bit bytes in header " + what; break;
    case GMIME_WARN_INVALID_CONTENT_TYPE: reason = "invalid Content-Type " + what; break;
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: reason = "malformed encoded word in header " + what; break;
    case GMIME_WARN_MALFORMED_MULTIPART: reason = "malformed multipart/" + what + ": ended by an outer boundary"; break;
    case GMIME_WARN_TRUNCATED_MESSAGE: reason = "truncated message: a multipart has no closing boundary"; break;
    case GMIME_WARN_MALFORMED_MESSAGE: reason = "malformed message"; break;
    case GMIME_CRIT_INVALID_HEADER_NAME: reason = "invalid header line " + what; break;
    case GMIME_CRIT_CONFLICTING_HEADER: reason = "conflicting header " + what; break;
    case GMIME_CRIT_CONFLICTING_PARAMETER: reason = "conflicting parameter " + what; break;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: reason = "multipart/" + what + " without a boundary"; break;
    case GMIME_WARN_INVALID_PARAMETER: reason = "invalid parameter " + what; break;
    case GMIME_WARN_INVALID_ADDRESS_LIST: reason = "invalid address list " + what; break;
    case GMIME_CRIT_NESTING_OVERFLOW: reason = "MIME nesting too deep"; break;
    case GMIME_WARN_PART_WITHOUT_CONTENT: reason = "MIME part without content"; break;
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: reason = "MIME part without headers or content"; break;
    default: reason = "MIME warning " + std::to_string(static_cast<int>(code)); break;
  }
  add_defect(mail, std::move(reason));
}

// --- headers ---

struct RawHeader {
  std::string name;     // lower-case
  std::string written;  // the name as written
  const char* raw;      // the value as in the message (folded); owned by GMime
};

std::vector<RawHeader> header_list(GMimeObject* object) {
  std::vector<RawHeader> headers;
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  const int count = list ? g_mime_header_list_get_count(list) : 0;
  headers.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
    const char* raw = g_mime_header_get_raw_value(h);
    const std::string name = str(g_mime_header_get_name(h));
    headers.push_back(RawHeader{ascii_lower(name), name, raw ? raw : ""});
  }
  return headers;
}

const char* first_raw(const std::vector<RawHeader>& headers, std::string_view lower_name) {
  for (const auto& h : headers)
    if (h.name == lower_name) return h.raw;
  return nullptr;
}

// A header's value unfolded into one line (for the rules, not for display).
std::string value_of(const char* raw) { return raw ? one_line(raw) : std::string(); }

// --- addresses ---

struct Mailbox {
  std::string address;  // as written
  std::string name;     // decoded by GMime
};

void collect_mailboxes(InternetAddressList* list, std::vector<Mailbox>& out, int depth = 0) {
  if (!list || depth > 2) return;
  const int n = internet_address_list_length(list);
  for (int i = 0; i < n && out.size() < kMaxAddresses; ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      out.push_back(Mailbox{sanitize_utf8(str(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)))),
                            str(internet_address_get_name(a))});
    } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
      collect_mailboxes(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)), out, depth + 1);
    }
  }
}

std::vector<Mailbox> parse_addresses(GMimeParserOptions* options, const char* raw) {
  std::vector<Mailbox> out;
  if (!raw) return out;
  GPtr<InternetAddressList> list(internet_address_list_parse(options, raw));
  collect_mailboxes(list.get(), out);
  return out;
}



// The display name of a From header with raw 8-bit bytes: GMime guesses one charset for them,
// we apply the same heuristics as to text (protocols/email.md, Polish charsets).
std::string name_from_raw(std::string_view raw, std::string_view hint) {
  std::string_view phrase = raw;
  const std::size_t lt = raw.find('<');
  if (lt == std::string_view::npos) return {};
  phrase = trim(raw.substr(0, lt));
  if (phrase.size() >= 2 && phrase.front() == '"' && phrase.back() == '"') phrase = phrase.substr(1, phrase.size() - 2);
  std::string unescaped;
  for (std::size_t i = 0; i < phrase.size(); ++i) {
    if (phrase[i] == '\\' && i + 1 < phrase.size()) ++i;
    unescaped.push_back(phrase[i]);
  }
  return decode_header_text(unescaped, hint).text;
}

// The charset of the first text part that declares one: the hint for raw 8-bit header bytes.
std::string body_charset(GMimeObject* object, int depth = 0) {
  if (!object || depth > kMaxMimeDepth) return {};
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* mp = GMIME_MULTIPART(object);
    const int n = std::min(g_mime_multipart_get_count(mp), 100);
    for (int i = 0; i < n; ++i)
      if (std::string c = body_charset(g_mime_multipart_get_part(mp, i), depth + 1); !c.empty()) return c;
    return {};
  }
  if (!GMIME_IS_PART(object)) return {};
  GMimeContentType* ct = g_mime_object_get_content_type(object);
  if (!ct || ascii_lower(str(g_mime_content_type_get_media_type(ct))) != "text") return {};
  return one_line(str(g_mime_object_get_content_type_parameter(object, "charset")));
}

// --- message ids ---

// A Message-ID from GMime, or "" when it cannot be one (too long for a header line).
std::string clean_id(const char* id) {
  if (!id) return {};
  std::string out = one_line(id);
  if (out.size() >= 2 && out.front() == '<' && out.back() == '>') out = out.substr(1, out.size() - 2);
  if (out.size() > kMaxIdBytes) return {};
  return out;
}

void add_references(GMimeParserOptions* options, const char* raw, bool newest_first, std::vector<std::string>& hints,
                    std::unordered_set<std::string>& seen) {
  if (!raw) return;
  std::unique_ptr<GMimeReferences, FreeReferences> refs(g_mime_references_parse(options, raw));
  const int n = refs ? g_mime_references_length(refs.get()) : 0;
  for (int k = 0; k < n && hints.size() < kMaxThreadHints; ++k) {
    const int i = newest_first ? n - 1 - k : k;
    std::string id = clean_id(g_mime_references_get_message_id(refs.get(), i));
    if (!id.empty() && seen.insert(id).second) hints.push_back(std::move(id));
  }
}

// --- content ---

struct ContentRead {
  std::size_t size = 0;   // decoded bytes in all
  bool cut = false;       // more than `keep` bytes
  bool bad_base64 = false;
};

// Tracks what a base64 decoder silently skips: foreign characters, data after padding.
class Base64Check {
 public:
  void feed(std::string_view chunk) {
    for (char c : chunk) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      if (c == '=') {
        ++padding_;
        continue;
      }
      const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
      if (!alphabet || padding_ > 0) bad_ = true;
      ++data_;
    }
  }
  bool bad() const { return bad_ || padding_ > 2 || (data_ + padding_) % 4 == 1; }

 private:
  bool bad_ = false;
  std::size_t data_ = 0, padding_ = 0;
};

// Decodes a part's transfer encoding chunk by chunk, keeping at most `keep` bytes in `out`.
// With `stop`, reading ends at the limit (text); otherwise the whole part is measured
// (attachments: the size is stored even when the bytes are not). Never holds more than `keep`
// plus one chunk, whatever the part's size.
ContentRead read_content(GMimePart* part, std::size_t keep, std::string& out, bool stop, bool raw = false) {
  ContentRead r;
  GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
  GMimeStream* stream = wrapper ? g_mime_data_wrapper_get_stream(wrapper) : nullptr;
  if (!stream) return r;
  const GMimeContentEncoding encoding = g_mime_data_wrapper_get_encoding(wrapper);
  const bool decode = !raw && (encoding == GMIME_CONTENT_ENCODING_BASE64 ||
                               encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                               encoding == GMIME_CONTENT_ENCODING_UUENCODE);
  GMimeEncoding state;
  if (decode) g_mime_encoding_init_decode(&state, encoding);
  Base64Check check;
  std::vector<char> in(kReadChunk);
  std::vector<char> decoded;
  auto emit = [&](const char* data, std::size_t n) {
    r.size += n;
    if (out.size() < keep) out.append(data, std::min(n, keep - out.size()));
    if (r.size > keep) r.cut = true;
  };
  g_mime_stream_reset(stream);
  while (!(stop && r.cut)) {
    const gssize n = g_mime_stream_read(stream, in.data(), in.size());
    if (n <= 0) break;
    const auto len = static_cast<std::size_t>(n);
    if (encoding == GMIME_CONTENT_ENCODING_BASE64 && decode) check.feed(std::string_view(in.data(), len));
    if (!decode) {
      emit(in.data(), len);
      continue;
    }
    decoded.resize(g_mime_encoding_outlen(&state, len));
    emit(decoded.data(), g_mime_encoding_step(&state, in.data(), len, decoded.data()));
  }
  if (decode && !(stop && r.cut)) {
    decoded.resize(g_mime_encoding_outlen(&state, 0) + 16);
    emit(decoded.data(), g_mime_encoding_flush(&state, in.data(), 0, decoded.data()));
  }
  r.bad_base64 = decode && encoding == GMIME_CONTENT_ENCODING_BASE64 && check.bad() && !(stop && r.cut);
  return r;
}

// Text that a mailer labelled base64 without encoding it: words separated by spaces inside lines,
// or punctuation outside base64's alphabet. Real base64 has neither (its lines have no spaces).
bool looks_like_plain_text(std::string_view raw) {
  std::size_t foreign = 0, data = 0, inner_spaces = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\r' || c == '\n') continue;
    if (c == ' ' || c == '\t') {
      if (i > 0 && i + 1 < raw.size() && raw[i - 1] != '\n' && raw[i + 1] != '\r' && raw[i + 1] != '\n' &&
          raw[i - 1] != ' ')
        ++inner_spaces;
      continue;
    }
    ++data;
    const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                          c == '/' || c == '=';
    if (!alphabet) ++foreign;
  }
  if (data == 0) return false;
  // Words: a space inside a line for every 40 characters or so; or punctuation, one in ten.
  return inner_spaces * 40 >= data || foreign * 10 >= data;
}

std::string lower_or(const char* s, std::string_view fallback) {
  return s && *s ? ascii_lower(s) : std::string(fallback);
}

// A parameter, preferring its RFC 2231 form (name*=charset''...) over the plain one.
std::string pick_parameter(GMimeParamList* list, const char* name) {
  if (!list) return {};
  const char* plain = nullptr;
  const int n = g_mime_param_list_length(list);
  for (int i = 0; i < n; ++i) {
    GMimeParam* p = g_mime_param_list_get_parameter_at(list, i);
    const char* pname = g_mime_param_get_name(p);
    if (!pname || g_ascii_strcasecmp(pname, name) != 0) continue;
    const char* value = g_mime_param_get_value(p);
    if (!value) continue;
    if (g_mime_param_get_encoding_method(p) == GMIME_PARAM_ENCODING_METHOD_RFC2231) return value;
    if (!plain) plain = value;
  }
  return str(plain);
}

// protocols/email.md: filename* on Content-Disposition, then filename, then Content-Type name.
std::string part_filename(GMimeObject* object) {
  std::string name;
  if (GMimeContentDisposition* d = g_mime_object_get_content_disposition(object))
    name = pick_parameter(g_mime_content_disposition_get_parameters(d), "filename");
  if (name.empty())
    if (GMimeContentType* ct = g_mime_object_get_content_type(object))
      name = pick_parameter(g_mime_content_type_get_parameters(ct), "name");
  return sanitize_filename(name);
}

// "pl" from "pl-PL, en"; "" unless a plain language tag.
std::string language_tag(const char* raw) {
  std::string value = ascii_lower(trim(value_of(raw)));
  value = value.substr(0, value.find_first_of(",;-_ "));
  if (value.size() < 2 || value.size() > 3) return {};
  for (char c : value)
    if (c < 'a' || c > 'z') return {};
  return value;
}

struct Bodies {
  std::vector<std::string> plain;
  std::vector<std::string> html;
};

class Walker {
 public:
  Walker(const ParseOptions& options, ParsedMail& mail, GMimeParserOptions* parser_options)
      : options_(options), mail_(mail), parser_options_(parser_options) {}

  void walk(GMimeObject* object, int depth, bool in_report, Bodies& bodies) {
    if (!object) return;
    if (depth > kMaxMimeDepth) {
      add_defect(mail_, "MIME nesting deeper than " + std::to_string(kMaxMimeDepth) + " levels: the rest is ignored");
      return;
    }
    GMimeContentType* ct = g_mime_object_get_content_type(object);
    const std::string type = lower_or(ct ? g_mime_content_type_get_media_type(ct) : nullptr, "text");
    const std::string subtype = lower_or(ct ? g_mime_content_type_get_media_subtype(ct) : nullptr, "plain");
    if (GMIME_IS_MULTIPART(object))
      multipart(GMIME_MULTIPART(object), subtype, depth, bodies);
    else if (GMIME_IS_MESSAGE_PART(object))
      message_part(object, in_report);
    else if (GMIME_IS_PART(object))
      leaf(object, type, subtype, in_report, bodies);
  }

  std::vector<std::string> attached_ids;  // Message-IDs of attached or returned originals
  std::optional<Bounce> dsn;              // from a message/delivery-status part
  std::string language;

 private:
  void multipart(GMimeMultipart* mp, const std::string& subtype, int depth, Bodies& bodies) {
    salvage_prologue(mp, depth, bodies);
    const int count = g_mime_multipart_get_count(mp);
    if (subtype == "alternative") {
      // Alternatives say the same thing: one plain and one HTML version, the first of each.
      Bodies chosen;
      for (int i = 0; i < count; ++i) {
        Bodies one;
        walk(g_mime_multipart_get_part(mp, i), depth + 1, false, one);
        if (chosen.plain.empty()) chosen.plain = std::move(one.plain);
        if (chosen.html.empty()) chosen.html = std::move(one.html);
      }
      for (auto& p : chosen.plain) bodies.plain.push_back(std::move(p));
      for (auto& h : chosen.html) bodies.html.push_back(std::move(h));
      return;
    }
    if (subtype == "signed") {
      // The content, then the signature (application/pgp-signature or pkcs7-signature) as an
      // attachment: an agent can verify it, and nothing the sender sent is dropped.
      if (count > 0) walk(g_mime_multipart_get_part(mp, 0), depth + 1, false, bodies);
      for (int i = 1; i < count; ++i) {
        Bodies ignored;  // a text part here would be no part of the message's text
        walk(g_mime_multipart_get_part(mp, i), depth + 1, false, ignored);
      }
      return;
    }
    for (int i = 0; i < count; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1, subtype == "report", bodies);
  }

  // Parts written under another boundary than the declared one end up in GMime's prologue
  // (fixture malformed_mime_invalid_utf8.eml): parse them again under the boundary they use.
  void salvage_prologue(GMimeMultipart* mp, int depth, Bodies& bodies) {
    const char* prologue = g_mime_multipart_get_prologue(mp);
    if (!prologue) return;
    const std::string_view p(prologue);
    if (p.size() > kMaxSalvageBytes) return;
    std::size_t pos = 0, start = std::string_view::npos;
    std::string boundary;
    while (pos < p.size() && start == std::string_view::npos) {
      const std::size_t nl = p.find('\n', pos);
      if (nl == std::string_view::npos) break;
      std::string_view line = p.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const std::size_t next = nl + 1;
      if (line.size() > 2 && line.size() <= 72 && line.substr(0, 2) == "--" &&
          line.find_first_of(" \t\"\\") == std::string_view::npos) {
        const std::size_t next_nl = p.find('\n', next);
        const std::string_view header = p.substr(next, next_nl == std::string_view::npos ? std::string_view::npos : next_nl - next);
        const std::size_t colon = header.find(':');
        if (colon != std::string_view::npos && colon > 0 && header.substr(0, colon).find(' ') == std::string_view::npos) {
          start = pos;
          boundary = std::string(line.substr(2));
        }
      }
      pos = next;
    }
    if (start == std::string_view::npos) return;
    add_defect(mail_, "boundary mismatch: parts under --" + std::string(utf8_prefix(sanitize_utf8(boundary), 70)) +
                          " instead of the declared boundary");
    std::string text = "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\n\n";
    text.append(p.substr(start));
    GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
    GPtr<GMimeObject> salvaged(g_mime_parser_construct_part(parser.get(), parser_options_));
    if (!salvaged || !GMIME_IS_MULTIPART(salvaged.get())) return;
    GMimeMultipart* smp = GMIME_MULTIPART(salvaged.get());
    for (int i = 0; i < g_mime_multipart_get_count(smp); ++i)
      walk(g_mime_multipart_get_part(smp, i), depth + 2, false, bodies);
  }

  void message_part(GMimeObject* object, bool in_report) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    if (inner) {
      std::string id = clean_id(g_mime_message_get_message_id(inner));
      if (!id.empty()) attached_ids.push_back(std::move(id));
    }
    if (in_report) return;  // the returned original of a report is evidence, not an attachment
    if (!room_for_attachment()) return;
    AttachmentData a;
    a.meta.mime_type = "message/rfc822";
    a.meta.name = part_filename(object);
    if (a.meta.name.empty() && inner) a.meta.name = sanitize_filename(one_line(str(g_mime_message_get_subject(inner))));
    if (a.meta.name.empty()) a.meta.name = "message";
    if (a.meta.name.size() < 4 || a.meta.name.compare(a.meta.name.size() - 4, 4, ".eml") != 0) a.meta.name += ".eml";
    if (inner) {
      // Measured first: a forwarded 50 MB message is not serialised into memory.
      GPtr<GMimeStream> counter(g_mime_stream_null_new());
      g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, counter.get());
      const auto size = static_cast<std::size_t>(GMIME_STREAM_NULL(counter.get())->written);
      a.meta.size = static_cast<std::int64_t>(size);
      if (size > options_.max_attachment_bytes) {
        a.truncated = true;
      } else {
        GPtr<GMimeStream> mem(g_mime_stream_mem_new());
        g_mime_object_write_to_stream(GMIME_OBJECT(inner), nullptr, mem.get());
        GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
        if (bytes) a.bytes.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
      }
    } else {
      a.meta.size = 0;
    }
    finish_attachment(object, std::move(a));
  }

  void leaf(GMimeObject* object, const std::string& type, const std::string& subtype, bool in_report, Bodies& bodies) {
    GMimePart* part = GMIME_PART(object);
    if (in_report && type == "message" && (subtype == "delivery-status" || subtype == "global-delivery-status")) {
      std::string text;
      read_content(part, kMaxReportBytes, text, true);
      dsn = parse_delivery_status(text);
      return;
    }
    if ((type == "text" && subtype == "rfc822-headers") || (type == "message" && subtype == "global-headers")) {
      std::string text;
      read_content(part, kMaxReportBytes, text, true);
      if (std::string id = message_id_in_headers(text); !id.empty()) attached_ids.push_back(std::move(id));
      if (in_report) return;
    }
    const std::string disposition = lower_or(g_mime_object_get_disposition(object), "");
    std::string name = part_filename(object);
    if (type == "text" && (subtype == "plain" || subtype == "html") && disposition != "attachment" && name.empty()) {
      text_part(object, part, subtype, bodies);
      return;
    }
    if (!room_for_attachment()) return;
    AttachmentData a;
    a.meta.mime_type = type + "/" + subtype;
    a.meta.name = name.empty() ? "attachment-" + std::to_string(mail_.attachment_data.size() + 1) : std::move(name);
    const ContentRead r = read_content(part, options_.max_attachment_bytes, a.bytes, false);
    a.meta.size = static_cast<std::int64_t>(r.size);
    if (r.cut) {
      a.bytes = std::string();  // over the limit: metadata only
      a.truncated = true;
    }
    if (r.bad_base64) add_defect(mail_, "broken base64 in attachment " + a.meta.name);
    finish_attachment(object, std::move(a));
  }

  void text_part(GMimeObject* object, GMimePart* part, const std::string& subtype, Bodies& bodies) {
    std::string bytes;
    ContentRead r = read_content(part, options_.max_text_bytes, bytes, true);
    if (r.bad_base64) {
      // Declared base64 but written as plain text (some mailers and gateways do it): decoding
      // would store binary garbage; the text as written is what the sender meant.
      std::string raw;
      const ContentRead as_written = read_content(part, options_.max_text_bytes, raw, true, true);
      if (looks_like_plain_text(raw)) {
        add_defect(mail_, "text part declared base64 but not encoded: read as written");
        bytes = std::move(raw);
        r = as_written;
      } else {
        add_defect(mail_, "broken base64 in a text part");
      }
    }
    if (r.cut) add_defect(mail_, "text part longer than " + std::to_string(options_.max_text_bytes) + " bytes: cut");
    const std::string declared = one_line(str(g_mime_object_get_content_type_parameter(object, "charset")));
    DecodedText d = decode_charset(bytes, declared);
    const std::string label = declared.empty() ? "no charset" : "charset " + std::string(utf8_prefix(declared, 40));
    if (d.unknown_charset) add_defect(mail_, "unknown " + label + ": read as " + d.charset);
    else if (d.relabelled) add_defect(mail_, "text with " + label + " read as " + d.charset);
    if (d.replaced) add_defect(mail_, "undecodable bytes in a text part (replaced by U+FFFD)");
    std::string text = normalize_newlines(d.text);
    if (subtype == "plain") {
      const std::string format = ascii_lower(one_line(str(g_mime_object_get_content_type_parameter(object, "format"))));
      if (format == "flowed") {
        const std::string delsp = ascii_lower(one_line(str(g_mime_object_get_content_type_parameter(object, "delsp"))));
        text = unflow(text, delsp == "yes");
      }
      bodies.plain.push_back(std::move(text));
    } else {
      bodies.html.push_back(std::move(text));
    }
    if (language.empty()) language = language_tag(g_mime_object_get_header(object, "Content-Language"));
  }

  bool room_for_attachment() {
    if (mail_.attachment_data.size() < kMaxAttachments) return true;
    add_defect(mail_, "more than " + std::to_string(kMaxAttachments) + " attachments: the rest is ignored");
    return false;
  }

  void finish_attachment(GMimeObject* object, AttachmentData a) {
    a.content_id = clean_id(g_mime_object_get_content_id(object));
    a.inline_part = lower_or(g_mime_object_get_disposition(object), "") == "inline";
    mail_.message.attachments.push_back(a.meta);
    mail_.attachment_data.push_back(std::move(a));
  }

  const ParseOptions& options_;
  ParsedMail& mail_;
  GMimeParserOptions* parser_options_;
};

std::string join(std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (auto& p : parts) {
    std::string_view t = p;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    while (!t.empty() && t.front() == '\n') t.remove_prefix(1);
    if (t.empty()) continue;
    if (!out.empty()) out += separator;
    out += t;
  }
  return out;
}

bool blank(std::string_view s) { return trim(s).empty(); }

bool contains(const std::vector<std::string>& list, std::string_view value) {
  for (const auto& v : list)
    if (v == value) return true;
  return false;
}

Error not_a_message(std::string why) { return make_error(ErrorKind::invalid, "not_a_message", std::move(why)); }

bool has_separator(std::string_view raw) {
  return raw.find("\n\n") != std::string_view::npos || raw.find("\n\r\n") != std::string_view::npos;
}

Timestamp to_timestamp(GDateTime* date) {
  if (!date) return Timestamp{};
  const gint64 seconds = g_date_time_to_unix(date);
  if (seconds < 0 || seconds > kMaxSeconds) return Timestamp{};
  return Timestamp{std::chrono::seconds{seconds}};
}

// The mail without its GMime message: the parts every path fills.
void finish_message(ParsedMail& mail, std::string_view raw, const ParseOptions& options) {
  InboundMessage& m = mail.message;
  m.channel = Channel::email;
  m.account = options.mailbox;
  m.external_id = external_id(raw, mail.message_id);
  if (auto email = mailbox_address(m.sender)) m.identities.push_back(Identity{IdentityKind::email, *email});
}

}  // namespace

HeaderSummary summarize_headers(std::string_view raw) {
  constexpr std::size_t kScanned = 256 * 1024, kKept = 200;
  HeaderSummary out;
  std::string_view head = raw.substr(0, std::min(raw.size(), kScanned));
  std::string current_name, current_value;
  auto finish = [&] {
    const std::string name = ascii_lower(current_name);
    std::string value = one_line(current_value);
    if (name == "message-id" && out.message_id.empty()) {
      if (auto lt = value.find('<'); lt != std::string::npos) {
        auto gt = value.find('>', lt);
        value = value.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1);
      }
      out.message_id = std::string(utf8_prefix(value, kKept));
    } else if (name == "from" && out.sender.empty()) {
      if (auto lt = value.rfind('<'); lt != std::string::npos) {
        auto gt = value.find('>', lt);
        std::string inside = value.substr(lt + 1, gt == std::string::npos ? std::string::npos : gt - lt - 1);
        if (!trim(inside).empty()) value = std::move(inside);
      }
      out.sender = std::string(utf8_prefix(value, kKept));
    }
    current_name.clear();
    current_value.clear();
  };
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t nl = head.find('\n', pos);
    std::string_view line = head.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? head.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the end of the header block
    if (line.front() == ' ' || line.front() == '\t') {
      if (current_value.size() < 4096) current_value.append(" ").append(line.substr(0, 4096));
      continue;
    }
    finish();
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon > 76) continue;
    current_name = std::string(line.substr(0, colon));
    current_value = std::string(line.substr(colon + 1, 4096));
  }
  finish();
  return out;
}

std::optional<std::string> mailbox_address(std::string_view address) {
  address = trim(address);
  if (address.empty() || address.size() > 254) return std::nullopt;
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return std::nullopt;
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  for (unsigned char c : address)
    if (c < 0x20 || c == 0x7F) return std::nullopt;
  const bool quoted = local.size() >= 2 && local.front() == '"' && local.back() == '"';
  if (!quoted)
    for (unsigned char c : local)
      if (c == ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '(' || c == ')' || c == '@')
        return std::nullopt;
  if (domain.front() == '.' || domain.back() == '.' || domain.front() == '-') return std::nullopt;
  const bool literal = domain.front() == '[' && domain.back() == ']';  // [192.0.2.1]
  for (unsigned char c : domain)
    if (c == ' ' || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '(' || c == ')' || c == '@' ||
        (!literal && (c == '[' || c == ']')))
      return std::nullopt;
  return ascii_lower(address);
}

std::string sanitize_filename(std::string_view name) {
  const std::string valid = sanitize_utf8(name);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const auto c = static_cast<unsigned char>(valid[i]);
    if (c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|') {
      out.push_back('_');
    } else if (c == '\t' || c == '\n' || c == '\r') {
      out.push_back(' ');
    } else if (c < 0x20 || c == 0x7F) {
      continue;
    } else if (c == 0xC2 && i + 1 < valid.size() && static_cast<unsigned char>(valid[i + 1]) < 0xA0) {
      ++i;  // U+0080-U+009F: C1 controls
    } else if (c == 0xE2 && i + 2 < valid.size() && static_cast<unsigned char>(valid[i + 1]) == 0x80 &&
               ((static_cast<unsigned char>(valid[i + 2]) >= 0xAA && static_cast<unsigned char>(valid[i + 2]) <= 0xAE) ||
                static_cast<unsigned char>(valid[i + 2]) == 0x8E || static_cast<unsigned char>(valid[i + 2]) == 0x8F)) {
      i += 2;  // bidirectional overrides (U+202A-U+202E, U+200E/F): "invoice<RLO>fdp.exe"
    } else if (c == 0xE2 && i + 2 < valid.size() && static_cast<unsigned char>(valid[i + 1]) == 0x81 &&
               static_cast<unsigned char>(valid[i + 2]) >= 0xA6 && static_cast<unsigned char>(valid[i + 2]) <= 0xA9) {
      i += 2;  // bidirectional isolates U+2066-U+2069
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  std::string_view t = out;
  while (!t.empty() && (t.front() == '.' || t.front() == ' ')) t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  constexpr std::size_t kMaxName = 200;
  if (t.size() <= kMaxName) return std::string(t);
  std::string_view extension;
  if (auto dot = t.rfind('.'); dot != std::string_view::npos && t.size() - dot <= 16) extension = t.substr(dot);
  std::string cut(utf8_prefix(t, kMaxName - extension.size()));
  cut += extension;
  return cut;
}

std::string external_id(std::string_view raw, std::string_view message_id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::string hash;
  if (EVP_Digest(raw.data(), raw.size(), digest, &length, EVP_sha256(), nullptr) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < 8 && i < length; ++i) {
      hash.push_back(kHex[digest[i] >> 4]);
      hash.push_back(kHex[digest[i] & 0x0F]);
    }
  }
  std::string_view id = trim(message_id);
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = trim(id.substr(1, id.size() - 2));
  if (id.empty()) return hash;
  std::string out(id);
  out += '#';
  out += hash;
  return out;
}

Result<ParsedMail> parse_mail(std::string_view raw, const ParseOptions& options) {
  if (trim(raw).empty()) return not_a_message("the message is empty");
  if (raw.size() > kMaxRawBytes)
    return make_error(ErrorKind::too_large, "message_too_large", "the message is larger than 2 GiB");
  ensure_gmime();

  ParsedMail mail;
  std::vector<std::string> own;
  for (const auto& a : options.own_addresses)
    if (!trim(a).empty()) own.push_back(ascii_lower(trim(a)));

  // Declared in this order so that GMime objects go before the options their headers point to.
  std::unique_ptr<GMimeParserOptions, FreeOptions> parser_options(g_mime_parser_options_new());
  g_mime_parser_options_set_warning_callback(parser_options.get(), on_warning, &mail);
  g_mime_parser_options_set_allow_addresses_without_domain(parser_options.get(), TRUE);
  // Unencoded 8-bit in names and parameters: Polish mail is UTF-8, else mostly Latin-2.
  const char* fallback[] = {"UTF-8", "iso-8859-2", nullptr};
  g_mime_parser_options_set_fallback_charsets(parser_options.get(), fallback);

  // The one copy of the input: parts are read in place from it (GMime's persistent stream).
  GByteArray* array = g_byte_array_sized_new(static_cast<guint>(raw.size()));
  g_byte_array_append(array, reinterpret_cast<const guint8*>(raw.data()), static_cast<guint>(raw.size()));
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(array));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  g_mime_parser_set_persist_stream(parser.get(), TRUE);
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), parser_options.get()));

  if (!message) {
    if (!has_separator(raw)) return not_a_message("no header lines and no header/body separator");
    // Something before a blank line that is not a header: keep the words for an agent.
    add_defect(mail, "no header block: the whole message read as text");
    mail.full_text = normalize_newlines(decode_charset(utf8_prefix(raw, options.max_text_bytes), "").text);
    mail.full_text = std::string(trim(mail.full_text));
    mail.message.text = strip_quoted(mail.full_text);
    finish_message(mail, raw, options);
    return mail;
  }

  GMimeObject* top = GMIME_OBJECT(message.get());
  const std::vector<RawHeader> headers = header_list(top);

  mail.message_id = clean_id(g_mime_message_get_message_id(message.get()));
  if (mail.message_id.empty() && first_raw(headers, "message-id")) {
    const char* raw_id = first_raw(headers, "message-id");
    if (trim(raw_id).size() > kMaxIdBytes) add_defect(mail, "Message-ID longer than 998 bytes: ignored");
  }

  const std::string charset_hint = body_charset(g_mime_message_get_mime_part(message.get()));
  if (const char* raw_subject = first_raw(headers, "subject")) {
    HeaderText s = decode_header_text(raw_subject, charset_hint);
    if (s.raw_8bit) add_defect(mail, "unencoded 8-bit bytes in header Subject");
    if (s.malformed_word) add_defect(mail, "malformed encoded word in header Subject");
    if (s.replaced) add_defect(mail, "undecodable bytes in header Subject (replaced by U+FFFD)");
    if (s.text.size() > kMaxHeaderText) add_defect(mail, "Subject longer than 998 bytes: cut");
    mail.subject = std::string(utf8_prefix(s.text, kMaxHeaderText));
  }

  // From: the first mailbox that is an address (RFC 5322 allows several authors; the first is
  // the customer), else Sender, else Reply-To. A phrase without an address ("Jan Kowalski", or
  // what a parser lenient about domains reads as a local part) is only a name.
  std::vector<Mailbox> from;
  collect_mailboxes(g_mime_message_get_from(message.get()), from);
  std::string name_only;
  auto first_address = [&](const std::vector<Mailbox>& list) -> const Mailbox* {
    for (const auto& mb : list) {
      if (mailbox_address(one_line(mb.address))) return &mb;
      if (name_only.empty()) name_only = one_line(!mb.name.empty() ? mb.name : mb.address);
    }
    return nullptr;
  };
  const Mailbox* author = first_address(from);
  if (!author) {
    add_defect(mail, from.empty() ? "no From address" : "no usable address in From");
    for (const char* header_name : {"sender", "reply-to"}) {
      from = parse_addresses(parser_options.get(), first_raw(headers, header_name));
      if ((author = first_address(from))) break;
    }
  }
  if (author) {
    mail.message.sender = ascii_lower(one_line(author->address));
    std::string name = one_line(author->name);
    if (const char* raw_from = first_raw(headers, "from")) {
      bool eight_bit = false;
      for (const char* p = raw_from; *p; ++p) eight_bit |= static_cast<unsigned char>(*p) >= 0x80;
      if (eight_bit)
        if (std::string own_decoding = name_from_raw(raw_from, charset_hint); !own_decoding.empty())
          name = std::move(own_decoding);
    }
    mail.message.display_name = std::string(utf8_prefix(name, kMaxHeaderText));
  } else {
    mail.no_sender = true;
    if (name_only.empty())
      if (const char* raw_from = first_raw(headers, "from")) name_only = decode_header_text(raw_from, charset_hint).text;
    std::string_view name = trim(name_only);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    if (name == "<>") name = {};
    mail.message.display_name = std::string(utf8_prefix(one_line(name), kMaxHeaderText));
  }

  if (first_raw(headers, "date")) {
    GDateTime* date = g_mime_message_get_date(message.get());
    mail.message.sent_at = to_timestamp(date);
    if (!date) add_defect(mail, "unparseable Date header");
  }

  // Recipients, in header order: To, Cc, then the delivery headers.
  std::vector<std::string> as_written;  // the same addresses, case kept (tokens are case-sensitive)
  std::vector<std::string> to_cc;
  std::unordered_set<std::string> seen;
  auto add_recipients = [&](const std::vector<Mailbox>& list, bool addressed) {
    for (const auto& mb : list) {
      std::string address = one_line(mb.address);
      std::string lower = ascii_lower(address);
      if (lower.empty()) continue;
      if (addressed) to_cc.push_back(lower);
      if (mail.recipients.size() >= kMaxAddresses || !seen.insert(lower).second) continue;
      mail.recipients.push_back(std::move(lower));
      as_written.push_back(std::move(address));
    }
  };
  for (GMimeAddressType type : {GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC}) {
    std::vector<Mailbox> list;
    collect_mailboxes(g_mime_message_get_addresses(message.get(), type), list);
    add_recipients(list, true);
  }
  // The envelope as the delivering server recorded it: mail to an alias or in Bcc is addressed
  // to us too.
  for (const auto& h : headers)
    if (h.name == "delivered-to" || h.name == "x-original-to" || h.name == "envelope-to")
      add_recipients(parse_addresses(parser_options.get(), h.raw), true);
  {
    std::vector<Mailbox> list;
    collect_mailboxes(g_mime_message_get_addresses(message.get(), GMIME_ADDRESS_TYPE_REPLY_TO), list);
    for (const auto& mb : list)
      if (std::string a = ascii_lower(one_line(mb.address)); !a.empty() && mail.reply_to.size() < kMaxAddresses)
        mail.reply_to.push_back(std::move(a));
  }

  for (const std::string& address : as_written) {
    auto [base, detail] = split_plus_address(address);
    if (detail.empty() || detail.size() > 200 || !verp_tag(address).empty()) continue;
    if (!own.empty() && !contains(own, ascii_lower(base))) continue;
    if (!contains(mail.reply_tokens, detail)) mail.reply_tokens.push_back(detail);
  }

  {
    std::unordered_set<std::string> hint_seen;
    for (const auto& h : headers)
      if (h.name == "in-reply-to") add_references(parser_options.get(), h.raw, false, mail.thread_hints, hint_seen);
    for (const auto& h : headers)
      if (h.name == "references") add_references(parser_options.get(), h.raw, true, mail.thread_hints, hint_seen);
  }

  if (const char* raw_return_path = first_raw(headers, "return-path")) {
    mail.has_return_path = true;
    mail.return_path = bare_address(value_of(raw_return_path));
  }

  // The body.
  GMimeObject* body = g_mime_message_get_mime_part(message.get());
  Walker walker(options, mail, parser_options.get());
  Bodies bodies;
  walker.walk(body, 0, false, bodies);
  std::string report_type;
  if (body && GMIME_IS_MULTIPART(body)) {
    GMimeContentType* ct = g_mime_object_get_content_type(body);
    if (ct && lower_or(g_mime_content_type_get_media_subtype(ct), "") == "report") {
      mail.report = true;
      report_type = ascii_lower(one_line(str(g_mime_content_type_get_parameter(ct, "report-type"))));
    }
  }

  std::string plain = join(bodies.plain, "\n\n");
  mail.html = join(bodies.html, "\n");
  if (!blank(plain)) {
    mail.full_text = std::move(plain);
    mail.message.text = strip_quoted(mail.full_text);
  } else if (!mail.html.empty()) {
    mail.full_text = html_to_text(mail.html, false);
    mail.message.text = strip_quoted(html_to_text(mail.html, true));
  }
  if (mail.full_text.size() > options.max_text_bytes) {
    mail.full_text = std::string(utf8_prefix(mail.full_text, options.max_text_bytes));
    mail.message.text = std::string(utf8_prefix(mail.message.text, options.max_text_bytes));
  }
  if (walker.language.empty()) walker.language = language_tag(g_mime_object_get_header(top, "Content-Language"));
  if (!walker.language.empty()) mail.message.language = walker.language;

  MailFacts facts;
  facts.headers.reserve(headers.size());
  for (const auto& h : headers)
    if (facts.headers.size() < 200)
      facts.headers.push_back(
          HeaderLine{h.name, one_line(h.written), classifier_reads_value(h.name) ? value_of(h.raw) : std::string()});
  facts.sender = mail.message.sender;
  facts.return_path = mail.return_path;
  facts.has_return_path = mail.has_return_path;
  facts.subject = mail.subject;
  facts.text = mail.full_text;
  facts.report_type = report_type;
  facts.top_report = mail.report;
  facts.dsn_part = walker.dsn.has_value();
  facts.loop_marker = options.loop_marker;
  if (!own.empty()) {
    facts.addressed_to_us = false;
    for (const auto& address : to_cc)
      if (contains(own, address) || contains(own, split_plus_address(address).first)) facts.addressed_to_us = true;
  }
  const Classification verdict = classify_mail(facts);
  switch (verdict.verdict) {
    case Verdict::person: break;
    case Verdict::unsure: mail.automatic_unsure = verdict.reason; break;
    case Verdict::automatic:
      mail.automated = true;
      mail.automated_reason = verdict.reason;
      break;
    case Verdict::system:
      mail.automated = true;
      mail.automated_reason = verdict.reason;
      mail.system_kind = verdict.system_kind;
      mail.system_reason = verdict.reason;
      break;
  }

  auto tag_from_recipients = [&] {
    for (const auto& r : mail.recipients)
      if (std::string tag = verp_tag(r); !tag.empty()) return tag;
    return std::string();
  };
  if (mail.system_kind == "bounce") {
    // What the report says: the structured part of a DSN, else what can be found in the text of
    // an old MTA's bounce (protocols/email.md).
    Bounce b = walker.dsn ? std::move(*walker.dsn) : Bounce{};
    if (!walker.dsn) {
      std::vector<std::string> ignore = own;
      ignore.push_back(mail.message.sender);
      for (const auto& r : mail.recipients) ignore.push_back(r);
      scan_text_bounce(mail.full_text, ignore, b);
    }
    if (!walker.attached_ids.empty()) b.original_message_id = walker.attached_ids.front();
    if (b.original_message_id.empty() && !mail.thread_hints.empty())
      b.original_message_id = mail.thread_hints.front();  // some MTAs answer In-Reply-To the original
    if (b.action.empty()) b.action = "failed";
    if (b.action != "failed") mail.system_kind = "delivery_report";
    b.verp_tag = tag_from_recipients();
    mail.bounce = true;
    mail.bounce_info = std::move(b);
  }

  finish_message(mail, raw, options);
  return mail;
}

}  // namespace switchboard::channels::email
