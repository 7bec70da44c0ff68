// switchboard explain: which rule fires for a message, why, and what it would do, without a
// database, so ops can try Saturday 23:00 or Easter Monday before it happens.
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "channels/api/adapter.hpp"
#include "daemon/app.hpp"
#include "daemon/commands.hpp"
#include "routing/calendar/zone.hpp"
#include "routing/evaluate.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRules = 1;
constexpr int kExitUsage = 2;

const char* kHelp =
    "usage: switchboard explain --rules FILE --message JSON|@FILE [--at TIME] [--customer JSON|@FILE] [--json]\n"
    "\n"
    "Shows which rule fires for a message, every condition with its value, and the actions with\n"
    "their rendered templates. Touches no database.\n"
    "  --message   the inbound API JSON plus \"channel\" (default api); external_id is optional;\n"
    "              \"automatic\": \"unsure\" for mail that may be a robot's (no reply goes to it)\n"
    "  --at        RFC 3339 time (2027-03-29T10:00:00+02:00) or local time in the rules' time zone\n"
    "              (2027-03-29T10:00; the earlier of a repeated autumn hour, a spring-gap time moved\n"
    "              forward by the gap); default: now\n"
    "  --customer  {\"name\": \"..\", \"language\": \"pl\", \"tags\": [..], \"first_message\": true,\n"
    "               \"last_auto_reply\": {\"TEMPLATE\": TIME}}  (TIME: when that auto-reply last went out)\n"
    "  --json      {\"rule\": NAME or null, \"conditions\": [...], \"actions\": [...]}\n"
    "A reply on sms shows its encoding (gsm7 or ucs2) and segments, after the rules' 'sms' options;\n"
    "a reply on whatsapp its template for outside the 24 h window, when it has one. A template\n"
    "variable that renders as nothing here gets a warning line (in --json: \"empty_variables\").\n"
    "exit: 0 (also when no rule matches); 1 errors in the rules file; 2 bad usage or input.\n";

// A reply's SMS encoding and segments and its WhatsApp template, which explain shows on lines
// of their own below the reply.
bool reply_detail(const std::string& key) { return key.starts_with("sms_") || key.starts_with("whatsapp_"); }

json::object action_json(const Action& action, const std::vector<std::string>& empty_variables) {
  json::object o;
  for (const auto& [key, value] : action_fields(action)) o[key] = value;
  json::array empty;
  for (const auto& v : empty_variables) empty.emplace_back(v);
  o["empty_variables"] = std::move(empty);
  if (const auto* reply = std::get_if<ReplyAction>(&action)) {
    if (!reply->sms_encoding.empty()) o["sms_segments"] = reply->sms_segments;
    if (reply->whatsapp_template) {
      json::array parameters;
      for (const auto& p : reply->whatsapp_template->parameters) parameters.emplace_back(p);
      o["whatsapp_parameters"] = std::move(parameters);
    }
  }
  return o;
}

std::string action_text(const Action& action, const std::vector<std::string>& empty_variables) {
  auto fields = action_fields(action);
  std::string out = fields.front().second;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    if (reply_detail(fields[i].first)) continue;
    out += " " + fields[i].first + "=" + (fields[i].first == "text" ? "\"" + fields[i].second + "\"" : fields[i].second);
  }
  if (const auto* reply = std::get_if<ReplyAction>(&action)) {
    if (!reply->sms_encoding.empty())
      out += "\n    sms: " + reply->sms_encoding + ", " + std::to_string(reply->sms_segments) +
             (reply->sms_segments == 1 ? " segment" : " segments");
    if (const auto& t = reply->whatsapp_template) {
      out += "\n    whatsapp template (outside the 24 h window): " + t->name + " language=" + t->language + " parameters=[";
      for (std::size_t i = 0; i < t->parameters.size(); ++i) out += (i > 0 ? ", \"" : "\"") + t->parameters[i] + "\"";
      out += "]";
    }
  }
  // An empty variable leaves a gap ("rozmowa ."): say so rather than let it pass unseen.
  for (const auto& v : empty_variables)
    out += "\n    warning: variable {{" + v + "}} is empty here and renders as nothing; give it a fallback: {{" + v +
           " | \"...\"}}";
  return out;
}

}  // namespace

int cmd_explain(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return kExitOk;
    }
  if (!parse_args(args, {"rules", "message", "at", "customer"}, {"json"}, parsed, error) ||
      !parsed.positional.empty() || !parsed.has("rules") || !parsed.has("message")) {
    std::cerr << "switchboard explain: " << (error.empty() ? "--rules and --message are required" : error) << "\n"
              << kHelp;
    return kExitUsage;
  }

  std::vector<Diagnostic> diagnostics;
  bool unreadable = false;
  auto rules = load_rules(*parsed.get("rules"), diagnostics, unreadable);
  if (unreadable) {
    std::cerr << *parsed.get("rules") << ": error: cannot read the rules file\n";
    return kExitUsage;
  }
  for (const auto& d : diagnostics) std::cerr << d.format() << "\n";
  if (!rules) return kExitRules;

  Timestamp at = SystemClock().now();
  if (const std::string* t = parsed.get("at")) {
    // A local time without an offset is read in the rules file's time zone (CONTRACT).
    auto zone = routing::TimeZone::find(rules->timezone());
    auto parsed_at = zone ? routing::parse_local_or_rfc3339(*t, *zone) : parse_rfc3339(*t);
    if (!parsed_at) {
      std::cerr << "switchboard explain: --at must be an RFC 3339 time (2027-03-29T10:00:00+02:00) or a local "
                   "time in the rules' time zone (2027-03-29T10:00)\n";
      return kExitUsage;
    }
    at = *parsed_at;
  }

  std::string message_text;
  if (!read_argument(*parsed.get("message"), message_text)) {
    std::cerr << "switchboard explain: cannot read " << parsed.get("message")->substr(1) << "\n";
    return kExitUsage;
  }
  json::error_code ec;
  json::value message_json = json::parse(message_text, ec);
  if (ec || !message_json.is_object()) {
    std::cerr << "switchboard explain: --message must be a JSON object\n";
    return kExitUsage;
  }
  json::object& mo = message_json.get_object();
  Channel channel = Channel::api;
  if (const json::value* c = mo.if_contains("channel")) {
    auto parsed_channel = c->is_string() ? channel_from_string(std::string(c->get_string())) : std::nullopt;
    if (!parsed_channel) {
      std::cerr << "switchboard explain: 'channel' must be one of api, webchat, email, messenger, whatsapp, sms\n";
      return kExitUsage;
    }
    channel = *parsed_channel;
  }
  if (!mo.contains("external_id")) mo["external_id"] = "explain";
  std::string account = "explain";
  if (const json::value* a = mo.if_contains("account"); a && a->is_string()) account = std::string(a->get_string());
  auto message = channels::api::parse_inbound_json(json::serialize(mo), account, at);
  if (!message) {
    std::cerr << "switchboard explain: --message: " << message.error().message << "\n";
    return kExitUsage;
  }
  message->channel = channel;
  // "automatic": "unsure" (or a reason): a mail that may be a robot's, as the e-mail channel marks
  // it; the rules see it as `automatic: unsure` and no reply goes to it.
  if (const json::value* a = mo.if_contains("automatic")) {
    if (!a->is_string() && !a->is_null()) {
      std::cerr << "switchboard explain: 'automatic' must be \"unsure\" (or a reason), \"no\" or null\n";
      return kExitUsage;
    }
    if (a->is_string() && a->get_string() != "no" && !a->get_string().empty())
      message->automatic_unsure = a->get_string() == "unsure" ? "given as unsure" : std::string(a->get_string());
  }

  CustomerView customer;
  customer.id = "explain";
  customer.display_name = message->display_name;
  customer.language = message->language;
  ConversationView conversation;
  if (const std::string* c = parsed.get("customer")) {
    std::string text;
    if (!read_argument(*c, text)) {
      std::cerr << "switchboard explain: cannot read " << c->substr(1) << "\n";
      return kExitUsage;
    }
    json::value cv = json::parse(text, ec);
    if (ec || !cv.is_object()) {
      std::cerr << "switchboard explain: --customer must be a JSON object\n";
      return kExitUsage;
    }
    const json::object& co = cv.get_object();
    if (const json::value* v = co.if_contains("name"); v && v->is_string()) customer.display_name = v->get_string();
    if (const json::value* v = co.if_contains("language"); v && v->is_string())
      customer.language = std::string(v->get_string());
    if (const json::value* v = co.if_contains("tags"); v && v->is_array())
      for (const auto& t : v->get_array())
        if (t.is_string()) customer.tags.emplace_back(t.get_string());
    if (const json::value* v = co.if_contains("last_auto_reply"); v && v->is_object()) {
      std::map<std::string, Timestamp, std::less<>> sent;
      for (const auto& [name, when] : v->get_object()) {
        auto t = when.is_string() ? parse_rfc3339(std::string(when.get_string())) : std::nullopt;
        if (!t) {
          std::cerr << "switchboard explain: --customer: last_auto_reply values must be RFC 3339 times\n";
          return kExitUsage;
        }
        sent[std::string(name)] = *t;
      }
      customer.last_auto_reply = [sent](std::string_view name) -> std::optional<Timestamp> {
        auto it = sent.find(name);
        return it == sent.end() ? std::nullopt : std::optional<Timestamp>(it->second);
      };
    }
    if (const json::value* v = co.if_contains("first_message"); v && v->is_bool()) {
      conversation.is_new = v->get_bool();
      conversation.inbound_count = conversation.is_new ? 1 : 2;
    }
  }

  routing::EvaluationInput input{*message, conversation, customer, at};
  routing::Explanation explanation = routing::explain(*rules, input);
  const Decision& decision = explanation.decision;

  if (parsed.has("json")) {
    json::object out;
    out["rule"] = decision.rule ? json::value(*decision.rule) : json::value(nullptr);
    json::array matched;
    for (const auto& m : decision.matched) matched.emplace_back(m);
    out["matched"] = std::move(matched);
    json::array conditions;
    for (const auto& [rule, traces] : explanation.rules_checked)
      for (const auto& t : traces)
        conditions.push_back(json::object{{"rule", rule}, {"condition", t.description}, {"value", t.value},
                                          {"depth", t.depth}});
    out["conditions"] = std::move(conditions);
    json::array actions;
    for (std::size_t i = 0; i < decision.actions.size(); ++i)
      actions.push_back(action_json(decision.actions[i], explanation.empty_variables.at(i)));
    out["actions"] = std::move(actions);
    json::array suppressed;
    for (const auto& t : decision.suppressed) suppressed.emplace_back(t);
    out["suppressed_by_at_most"] = std::move(suppressed);
    out["at"] = format_rfc3339(at);
    out["automatic"] = message->automatic_unsure.empty() ? json::value("no") : json::value("unsure");
    if (!message->automatic_unsure.empty() && decision.rule) out["replies_held_back"] = "automatic: unsure";
    std::cout << json::serialize(out) << "\n";
    return kExitOk;
  }

  std::cout << "message: channel " << to_string(channel) << ", at " << format_rfc3339(at);
  if (!message->automatic_unsure.empty()) std::cout << ", automatic: unsure (" << message->automatic_unsure << ")";
  std::cout << "\n";
  for (const auto& [rule, traces] : explanation.rules_checked) {
    bool fired = std::find(decision.matched.begin(), decision.matched.end(), rule) != decision.matched.end();
    std::cout << "rule '" << rule << "': " << (fired ? "fires" : "does not match") << "\n";
    for (const auto& t : traces)
      std::cout << "  " << std::string(static_cast<std::size_t>(t.depth) * 2, ' ') << (t.value ? "[yes] " : "[no]  ")
                << t.description << "\n";
  }
  if (!decision.rule) {
    std::cout << "no rule matches: nothing would be done\n";
    return kExitOk;
  }
  std::cout << "decision: rule '" << *decision.rule << "'\n";
  for (std::size_t i = 0; i < decision.actions.size(); ++i)
    std::cout << "  " << action_text(decision.actions[i], explanation.empty_variables.at(i)) << "\n";
  for (const auto& t : decision.suppressed)
    std::cout << "  (reply " << t << " held back by at_most: the customer had it within the window)\n";
  if (!message->automatic_unsure.empty())
    for (const auto& action : decision.actions)
      if (std::holds_alternative<ReplyAction>(action)) {
        std::cout << "  (replies held back: automatic: unsure, no automatic reply goes to a possible robot)\n";
        break;
      }
  return kExitOk;
}

const std::string* ParsedArgs::get(const std::string& name) const {
  for (const auto& [k, v] : options)
    if (k == name) return &v;
  return nullptr;
}

bool parse_args(const std::vector<std::string>& args, const std::vector<std::string>& with_value,
                const std::vector<std::string>& flags, ParsedArgs& out, std::string& error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      if (has_value) {
        error = "option '--" + name + "' takes no value";
        return false;
      }
      out.options.emplace_back(name, "");
      continue;
    }
    if (std::find(with_value.begin(), with_value.end(), name) == with_value.end()) {
      error = "unknown option '--" + name + "'";
      return false;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        error = "option '--" + name + "' needs a value";
        return false;
      }
      value = args[++i];
    }
    out.options.emplace_back(name, value);
  }
  return true;
}

bool read_argument(const std::string& value, std::string& out) {
  if (value.empty() || value[0] != '@') {
    out = value;
    return true;
  }
  std::ifstream in(value.substr(1), std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace switchboard::daemon
