// A reply's 'whatsapp_template': the approved template WhatsApp sends outside the customer's
// 24-hour window. Compiled with the reply, its parameters rendered like reply text.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using Lines = std::vector<std::string>;

namespace {

std::string rules_with(const std::string& whatsapp_template) {
  return R"(version: 1
timezone: Europe/Warsaw
calendars:
  office: { hours: { mon-fri: "08:00-17:00" } }
templates:
  closed:
    pl: "Biuro jest zamknięte, odpowiemy {{office.next_open}}."
    en: "The office is closed, we will answer {{office.next_open}}."
rules:
  - name: r
    then:
      - reply: closed
        whatsapp_template: )" +
         whatsapp_template + "\n";
}

const std::string kTemplate =
    R"({ name: office_closed, language: pl, parameters: ["{{customer.first_name | \"Państwo\"}}", "{{office.next_open}}", "Zespół"] })";

// Monday 20:00 in Warsaw: the office opens tomorrow at 8:00.
const Timestamp kMondayEvening = *parse_rfc3339("2026-11-30T20:00:00+01:00");

Decision decide_on(const RuleSet& rules, Channel channel, const std::string& name = "",
                   std::optional<std::string> language = std::nullopt) {
  InboundMessage message;
  message.channel = channel;
  message.text = "x";
  ConversationView conversation;
  CustomerView customer;
  customer.display_name = name;
  customer.language = std::move(language);
  return evaluate(rules, EvaluationInput{message, conversation, customer, kMondayEvening});
}

const ReplyAction& only_reply(const Decision& d) {
  REQUIRE(d.actions.size() == 1);
  return std::get<ReplyAction>(d.actions[0]);
}

}  // namespace

TEST_CASE("whatsapp_template: replies on WhatsApp carry the template with rendered parameters", "[routing][whatsapp]") {
  auto rules = compile_ok(rules_with(kTemplate));
  const Decision d = decide_on(*rules, Channel::whatsapp, "Anna Nowak");
  const ReplyAction& reply = only_reply(d);
  CHECK(reply.text == "Biuro jest zamknięte, odpowiemy jutro o 8:00.");
  REQUIRE(reply.whatsapp_template.has_value());
  CHECK(*reply.whatsapp_template == WhatsAppTemplate{"office_closed", "pl", {"Anna", "jutro o 8:00", "Zespół"}});
  CHECK(action_fields(d.actions[0]) == std::vector<std::pair<std::string, std::string>>{
                                           {"type", "reply"},
                                           {"template", "closed"},
                                           {"text", reply.text},
                                           {"whatsapp_template", "office_closed"},
                                           {"whatsapp_language", "pl"},
                                       });
  // Fallbacks work as in reply text: an unnamed sender.
  const Decision unnamed = decide_on(*rules, Channel::whatsapp);
  CHECK(only_reply(unnamed).whatsapp_template->parameters ==
        Lines{"Państwo", "jutro o 8:00", "Zespół"});
}

TEST_CASE("whatsapp_template: its language stays as written whatever the reply's language", "[routing][whatsapp]") {
  auto rules = compile_ok(rules_with(kTemplate));
  const Decision d_en = decide_on(*rules, Channel::whatsapp, "John Smith", "en");
  const ReplyAction& english = only_reply(d_en);
  CHECK(english.text == "The office is closed, we will answer tomorrow at 8:00.");
  CHECK(*english.whatsapp_template == WhatsAppTemplate{"office_closed", "pl", {"John", "jutro o 8:00", "Zespół"}});

  auto us = compile_ok(rules_with(R"({ name: office_closed, language: en_US, parameters: ["{{office.next_open}}"] })"));
  const Decision d_pl = decide_on(*us, Channel::whatsapp, "Anna", "pl");
  const ReplyAction& polish = only_reply(d_pl);
  CHECK(polish.text == "Biuro jest zamknięte, odpowiemy jutro o 8:00.");
  CHECK(*polish.whatsapp_template == WhatsAppTemplate{"office_closed", "en_US", {"tomorrow at 8:00"}});
}

TEST_CASE("whatsapp_template: parameters are optional; other channels get no template", "[routing][whatsapp]") {
  auto bare = compile_ok(rules_with("{ name: hello_world, language: en }"));
  const Decision hello = decide_on(*bare, Channel::whatsapp);
  CHECK(*only_reply(hello).whatsapp_template == WhatsAppTemplate{"hello_world", "en", {}});
  auto rules = compile_ok(rules_with(kTemplate));
  for (Channel channel : {Channel::sms, Channel::messenger, Channel::webchat, Channel::email, Channel::api}) {
    INFO(to_string(channel));
    const Decision d = decide_on(*rules, channel, "Anna");
    CHECK_FALSE(only_reply(d).whatsapp_template.has_value());
    CHECK(action_fields(d.actions[0]).size() == (channel == Channel::sms ? 5u : 3u));  // sms adds its encoding
  }
}

TEST_CASE("whatsapp_template: name, language and parameters are checked at their place", "[routing][whatsapp]") {
  // Line 13 holds 'whatsapp_template: ' (column 28 starts its value).
  CHECK(diagnostics_of(rules_with("{ name: Order-Update, language: en-US, parameters: [\"\", \"{{customer.nam}}\"] }")) ==
        Lines{
            "rules.yaml:13:36: error: invalid WhatsApp template name 'Order-Update': use lower-case letters, digits "
            "and '_' (at most 512), as WhatsApp Manager names them",
            "rules.yaml:13:60: error: 'en-US' is not a WhatsApp language code (WhatsApp writes it 'en_US')",
            "rules.yaml:13:80: error: parameter 1 of WhatsApp template 'Order-Update' is empty (WhatsApp rejects empty "
            "parameters)",
            "rules.yaml:13:84: error: undefined variable 'customer.nam' in parameter 2 of WhatsApp template "
            "'Order-Update' (did you mean 'customer.name'?)",
        });
  CHECK(diagnostics_of(rules_with("{ language: polski, parameters: [\"{{customer.name}}\"], params: [] }")) ==
        Lines{
            "rules.yaml:13:28: error: 'whatsapp_template' needs 'name': the name of the approved template",
            "rules.yaml:13:40: error: 'polski' is not a WhatsApp language code (such as 'pl', 'en' or 'en_US')",
            "rules.yaml:13:61: warning: 'customer.name' may be empty (an SMS sender has no name): give a fallback "
            "such as {{customer.name | \"Państwo\"}}",
            "rules.yaml:13:83: error: unknown key 'params'",
        });
  CHECK(diagnostics_of(rules_with("{ name: x, parameters: { a: b } }")) ==
        Lines{
            "rules.yaml:13:28: error: 'whatsapp_template' needs 'language': the language of the approved template, "
            "such as 'pl'",
            "rules.yaml:13:51: error: 'parameters' must be a list of strings",
        });
  CHECK(diagnostics_of(rules_with("{ name: x, language: pl, parameters: [a, [b]] }")) ==
        Lines{"rules.yaml:13:65: error: 'parameters' must be a list of strings"});
  CHECK(diagnostics_of(rules_with("office_closed")) ==
        Lines{"rules.yaml:13:28: error: 'whatsapp_template' must be a mapping such as '{ name: order_update, language: "
              "pl, parameters: [..] }'"});
  CHECK(diagnostics_of(rules_with("{ name: [x], language: pl, parameters: [\"{{x\"] }")) ==
        Lines{
            "rules.yaml:13:36: error: 'name' of 'whatsapp_template' must be a string",
            "rules.yaml:13:68: error: unclosed '{{' in parameter 1 of 'whatsapp_template'",
        });
  CHECK(diagnostics_of(rules_with("{ name: " + std::string(513, 'a') + ", language: pl }")).size() == 1);
  CHECK(compile(rules_with("{ name: " + std::string(512, 'a') + ", language: fil }")).rules != nullptr);
  CHECK(compile(rules_with("{ name: order_2, language: prs_AF }")).rules != nullptr);
}

TEST_CASE("whatsapp_template: belongs to 'reply' only", "[routing][whatsapp]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { q: {} }
rules:
  - name: r
    then: [ { enqueue: q, whatsapp_template: { name: x, language: pl } } ]
)") == Lines{"rules.yaml:5:27: error: 'whatsapp_template' applies only to 'reply'"});
}
