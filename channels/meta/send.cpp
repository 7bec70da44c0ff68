// The meta channel's send side: Messenger Send API and WhatsApp Cloud API messages
// (protocols/meta.md (d)-(f)). The reply window is decided before any request, so a message that
// the platform must refuse never costs a call (nor counts against the rate limits).
#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channels/http_client.hpp"
#include "channels/meta/adapter.hpp"
#include "routing/core/log.hpp"

namespace switchboard::channels::meta {

namespace json = boost::json;

namespace {

constexpr std::size_t kMessengerMaxText = 2000;  // code points (meta.md (d), (g))
constexpr std::size_t kWhatsAppMaxText = 4096;
constexpr std::chrono::hours kStandardWindow{24};
constexpr std::chrono::hours kHumanAgentWindow{24 * 7};
constexpr std::size_t kMaxExternalId = 255;  // longer ids are not stored (the messages index limit)
constexpr std::size_t kBodyPrefix = 200;     // of an unparseable error body, in last_error
constexpr std::size_t kGraphTextMax = 500;   // of Graph's own message and details

// --- text ---

// At most `max` bytes, never cutting a UTF-8 sequence; control characters become spaces so that
// last_error and log lines stay one line.
std::string printable(std::string_view s, std::size_t max) {
  std::size_t n = s.size();
  if (n > max) {
    n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  }
  std::string out(s.substr(0, n));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  if (n < s.size()) out += "...";
  return out;
}

std::string age_text(Duration age) {
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(age).count();
  if (hours < 72) return std::to_string(hours) + " h";
  return std::to_string(hours / 24) + " d";
}

// --- JSON ---

std::string string_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Graph codes are numbers; a numeric string is accepted too.
std::optional<std::int64_t> integer_of(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_string()) {
    const json::string& s = v->get_string();
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    return n;
  }
  return std::nullopt;
}

// --- Graph errors ---

struct GraphError {
  std::optional<std::int64_t> code;
  std::optional<std::int64_t> subcode;
  std::string message;
  std::string type;
  std::string details;  // error_data.details (WhatsApp) or error_user_msg
  std::string fbtrace_id;
};

std::optional<GraphError> parse_graph_error(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* e = v.get_object().if_contains("error");
  if (!e || !e->is_object()) return std::nullopt;
  const json::object& o = e->get_object();
  GraphError g;
  g.code = integer_of(o, "code");
  g.subcode = integer_of(o, "error_subcode");
  g.message = string_of(o, "message");
  g.type = string_of(o, "type");
  g.fbtrace_id = string_of(o, "fbtrace_id");
  if (const json::value* data = o.if_contains("error_data"); data && data->is_object())
    g.details = string_of(data->get_object(), "details");
  if (g.details.empty()) g.details = string_of(o, "error_user_msg");
  if (!g.code && g.message.empty()) return std::nullopt;
  return g;
}

struct ErrorClass {
  ErrorKind kind;
  const char* code;
  const char* meaning;  // what it means for the operator, first in last_error
  // What the outbox does: by the kind (unavailable: retry_after, else permanent) unless named.
  std::optional<SendOutcome> outcome = std::nullopt;
};

bool retryable_status(int status) {
  return status == 408 || status == 429 || status >= 500;
}

// protocols/meta.md (f). The Graph code decides before the HTTP status: rate limits (4, 613) come
// with 4xx statuses, and a known permanent code stays permanent whatever the status.
ErrorClass classify_graph(const GraphError& g, int http_status) {
  const std::int64_t code = g.code.value_or(-1);
  const std::int64_t sub = g.subcode.value_or(-1);
  if (code == 190 || http_status == 401)
    return {ErrorKind::config, "invalid_credentials", "the access token is invalid or expired: renew it",
            SendOutcome::credentials_rejected};
  // 551 first: Messenger sends "person not available" as 551 with subcode 1545041.
  if (code == 551 || code == 131026)
    return {ErrorKind::forbidden, "recipient_unreachable", "the recipient cannot be reached on this channel"};
  if ((code == 10 && (sub == 2018278 || sub == 1545041 || sub == 131047)) || code == 1545041 || code == 131047)
    return {ErrorKind::conflict, "outside_window", "the platform says the reply window is closed",
            SendOutcome::blocked_by_window};
  if (code == 131050)
    return {ErrorKind::forbidden, "opted_out", "the user stopped messages from this business", SendOutcome::opted_out};
  switch (code) {
    case 4:
    case 613:
    case 80007:
    case 130429:
    case 131056:
      return {ErrorKind::unavailable, "rate_limited", "rate limited by the platform, retried later"};
    case 1:
    case 2:
    case 131000:
    case 131016:
      return {ErrorKind::unavailable, "graph_unavailable", "temporary platform failure, retried later"};
    default:
      break;
  }
  if (code == 10 || (code >= 200 && code <= 299))
    return {ErrorKind::config, "permission_denied", "the app or token lacks a permission"};
  if (code == 100) return {ErrorKind::config, "invalid_parameter", "the platform refused a parameter"};
  if (code >= 132000 && code <= 132999)
    return {ErrorKind::config, "template_rejected", "the template or its parameters were refused"};
  if (code == 368 || code == 131031 || code == 131048)
    return {ErrorKind::config, "account_restricted", "the account is restricted by the platform's policy"};
  if (retryable_status(http_status))
    return {ErrorKind::unavailable, "graph_unavailable", "temporary platform failure, retried later"};
  return {ErrorKind::config, "platform_rejected", "refused by the platform"};
}

// --- the outbox payload ---

struct Content {
  std::string text;
  std::optional<WhatsAppTemplate> whatsapp_template;  // WhatsApp rows only
};

Content read_content(const OutboundMessage& message) {
  Content c{message.text.empty() ? message.payload.text : message.text, std::nullopt};
  // Only WhatsApp has templates.
  if (message.channel == Channel::whatsapp) c.whatsapp_template = message.payload.whatsapp_template;
  return c;
}

// Decided here, without a request: logged, since the row becomes 'blocked' for the agents.
SendResult outside_window(const OutboundMessage& message, std::string why) {
  log::info("meta_send_blocked", {{"channel", to_string(message.channel)},
                                  {"account", message.account},
                                  {"outbox", message.outbox_id},
                                  {"reason", why}});
  return {SendOutcome::blocked_by_window, make_error(ErrorKind::conflict, "outside_window", std::move(why))};
}

SendResult no_token(std::string why) {
  return {SendOutcome::credentials_rejected, make_error(ErrorKind::config, "invalid_credentials", std::move(why))};
}

Error invalid_recipient(std::string why) {
  return make_error(ErrorKind::invalid, "invalid_recipient", std::move(why));
}

Status check_length(std::string_view channel, const std::string& text, std::size_t limit) {
  if (text.empty()) return make_error(ErrorKind::invalid, "empty_text", "the message has no text to send");
  const auto n = static_cast<std::size_t>(channels::code_points(text));  // channels/adapter.hpp
  if (n > limit)
    return make_error(ErrorKind::invalid, "text_too_long",
                      std::string(channel) + " text is limited to " + std::to_string(limit) +
                          " characters; this one has " + std::to_string(n));
  return Ok{};
}

// --- the request ---

struct Target {
  std::string_view channel;  // "messenger" / "whatsapp", for messages and logs
  std::string_view object_id;
  std::string_view token;
};

void log_failure(const OutboundMessage& message, std::string_view channel, const Error& e) {
  log::warn("meta_send_failed", {{"channel", channel},
                                 {"account", message.account},
                                 {"outbox", message.outbox_id},
                                 {"code", e.code},
                                 {"error", e.message}});
}

// The platform's id of the accepted message; "" when the answer does not carry one.
std::string accepted_id(std::string_view channel, const HttpClientResponse& response) {
  json::error_code ec;
  json::value v = json::parse(response.body, ec);
  if (ec || !v.is_object()) return {};
  std::string id;
  if (channel == "messenger") {
    id = string_of(v.get_object(), "message_id");
  } else if (const json::value* messages = v.get_object().if_contains("messages");
             messages && messages->is_array() && !messages->get_array().empty() &&
             messages->get_array()[0].is_object()) {
    id = string_of(messages->get_array()[0].get_object(), "id");
  }
  return id.size() <= kMaxExternalId ? id : std::string();
}

SendResult graph_post(const Options& options, const OutboundMessage& message, const Target& target,
                      const json::object& body) {
  std::string base = options.graph_base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  HttpClientRequest request;
  request.url = base + "/" + options.graph_version + "/" + std::string(target.object_id) + "/messages";
  request.headers = {
      {"Authorization", "Bearer " + std::string(target.token)},
      {"Content-Type", "application/json"},
      {"User-Agent", "switchboard"},
  };
  request.body = json::serialize(body);
  request.timeout = options.send_timeout;
  request.connect_timeout = std::min(request.connect_timeout, options.send_timeout);

  auto response = post(request);
  if (!response) {
    const Error& t = response.error();
    // A malformed base URL or token is configuration: retrying cannot fix it.
    // "request_sent_no_answer" stays: the outbox marks the attempt in doubt.
    Error e = t.kind == ErrorKind::unavailable
                  ? make_error(ErrorKind::unavailable,
                               t.code == kRequestSentNoAnswer ? t.code : std::string("graph_unavailable"),
                               "graph request failed: " + t.message)
                  : make_error(ErrorKind::config, t.code, "graph request not sent: " + t.message);
    log_failure(message, target.channel, e);
    return e;
  }
  if (response->status >= 200 && response->status < 300) {
    std::string id = accepted_id(target.channel, *response);
    // Accepted all the same: an error would make the outbox send it again.
    if (id.empty())
      log::warn("meta_send_no_id",
                {{"channel", target.channel}, {"account", message.account}, {"outbox", message.outbox_id}});
    return Delivery{std::move(id), "sent"};
  }
  SendResult failed = graph_failure(response->status, response->body);
  log_failure(message, target.channel, failed.error());
  return failed;
}

// --- Messenger ---

const Options::Page* find_page(const Options& options, const std::string& id) {
  for (const auto& p : options.pages)
    if (p.id == id) return &p;
  return nullptr;
}

SendResult send_messenger(const Options& options, Timestamp now, const OutboundMessage& message) {
  const Options::Page* page = find_page(options, message.account);
  if (!page)
    return make_error(ErrorKind::config, "unknown_account",
                      "no Messenger page '" + message.account + "' is configured");
  if (page->access_token.empty())
    return no_token("Messenger page '" + page->id + "' has no access token");
  const Content content = read_content(message);
  if (message.recipient.empty()) return invalid_recipient("the Messenger recipient (PSID) is empty");

  const std::string where = "on Messenger page " + page->id;
  if (!message.last_inbound_at)
    return outside_window(message, "no message from this customer " + where + ": the 24 h window was never opened");
  const Duration age = now - *message.last_inbound_at;
  bool human_agent = false;
  if (age >= kStandardWindow) {
    const std::string last = "the customer's last message " + where + " was " + age_text(age) + " ago";
    if (age >= kHumanAgentWindow)
      return outside_window(message, last + ": past both the 24 h window and the 7 d HUMAN_AGENT window");
    if (!message.from_human)
      return outside_window(
          message, last + ": outside the 24 h window, and only an agent's reply may use the 7 d HUMAN_AGENT tag");
    if (!page->human_agent)
      return outside_window(message,
                            last +
                                ": outside the 24 h window, and the page is not configured with the Human Agent "
                                "permission (human_agent) for the 7 d HUMAN_AGENT tag");
    human_agent = true;
  }
  if (auto ok = check_length("Messenger", content.text, kMessengerMaxText); !ok) return ok.error();

  json::object msg;
  msg["text"] = content.text;
  if (!message.outbox_id.empty()) msg["metadata"] = std::string(kOutboxMark) + message.outbox_id;  // comes back in the echo
  json::object body;
  body["recipient"] = json::object{{"id", message.recipient}};
  body["messaging_type"] = human_agent ? "MESSAGE_TAG" : "RESPONSE";
  if (human_agent) body["tag"] = "HUMAN_AGENT";
  body["message"] = std::move(msg);
  return graph_post(options, message, Target{"messenger", page->id, page->access_token}, body);
}

// --- WhatsApp ---

const Options::WhatsAppNumber* find_number(const Options& options, const std::string& id) {
  for (const auto& n : options.whatsapp_numbers)
    if (n.phone_number_id == id) return &n;
  return nullptr;
}

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool bsuid_chars(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.')) return false;
  return true;
}

SendResult send_whatsapp(const Options& options, Timestamp now, const OutboundMessage& message) {
  const Options::WhatsAppNumber* number = find_number(options, message.account);
  if (!number)
    return make_error(ErrorKind::config, "unknown_account",
                      "no WhatsApp number '" + message.account + "' is configured");
  if (number->access_token.empty())
    return no_token("WhatsApp number '" + number->phone_number_id + "' has no access token");
  const Content content = read_content(message);

  json::object body;
  body["messaging_product"] = "whatsapp";
  body["recipient_type"] = "individual";
  const std::string& r = message.recipient;
  if (r.find('.') != std::string::npos) {
    // A business-scoped user id ("US.1349..."): sent as "recipient", never as a phone number.
    if (r.size() > 200 || !bsuid_chars(r) || r.front() == '.' || r.back() == '.')
      return invalid_recipient("the WhatsApp recipient is not a business-scoped user id");
    body["recipient"] = r;
  } else {
    // Always "+<digits>": without '+' Graph would prepend the business number's country code.
    std::string_view digits = r;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    if (digits.empty() || digits.size() > 15 || !all_digits(digits))
      return invalid_recipient("the WhatsApp recipient must be a phone number's digits or a business-scoped user id");
    body["to"] = "+" + std::string(digits);
  }

  const bool inside = message.last_inbound_at && now - *message.last_inbound_at < kStandardWindow;
  if (inside && (!content.text.empty() || !content.whatsapp_template)) {
    if (auto ok = check_length("WhatsApp", content.text, kWhatsAppMaxText); !ok) return ok.error();
    body["type"] = "text";
    body["text"] = json::object{{"preview_url", false}, {"body", content.text}};
  } else if (content.whatsapp_template) {
    const WhatsAppTemplate& t = *content.whatsapp_template;
    json::object tpl;
    tpl["name"] = t.name;
    tpl["language"] = json::object{{"code", t.language}};
    if (!t.parameters.empty()) {
      json::array parameters;
      for (const auto& p : t.parameters) parameters.push_back(json::object{{"type", "text"}, {"text", p}});
      json::object component;
      component["type"] = "body";
      component["parameters"] = std::move(parameters);
      tpl["components"] = json::array{std::move(component)};
    }
    body["type"] = "template";
    body["template"] = std::move(tpl);
  } else {
    const std::string where = "to WhatsApp number " + number->phone_number_id;
    if (!message.last_inbound_at)
      return outside_window(
          message, "no message from this customer " + where +
                       ": the 24 h customer service window was never opened and the message has no whatsapp_template");
    return outside_window(
        message, "the customer's last message " + where + " was " + age_text(now - *message.last_inbound_at) +
                     " ago: outside the 24 h customer service window and the message has no whatsapp_template");
  }
  if (!message.outbox_id.empty()) body["biz_opaque_callback_data"] = std::string(kOutboxMark) + message.outbox_id;  // back in statuses
  return graph_post(options, message, Target{"whatsapp", number->phone_number_id, number->access_token}, body);
}

}  // namespace

SendResult graph_failure(int http_status, std::string_view body) {
  const std::string status = "HTTP " + std::to_string(http_status);
  auto g = parse_graph_error(body);
  if (!g) {
    const std::string text = "graph answered " + status + (body.empty() ? "" : ": " + printable(body, kBodyPrefix));
    if (http_status == 401)
      return {SendOutcome::credentials_rejected, make_error(ErrorKind::config, "invalid_credentials", text)};
    if (retryable_status(http_status)) return make_error(ErrorKind::unavailable, "graph_unavailable", text);
    return make_error(ErrorKind::invalid, "platform_rejected", text);
  }
  const ErrorClass c = classify_graph(*g, http_status);
  std::string text = std::string(c.meaning) + ": graph error ";
  text += g->code ? std::to_string(*g->code) : "(no code)";
  if (g->subcode) text += "/" + std::to_string(*g->subcode);
  text += " (" + status + (g->type.empty() ? "" : ", " + g->type) + "): " + printable(g->message, kGraphTextMax);
  if (!g->details.empty()) text += " (" + printable(g->details, kGraphTextMax) + ")";
  if (!g->fbtrace_id.empty()) text += " [fbtrace_id " + printable(g->fbtrace_id, 64) + "]";
  const SendOutcome outcome =
      c.outcome.value_or(c.kind == ErrorKind::unavailable ? SendOutcome::retry_after : SendOutcome::permanent);
  return {outcome, make_error(c.kind, c.code, std::move(text))};
}

Error graph_error(int http_status, std::string_view body) { return graph_failure(http_status, body).error(); }

ReplyCheck MetaAdapter::check_reply(const OutboundMessage& draft, Timestamp now) const {
  ReplyCheck check = Adapter::check_reply(draft, now);
  const bool messenger = draft.channel == Channel::messenger;
  const auto limit = messenger ? kMessengerMaxText : kWhatsAppMaxText;
  check.limit = static_cast<int>(limit);
  auto refuse = [&](std::string reason, std::string message) {
    if (!check.allowed) return;  // the first reason stands
    check.allowed = false;
    check.reason = std::move(reason);
    check.message = std::move(message);
  };
  // Outside WhatsApp's window an approved template goes instead of the text: its length is moot.
  const bool template_instead = !messenger && draft.payload.whatsapp_template && draft.last_inbound_at &&
                                now - *draft.last_inbound_at >= kStandardWindow;
  const bool never_wrote = !messenger && draft.payload.whatsapp_template && !draft.last_inbound_at;
  if (static_cast<std::size_t>(check.characters) > limit && !template_instead && !never_wrote)
    refuse("too_long", std::string(messenger ? "Messenger" : "WhatsApp") + " takes at most " + std::to_string(limit) +
                           " characters; this reply has " + std::to_string(check.characters));
  // The windows as send() applies them to a person's reply.
  const auto age = draft.last_inbound_at ? now - *draft.last_inbound_at : Duration::max();
  if (messenger) {
    const Options::Page* page = find_page(options_, draft.account);
    const bool human_agent = page && page->human_agent;
    if (age < kStandardWindow) {
      check.window = "messenger_24h";
      check.window_closes_at = *draft.last_inbound_at + kStandardWindow;
    } else if (human_agent && age < kHumanAgentWindow) {
      check.window = "messenger_human_agent_7d";
      check.window_closes_at = *draft.last_inbound_at + kHumanAgentWindow;
    } else {
      check.window = human_agent ? "messenger_human_agent_7d" : "messenger_24h";
      check.window_open = false;
      refuse("window_closed", human_agent ? "the customer last wrote on Messenger over 7 days ago: no free-form "
                                            "message may reach them there now"
                                          : "the customer last wrote on Messenger over 24 hours ago, and the page "
                                            "has no Human Agent permission (human_agent) for the 7-day window");
    }
  } else {
    check.window = "whatsapp_24h";
    if (age < kStandardWindow) {
      check.window_closes_at = *draft.last_inbound_at + kStandardWindow;
    } else {
      check.window_open = false;
      // Outside the window the approved template goes instead of the text (send() does the same).
      if (!draft.payload.whatsapp_template)
        refuse("window_closed",
               "the customer last wrote on WhatsApp over 24 hours ago: only an approved template (whatsapp_template) "
               "may reach them there now");
    }
  }
  return check;
}

SendResult MetaAdapter::send(const OutboundMessage& message) {
  if (message.channel != Channel::messenger && message.channel != Channel::whatsapp)
    return make_error(
        ErrorKind::invalid, "unsupported_channel",
        "the meta adapter sends on messenger and whatsapp, not " + std::string(to_string(message.channel)));
  const Timestamp now = clock_.now();
  return message.channel == Channel::messenger ? send_messenger(options_, now, message)
                                               : send_whatsapp(options_, now, message);
}

}  // namespace switchboard::channels::meta
