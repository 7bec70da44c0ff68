#include "routing/core/outbound.hpp"

#include <boost/json.hpp>

namespace switchboard {

namespace json = boost::json;

namespace {

Error invalid(const std::string& why) {
  return make_error(ErrorKind::invalid, "invalid_payload", "the outbox payload " + why);
}

// A string field: absent and null read as "".
Result<std::string> text_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::string();
  if (!v->is_string()) return invalid("field '" + std::string(key) + "' is not a string");
  return std::string(v->get_string());
}

Result<std::vector<std::string>> strings_at(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return invalid("field '" + std::string(key) + "' is not an array of strings");
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) return invalid("field '" + std::string(key) + "' is not an array of strings");
    out.emplace_back(item.get_string());
  }
  return out;
}

json::array to_array(const std::vector<std::string>& items) {
  json::array a;
  for (const auto& s : items) a.emplace_back(s);
  return a;
}

}  // namespace

std::string serialize(const OutboundPayload& p) {
  json::object o;
  o["text"] = p.text;
  if (!p.template_name.empty()) o["template"] = p.template_name;
  if (!p.html.empty()) o["html"] = p.html;
  if (!p.author.empty()) o["author"] = p.author;
  if (!p.in_reply_to.empty()) o["in_reply_to"] = p.in_reply_to;
  if (!p.conversation_id.empty()) o["conversation_id"] = p.conversation_id;
  if (!p.sms_encoding.empty()) {
    o["sms_encoding"] = p.sms_encoding;
    o["sms_segments"] = p.sms_segments;
  }
  if (p.whatsapp_template)
    o["whatsapp_template"] = json::object{{"name", p.whatsapp_template->name},
                                          {"language", p.whatsapp_template->language},
                                          {"parameters", to_array(p.whatsapp_template->parameters)}};
  if (p.mail)
    o["email"] = json::object{{"subject", p.mail->subject},
                              {"in_reply_to", p.mail->in_reply_to},
                              {"references", to_array(p.mail->references)}};
  if (p.rule || !p.message_id.empty()) {
    o["rule"] = p.rule ? json::value(*p.rule) : json::value(nullptr);
    o["message_id"] = p.message_id;
  }
  return json::serialize(o);
}

Result<OutboundPayload> parse_outbound_payload(std::string_view text) {
  OutboundPayload p;
  if (text.empty()) return p;
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return invalid("is not a JSON object");
  const json::object& o = v.get_object();
  for (auto [field, key] : {std::pair{&p.text, "text"},
                            {&p.template_name, "template"},
                            {&p.html, "html"},
                            {&p.author, "author"},
                            {&p.in_reply_to, "in_reply_to"},
                            {&p.conversation_id, "conversation_id"},
                            {&p.sms_encoding, "sms_encoding"},
                            {&p.message_id, "message_id"}}) {
    auto s = text_at(o, key);
    if (!s) return s.error();
    *field = std::move(*s);
  }
  if (const json::value* n = o.if_contains("sms_segments"); n && !n->is_null()) {
    if (!n->is_int64() || n->get_int64() < 0 || n->get_int64() > 1000)
      return invalid("field 'sms_segments' is not a count");
    p.sms_segments = static_cast<int>(n->get_int64());
  }
  if (const json::value* r = o.if_contains("rule"); r && !r->is_null()) {
    if (!r->is_string()) return invalid("field 'rule' is not a string");
    p.rule = std::string(r->get_string());
  }
  if (const json::value* t = o.if_contains("whatsapp_template"); t && !t->is_null()) {
    if (!t->is_object()) return invalid("field 'whatsapp_template' is not an object");
    WhatsAppTemplate tpl;
    auto name = text_at(t->get_object(), "name");
    auto language = text_at(t->get_object(), "language");
    auto parameters = strings_at(t->get_object(), "parameters");
    if (!name || name->empty()) return invalid("field 'whatsapp_template.name' is not a non-empty string");
    if (!language || language->empty()) return invalid("field 'whatsapp_template.language' is not a non-empty string");
    if (!parameters) return invalid("field 'whatsapp_template.parameters' is not an array of strings");
    tpl.name = std::move(*name);
    tpl.language = std::move(*language);
    tpl.parameters = std::move(*parameters);
    p.whatsapp_template = std::move(tpl);
  }
  if (const json::value* e = o.if_contains("email"); e && !e->is_null()) {
    if (!e->is_object()) return invalid("field 'email' is not an object");
    MailThread thread;
    auto subject = text_at(e->get_object(), "subject");
    if (!subject) return subject.error();
    auto parent = text_at(e->get_object(), "in_reply_to");
    if (!parent) return parent.error();
    auto references = strings_at(e->get_object(), "references");
    if (!references) return references.error();
    thread.subject = std::move(*subject);
    thread.in_reply_to = std::move(*parent);
    thread.references = std::move(*references);
    p.mail = std::move(thread);
  }
  return p;
}

}  // namespace switchboard
