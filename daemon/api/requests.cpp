#include "daemon/api/requests.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>
#include <charconv>

#include "routing/core/message.hpp"
#include "routing/text/fold.hpp"
#include "routing/text/utf8.hpp"
#include "search/terms.hpp"

namespace switchboard::daemon::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxTags = 50;
constexpr std::size_t kMaxTagBytes = 64;

Error invalid(std::string code, std::string message) {
  return make_error(ErrorKind::invalid, std::move(code), std::move(message));
}
Error bad_parameter(std::string message) {
  return invalid("invalid_parameter", std::move(message));
}
Error bad_field(std::string message) {
  return invalid("invalid_field", std::move(message));
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> values) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

constexpr const char* kChannels = "api, webchat, email, messenger, whatsapp or sms";

}  // namespace

Result<json::object> body_object(std::string_view body) {
  if (!routing::is_valid_utf8(body)) return invalid("invalid_utf8", "request body is not valid UTF-8");
  json::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec || !root.is_object()) return invalid("invalid_json", "request body must be a JSON object");
  return std::move(root.get_object());
}

Status only_fields(const json::object& o, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : o)
    if (!one_of(key, known)) return bad_field("unknown field '" + std::string(key) + "'");
  return Ok{};
}

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

Result<std::map<std::string, std::string>> query_params(std::string_view query,
                                                        std::initializer_list<std::string_view> known) {
  std::map<std::string, std::string> out;
  if (query.empty()) return out;
  // Boost.URL 1.81's parse_query reads the text with strlen (found by fuzz_agent_requests under
  // ASan): it gets a NUL-terminated copy, whatever the caller's view points into.
  if (query.find('\0') != std::string_view::npos) return bad_parameter("the query string contains a NUL byte");
  const std::string text(query);
  auto parsed = boost::urls::parse_query(text);
  if (!parsed) return bad_parameter("the query string is not valid percent-encoding");
  boost::urls::encoding_opts plus;
  plus.space_as_plus = true;
  for (const auto& p : *parsed) {
    std::string key = p.key.decode(plus);
    std::string value = p.value.decode(plus);
    if (!routing::is_valid_utf8(key) || !one_of(key, known))
      return bad_parameter("unknown parameter '" + (routing::is_valid_utf8(key) ? key : std::string("?")) + "'");
    if (!routing::is_valid_utf8(value) || value.find('\0') != std::string::npos)
      return bad_parameter("parameter '" + key + "' is not valid UTF-8 text");
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

Result<int> limit_param(const std::map<std::string, std::string>& params, int fallback, int max) {
  auto it = params.find("limit");
  if (it == params.end()) return fallback;
  int n = 0;
  const auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || p != s.data() + s.size() || n < 1 || n > max)
    return bad_parameter("'limit' must be a whole number from 1 to " + std::to_string(max));
  return n;
}

Result<storage::ConversationQuery> conversation_query(std::string_view query_string, const std::string& me) {
  auto q = query_params(query_string, {"state", "queue", "assignee", "channel", "tag", "sort", "limit", "cursor"});
  if (!q) return q.error();
  storage::ConversationQuery query;
  if (auto it = q->find("state"); it != q->end()) {
    query.states.clear();
    if (it->second == "all") {
      query.states = {"open", "pending", "resolved"};
    } else {
      std::string_view rest = it->second;
      for (;;) {
        const auto comma = rest.find(',');
        const auto state = rest.substr(0, comma);
        if (!one_of(state, {"open", "pending", "resolved"}))
          return bad_parameter("'state' takes open, pending, resolved (comma-separated) or all");
        query.states.emplace_back(state);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
  }
  if (auto it = q->find("queue"); it != q->end()) {
    if (it->second.empty()) return bad_parameter("'queue' takes a queue's name or none");
    query.queue = it->second == "none" ? "" : it->second;
  }
  if (auto it = q->find("assignee"); it != q->end()) {
    if (it->second.empty()) return bad_parameter("'assignee' takes me, none or a login");
    query.assignee = it->second == "none" ? "" : it->second == "me" ? me : it->second;
  }
  if (auto it = q->find("channel"); it != q->end()) {
    if (!channel_from_string(it->second)) return bad_parameter(std::string("'channel' takes ") + kChannels);
    query.channel = it->second;
  }
  if (auto it = q->find("tag"); it != q->end()) {
    if (it->second.empty()) return bad_parameter("'tag' takes a tag");
    query.tag = it->second;
  }
  if (auto it = q->find("sort"); it != q->end()) {
    if (!one_of(it->second, {"waiting", "activity"})) return bad_parameter("'sort' takes waiting or activity");
    query.by_activity = it->second == "activity";
  }
  auto limit = limit_param(*q, 50, 200);
  if (!limit) return limit.error();
  query.limit = *limit;
  if (auto it = q->find("cursor"); it != q->end()) query.cursor = it->second;
  return query;
}

Result<storage::SearchQuery> search_query(std::string_view query_string, search::Stemmer* stemmer) {
  auto q = query_params(query_string, {"q", "limit", "cursor"});
  if (!q) return q.error();
  storage::SearchQuery query;
  const auto it = q->find("q");
  if (it == q->end() || routing::split_words(routing::fold(it->second)).empty())
    return bad_parameter("'q' must have a word to search for");
  // query_params checked the UTF-8: characters are the bytes that start one.
  if (std::count_if(it->second.begin(), it->second.end(), [](char c) { return (c & 0xC0) != 0x80; }) > 200)
    return bad_parameter("'q' is longer than 200 characters");
  query.tsquery = search::text_query(it->second, stemmer);
  if (query.tsquery.empty()) return bad_parameter("'q' has no word of a searchable length");
  // Folded by the database, with the function that folded the names (migration 0016).
  for (const auto& word : routing::split_words(routing::lower(it->second)))
    query.name += (query.name.empty() ? "" : " ") + word;
  // What the text may name exactly: an identity as typed (trimmed), an e-mail address also in
  // lower case. The caller adds the phone number it reads.
  std::string_view typed = it->second;
  while (!typed.empty() && (typed.front() == ' ' || typed.front() == '\t')) typed.remove_prefix(1);
  while (!typed.empty() && (typed.back() == ' ' || typed.back() == '\t')) typed.remove_suffix(1);
  query.identities.emplace_back(typed);
  if (typed.find('@') != std::string_view::npos) query.identities.push_back(routing::lower(typed));
  auto limit = limit_param(*q, 20, 100);
  if (!limit) return limit.error();
  query.limit = *limit;
  if (auto c = q->find("cursor"); c != q->end()) query.cursor = c->second;
  return query;
}

Result<storage::ConversationChange> conversation_change(std::string_view text, const routing::RuleSet* rules) {
  auto body = body_object(text);
  if (!body) return body.error();
  if (auto ok = only_fields(*body, {"state", "assignee", "priority", "tags", "queue"}); !ok) return ok.error();
  if (body->empty()) return bad_field("nothing to change: send state, assignee, priority, tags or queue");
  for (const char* name : {"state", "priority", "tags"})
    if (const json::value* v = body->if_contains(name); v && v->is_null())
      return bad_field(std::string("'") + name + "' cannot be null");
  storage::ConversationChange change;
  auto state = string_field(*body, "state", false);
  if (!state) return state.error();
  if (*state && !one_of(**state, {"open", "pending", "resolved"}))
    return bad_field("'state' takes open, pending or resolved");
  change.state = *state;
  auto priority = string_field(*body, "priority", false);
  if (!priority) return priority.error();
  if (*priority && !one_of(**priority, {"low", "normal", "high", "urgent"}))
    return bad_field("'priority' takes low, normal, high or urgent");
  change.priority = *priority;
  if (body->contains("assignee")) {
    auto assignee = string_field(*body, "assignee", false);
    if (!assignee) return assignee.error();
    if (*assignee && (!rules || !rules->person(**assignee)))
      return bad_field("no person '" + **assignee + "' in the rules file");
    change.assignee = *assignee;
  }
  if (body->contains("queue")) {
    auto queue = string_field(*body, "queue", false);
    if (!queue) return queue.error();
    if (*queue) {
      const auto names = rules ? rules->queue_names() : std::vector<std::string>{};
      if (std::find(names.begin(), names.end(), **queue) == names.end())
        return bad_field("no queue '" + **queue + "' in the rules file");
    }
    change.queue = *queue;
  }
  if (const json::value* tags = body->if_contains("tags")) {
    if (!tags->is_array()) return bad_field("'tags' must be an array of strings");
    std::vector<std::string> list;
    for (const auto& t : tags->get_array()) {
      if (!t.is_string() || t.get_string().empty() || t.get_string().size() > kMaxTagBytes ||
          std::string_view(t.get_string()).find('\0') != std::string_view::npos)
        return bad_field("each tag must be a non-empty string of at most " + std::to_string(kMaxTagBytes) + " bytes");
      std::string tag(t.get_string());
      if (std::find(list.begin(), list.end(), tag) == list.end()) list.push_back(std::move(tag));
    }
    if (list.size() > kMaxTags) return bad_field("at most " + std::to_string(kMaxTags) + " tags");
    change.tags = std::move(list);
  }
  return change;
}

Result<ReplyRequest> reply_request(std::string_view text, bool preview) {
  auto body = body_object(text);
  if (!body) return body.error();
  if (auto ok = only_fields(*body, {"text", "template", "whatsapp_template", "channel", "account", "author"}); !ok)
    return ok.error();
  ReplyRequest out;
  auto template_name = string_field(*body, "template", false);
  if (!template_name) return template_name.error();
  out.template_name = *template_name;
  const json::value* text_v = body->if_contains("text");
  if (out.template_name) {
    if (text_v) return bad_field("send either 'text' or 'template', not both");
  } else {
    if (!text_v || !text_v->is_string() || (!preview && text_v->get_string().empty()))
      return invalid("missing_field", "'text' (or 'template') is required and must be a non-empty string");
    out.text = std::string(text_v->get_string());
    if (out.text.find('\0') != std::string::npos) return bad_field("'text' contains a NUL character");
  }
  auto channel = string_field(*body, "channel", false);
  if (!channel) return channel.error();
  if (*channel && !channel_from_string(**channel)) return bad_field(std::string("'channel' takes ") + kChannels);
  auto account = string_field(*body, "account", false);
  if (!account) return account.error();
  auto author = string_field(*body, "author", false);
  if (!author) return author.error();
  if (const json::value* wt = body->if_contains("whatsapp_template"); wt && !wt->is_null()) {
    constexpr std::size_t kMaxParameters = 20;
    constexpr std::size_t kMaxParameterBytes = 1024;
    const auto shape = [] {
      return bad_field(R"('whatsapp_template' must be {"name":"...","language":"pl","parameters":["..."]})");
    };
    if (!wt->is_object()) return shape();
    if (auto ok = only_fields(wt->get_object(), {"name", "language", "parameters"}); !ok) return ok.error();
    auto name = string_field(wt->get_object(), "name", true);
    auto language = string_field(wt->get_object(), "language", true);
    if (!name || !language) return shape();
    WhatsAppTemplate t{**name, **language, {}};
    if (const json::value* ps = wt->get_object().if_contains("parameters"); ps && !ps->is_null()) {
      if (!ps->is_array() || ps->get_array().size() > kMaxParameters) return shape();
      for (const auto& p : ps->get_array()) {
        if (!p.is_string() || p.get_string().size() > kMaxParameterBytes ||
            std::string_view(p.get_string()).find('\0') != std::string_view::npos)
          return shape();
        t.parameters.emplace_back(p.get_string());
      }
    }
    out.whatsapp_template = std::move(t);
  }
  out.route.channel = *channel;
  out.route.account = *account;
  out.author = *author;
  return out;
}

}  // namespace switchboard::daemon::api
