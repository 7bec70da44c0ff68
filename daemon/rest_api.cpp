#include "daemon/rest_api.hpp"

#include <boost/json.hpp>

#include "routing/text/utf8.hpp"
#include "routing/core/log.hpp"
#include "storage/conversations.hpp"
#include "storage/outbox.hpp"
#include "storage/system_messages.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

json::value message_json(const storage::MessageRecord& m) {
  json::object o;
  o["id"] = m.id;
  o["conversation_id"] = m.conversation_id;
  o["direction"] = m.direction;
  o["channel"] = m.channel;
  o["account"] = m.account;
  o["external_id"] = m.external_id ? json::value(*m.external_id) : json::value(nullptr);
  o["sender"] = m.sender;
  o["text"] = m.body;
  json::error_code ec;
  json::value attachments = json::parse(m.attachments_json, ec);
  o["attachments"] = ec ? json::value(json::array()) : attachments;
  o["created_at"] = m.created_at;
  if (m.delivery_state) o["delivery_state"] = *m.delivery_state;
  if (m.attempts) o["attempts"] = *m.attempts;
  if (m.last_error) o["last_error"] = *m.last_error;
  return o;
}

json::value conversation_json(const storage::ConversationRecord& c) {
  json::object o;
  o["id"] = c.id;
  o["customer_id"] = c.customer_id;
  o["state"] = c.state;
  o["queue"] = c.queue ? json::value(*c.queue) : json::value(nullptr);
  o["priority"] = c.priority;
  json::array tags;
  for (const auto& t : c.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  o["opened_at"] = c.opened_at;
  return o;
}

}  // namespace

Status RestApi::add_routes(channels::RouteTable& routes) {
  using channels::PathParams;
  for (auto added :
       {routes.add("GET", "/api/v1/conversations/{id}",
                   [this](const HttpRequest&r, const PathParams&p) {
                     return conversation(r, std::string(p.get("id")), false);
                   }),
        routes.add("GET", "/api/v1/conversations/{id}/messages",
                   [this](const HttpRequest&r, const PathParams&p) {
                     return conversation(r, std::string(p.get("id")), true);
                   }),
        routes.add("POST", "/api/v1/conversations/{id}/messages", [this](const HttpRequest&r, const PathParams&p) {
          return agent_reply(r, std::string(p.get("id")));
        }),
        routes.add("POST", "/api/v1/session",
                   [this](const HttpRequest& r, const PathParams&) { return logged(r, auth_.login(r)); }),
        routes.add("DELETE", "/api/v1/session",
                   [this](const HttpRequest& r, const PathParams&) { return logged(r, auth_.logout(r)); }),
        routes.add("GET", "/api/v1/session",
                   [this](const HttpRequest& r, const PathParams&) { return logged(r, auth_.whoami(r)); }),
        routes.add("POST", "/api/v1/people/{login}/tokens",
                   [this](const HttpRequest& r, const PathParams& p) {
                     return logged(r, auth_.create_token(r, std::string(p.get("login"))));
                   }),
        routes.add("GET", "/api/v1/people/{login}/tokens",
                   [this](const HttpRequest& r, const PathParams& p) {
                     return logged(r, auth_.list_tokens(r, std::string(p.get("login"))));
                   }),
        routes.add("DELETE", "/api/v1/tokens/{id}", [this](const HttpRequest& r, const PathParams& p) {
          return logged(r, auth_.revoke_token(r, std::string(p.get("id"))));
        })})
    if (!added) return added;
  return Ok{};
}

HttpResponse RestApi::logged(const HttpRequest& request, HttpResponse response) {
  if (response.status >= 400)
    log::emit(response.status >= 500 ? log::Level::error : log::Level::warn, "api_rejected",
              {{"path", request.path}, {"status", std::to_string(response.status)}, {"req", request.request_id}});
  return response;
}

HttpResponse RestApi::conversation(const HttpRequest& request, const std::string& id, bool messages) {
  auto reject = [&](const Error& e) { return reject_(request, "api_rejected", e); };
  if (auto auth = auth_.require_admin(request); !auth) return reject(auth.error());
  auto conv = storage::get_conversation(pool_, id);
  if (!conv) return reject(conv.error());
  if (!messages) return json_response(200, json::serialize(conversation_json(*conv)));
  auto list = storage::list_messages(pool_, id);
  if (!list) return reject(list.error());
  json::array items;
  for (const auto& m : *list) items.push_back(message_json(m));
  json::object body;
  body["conversation"] = conversation_json(*conv);
  body["messages"] = std::move(items);
  // Bounces and reports about this conversation's replies: never part of the dialogue.
  auto system = storage::list_system_messages(pool_, id);
  if (!system) return reject(system.error());
  json::array reports;
  for (const auto& r : *system) {
    json::object o{{"id", r.id},         {"kind", r.kind},       {"channel", r.channel}, {"account", r.account},
                   {"sender", r.sender}, {"subject", r.subject}, {"body", r.body},       {"created_at", r.created_at}};
    o["concerns_message_id"] = r.concerns_message_id ? json::value(*r.concerns_message_id) : json::value(nullptr);
    o["status"] = r.status ? json::value(*r.status) : json::value(nullptr);
    o["error"] = r.error ? json::value(*r.error) : json::value(nullptr);
    reports.push_back(std::move(o));
  }
  body["system_messages"] = std::move(reports);
  return json_response(200, json::serialize(body));
}

HttpResponse RestApi::agent_reply(const HttpRequest& request, const std::string& id) {
  auto reject = [&](const Error& e) { return reject_(request, "api_rejected", e); };
  auto caller = auth_.require_admin(request);
  if (!caller) return reject(caller.error());
  if (!routing::is_valid_utf8(request.body))
    return reject(make_error(ErrorKind::invalid, "invalid_utf8", "request body is not valid UTF-8"));
  json::error_code ec;
  json::value root = json::parse(request.body, ec);
  if (ec || !root.is_object())
    return reject(make_error(ErrorKind::invalid, "invalid_json", "request body must be a JSON object"));
  const json::value* text = root.get_object().if_contains("text");
  if (!text || !text->is_string() || text->get_string().empty())
    return reject(make_error(ErrorKind::invalid, "missing_field", "'text' is required and must be a non-empty string"));
  std::string body(text->get_string());
  if (body.find('\0') != std::string::npos)
    return reject(make_error(ErrorKind::invalid, "invalid_field", "'text' contains a NUL character"));
  // A person's reply is theirs; with an admin token the body may name the author.
  std::string author = caller->by_session ? caller->login : "agent";
  if (const json::value* a = root.get_object().if_contains("author");
      !caller->by_session && a && a->is_string() && !a->get_string().empty())
    author = std::string(a->get_string());
  if (!intake_.ready()) return reject(channels::not_ready());
  auto queued = storage::queue_agent_reply(pool_, id, body, author, clock_.now());
  if (!queued) return reject(queued.error());
  log::info("agent_reply_queued", {{"conversation", id},
                                   {"message", queued->message_id},
                                   {"outbox", queued->outbox_id},
                                   {"channel", queued->channel},
                                   {"req", request.request_id}});
  json::object out;
  out["message_id"] = queued->message_id;
  out["conversation_id"] = id;
  out["outbox_id"] = queued->outbox_id;
  out["channel"] = queued->channel;
  out["delivery_state"] = "queued";
  return json_response(201, json::serialize(out));
}

}  // namespace switchboard::daemon
