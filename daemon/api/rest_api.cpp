#include "daemon/api/rest_api.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>
#include <set>

#include "routing/core/log.hpp"
#include "routing/text/utf8.hpp"
#include "storage/outbox.hpp"
#include "storage/people.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxTags = 50;
constexpr std::size_t kMaxTagBytes = 64;
constexpr std::size_t kMaxNoteBytes = 64 * 1024;

Error invalid(std::string code, std::string message) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message));
}
Error bad_parameter(std::string message) {
  return invalid("invalid_parameter", std::move(message));
}
Error bad_field(std::string message) {
  return invalid("invalid_field", std::move(message));
}

// The request's JSON object body. Errors: invalid_utf8, invalid_json.
Result<json::object> body_object(const HttpRequest& request) {
  if (!routing::is_valid_utf8(request.body)) return invalid("invalid_utf8", "request body is not valid UTF-8");
  json::error_code ec;
  json::value root = json::parse(request.body, ec);
  if (ec || !root.is_object()) return invalid("invalid_json", "request body must be a JSON object");
  return std::move(root.get_object());
}

// Refuses members other than `known`, naming the first one.
Status only_fields(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : o)
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end())
      return bad_field("unknown field '" + std::string(key) + "'");
  return Ok{};
}

// A non-empty string member without NUL; nullopt when absent; error when of another type.
Result<std::optional<std::string>> string_field(const json::object& o, std::string_view name, bool required) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) {
    if (required) return invalid("missing_field", "'" + std::string(name) + "' is required");
    return std::optional<std::string>();
  }
  if (!v->is_string() || v->get_string().empty())
    return bad_field("'" + std::string(name) + "' must be a non-empty string");
  std::string s(v->get_string());
  if (s.find('\0') != std::string::npos) return bad_field("'" + std::string(name) + "' contains a NUL character");
  return std::optional<std::string>(std::move(s));
}

// The query's parameters, decoded; the first of a repeated one. Unknown names are refused.
Result<std::map<std::string, std::string>> query_params(const HttpRequest& request,
                                                        std::initializer_list<std::string_view> known) {
  std::map<std::string, std::string> out;
  if (request.query.empty()) return out;
  auto parsed = boost::urls::parse_query(request.query);
  if (!parsed) return bad_parameter("the query string is not valid percent-encoding");
  boost::urls::encoding_opts plus;
  plus.space_as_plus = true;
  for (const auto& p : *parsed) {
    std::string key = p.key.decode(plus);
    std::string value = p.value.decode(plus);
    if (!routing::is_valid_utf8(key) || std::find(known.begin(), known.end(), std::string_view(key)) == known.end())
      return bad_parameter("unknown parameter '" + (routing::is_valid_utf8(key) ? key : std::string("?")) + "'");
    if (!routing::is_valid_utf8(value) || value.find('\0') != std::string::npos)
      return bad_parameter("parameter '" + key + "' is not valid UTF-8 text");
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

Result<int> limit_param(const std::map<std::string, std::string>& q, int fallback, int max) {
  auto it = q.find("limit");
  if (it == q.end()) return fallback;
  int n = 0;
  const auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || p != s.data() + s.size() || n < 1 || n > max)
    return bad_parameter("'limit' must be a whole number from 1 to " + std::to_string(max));
  return n;
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> values) {
  return std::find(values.begin(), values.end(), v) != values.end();
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
  for (auto added : {
           routes.add("GET", "/api/v1/openapi.yaml",
                      [](const HttpRequest&, const PathParams&) {
                        HttpResponse r;
                        r.content_type = "application/yaml";
                        r.body = std::string(openapi_yaml());
                        return r;
                      }),
           routes.add("POST", "/api/v1/session",
                      [this](const HttpRequest&r, const PathParams&) { return logged(r, auth_.login(r)); }),
           routes.add("DELETE", "/api/v1/session",
                      [this](const HttpRequest&r, const PathParams&) { return logged(r, auth_.logout(r)); }),
           routes.add("GET", "/api/v1/session",
                      [this](const HttpRequest&r, const PathParams&) { return logged(r, auth_.whoami(r)); }),
           routes.add("GET", "/api/v1/conversations",
                      [this](const HttpRequest&r, const PathParams&) { return list_conversations(r); }),
           routes.add("GET", "/api/v1/conversations/{id}",
                      [this, id](const HttpRequest&r, const PathParams&p) { return conversation(r, id(p)); }),
           routes.add("PATCH", "/api/v1/conversations/{id}",
                      [this, id](const HttpRequest&r, const PathParams&p) { return change(r, id(p)); }),
           routes.add("GET", "/api/v1/conversations/{id}/messages",
                      [this, id](const HttpRequest&r, const PathParams&p) { return messages(r, id(p)); }),
           routes.add("POST", "/api/v1/conversations/{id}/messages",
                      [this, id](const HttpRequest&r, const PathParams&p) { return reply(r, id(p), false); }),
           routes.add("POST", "/api/v1/conversations/{id}/reply-preview",
                      [this, id](const HttpRequest&r, const PathParams&p) { return reply(r, id(p), true); }),
           routes.add("POST", "/api/v1/conversations/{id}/notes",
                      [this, id](const HttpRequest&r, const PathParams&p) { return add_note(r, id(p)); }),
           routes.add("GET", "/api/v1/customers/{id}",
                      [this, id](const HttpRequest&r, const PathParams&p) { return customer(r, id(p)); }),
           routes.add("POST", "/api/v1/customers/{id}/merge",
                      [this, id](const HttpRequest&r, const PathParams&p) { return merge(r, id(p)); }),
           routes.add("POST", "/api/v1/customers/{id}/split",
                      [this, id](const HttpRequest&r, const PathParams&p) { return split(r, id(p)); }),
           routes.add("GET", "/api/v1/messages/{id}/attachments/{index}",
                      [this, id](const HttpRequest&r, const PathParams&p) {
                        return attachment(r, id(p), std::string(p.get("index")));
                      }),
           routes.add("GET", "/api/v1/queues", [this](const HttpRequest&r, const PathParams&) { return queues(r); }),
           routes.add("GET", "/api/v1/people", [this](const HttpRequest&r, const PathParams&) { return people(r); }),
           routes.add("PUT", "/api/v1/people/{login}/password",
                      [this](const HttpRequest&r, const PathParams&p) {
                        return set_password(r, std::string(p.get("login")));
                      }),
           routes.add("POST", "/api/v1/people/{login}/tokens",
                      [this](const HttpRequest&r, const PathParams&p) {
                        return logged(r, auth_.create_token(r, std::string(p.get("login"))));
                      }),
           routes.add("GET", "/api/v1/people/{login}/tokens",
                      [this](const HttpRequest&r, const PathParams&p) {
                        return logged(r, auth_.list_tokens(r, std::string(p.get("login"))));
                      }),
           routes.add(
               "DELETE", "/api/v1/tokens/{id}",
               [this, id](const HttpRequest&r, const PathParams&p) { return logged(r, auth_.revoke_token(r, id(p))); }),
           routes.add("GET", "/api/v1/stream", [this](const HttpRequest&r, const PathParams&) { return stream(r); }),
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
  auto q = query_params(request, {"state", "queue", "assignee", "channel", "tag", "sort", "limit", "cursor"});
  if (!q) return refuse(request, q.error());
  storage::ConversationQuery query;
  if (auto it = q->find("state"); it != q->end()) {
    query.states.clear();
    if (it->second == "all") {
      query.states = {"open", "pending", "resolved"};
    } else {
      std::string_view rest = it->second;
      while (true) {
        const auto comma = rest.find(',');
        const auto state = rest.substr(0, comma);
        if (!one_of(state, {"open", "pending", "resolved"}))
          return refuse(request, bad_parameter("'state' takes open, pending, resolved (comma-separated) or all"));
        query.states.emplace_back(state);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
  }
  if (auto it = q->find("queue"); it != q->end()) query.queue = it->second == "none" ? "" : it->second;
  if (auto it = q->find("assignee"); it != q->end())
    query.assignee = it->second == "none" ? "" : it->second == "me" ? who->first.login : it->second;
  if (auto it = q->find("channel"); it != q->end()) {
    if (!channel_from_string(it->second))
      return refuse(request, bad_parameter("'channel' takes api, webchat, email, messenger, whatsapp or sms"));
    query.channel = it->second;
  }
  if (auto it = q->find("tag"); it != q->end()) query.tag = it->second;
  if (auto it = q->find("sort"); it != q->end()) {
    if (!one_of(it->second, {"waiting", "activity"}))
      return refuse(request, bad_parameter("'sort' takes waiting or activity"));
    query.by_activity = it->second == "activity";
  }
  auto limit = limit_param(*q, 50, 200);
  if (!limit) return refuse(request, limit.error());
  query.limit = *limit;
  if (auto it = q->find("cursor"); it != q->end()) query.cursor = it->second;
  auto list = storage::list_conversations(pool_, who->second, query);
  if (!list) return refuse(request, list.error());
  return json_response(200, std::move(*list));
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
  auto q = query_params(request, {"limit", "cursor"});
  if (!q) return refuse(request, q.error());
  auto limit = limit_param(*q, 100, 500);
  if (!limit) return refuse(request, limit.error());
  const auto cursor = q->count("cursor") ? q->at("cursor") : std::string();
  auto page = storage::conversation_page(pool_, who->second, id, *limit, cursor);
  if (!page) return refuse(request, page.error());
  return json_response(200, std::move(*page));
}

HttpResponse RestApi::reply(const HttpRequest& request, const std::string& id, bool preview) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto body = body_object(request);
  if (!body) return refuse(request, body.error());
  if (auto ok = only_fields(*body, {"text", "channel", "account", "author"}); !ok) return refuse(request, ok.error());
  const json::value* text_v = body->if_contains("text");
  if (!text_v || !text_v->is_string() || (!preview && text_v->get_string().empty()))
    return refuse(request, invalid("missing_field", "'text' is required and must be a non-empty string"));
  const std::string text(text_v->get_string());
  if (text.find('\0') != std::string::npos) return refuse(request, bad_field("'text' contains a NUL character"));
  storage::ReplyRoute route;
  auto channel = string_field(*body, "channel", false);
  auto account = string_field(*body, "account", false);
  auto author_field = string_field(*body, "author", false);
  for (const auto* r : {&channel, &account, &author_field})
    if (!*r) return refuse(request, r->error());
  route.channel = *channel;
  route.account = *account;
  if (route.channel && !channel_from_string(*route.channel))
    return refuse(request, bad_field("'channel' takes api, webchat, email, messenger, whatsapp or sms"));
  if (auto visible = storage::check_visible(pool_, who->second, id); !visible) return refuse(request, visible.error());

  const auto now = clock_.now();
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
    if (!target) return refuse(request, target.error());
    json::object out = check_json(*target, check_of(*target));
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
    return json_response(200, json::serialize(out));
  }

  // A person's reply is theirs; with the config's admin token the body may name the author.
  std::string author = who->first.login;
  if (who->first.config_token) author = author_field->value_or("agent");
  if (!intake_.ready()) return refuse(request, channels::not_ready());
  auto queued = storage::queue_agent_reply(pool_, id, text, author, now, route,
                                           [&](const storage::ReplyTarget& target) -> Status {
                                             const auto c = check_of(target);
                                             if (c.allowed) return Ok{};
                                             return make_error(ErrorKind::unprocessable, c.reason, c.message);
                                           });
  if (!queued) return refuse(request, queued.error());
  log::info("agent_reply_queued", {{"conversation", id},
                                   {"message", queued->message_id},
                                   {"outbox", queued->outbox_id},
                                   {"channel", queued->channel},
                                   {"author", author},
                                   {"req", request.request_id}});
  json::object out{{"message_id", queued->message_id}, {"conversation_id", id},      {"outbox_id", queued->outbox_id},
                   {"channel", queued->channel},       {"account", queued->account}, {"delivery_state", "queued"}};
  return json_response(201, json::serialize(out));
}

HttpResponse RestApi::add_note(const HttpRequest& request, const std::string& id) {
  auto who = viewer(request);
  if (!who) return refuse(request, who.error());
  auto body = body_object(request);
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
  auto body = body_object(request);
  if (!body) return refuse(request, body.error());
  if (auto ok = only_fields(*body, {"state", "assignee", "priority", "tags", "queue"}); !ok)
    return refuse(request, ok.error());
  if (body->empty())
    return refuse(request, bad_field("nothing to change: send state, assignee, priority, tags or queue"));
  const auto rules = rules_();
  storage::ConversationChange change;
  auto state = string_field(*body, "state", false);
  if (!state) return refuse(request, state.error());
  if (*state && !one_of(**state, {"open", "pending", "resolved"}))
    return refuse(request, bad_field("'state' takes open, pending or resolved"));
  change.state = *state;
  auto priority = string_field(*body, "priority", false);
  if (!priority) return refuse(request, priority.error());
  if (*priority && !one_of(**priority, {"low", "normal", "high", "urgent"}))
    return refuse(request, bad_field("'priority' takes low, normal, high or urgent"));
  change.priority = *priority;
  if (body->contains("assignee")) {
    auto assignee = string_field(*body, "assignee", false);
    if (!assignee) return refuse(request, assignee.error());
    if (*assignee && (!rules || !rules->person(**assignee)))
      return refuse(request, bad_field("no person '" + **assignee + "' in the rules file"));
    change.assignee = *assignee;
  }
  if (body->contains("queue")) {
    auto queue = string_field(*body, "queue", false);
    if (!queue) return refuse(request, queue.error());
    if (*queue) {
      const auto names = rules ? rules->queue_names() : std::vector<std::string>{};
      if (std::find(names.begin(), names.end(), **queue) == names.end())
        return refuse(request, bad_field("no queue '" + **queue + "' in the rules file"));
    }
    change.queue = *queue;
  }
  if (const json::value* tags = body->if_contains("tags")) {
    if (!tags->is_array()) return refuse(request, bad_field("'tags' must be an array of strings"));
    std::vector<std::string> list;
    for (const auto& t : tags->get_array()) {
      if (!t.is_string() || t.get_string().empty() || t.get_string().size() > kMaxTagBytes ||
          std::string_view(t.get_string()).find('\0') != std::string_view::npos)
        return refuse(request, bad_field("each tag must be a non-empty string of at most " +
                                         std::to_string(kMaxTagBytes) + " bytes"));
      std::string tag(t.get_string());
      if (std::find(list.begin(), list.end(), tag) == list.end()) list.push_back(std::move(tag));
    }
    if (list.size() > kMaxTags) return refuse(request, bad_field("at most " + std::to_string(kMaxTags) + " tags"));
    change.tags = std::move(list);
  }
  auto changed = storage::change_conversation(pool_, who->second, id, change, clock_.now());
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
  auto body = body_object(request);
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
  auto body = body_object(request);
  if (!body) return refuse(request, body.error());
  if (auto ok = only_fields(*body, {"kind", "value"}); !ok) return refuse(request, ok.error());
  auto kind = string_field(*body, "kind", true);
  if (!kind) return refuse(request, kind.error());
  auto value = string_field(*body, "value", true);
  if (!value) return refuse(request, value.error());
  auto fresh = storage::split_customer(pool_, who->second, id, **kind, **value, who->first.login, clock_.now());
  if (!fresh) return refuse(request, fresh.error());
  return json_response(201, std::move(*fresh));
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
  auto body = body_object(request);
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
      if (!host || scheme == std::string::npos || origin->substr(scheme + 3) != *host)
        return refuse(request, make_error(ErrorKind::forbidden, "cross_origin",
                                          "the stream takes a session cookie only from its own origin"));
    }
  auto q = query_params(request, {"since"});
  if (!q) return refuse(request, q.error());
  const auto since = q->count("since") ? q->at("since") : std::string();
  auto response = stream_.open(who->second, who->first.config_token, since, request.request_id);
  if (!response.stream) return logged(request, std::move(response));
  return response;
}

}  // namespace switchboard::daemon
