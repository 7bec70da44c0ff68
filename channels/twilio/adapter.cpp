// The twilio channel: signed SMS and status webhooks in, the Messages API out.
#include "channels/twilio/adapter.hpp"

#include <strings.h>
#include <time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <set>

#include "channels/http_client.hpp"
#include "channels/identity.hpp"
#include "channels/retry.hpp"
#include "channels/tokens.hpp"
#include "routing/text/sms.hpp"

namespace switchboard::channels::twilio {

namespace json = boost::json;

namespace {

constexpr std::string_view kSignatureHeader = "X-Twilio-Signature";
// Twilio sends at most 10 media per MMS; a forged-but-signed NumMedia cannot make us loop long.
constexpr int kMaxMedia = 100;

enum class BodyKind { form, json };

Error forbidden(std::string code, std::string message) {
  return make_error(ErrorKind::forbidden, std::move(code), std::move(message));
}

Error invalid(std::string code, std::string message) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message));
}

std::string_view trim(std::string_view s, std::string_view space = " \t") {
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string upper_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// The media type before any parameters ("; charset=utf-8"), any case.
std::optional<BodyKind> body_kind(std::string_view content_type) {
  const std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  if (equal_nocase(media, "application/x-www-form-urlencoded")) return BodyKind::form;
  if (equal_nocase(media, "application/json")) return BodyKind::json;
  return std::nullopt;
}

// The top-level scalar members of a JSON object as parameters, so that JSON webhooks share the
// form's field extraction.
Result<Params> json_params(std::string_view body) {
  json::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return invalid("invalid_json", "request body is not valid JSON: " + ec.message());
  if (!root.is_object()) return invalid("invalid_json", "request body must be a JSON object");
  Params params;
  for (const auto& member : root.get_object()) {
    const json::value& v = member.value();
    std::string value;
    if (v.is_string())
      value.assign(v.get_string().data(), v.get_string().size());
    else if (v.is_int64())
      value = std::to_string(v.get_int64());
    else if (v.is_uint64())
      value = std::to_string(v.get_uint64());
    else if (v.is_bool())
      value = v.get_bool() ? "true" : "false";
    else if (v.is_double())
      value = json::serialize(v);
    else
      continue;
    params.emplace_back(std::string(member.key()), std::move(value));
  }
  return params;
}

Result<Params> body_params(std::string_view content_type, std::string_view body) {
  const auto kind = body_kind(content_type);
  if (!kind)
    return invalid("unsupported_content_type",
                   "twilio webhooks must be application/x-www-form-urlencoded or application/json");
  return *kind == BodyKind::form ? parse_form(body) : json_params(body);
}

std::string param(const Params& params, std::string_view name) {
  const std::string* v = find_param(params, name);
  return v ? *v : std::string();
}

std::optional<int> small_int(std::string_view s) {
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return n;
}

// Twilio's default opt-out and opt-in keywords (long codes, without Advanced Opt-Out).
std::optional<bool> keyword_opt_out(std::string_view body) {
  const std::string word = upper_ascii(trim(body, " \t\r\n"));
  for (std::string_view k : {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
    if (word == k) return true;
  for (std::string_view k : {"START", "YES", "UNSTOP"})
    if (word == k) return false;
  return std::nullopt;
}

std::string delivery_error(std::string_view code) {
  static const std::pair<std::string_view, std::string_view> kMeanings[] = {
      {"30003", "unreachable handset"},
      {"30004", "message blocked"},
      {"30005", "unknown destination"},
      {"30006", "landline or unreachable carrier"},
      {"30007", "carrier filtering"},
      {"30008", "unknown error"},
  };
  for (const auto& [c, meaning] : kMeanings)
    if (code == c) return std::string(c) + " " + std::string(meaning);
  return std::string(code);
}

void sms_events(const std::string& account, const Params& params, std::string_view default_region,
                std::vector<InboundEvent>& out) {
  InboundMessage m;
  m.channel = Channel::sms;
  m.account = account;
  m.external_id = param(params, "MessageSid");
  m.sender = param(params, "From");
  m.text = param(params, "Body");
  if (auto phone = normalize_phone(m.sender, default_region))
    m.identities.push_back(Identity{IdentityKind::phone, *phone});
  else
    // An alphanumeric sender or a short code: no reply can reach it, but its messages still
    // belong together, and never to the api channel's customers.
    m.identities.push_back(Identity{IdentityKind::api, "sms:" + account + ":" + m.sender});
  const int media = std::clamp(small_int(param(params, "NumMedia")).value_or(0), 0, kMaxMedia);
  for (int i = 0; i < media; ++i) {
    const std::string n = std::to_string(i);
    std::string url = param(params, "MediaUrl" + n);
    if (url.empty()) continue;
    m.attachments.push_back(Attachment{std::move(url), param(params, "MediaContentType" + n), "", std::nullopt});
  }

  std::optional<bool> opted_out;
  if (const std::string* type = find_param(params, "OptOutType")) {
    // Advanced Opt-Out decided already (possibly on localised keywords): trust it, not the Body.
    const std::string t = upper_ascii(*type);
    if (t == "STOP") opted_out = true;
    if (t == "START") opted_out = false;
  } else {
    opted_out = keyword_opt_out(m.text);
  }
  const Identity identity = m.identities.front();
  out.emplace_back(std::move(m));
  if (opted_out) out.emplace_back(OptOut{Channel::sms, account, identity, *opted_out});
}

void status_events(const std::string& account, const Params& params, std::vector<InboundEvent>& out) {
  const std::string status = param(params, "MessageStatus");
  DeliveryStatus s;
  s.channel = Channel::sms;
  s.account = account;
  s.external_id = param(params, "MessageSid");
  if (status == "sent" || status == "delivered" || status == "read") {
    s.status = status;
  } else if (status == "failed" || status == "undelivered") {
    s.status = "failed";
    const std::string code = param(params, "ErrorCode");
    s.error = code.empty() ? status : delivery_error(code);
  } else {
    return;  // queued, sending, accepted, ...: nothing the conversation needs
  }
  out.emplace_back(std::move(s));
}

struct TwilioError {
  int status = 0;
  std::optional<std::int64_t> code;
  std::string text;
};

TwilioError read_error(const HttpClientResponse& response) {
  TwilioError e;
  e.status = response.status;
  json::error_code ec;
  json::value v = json::parse(response.body, ec);
  if (ec || !v.is_object()) return e;
  const json::object& o = v.get_object();
  if (const json::value* c = o.if_contains("code")) {
    if (c->is_int64())
      e.code = c->get_int64();
    else if (c->is_uint64() && c->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      e.code = static_cast<std::int64_t>(c->get_uint64());
    else if (c->is_string())
      if (auto n = small_int(std::string_view(c->get_string().data(), c->get_string().size()))) e.code = *n;
  }
  if (const json::value* m = o.if_contains("message"); m && m->is_string())
    e.text.assign(m->get_string().data(), m->get_string().size());
  return e;
}

SendResult send_failure(const TwilioError& e) {
  std::string message = "twilio answered " + std::to_string(e.status);
  if (e.code) message += ", error " + std::to_string(*e.code);
  if (!e.text.empty()) message += ": " + e.text;
  const std::int64_t code = e.code.value_or(0);
  if (code == 21610) return {SendOutcome::opted_out, forbidden("opted_out", std::move(message))};
  if (code == 20003 || e.status == 401)
    return {SendOutcome::credentials_rejected, make_error(ErrorKind::config, "invalid_credentials", std::move(message))};
  if (code == 20429 || e.status == 429 || e.status == 408 || e.status >= 500)
    return send_error(SendFailure::retryable, "twilio_unavailable", std::move(message));
  if (code == 21211 || code == 21614) return invalid("invalid_recipient", std::move(message));
  if (code == 21408) return forbidden("region_not_enabled", std::move(message));
  return invalid("twilio_error", std::move(message));
}

std::string sid_of(const HttpClientResponse& response) {
  if (response.truncated) return {};
  json::error_code ec;
  json::value v = json::parse(response.body, ec);
  if (ec || !v.is_object()) return {};
  const json::value* sid = v.get_object().if_contains("sid");
  if (!sid || !sid->is_string()) return {};
  return std::string(sid->get_string().data(), sid->get_string().size());
}

// A URL path segment or query value: the form encoding never leaves '/', '?', '&' or '#' raw.
std::string url_component(std::string_view s) {
  std::string encoded = form_encode({{"", std::string(s)}});
  encoded.erase(0, 1);  // "=value"
  std::string out;
  for (char c : encoded) out += c == '+' ? std::string("%20") : std::string(1, c);
  return out;
}

bool http_scheme(std::string_view url) {
  return (url.size() > 8 && ::strncasecmp(url.data(), "https://", 8) == 0) ||
         (url.size() > 7 && ::strncasecmp(url.data(), "http://", 7) == 0);
}

}  // namespace

Status validate(const Options& options) {
  auto bad = [](std::string message) {
    return make_error(ErrorKind::config, "invalid_twilio_options", std::move(message));
  };
  if (!http_scheme(options.public_url)) return bad("public_url must be an http:// or https:// URL");
  if (options.public_url.back() == '/') return bad("public_url must not end with '/'");
  if (!http_scheme(options.api_base_url)) return bad("api_base_url must be an http:// or https:// URL");
  if (options.accounts.empty()) return bad("at least one twilio account is required");
  std::set<std::string> names, sids;
  for (const Account& a : options.accounts) {
    if (a.name.empty()) return bad("an account has no name");
    if (!names.insert(a.name).second) return bad("account '" + a.name + "' is configured twice");
    if (a.account_sid.empty()) return bad("account '" + a.name + "' has no account_sid");
    if (!sids.insert(a.account_sid).second) return bad("account_sid of '" + a.name + "' is used by another account");
    if (a.auth_tokens.empty() || a.auth_tokens.front().empty())
      return bad("account '" + a.name + "' has no auth token");
    if (a.from.empty() == a.messaging_service_sid.empty())
      return bad("account '" + a.name + "' needs exactly one of from and messaging_service_sid");
  }
  return Ok{};
}

struct TwilioAdapter::Checked {
  const Account* account = nullptr;
  Params params;
};

TwilioAdapter::TwilioAdapter(Options options) : options_(std::move(options)) {}

Posture TwilioAdapter::posture() const {
  return Posture{options_.max_body_bytes,
                 "X-Twilio-Signature (HMAC-SHA1 of the public URL and sorted form parameters, auth token of the "
                 "AccountSid)"};
}

const Account* TwilioAdapter::account_by_sid(std::string_view sid) const {
  for (const Account& a : options_.accounts)
    if (!sid.empty() && a.account_sid == sid) return &a;
  return nullptr;
}

const Account* TwilioAdapter::account_by_name(std::string_view name) const {
  for (const Account& a : options_.accounts)
    if (!name.empty() && a.name == name) return &a;
  return nullptr;
}

Result<TwilioAdapter::Checked> TwilioAdapter::check(const HttpRequest& request) const {
  if (request.body.size() > options_.max_body_bytes)
    return make_error(ErrorKind::too_large, "body_too_large", "request body exceeds the twilio channel's limit");
  const std::string* content_type = request.header("Content-Type");
  const std::string_view type = content_type ? std::string_view(*content_type) : std::string_view();
  auto params = body_params(type, request.body);
  if (!params) return params.error();
  const bool is_json = body_kind(type) == BodyKind::json;

  // A malformed query cannot be signed by Twilio either: it only loses the fallbacks below.
  auto query = parse_form(request.query);
  const Params no_params;
  const Params& query_params = query ? *query : no_params;

  const Account* account = nullptr;
  if (const std::string* sid = find_param(*params, "AccountSid"))
    account = account_by_sid(*sid);
  else if (const std::string* name = find_param(query_params, "account"))
    account = account_by_name(*name);
  if (!account) return forbidden("unknown_account", "the request's AccountSid is not a configured twilio account");

  const std::string* header = request.header(kSignatureHeader);
  if (!header) return forbidden("bad_signature", "the X-Twilio-Signature header is missing");
  std::string url = options_.public_url;
  if (!request.target.empty())
    url += request.target;
  else
    url += request.query.empty() ? request.path : request.path + "?" + request.query;
  const Params& signed_params = is_json ? no_params : *params;
  if (!signature_matches(*header, url, signed_params, account->auth_tokens)) {
    // Which URLs were tried: a public_url that is not what Twilio requests shows here.
    std::string tried;
    for (const std::string& variant : url_variants(url)) tried += (tried.empty() ? "" : " or ") + variant;
    return forbidden("bad_signature",
                     "the X-Twilio-Signature signature does not match the request signed for " + tried);
  }
  if (is_json) {
    const std::string* hash = find_param(query_params, "bodySHA256");
    if (!hash || !equal_nocase(*hash, to_hex(sha256(request.body))))
      return forbidden("bad_signature", "the bodySHA256 query parameter does not match the body");
  }
  return Checked{account, std::move(*params)};
}

Result<Verified> TwilioAdapter::verify(const HttpRequest& request, std::string_view path) const {
  if (path != kSmsPath && path != kStatusPath) return invalid("unknown_path", "not a twilio webhook path");
  auto checked = check(request);
  if (!checked) return checked.error();
  const std::string* content_type = request.header("Content-Type");
  return Verified{std::string(path), content_type ? *content_type : std::string(), request.body,
                  checked->account->name};
}

Result<std::vector<InboundEvent>> TwilioAdapter::events(std::string_view path, const std::string& account,
                                                        const Params& params) const {
  if (path != kSmsPath && path != kStatusPath) return invalid("unknown_path", "not a twilio webhook path");
  if (param(params, "MessageSid").empty()) return invalid("missing_field", "the request has no MessageSid");
  std::vector<InboundEvent> out;
  if (path == kStatusPath) {
    status_events(account, params, out);
    return out;
  }
  if (param(params, "From").empty()) return invalid("missing_field", "the message has no From");
  sms_events(account, params, options_.default_region, out);
  return out;
}

Result<std::vector<InboundEvent>> TwilioAdapter::parse_sms(const HttpRequest& request) const {
  auto checked = check(request);
  if (!checked) return checked.error();
  return events(kSmsPath, checked->account->name, checked->params);
}

Result<std::vector<InboundEvent>> TwilioAdapter::parse_status(const HttpRequest& request) const {
  auto checked = check(request);
  if (!checked) return checked.error();
  return events(kStatusPath, checked->account->name, checked->params);
}

Result<std::vector<InboundEvent>> TwilioAdapter::parse_verified(const Verified& request) const {
  if (request.path != kSmsPath && request.path != kStatusPath)
    return invalid("unknown_path", "not a twilio webhook path");
  auto params = body_params(request.content_type, request.body);
  if (!params) return params.error();
  return events(request.path, request.account, *params);
}

Result<std::vector<InboundEvent>> TwilioAdapter::parse_webhook(const HttpRequest& request) {
  if (request.path == kSmsPath) return parse_sms(request);
  if (request.path == kStatusPath) return parse_status(request);
  return make_error(ErrorKind::not_found, "unknown_path", "not a twilio webhook path");
}

SendResult TwilioAdapter::send(const OutboundMessage& message) {
  const Account* account = account_by_name(message.account);
  if (!account)
    return make_error(ErrorKind::config, "unknown_account",
                      "'" + message.account + "' is not a configured twilio account");
  if (account->auth_tokens.empty() || account->auth_tokens.front().empty() ||
      account->from.empty() == account->messaging_service_sid.empty())
    return make_error(ErrorKind::config, "invalid_account",
                      "twilio account '" + account->name +
                          "' needs an auth token and exactly one of from and messaging_service_sid");
  if (message.recipient.empty()) return invalid("invalid_recipient", "the message has no recipient");
  if (message.text.empty()) return invalid("empty_message", "the message has no text");

  Params form{{"To", message.recipient}};
  if (!account->messaging_service_sid.empty())
    form.emplace_back("MessagingServiceSid", account->messaging_service_sid);
  else
    form.emplace_back("From", account->from);
  form.emplace_back("Body", message.text);
  if (options_.status_callbacks && !options_.public_url.empty()) {
    std::string callback = options_.public_url + std::string(kStatusPath);
    if (!message.outbox_id.empty()) callback += "?outbox=" + url_component(message.outbox_id);
    form.emplace_back("StatusCallback", std::move(callback));
  }

  HttpClientRequest request;
  request.url = options_.api_base_url + "/2010-04-01/Accounts/" + url_component(account->account_sid) +
                "/Messages.json";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"},
                     {"User-Agent", "switchboard"}};
  request.body = form_encode(form);
  request.timeout = options_.send_timeout;
  request.connect_timeout = std::min(options_.send_timeout, std::chrono::milliseconds{5000});
  request.basic_auth = BasicAuth{account->account_sid, account->auth_tokens.front()};

  auto response = post(request);
  if (!response) {
    const Error& e = response.error();
    if (classify(e) == SendFailure::retryable)
      return send_error(SendFailure::retryable, e.code, "twilio request failed: " + e.message);
    return make_error(ErrorKind::config, e.code, "twilio request failed: " + e.message);
  }
  // Any 2xx: the message is Twilio's now. Without a readable sid we still must not send it twice.
  if (response->status >= 200 && response->status < 300) return Delivery{sid_of(*response), "sent"};
  return send_failure(read_error(*response));
}

namespace {

// Twilio's dates: RFC 2822, "Sat, 05 Dec 2026 16:21:32 +0000".
std::optional<Timestamp> parse_twilio_date(const std::string& text) {
  struct tm tm {};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S %z", &tm);
  if (end == nullptr) return std::nullopt;
  const long offset = tm.tm_gmtoff;
  const time_t t = ::timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return Timestamp{} + std::chrono::seconds{t - offset};
}

std::string string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string().data(), v->get_string().size()) : std::string();
}

Error lookup_failed(std::string message) {
  return make_error(ErrorKind::unavailable, "twilio_lookup_failed", "cannot list twilio messages: " + std::move(message));
}

}  // namespace

Result<ResendCheck> TwilioAdapter::check_resend(const OutboundMessage& message, Timestamp attempted_at) {
  const Account* account = account_by_name(message.account);
  if (!account || account->auth_tokens.empty() || account->auth_tokens.front().empty())
    return lookup_failed("'" + message.account + "' is not a configured twilio account with an auth token");
  HttpClientRequest request;
  request.url = options_.api_base_url + "/2010-04-01/Accounts/" + url_component(account->account_sid) +
                "/Messages.json?To=" + url_component(message.recipient) +
                (account->from.empty() ? std::string() : "&From=" + url_component(account->from)) + "&PageSize=50";
  request.headers = {{"Accept", "application/json"}, {"User-Agent", "switchboard"}};
  request.timeout = options_.send_timeout;
  request.connect_timeout = std::min(options_.send_timeout, std::chrono::milliseconds{5000});
  request.basic_auth = BasicAuth{account->account_sid, account->auth_tokens.front()};
  request.max_response_bytes = 4 * 1024 * 1024;  // 50 messages of up to 1,600 characters each
  auto response = get(request);
  if (!response) return lookup_failed(response.error().message);
  if (response->status < 200 || response->status >= 300)
    return lookup_failed(send_failure(read_error(*response)).error().message);
  json::error_code ec;
  json::value v = json::parse(response->body, ec);
  const json::value* list = !ec && v.is_object() ? v.get_object().if_contains("messages") : nullptr;
  if (response->truncated || !list || !list->is_array()) return lookup_failed("the answer is not a message list");
  const Timestamp since = attempted_at - std::chrono::minutes{2};
  ResendCheck out{{}, "looked up at twilio by To, From, Body and date_created", true};
  const auto& messages = list->get_array();
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {  // newest first: oldest first here
    const json::value& item = *it;
    if (!item.is_object()) continue;
    const json::object& m = item.get_object();
    if (string_field(m, "body") != message.text) continue;
    if (string_field(m, "direction").rfind("outbound", 0) != 0) continue;
    const auto created = parse_twilio_date(string_field(m, "date_created"));
    if (!created || *created < since) continue;
    const std::string sid = string_field(m, "sid");
    if (sid.empty()) continue;
    out.candidates.push_back(Delivery{sid, "sent"});
  }
  return out;
}

ReplyCheck TwilioAdapter::check_reply(const OutboundMessage& draft, Timestamp now) const {
  constexpr int kMaxBody = 1600;  // Twilio's Body limit (protocols/twilio.md), in characters
  ReplyCheck check = Adapter::check_reply(draft, now);
  const auto encoding = routing::classify(draft.text);
  check.encoding = std::string(routing::to_string(encoding.encoding));
  check.segments = encoding.segments;
  check.limit = kMaxBody;
  if (check.allowed && check.characters > kMaxBody) {
    check.allowed = false;
    check.reason = "too_long";
    check.message = "an SMS takes at most " + std::to_string(kMaxBody) + " characters; this reply has " +
                    std::to_string(check.characters);
  }
  return check;
}

}  // namespace switchboard::channels::twilio
