#include "daemon/api/rest_api.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <set>

#include "channels/identity.hpp"
#include "daemon/api/requests.hpp"
#include "routing/core/log.hpp"
#include "routing/rules/template.hpp"
#include "routing/text/utf8.hpp"
#include "storage/outbox.hpp"
#include "storage/people.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxNoteBytes = 64 * 1024;

using api::body_object;
using api::only_fields;
using api::string_field;

Error invalid(std::string code, std::string message) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message));
}
Error bad_field(std::string message) {
  return invalid("invalid_field", std::move(message));
}

json::object person_json(const routing::RuleSet& rules, const routing::Person& p) {
  json::array queues;
  for (const auto& q : rules.queue_names()) {
    const auto& people = rules.queue_people(q);
    if (std::find(people.begin(), people.end(), p.login) != people.end()) queues.emplace_back(q);
  }
  return json::object{{"login", p.login}, {"name", p.name}, {"role", to_string(p.role)}, {"queues", std::move(queues)}};
}

std::string items(json::array a) {
  return json::serialize(json::object{{"items", std::move(a)}, {"next_cursor", nullptr}});
}

// RFC 6266 / 5987: a filename a browser saves under, whatever its characters.
std::string content_disposition(const std::string& name) {
  std::string ascii;
  std::string encoded;
  for (unsigned char c : name) {
    ascii += (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  if (ascii.empty()) ascii = encoded = "attachment";
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace

Status RestApi::add_routes(channels::RouteTable& routes) {
  using channels::PathParams;
  auto id = [](const PathParams& p) { return std::string(p.get("id")); };
  // Until the schema is current the API answers 503 (a table it reads may not exist yet).
  auto gated = [this](channels::RouteHandler handler) -> channels::RouteHandler {
    return [this, handler = std::move(handler)](const HttpRequest& r, const PathParams& p) {
      if (!intake_.ready()) return refuse(r, channels::not_ready());
      return handler(r, p);
    };
  };
  for (auto added : {
           routes.add("GET", "/api/v1/openapi.yaml",
                      [](const HttpRequest&, const PathParams&) {
                        HttpResponse r;
                        r.content_type = "application/yaml";
                        r.body = std::string(openapi_yaml());
                        return r;
                      }),
           routes.add("POST", "/api/v1/session",
                      gated([this](const HttpRequest&r, const PathParams&) { return logged(r, auth_.login(r)); })),
           routes.add("DELETE", "/api/v1/session",
                      gated([this](const HttpRequest&r, const PathParams&) { return logged(r, auth_.logout(r)); })),
           routes.add("GET", "/api/v1/session",
                      gated([this](const HttpRequest&r, const PathParams&) { return logged(r, auth_.whoami(r)); })),
           routes.add("GET", "/api/v1/conversations",
                      gated([this](const HttpRequest&r, const PathParams&) { return list_conversations(r); })),
           routes.add("GET", "/api/v1/search",
                      gated([this](const HttpRequest&r, const PathParams&) { return search(r); })),
           routes.add("GET", "/api/v1/conversations/{id}",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return conversation(r, id(p)); })),
           routes.add("PATCH", "/api/v1/conversations/{id}",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return change(r, id(p)); })),
           routes.add("GET", "/api/v1/conversations/{id}/messages",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return messages(r, id(p)); })),
           routes.add("POST", "/api/v1/conversations/{id}/messages",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return reply(r, id(p), false); })),
           routes.add("POST", "/api/v1/conversations/{id}/reply-preview",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return reply(r, id(p), true); })),
           routes.add("POST", "/api/v1/conversations/{id}/notes",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return add_note(r, id(p)); })),
           routes.add("GET", "/api/v1/customers/{id}",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return customer(r, id(p)); })),
           routes.add("POST", "/api/v1/customers/{id}/merge",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return merge(r, id(p)); })),
           routes.add("POST", "/api/v1/customers/{id}/split",
                      gated([this, id](const HttpRequest&r, const PathParams&p) { return split(r, id(p)); })),
           routes.add("GET", "/api/v1/messages/{id}/attachments/{index}",
                      gated([this, id](const HttpRequest&r, const PathParams&p) {
                        return attachment(r, id(p), std::string(p.get("index")));
                      })),
           routes.add("GET", "/api/v1/queues",
                      gated([this](const HttpRequest&r, const PathParams&) { return queues(r); })),
           routes.add("GET", "/api/v1/templates",
                      gated([this](const HttpRequest&r, const PathParams&) { return templates(r); })),
           routes.add("GET", "/api/v1/people",
                      gated([this](const HttpRequest&r, const PathParams&) { return people(r); })),
           routes.add("PUT", "/api/v1/people/{login}/password", gated([this](const HttpRequest&r, const PathParams&p) {
                        return set_password(r, std::string(p.get("login")));
                      })),
           routes.add("POST", "/api/v1/people/{login}/tokens", gated([this](const HttpRequest&r, const PathParams&p) {
                        return logged(r, auth_.create_token(r, std::string(p.get("login"))));
                      })),
           routes.add("GET", "/api/v1/people/{login}/tokens", gated([this](const HttpRequest&r, const PathParams&p) {
                        return logged(r, auth_.list_tokens(r, std::string(p.get("login"))));
                      })),
           routes.add("DELETE", "/api/v1/tokens/{id}", gated([this, id](const HttpRequest&r, const PathParams&p) {
                        return logged(r, auth_.revoke_token(r, id(p)));
                      })),
           routes.add("GET", "/api/v1/stream",
                      gated([this](const HttpRequest&r, const PathParams&) { return stream(r); })),
       })
    if (!added) return added;
  return Ok{};
}

HttpResponse RestApi::logged(const HttpRequest& request, HttpResponse response) {
  if (response.status >= 400)
    log::emit(response.status >= 500 ? log::Level::error : log::Level::warn, "api_rejected",
              {{"path", request.path}, {"status", std::to_string(response.status)}, {"req", request.request_id}});
  return response;
}

std::optional<storage::Viewer> RestApi::viewer_of(const std::string& login) const {
  const auto rules = rules_();
  const routing::Person* person = rules ? rules->person(login) : nullptr;
  if (!person) return std::nullopt;
  storage::Viewer v;
  v.login = login;
  v.all = person->role == routing::Role::admin;
  if (!v.all)
    for (const auto& q : rules->queue_names()) {
      const auto& people = rules->queue_people(q);
      if (!people.empty() && std::find(people.begin(), people.end(), login) == people.end()) v.hidden.push_back(q);
    }
  return v;
}

Result<std::pair<Caller, storage::Viewer>> RestApi::viewer(const HttpRequest& request) {
  auto caller = auth_.authenticate(request);
  if (!caller) return caller.error();
  auto v = caller->config_token ? std::optional<storage::Viewer>(storage::Viewer{true, caller->login, {}})
                                : viewer_of(caller->login);
  if (!v) return make_error(ErrorKind::unauthorized, "unknown_person", "the caller is no longer in the rules file");
  return std::pair{std::move(*caller), std::move(*v)};
}

HttpResponse RestApi::list_conversations(const HttpRequest& request) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto query = api::conversation_query(request.query, who->first.login);
  if (!query) return refuse(request, query.error());
  auto list = storage::list_conversations(pool_, who->second, *query);
  if (!list) return refuse(request, list.error());
  return json_response(200, std::move(*list));
}

HttpResponse RestApi::search(const HttpRequest& request) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto query = api::search_query(request.query, stemmer_);
  if (!query) return refuse(request, query.error());
  // A phone number as typed is looked up in E.164 ("600 100 200" in the default region is
  // +48600100200).
  if (!query->identities.empty())
    if (auto phone = channels::normalize_phone(query->identities.front(), default_region_))
      query->identities.push_back(*phone);
  auto found = storage::search(pool_, who->second, *query);
  if (!found) return refuse(request, found.error());
  return json_response(200, std::move(*found));
}

HttpResponse RestApi::conversation(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto detail = storage::conversation_detail(pool_, who->second, id);
  if (!detail) return refuse(request, detail.error());
  return json_response(200, std::move(*detail));
}

HttpResponse RestApi::messages(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto q = api::query_params(request.query, {"limit", "cursor"});
  if (!q) return refuse(request, q.error());
  auto limit = api::limit_param(*q, 100, 500);
  if (!limit) return refuse(request, limit.error());
  const auto cursor = q->count("cursor") ? q->at("cursor") : std::string();
  auto page = storage::conversation_page(pool_, who->second, id, *limit, cursor);
  if (!page) return refuse(request, page.error());
  return json_response(200, std::move(*page));
}

HttpResponse RestApi::reply(const HttpRequest& request, const std::string& id, bool preview) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto parsed = api::reply_request(request.body, preview);
  if (!parsed) return refuse(request, parsed.error());
  const storage::ReplyRoute& route = parsed->route;
  // Visible to the caller, or 404; a template is rendered from it.
  auto conversation = storage::conversation(pool_, who->second, id);
  if (!conversation) return refuse(request, conversation.error());

  const auto now = clock_.now();
  if (parsed->template_name) {
    auto rendered = render_template(*conversation, id, *parsed->template_name, route, now);
    // A preview on a way the customer never wrote from says so below, with or without a template.
    if (!rendered && !(preview && rendered.error().code == "not_reachable")) return refuse(request, rendered.error());
    if (rendered) parsed->text = std::move(*rendered);
  }
  const std::string& text = parsed->text;
  // What the target's channel says of this text now: the preview's answer, and the reply's gate.
  auto check_of = [&](const storage::ReplyTarget& target) {
    channels::OutboundMessage draft;
    draft.channel = *channel_from_string(target.channel);
    draft.account = target.account;
    draft.conversation_id = id;
    draft.recipient = target.recipient;
    draft.text = text;
    draft.last_inbound_at = target.last_inbound_at;
    draft.from_human = true;
    draft.payload.whatsapp_template = parsed->whatsapp_template;
    const channels::Adapter* sender = sender_of_(target.channel);
    if (!sender) {
      channels::ReplyCheck none;
      none.allowed = false;
      none.reason = "not_reachable";
      none.message = "no adapter sends on " + target.channel + " in this configuration";
      return none;
    }
    return sender->check_reply(draft, now);
  };
  auto check_json = [](const storage::ReplyTarget& target, const channels::ReplyCheck& c) {
    json::object o{{"channel", target.channel},
                   {"account", target.account},
                   {"recipient", target.recipient},
                   {"allowed", c.allowed},
                   {"reason", c.allowed ? json::value(nullptr) : json::value(c.reason)},
                   {"message", c.allowed ? json::value(nullptr) : json::value(c.message)},
                   {"characters", c.characters}};
    o["limit"] = c.limit ? json::value(*c.limit) : json::value(nullptr);
    o["encoding"] = c.encoding ? json::value(*c.encoding) : json::value(nullptr);
    o["segments"] = c.segments ? json::value(*c.segments) : json::value(nullptr);
    if (c.window.empty()) {
      o["window"] = nullptr;
    } else {
      o["window"] = json::object{
          {"kind", c.window},
          {"open", c.window_open},
          {"closes_at", c.window_closes_at ? json::value(format_rfc3339(*c.window_closes_at)) : json::value(nullptr)}};
    }
    return o;
  };

  if (preview) {
    auto target = storage::reply_target(pool_, id, route);
    json::object out;
    if (target) {
      out = check_json(*target, check_of(*target));
    } else if (target.error().code == "not_reachable") {
      // A way the customer never wrote from: the answer says so, like any other refusal.
      storage::ReplyTarget none;
      none.channel = route.channel.value_or("");
      none.account = route.account.value_or("");
      channels::ReplyCheck refused;
      refused.allowed = false;
      refused.reason = target.error().code;
      refused.message = target.error().message;
      refused.characters = channels::code_points(text);
      out = check_json(none, refused);
    } else {
      return refuse(request, target.error());
    }
    // The other ways to this customer, each with what it allows now.
    json::array options;
    auto detail = storage::conversation_detail(pool_, who->second, id);
    if (detail) {
      json::error_code ec;
      const auto parsed = json::parse(*detail, ec);
      const json::array* reachable =
          !ec && parsed.is_object() ? parsed.as_object().if_contains("reachable")->if_array() : nullptr;
      std::set<std::pair<std::string, std::string>> seen;
      if (reachable)
        for (const auto& r : *reachable) {
          const auto& o = r.as_object();
          storage::ReplyRoute other{std::string(o.at("channel").as_string()), std::string(o.at("account").as_string())};
          if (!seen.insert({*other.channel, *other.account}).second) continue;
          auto t = storage::reply_target(pool_, id, other);
          if (!t) continue;
          auto c = check_of(*t);
          options.push_back(json::object{{"channel", t->channel},
                                         {"account", t->account},
                                         {"recipient", t->recipient},
                                         {"allowed", c.allowed},
                                         {"reason", c.allowed ? json::value(nullptr) : json::value(c.reason)}});
        }
    }
    out["options"] = std::move(options);
    if (parsed->template_name) out["text"] = text;
    return json_response(200, json::serialize(out));
  }

  // A person's reply is theirs; with the config's admin token the body may name the author.
  std::string author = who->first.login;
  if (who->first.config_token) author = parsed->author.value_or("agent");
  if (!intake_.ready()) return refuse(request, channels::not_ready());
  auto queued = storage::queue_agent_reply(
      pool_, id, text, author, now, route,
      [&](const storage::ReplyTarget& target) -> Status {
        const auto c = check_of(target);
        if (c.allowed) return Ok{};
        return make_error(ErrorKind::unprocessable, c.reason, c.message);
      },
      parsed->whatsapp_template);
  if (!queued) return refuse(request, queued.error());
  log::info("agent_reply_queued", {{"conversation", id},
                                   {"message", queued->message_id},
                                   {"outbox", queued->outbox_id},
                                   {"channel", queued->channel},
                                   {"author", author},
                                   {"req", request.request_id}});
  json::object out{{"message_id", queued->message_id}, {"conversation_id", id},      {"outbox_id", queued->outbox_id},
                   {"channel", queued->channel},       {"account", queued->account}, {"delivery_state", "queued"}};
  if (parsed->template_name) out["text"] = text;
  return json_response(201, json::serialize(out));
}

Result<std::string> RestApi::render_template(const std::string& conversation_json, const std::string& id,
                                             const std::string& name, const storage::ReplyRoute& route, Timestamp now) {
  const auto rules = rules_();
  const auto tmpl = rules ? rules->template_named(name) : nullptr;
  if (!tmpl) return make_error(ErrorKind::invalid, "invalid_field", "no template '" + name + "' in the rules file");
  auto target = storage::reply_target(pool_, id, route);
  if (!target) return target.error();
  json::error_code ec;
  const json::value parsed = json::parse(conversation_json, ec);
  if (ec || !parsed.is_object())
    return make_error(ErrorKind::bug, "bad_detail", "the conversation's JSON is not an object");
  const auto& c = parsed.as_object();
  const auto text_of = [](const json::value* v) -> std::optional<std::string> {
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  };
  // The customer and conversation as the rules' templates see them, on the reply's channel.
  CustomerView customer;
  ConversationView conversation;
  InboundMessage message;
  if (const auto* u = c.if_contains("customer"); u && u->is_object()) {
    customer.id = text_of(u->as_object().if_contains("id")).value_or("");
    customer.display_name = text_of(u->as_object().if_contains("display_name")).value_or("");
    customer.language = text_of(u->as_object().if_contains("language"));
  }
  conversation.id = id;
  conversation.is_new = false;
  conversation.state = text_of(c.if_contains("state")).value_or("open");
  conversation.queue = text_of(c.if_contains("queue"));
  message.channel = channel_from_string(target->channel).value_or(Channel::api);
  message.account = target->account;
  const routing::EvaluationInput input{message, conversation, customer, now};
  return routing::render(*tmpl, input);
}

HttpResponse RestApi::add_note(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto body = body_object(request.body);
  if (!body) return refuse(request, body.error());
  if (auto ok = only_fields(*body, {"text"}); !ok) return refuse(request, ok.error());
  auto text = string_field(*body, "text", true);
  if (!text) return refuse(request, text.error());
  if ((*text)->size() > kMaxNoteBytes)
    return refuse(request, bad_field("a note holds at most " + std::to_string(kMaxNoteBytes / 1024) + " KiB"));
  auto note = storage::add_note(pool_, who->second, id, who->first.login, **text, clock_.now());
  if (!note) return refuse(request, note.error());
  log::info("note_added", {{"conversation", id}, {"by", who->first.login}, {"req", request.request_id}});
  return json_response(201, std::move(*note));
}

HttpResponse RestApi::change(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto change = api::conversation_change(request.body, rules_().get());
  if (!change) return refuse(request, change.error());
  auto changed = storage::change_conversation(pool_, who->second, id, *change, clock_.now());
  if (!changed) return refuse(request, changed.error());
  log::info("conversation_changed", {{"conversation", id},
                                     {"by", who->first.login},
                                     {"change", request.body.substr(0, 500)},
                                     {"req", request.request_id}});
  return json_response(200, std::move(*changed));
}

HttpResponse RestApi::customer(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto c = storage::customer_detail(pool_, who->second, id);
  if (!c) return refuse(request, c.error());
  return json_response(200, std::move(*c));
}

HttpResponse RestApi::merge(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto body = body_object(request.body);
  if (!body) return refuse(request, body.error());
  if (auto ok = only_fields(*body, {"customer_id"}); !ok) return refuse(request, ok.error());
  auto other = string_field(*body, "customer_id", true);
  if (!other) return refuse(request, other.error());
  auto merged = storage::merge_customer(pool_, who->second, id, **other, who->first.login, clock_.now());
  if (!merged) return refuse(request, merged.error());
  return json_response(200, std::move(*merged));
}

HttpResponse RestApi::split(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto body = body_object(request.body);
  if (!body) return refuse(request, body.error());
  if (auto ok = only_fields(*body, {"kind", "value"}); !ok) return refuse(request, ok.error());
  auto kind = string_field(*body, "kind", true);
  if (!kind) return refuse(request, kind.error());
  if (!identity_kind_from_string(**kind))
    return refuse(request,
                  bad_field("'kind' takes phone, email, messenger_psid, whatsapp_user, webchat_visitor or api"));
  auto value = string_field(*body, "value", true);
  if (!value) return refuse(request, value.error());
  auto fresh = storage::split_customer(pool_, who->second, id, **kind, **value, who->first.login, clock_.now());
  if (!fresh) return refuse(request, fresh.error());
  // The new customer, and its id once more under the name the request's answer is read by.
  json::error_code ec;
  json::value customer = json::parse(*fresh, ec);
  if (ec || !customer.is_object()) return json_response(201, std::move(*fresh));
  customer.as_object()["customer_id"] = customer.as_object()["id"];
  return json_response(201, json::serialize(customer));
}

HttpResponse RestApi::attachment(const HttpRequest& request, const std::string& message_id, const std::string& index) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  int position = -1;
  if (index.empty() || index.size() > 4 ||
      !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }))
    position = -1;
  else
    position = std::stoi(index);
  auto a = storage::attachment(pool_, who->second, message_id, position);
  if (!a) return refuse(request, a.error());
  HttpResponse r;
  // Served as a download, never rendered: a hostile HTML or SVG attachment cannot run in our origin.
  r.content_type = a->mime_type.empty() || a->mime_type.find_first_of("\r\n") != std::string::npos
                       ? "application/octet-stream"
                       : a->mime_type;
  r.body = std::move(a->bytes);
  r.set_header("Content-Disposition", content_disposition(a->name));
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Content-Security-Policy", "sandbox");
  return r;
}

// The rules file's templates (canned replies): their names and source text, in name order.
HttpResponse RestApi::templates(const HttpRequest& request) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  const auto rules = rules_();
  json::array out;
  if (rules)
    for (const auto& [name, text] : rules->templates()) out.push_back(json::object{{"name", name}, {"text", text}});
  return json_response(200, items(std::move(out)));
}

HttpResponse RestApi::queues(const HttpRequest& request) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  const auto rules = rules_();
  json::array out;
  if (rules)
    for (const auto& q : rules->queue_names()) {
      json::array people;
      for (const auto& p : rules->queue_people(q)) people.emplace_back(p);
      out.push_back(json::object{{"name", q}, {"people", std::move(people)}});
    }
  return json_response(200, items(std::move(out)));
}

HttpResponse RestApi::people(const HttpRequest& request) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  const auto rules = rules_();
  json::array out;
  if (rules)
    for (const auto& p : rules->people()) out.push_back(person_json(*rules, p));
  return json_response(200, items(std::move(out)));
}

HttpResponse RestApi::set_password(const HttpRequest& request, const std::string& login) {
  auto caller = auth_.require_admin(request);
  if (!caller) return refuse(request, caller.error());
  auto body = body_object(request.body);
  if (!body) return refuse(request, body.error());
  if (auto ok = only_fields(*body, {"password"}); !ok) return refuse(request, ok.error());
  auto password = string_field(*body, "password", true);
  if (!password) return refuse(request, password.error());
  const auto rules = rules_();
  if (!rules || !rules->person(login))
    return refuse(request,
                  make_error(ErrorKind::not_found, "person_not_found", "no person '" + login + "' in the rules file"));
  if (auto ok = Passwords::acceptable(**password); !ok) return refuse(request, ok.error());
  auto hash = auth_.passwords().hash(**password);
  if (!hash) return refuse(request, hash.error());
  if (auto stored = storage::set_password_hash(pool_, login, *hash); !stored) return refuse(request, stored.error());
  stream_.revoke({login});
  log::info("password_reset", {{"login", login}, {"by", caller->login}, {"req", request.request_id}});
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse RestApi::stream(const HttpRequest& request) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  // A browser sends the session cookie with a cross-site WebSocket too (SameSite=Strict aside):
  // with the cookie, the page must be ours.
  if (!request.header("Authorization"))
    if (const std::string* origin = request.header("Origin")) {
      const std::string* host = request.header("Host");
      const auto scheme = origin->find("://");
      const bool same_host = host && scheme != std::string::npos && origin->substr(scheme + 3) == *host;
      // Behind a proxy that rewrites Host, the page's origin is public_url's.
      if (!same_host && (public_origin_.empty() || *origin != public_origin_))
        return refuse(request, make_error(ErrorKind::forbidden, "cross_origin",
                                          "the stream takes a session cookie only from its own origin"));
    }
  auto q = api::query_params(request.query, {"since"});
  if (!q) return refuse(request, q.error());
  const auto since = q->count("since") ? q->at("since") : std::string();
  auto response = stream_.open(who->second, who->first.config_token, who->first.session_digest, who->first.token_id,
                               since, request.request_id);
  if (!response.stream) return logged(request, std::move(response));
  return response;
}

}  // namespace switchboard::daemon
