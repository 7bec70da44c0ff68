// Tests for routing/core/outbound: the outbox payload, written and read in one place.
#include <catch2/catch.hpp>

#include "routing/core/outbound.hpp"

using namespace switchboard;

TEST_CASE("outbound payload: every field survives the outbox row", "[routing][outbound]") {
  OutboundPayload p;
  p.text = "Dzień dobry, \"Zażółć\" <b>gęślą</b>\n\u2603";
  p.template_name = "after_hours";
  p.html = "<p>Dzień dobry</p>";
  p.in_reply_to = "1001";
  p.conversation_id = "42";
  p.sms_encoding = "ucs2";
  p.sms_segments = 2;
  p.whatsapp_template = WhatsAppTemplate{"order_shipped", "pl", {"4711", "jutro"}};
  p.mail = MailThread{"Re: Zamówienie", "a1@example.pl", {"a0@example.pl", "a1@example.pl"}};
  auto back = parse_outbound_payload(serialize(p));
  REQUIRE(back.ok());
  CHECK(*back == p);
  CHECK_FALSE(back->from_human());

  OutboundPayload agent;
  agent.text = "Sprawdzę to.";
  agent.author = "ola";
  agent.conversation_id = "42";
  auto agent_back = parse_outbound_payload(serialize(agent));
  REQUIRE(agent_back.ok());
  CHECK(*agent_back == agent);
  CHECK(agent_back->from_human());

  OutboundPayload notify;
  notify.text = "Nowa wiadomość";
  notify.template_name = "page";
  notify.message_id = "1001";
  auto notify_back = parse_outbound_payload(serialize(notify));
  REQUIRE(notify_back.ok());
  CHECK(*notify_back == notify);  // "rule": null reads back as none
  CHECK(serialize(notify).find(R"("rule":null)") != std::string::npos);
}

TEST_CASE("outbound payload: rows of earlier versions still read", "[routing][outbound]") {
  // As the pipeline wrote them before the struct: "template" empty, unknown keys.
  auto old = parse_outbound_payload(
      R"({"text":"x","template":"","in_reply_to":"7","conversation_id":"3","email":{"subject":"s",)"
      R"("in_reply_to":"m@x","references":["m@x"]},"later_field":{"a":1}})");
  REQUIRE(old.ok());
  CHECK(old->text == "x");
  CHECK(old->template_name.empty());
  REQUIRE(old->mail);
  CHECK(old->mail->references == std::vector<std::string>{"m@x"});
  auto empty = parse_outbound_payload("");
  REQUIRE(empty.ok());
  CHECK(*empty == OutboundPayload{});
}

TEST_CASE("outbound payload: a damaged row is refused with the field it breaks", "[routing][outbound]") {
  for (const auto& [json, message] : std::vector<std::pair<std::string, std::string>>{
           {"{", "the outbox payload is not a JSON object"},
           {"[1,2]", "the outbox payload is not a JSON object"},
           {R"("text")", "the outbox payload is not a JSON object"},
           {R"({"text":5})", "the outbox payload field 'text' is not a string"},
           {R"({"author":["x"]})", "the outbox payload field 'author' is not a string"},
           {R"({"sms_segments":"2"})", "the outbox payload field 'sms_segments' is not a count"},
           {R"({"sms_segments":-1})", "the outbox payload field 'sms_segments' is not a count"},
           {R"({"rule":1})", "the outbox payload field 'rule' is not a string"},
           {R"({"whatsapp_template":"x"})", "the outbox payload field 'whatsapp_template' is not an object"},
           {R"({"whatsapp_template":{"language":"pl"}})",
            "the outbox payload field 'whatsapp_template.name' is not a non-empty string"},
           {R"({"whatsapp_template":{"name":"x","language":""}})",
            "the outbox payload field 'whatsapp_template.language' is not a non-empty string"},
           {R"({"whatsapp_template":{"name":"x","language":"pl","parameters":[1]}})",
            "the outbox payload field 'whatsapp_template.parameters' is not an array of strings"},
           {R"({"email":[]})", "the outbox payload field 'email' is not an object"},
           {R"({"email":{"references":"a@b"}})", "the outbox payload field 'references' is not an array of strings"},
       }) {
    INFO(json);
    auto parsed = parse_outbound_payload(json);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().kind == ErrorKind::invalid);
    CHECK(parsed.error().code == "invalid_payload");
    CHECK(parsed.error().message == message);
  }
}
