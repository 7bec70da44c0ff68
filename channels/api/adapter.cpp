// The api channel: bearer-token inbound webhooks and HMAC-signed outbound callbacks.
#include "channels/api/adapter.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include <algorithm>
#include <boost/json.hpp>

#include "channels/http_client.hpp"
#include "routing/text/utf8.hpp"
#include "channels/identity.hpp"
#include "channels/retry.hpp"
#include "channels/signed_post.hpp"
#include "routing/core/log.hpp"

namespace switchboard::channels::api {

namespace json = boost::json;

namespace {

Error invalid(std::string code, std::string message) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message));
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// A string member: nullptr when absent or null; an error text when of another type.
Result<const json::string*> optional_string(const json::object& o, std::string_view key, std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return static_cast<const json::string*>(nullptr);
  if (!v->is_string()) return invalid("invalid_field", "'" + std::string(path) + "' must be a string");
  const json::string& s = v->get_string();
  if (has_nul(std::string_view(s.data(), s.size())))
    return invalid("invalid_field", "'" + std::string(path) + "' contains a NUL character");
  return &s;
}

std::string to_std(const json::string* s) { return s ? std::string(s->data(), s->size()) : std::string(); }

bool valid_language(std::string_view s) {
  if (s.empty() || s.size() > 35) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

bool valid_utf8(std::string_view text) { return routing::is_valid_utf8(text); }

namespace {

Result<json::value> parse_body(std::string_view body) {
  if (!valid_utf8(body)) return invalid("invalid_utf8", "request body is not valid UTF-8");
  json::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return invalid("invalid_json", "request body is not valid JSON: " + ec.message());
  if (!root.is_object()) return invalid("invalid_json", "request body must be a JSON object");
  return root;
}

Result<InboundMessage> message_from(const json::object& o, std::string_view account, Timestamp now,
                                    std::string_view default_region) {
  InboundMessage m;
  m.channel = Channel::api;
  m.account = std::string(account);

  auto external_id = optional_string(o, "external_id", "external_id");
  if (!external_id) return external_id.error();
  if (!*external_id) return invalid("missing_field", "'external_id' is required");
  m.external_id = to_std(*external_id);
  if (m.external_id.empty() || m.external_id.size() > 255)
    return invalid("invalid_field", "'external_id' must be 1 to 255 bytes");

  const json::value* from = o.if_contains("from");
  if (!from || from->is_null()) return invalid("missing_field", "'from' is required");
  if (!from->is_object()) return invalid("invalid_field", "'from' must be an object");
  auto address = optional_string(from->get_object(), "address", "from.address");
  if (!address) return address.error();
  if (!*address) return invalid("missing_field", "'from.address' is required");
  m.sender = to_std(*address);
  if (m.sender.empty() || m.sender.size() > 320)
    return invalid("invalid_field", "'from.address' must be 1 to 320 bytes");
  auto name = optional_string(from->get_object(), "name", "from.name");
  if (!name) return name.error();
  m.display_name = to_std(*name);

  auto text = optional_string(o, "text", "text");
  if (!text) return text.error();
  if (!*text) return invalid("missing_field", "'text' is required");
  m.text = to_std(*text);

  if (const json::value* a = o.if_contains("attachments"); a && !a->is_null()) {
    if (!a->is_array()) return invalid("invalid_field", "'attachments' must be an array");
    for (std::size_t i = 0; i < a->get_array().size(); ++i) {
      const json::value& item = a->get_array()[i];
      std::string path = "attachments[" + std::to_string(i) + "]";
      if (!item.is_object()) return invalid("invalid_field", "'" + path + "' must be an object");
      const json::object& ao = item.get_object();
      Attachment att;
      auto url = optional_string(ao, "url", path + ".url");
      if (!url) return url.error();
      if (!*url || (*url)->empty()) return invalid("missing_field", "'" + path + ".url' is required");
      att.url = to_std(*url);
      auto mime = optional_string(ao, "mime_type", path + ".mime_type");
      if (!mime) return mime.error();
      att.mime_type = to_std(*mime);
      auto aname = optional_string(ao, "name", path + ".name");
      if (!aname) return aname.error();
      att.name = to_std(*aname);
      if (const json::value* size = ao.if_contains("size"); size && !size->is_null()) {
        if (size->is_int64() && size->get_int64() >= 0) {
          att.size = size->get_int64();
        } else if (size->is_uint64()) {
          return invalid("invalid_field", "'" + path + ".size' is too large");
        } else {
          return invalid("invalid_field", "'" + path + ".size' must be a non-negative integer");
        }
      }
      m.attachments.push_back(std::move(att));
    }
  }
  if (m.text.empty() && m.attachments.empty())
    return invalid("invalid_field", "'text' may be empty only when attachments are present");

  auto sent_at = optional_string(o, "sent_at", "sent_at");
  if (!sent_at) return sent_at.error();
  if (*sent_at) {
    auto t = parse_rfc3339(to_std(*sent_at));
    if (!t) return invalid("invalid_field", "'sent_at' must be an RFC 3339 time with an offset");
    m.sent_at = *t;
  } else {
    m.sent_at = now;
  }

  auto language = optional_string(o, "language", "language");
  if (!language) return language.error();
  if (*language) {
    std::string lang = to_std(*language);
    if (!valid_language(lang)) return invalid("invalid_field", "'language' must be a language tag such as 'pl'");
    m.language = std::move(lang);
  }

  m.identities.push_back(identity_for_address(m.sender, m.account, default_region));
  return m;
}

}  // namespace

Result<InboundMessage> parse_inbound_json(std::string_view body, std::string_view account, Timestamp now,
                                          std::string_view default_region) {
  auto root = parse_body(body);
  if (!root) return root.error();
  return message_from(root->get_object(), account, now, default_region);
}

ApiAdapter::ApiAdapter(Options options, const Clock& clock) : options_(std::move(options)), clock_(clock) {
  for (const auto& account : options_.accounts)
    for (const auto& token : account.tokens) tokens_.add(account.name, token);
}

Posture ApiAdapter::posture() const {
  return Posture{options_.max_body_bytes, "bearer token per account (SHA-256 digests, constant-time compare)"};
}

Result<std::vector<InboundEvent>> ApiAdapter::parse_webhook(const HttpRequest& request) {
  auto owners = tokens_.owners(request);
  if (!owners) return owners.error();
  const std::vector<std::string>& accounts = *owners;

  auto root = parse_body(request.body);
  if (!root) return root.error();
  const json::object& o = root->get_object();

  // The account named in the body decides; it must be one the token belongs to.
  std::string account;
  if (const json::value* a = o.if_contains("account"); a && !a->is_null()) {
    if (!a->is_string()) return invalid("invalid_field", "'account' must be a string");
    account = std::string(a->get_string().data(), a->get_string().size());
    if (std::find(accounts.begin(), accounts.end(), account) == accounts.end())
      return make_error(ErrorKind::forbidden, "account_forbidden",
                        "the token is not valid for account '" + account + "'");
  }
  if (account.empty()) {
    if (accounts.size() > 1)
      return invalid("missing_field", "'account' is required: the token belongs to several accounts");
    account = accounts.front();
  }

  auto message = message_from(o, account, clock_.now(), options_.default_region);
  if (!message) return message.error();
  return std::vector<InboundEvent>{std::move(*message)};
}

std::string callback_signature(std::string_view secret, std::string_view body) { return body_signature(secret, body); }

namespace {

constexpr std::size_t kMaxCallbackSecrets = 2;

// {"delivery_id", "message_id", "conversation_id", "account", "to", "text"}, plus "in_reply_to",
// "author" and "template" copied from the outbox payload when present (and not null or "").
Result<std::string> callback_body(const OutboundMessage& m) {
  json::object body;
  body["delivery_id"] = m.outbox_id;
  body["message_id"] = m.message_id;
  body["conversation_id"] = m.conversation_id;
  body["account"] = m.account;
  body["to"] = m.recipient;
  body["text"] = m.text;
  for (const auto& [key, value] : {std::pair{"in_reply_to", &m.payload.in_reply_to},
                                   {"author", &m.payload.author},
                                   {"template", &m.payload.template_name}})
    if (!value->empty()) body[key] = *value;
  return json::serialize(body);
}

// The receiver's id for the delivery: {"id": "..."} or {"id": 123}; anything else is no id.
}  // namespace

Status validate_callback(const Account& account) {
  const std::string where = "channels.api.accounts." + account.name;
  auto fail = [&](std::string message) {
    return make_error(ErrorKind::config, "invalid_callback", std::move(message), where);
  };
  if (account.callback_url.empty()) {
    if (!account.callback_secrets.empty()) return fail("'callback_secrets' is set but 'callback_url' is not");
    return Ok{};
  }
  if (!http_url(account.callback_url)) return fail("'callback_url' must be an http:// or https:// URL");
  if (account.callback_secrets.empty()) return fail("'callback_url' needs 'callback_secrets' (one or two)");
  if (account.callback_secrets.size() > kMaxCallbackSecrets)
    return fail("'callback_secrets' takes at most two secrets (the current one and the next)");
  for (const auto& secret : account.callback_secrets)
    if (secret.empty()) return fail("'callback_secrets' must not contain an empty secret");
  if (account.callback_timeout <= Duration::zero()) return fail("'callback_timeout' must be positive");
  return Ok{};
}

SendResult ApiAdapter::send(const OutboundMessage& message) {
  const auto it = std::find_if(options_.accounts.begin(), options_.accounts.end(),
                               [&](const Account& a) { return a.name == message.account; });
  if (it == options_.accounts.end() || it->callback_url.empty())
    return send_error(SendFailure::permanent, "no_callback",
                      "account '" + message.account + "' has no callback URL configured");
  const Account& account = *it;
  if (account.callback_secrets.empty() || account.callback_secrets.front().empty())
    return send_error(SendFailure::permanent, "no_callback_secret",
                      "account '" + message.account + "' has no callback secret configured");
  if (!http_url(account.callback_url))
    return send_error(SendFailure::permanent, "invalid_callback_url",
                      "the callback URL of account '" + message.account + "' is not an http:// or https:// URL");

  auto body = callback_body(message);
  if (!body) return body.error();

  return post_signed(SignedPost{.url = account.callback_url,
                                 .secret = account.callback_secrets.front(),
                                 .delivery_id = message.outbox_id,
                                 .body = std::move(*body),
                                 .timeout = account.callback_timeout,
                                 .channel = "api",
                                 .account = message.account});
}

}  // namespace switchboard::channels::api
