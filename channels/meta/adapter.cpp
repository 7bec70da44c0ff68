// The meta channel: Messenger and WhatsApp Cloud API webhooks (verification and signed POSTs).
#include "channels/meta/adapter.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>

#include "channels/identity.hpp"
#include "channels/retry.hpp"
#include "channels/tokens.hpp"

namespace switchboard::channels::meta {

namespace json = boost::json;

namespace {

constexpr std::string_view kSignatureHeader = "X-Hub-Signature-256";
constexpr std::string_view kSignaturePrefix = "sha256=";
constexpr std::size_t kDigestBytes = 32;

Error bad_signature(std::string message) {
  return make_error(ErrorKind::forbidden, "bad_signature", std::move(message));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 2*n hex digits (any case) -> n bytes; nullopt when not exactly that.
std::optional<std::string> decode_hex(std::string_view hex, std::size_t bytes) {
  if (hex.size() != 2 * bytes) return std::nullopt;
  std::string out(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>((hi << 4) | lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// --- JSON helpers: every accessor tolerates absence and wrong types ---

const json::object* object_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

// A string member, or an integer member written in decimal (ids are sometimes numbers); "" otherwise.
std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return {};
  if (v->is_string()) return std::string(v->get_string().data(), v->get_string().size());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

std::optional<std::int64_t> integer_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

// Platform times outside 1970..9999 are unreadable (Timestamp{}): converting them would overflow.
constexpr std::int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

Timestamp from_millis(std::int64_t ms) {
  if (ms < 0 || ms / 1000 > kMaxSeconds) return Timestamp{};
  return Timestamp{std::chrono::milliseconds{ms}};
}

// WhatsApp timestamps: a string of Unix seconds. Timestamp{} when unreadable.
Timestamp from_seconds_string(std::string_view s) {
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return Timestamp{};
  if (seconds < 0 || seconds > kMaxSeconds) return Timestamp{};
  return Timestamp{std::chrono::seconds{seconds}};
}

// --- Messenger ---

void messenger_event(const json::object& event, const std::string& page, std::vector<InboundEvent>& out) {
  const json::object* sender = object_at(event, "sender");
  const json::object* recipient = object_at(event, "recipient");
  std::string sender_id = sender ? string_at(*sender, "id") : std::string();
  std::string recipient_id = recipient ? string_at(*recipient, "id") : std::string();
  Timestamp at = from_millis(integer_at(event, "timestamp").value_or(0));

  if (const json::object* message = object_at(event, "message")) {
    InboundMessage m;
    m.channel = Channel::messenger;
    m.account = page;
    m.external_id = string_at(*message, "mid");
    m.sender = sender_id;
    m.text = string_at(*message, "text");
    m.sent_at = at;
    if (const json::array* attachments = array_at(*message, "attachments")) {
      for (const json::value& a : *attachments) {
        if (!a.is_object()) continue;
        const json::object* payload = object_at(a.get_object(), "payload");
        std::string url = payload ? string_at(*payload, "url") : std::string();
        if (url.empty()) continue;  // e.g. a "fallback" link share without a payload
        m.attachments.push_back(Attachment{url, string_at(a.get_object(), "type"), "", std::nullopt});
      }
    }
    const json::value* echo = message->if_contains("is_echo");
    const bool is_echo = echo && echo->is_bool() && echo->get_bool();
    const std::string& customer = is_echo ? recipient_id : sender_id;
    if (m.external_id.empty() || customer.empty() || m.sender.empty()) return;
    if (m.text.empty() && m.attachments.empty()) return;
    m.identities.push_back(Identity{IdentityKind::messenger_psid, customer});
    if (is_echo) {
      std::string metadata = string_at(*message, "metadata");
      const bool ours = metadata.rfind(kOutboxMark, 0) == 0;  // set by send.cpp
      out.emplace_back(Echo{std::move(m), string_at(*message, "app_id"), std::move(metadata), ours});
    } else {
      out.emplace_back(std::move(m));
    }
    return;
  }

  if (const json::object* postback = object_at(event, "postback")) {
    if (sender_id.empty()) return;
    InboundMessage m;
    m.channel = Channel::messenger;
    m.account = page;
    m.external_id = string_at(*postback, "mid");
    // Older postbacks carry no mid: a key derived from the event stays stable across retries.
    if (m.external_id.empty())
      m.external_id = "postback:" + sender_id + ":" + std::to_string(integer_at(event, "timestamp").value_or(0));
    m.sender = sender_id;
    m.identities.push_back(Identity{IdentityKind::messenger_psid, sender_id});
    m.text = string_at(*postback, "title");
    if (m.text.empty()) m.text = string_at(*postback, "payload");
    m.sent_at = at;
    if (m.text.empty()) return;
    out.emplace_back(std::move(m));
    return;
  }

  auto status = [&](std::string external_id, std::string name, Timestamp when) {
    DeliveryStatus s;
    s.channel = Channel::messenger;
    s.account = page;
    s.external_id = std::move(external_id);
    s.status = std::move(name);
    s.at = when;
    s.recipient = sender_id;  // receipts come from the customer
    out.emplace_back(std::move(s));
  };
  if (const json::object* delivery = object_at(event, "delivery")) {
    bool any = false;
    if (const json::array* mids = array_at(*delivery, "mids")) {
      for (const json::value& mid : *mids) {
        if (!mid.is_string() || mid.get_string().empty()) continue;
        status(std::string(mid.get_string().data(), mid.get_string().size()), "delivered", at);
        any = true;
      }
    }
    if (!any) {
      if (auto watermark = integer_at(*delivery, "watermark")) status("", "delivered", from_millis(*watermark));
    }
    return;
  }
  if (const json::object* read = object_at(event, "read")) {
    if (auto watermark = integer_at(*read, "watermark")) status("", "read", from_millis(*watermark));
  }
}

void parse_messenger(const json::object& root, std::vector<InboundEvent>& out) {
  const json::array* entries = array_at(root, "entry");
  if (!entries) return;
  for (const json::value& e : *entries) {
    if (!e.is_object()) continue;
    std::string page = string_at(e.get_object(), "id");
    const json::array* messaging = array_at(e.get_object(), "messaging");
    if (page.empty() || !messaging) continue;
    for (const json::value& event : *messaging)
      if (event.is_object()) messenger_event(event.get_object(), page, out);
  }
}

// --- WhatsApp ---

Attachment media_attachment(const json::object& media) {
  Attachment a;
  a.url = string_at(media, "url");
  if (a.url.empty()) {
    std::string id = string_at(media, "id");
    if (!id.empty()) a.url = "whatsapp-media:" + id;
  }
  a.mime_type = string_at(media, "mime_type");
  a.name = string_at(media, "filename");
  return a;
}

// Fills text and attachments from the message's type object; false when nothing usable.
bool whatsapp_content(const json::object& message, InboundMessage& m) {
  const std::string type = string_at(message, "type");
  const json::object* body = object_at(message, type);
  if (!body) return false;
  if (type == "text") {
    m.text = string_at(*body, "body");
  } else if (type == "image" || type == "video" || type == "sticker" || type == "audio" || type == "document") {
    Attachment a = media_attachment(*body);
    if (a.url.empty()) return false;
    m.attachments.push_back(std::move(a));
    m.text = string_at(*body, "caption");
  } else if (type == "interactive") {
    for (std::string_view reply : {"button_reply", "list_reply"})
      if (const json::object* r = object_at(*body, reply); r && m.text.empty()) m.text = string_at(*r, "title");
  } else if (type == "button") {
    m.text = string_at(*body, "text");
  } else if (type == "location") {
    std::string name = string_at(*body, "name");
    std::string address = string_at(*body, "address");
    m.text = name;
    if (!name.empty() && !address.empty()) m.text += "\n";
    m.text += address;
  } else {
    return false;  // reaction, contacts, system, unsupported, ...: not routed
  }
  return !m.text.empty() || !m.attachments.empty();
}

void whatsapp_value(const json::object& value, std::vector<InboundEvent>& out) {
  const json::object* metadata = object_at(value, "metadata");
  std::string account = metadata ? string_at(*metadata, "phone_number_id") : std::string();
  if (account.empty()) return;

  std::map<std::string, std::string> names;  // wa_id or BSUID -> profile name
  if (const json::array* contacts = array_at(value, "contacts")) {
    for (const json::value& c : *contacts) {
      if (!c.is_object()) continue;
      const json::object* profile = object_at(c.get_object(), "profile");
      std::string name = profile ? string_at(*profile, "name") : std::string();
      if (name.empty()) continue;
      for (std::string_view key : {"wa_id", "user_id"})
        if (std::string id = string_at(c.get_object(), key); !id.empty()) names.emplace(id, name);
    }
  }

  if (const json::array* messages = array_at(value, "messages")) {
    for (const json::value& v : *messages) {
      if (!v.is_object()) continue;
      const json::object& message = v.get_object();
      InboundMessage m;
      m.channel = Channel::whatsapp;
      m.account = account;
      m.external_id = string_at(message, "id");
      if (m.external_id.empty()) continue;
      const std::string from = string_at(message, "from");
      const std::string user_id = string_at(message, "from_user_id");
      if (!from.empty()) {
        if (auto phone = normalize_phone("+" + from)) m.identities.push_back(Identity{IdentityKind::phone, *phone});
      }
      if (!user_id.empty()) m.identities.push_back(Identity{IdentityKind::whatsapp_user, user_id});
      if (m.identities.empty()) continue;
      m.sender = from.empty() ? user_id : from;
      if (auto it = names.find(from); !from.empty() && it != names.end())
        m.display_name = it->second;
      else if (auto it2 = names.find(user_id); !user_id.empty() && it2 != names.end())
        m.display_name = it2->second;
      m.sent_at = from_seconds_string(string_at(message, "timestamp"));
      if (!whatsapp_content(message, m)) continue;
      out.emplace_back(std::move(m));
    }
  }

  if (const json::array* statuses = array_at(value, "statuses")) {
    for (const json::value& v : *statuses) {
      if (!v.is_object()) continue;
      const json::object& st = v.get_object();
      DeliveryStatus s;
      s.channel = Channel::whatsapp;
      s.account = account;
      s.external_id = string_at(st, "id");
      s.status = string_at(st, "status");
      if (s.external_id.empty()) continue;
      if (s.status != "sent" && s.status != "delivered" && s.status != "read" && s.status != "failed") continue;
      s.at = from_seconds_string(string_at(st, "timestamp"));
      if (const json::array* errors = array_at(st, "errors")) {
        for (const json::value& e : *errors) {
          if (!e.is_object()) continue;
          std::string code = string_at(e.get_object(), "code");
          std::string title = string_at(e.get_object(), "title");
          s.error = code.empty() ? title : title.empty() ? code : code + " " + title;
          // A free-form reply outside the 24-hour window: the same outcome as the window check
          // before sending (channels/meta/send.cpp).
          if (s.status == "failed" && code == "131047") s.status = "blocked";
          break;
        }
      }
      out.emplace_back(std::move(s));
    }
  }
}

void parse_whatsapp(const json::object& root, std::vector<InboundEvent>& out) {
  const json::array* entries = array_at(root, "entry");
  if (!entries) return;
  for (const json::value& e : *entries) {
    if (!e.is_object()) continue;
    const json::array* changes = array_at(e.get_object(), "changes");
    if (!changes) continue;
    for (const json::value& c : *changes) {
      if (!c.is_object() || string_at(c.get_object(), "field") != "messages") continue;
      if (const json::object* value = object_at(c.get_object(), "value")) whatsapp_value(*value, out);
    }
  }
}

}  // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    if (!key || *key != name) continue;
    return percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
  }
  return std::nullopt;
}

Status check_signature(const std::string* header, std::string_view body, const std::vector<std::string>& secrets) {
  if (!header) return bad_signature("the X-Hub-Signature-256 header is missing");
  std::string_view value(*header);
  if (value.substr(0, kSignaturePrefix.size()) != kSignaturePrefix)
    return bad_signature("the X-Hub-Signature-256 header must be 'sha256=<hex>'");
  auto expected = decode_hex(value.substr(kSignaturePrefix.size()), kDigestBytes);
  if (!expected) return bad_signature("the X-Hub-Signature-256 header must be 'sha256=' and 64 hex digits");
  bool matched = false;
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length) ||
        length != kDigestBytes)
      continue;
    // Every secret is tried: the time taken does not tell which one matched.
    matched |= CRYPTO_memcmp(digest, expected->data(), kDigestBytes) == 0;
  }
  if (!matched) return bad_signature("the X-Hub-Signature-256 signature does not match the body");
  return Ok{};
}

Result<std::vector<InboundEvent>> parse_payload(std::string_view body) {
  json::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return make_error(ErrorKind::invalid, "invalid_json", "request body is not valid JSON: " + ec.message());
  if (!root.is_object()) return make_error(ErrorKind::invalid, "invalid_json", "request body must be a JSON object");
  std::vector<InboundEvent> events;
  const std::string object = string_at(root.get_object(), "object");
  if (object == "page")
    parse_messenger(root.get_object(), events);
  else if (object == "whatsapp_business_account")
    parse_whatsapp(root.get_object(), events);
  return events;
}

MetaAdapter::MetaAdapter(Options options, const Clock& clock) : options_(std::move(options)), clock_(clock) {
  if (!options_.verify_token.empty()) verify_digest_ = sha256(options_.verify_token);
}

Posture MetaAdapter::posture() const {
  return Posture{options_.max_body_bytes, "X-Hub-Signature-256 (HMAC-SHA256 of the raw body, app secret)"};
}

HttpResponse MetaAdapter::verify(const HttpRequest& request) const {
  auto refuse = [] { return error_response(403, "verification_failed", "webhook verification failed"); };
  if (verify_digest_.empty()) return refuse();
  auto mode = query_param(request.query, "hub.mode");
  auto token = query_param(request.query, "hub.verify_token");
  auto challenge = query_param(request.query, "hub.challenge");
  if (!mode || *mode != "subscribe" || !token || !challenge || challenge->empty()) return refuse();
  const std::string digest = sha256(*token);
  if (CRYPTO_memcmp(digest.data(), verify_digest_.data(), digest.size()) != 0) return refuse();
  HttpResponse response;
  response.status = 200;
  response.content_type = "text/plain";
  response.body = std::move(*challenge);
  return response;
}

Result<std::vector<InboundEvent>> MetaAdapter::parse_webhook(const HttpRequest& request) {
  if (request.body.size() > options_.max_body_bytes)
    return make_error(ErrorKind::too_large, "body_too_large", "request body exceeds the meta channel's limit");
  auto signature = check_signature(request.header(kSignatureHeader), request.body, options_.app_secrets);
  if (!signature) return signature.error();
  return parse_payload(request.body);
}

}  // namespace switchboard::channels::meta
