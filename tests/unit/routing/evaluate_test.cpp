// evaluate(): golden tables of rules + message -> decision, and the matching semantics of each
// condition kind (whole words, prefixes, phrases, RE2, channels, first message, all/any/not).
#include <catch2/catch.hpp>

#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;

namespace {

// The rules most tables run against: the shape of DESIGN.md's example, without calendars.
constexpr std::string_view kGoldenRules = R"(version: 1
timezone: Europe/Warsaw
queues:
  support: {}
  sales: { skills: [en], description: "Sales team" }
templates:
  urgent_ack: "Przyjęliśmy zgłoszenie awarii, dyżurny już został powiadomiony."
  welcome: "Dzień dobry!"
rules:
  - name: spam
    when: { text: { matches: "(?i)viagra|casino" } }
    then: [ { tag: spam } ]
  - name: outage
    when: { text: { contains_any: [awari*, "nie działa", urgent] } }
    then: [ { reply: urgent_ack }, { enqueue: support, priority: urgent } ]
  - name: wants-a-human
    when: { text: { contains_any: [człowiek*, konsultant*, human] } }
    then: [ { enqueue: support, priority: high } ]
  - name: prices-by-phone
    when: { all: [ { channel: [sms, whatsapp] }, { text: { matches: "\\bcen[aeyi]\\b", fold: true } } ] }
    then: [ { enqueue: sales } ]
  - name: greet-new
    when: { first_message: true }
    then: [ { reply: welcome } ]
    continue: true
  - name: default
    then: [ { enqueue: support } ]
)";

struct Golden {
  Probe probe;
  const char* expected;
};

void run_golden(std::string_view rules_text, std::initializer_list<Golden> table) {
  auto rules = compile_ok(rules_text);
  for (const Golden& row : table) {
    INFO("text: " << row.probe.text << ", channel: " << to_string(row.probe.channel)
                  << ", first: " << row.probe.first_message);
    CHECK(summary_of(*rules, row.probe) == row.expected);
  }
}

}  // namespace

TEST_CASE("evaluate: golden table over the example rules", "[routing][evaluate]") {
  run_golden(kGoldenRules, {
      {{"Mamy AWARIĘ serwera"}, "outage: reply urgent_ack, enqueue support urgent"},
      {{"Internet nie działa od rana"}, "outage: reply urgent_ack, enqueue support urgent"},
      {{"NIE DZIALA"}, "outage: reply urgent_ack, enqueue support urgent"},
      {{"URGENT!!!"}, "outage: reply urgent_ack, enqueue support urgent"},
      {{"Chcę rozmawiać z człowiekiem"}, "wants-a-human: enqueue support high"},
      {{"połączcie mnie z konsultantem"}, "wants-a-human: enqueue support high"},
      {{"I want a HUMAN please"}, "wants-a-human: enqueue support high"},
      {{"Ile kosztuje? Jaka cena?", Channel::sms}, "prices-by-phone: enqueue sales normal"},
      {{"Proszę o CENĘ", Channel::whatsapp}, "prices-by-phone: enqueue sales normal"},
      {{"Jaka cena?", Channel::webchat}, "default: enqueue support normal"},
      {{"z cenami", Channel::sms}, "default: enqueue support normal"},
      {{"Buy VIAGRA now, awaria!"}, "spam: tag spam"},
      {{"Dzień dobry", Channel::email, true}, "greet-new+default: reply welcome, enqueue support normal"},
      {{"awaria", Channel::email, true}, "outage: reply urgent_ack, enqueue support urgent"},
      {{"Dzień dobry", Channel::email, false}, "default: enqueue support normal"},
      {{""}, "default: enqueue support normal"},
  });
}

TEST_CASE("evaluate: '*' matches words beginning with the entry, not words containing it", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: outage
    when: { text: { contains_any: [awari*, konsultant*] } }
    then: [ { enqueue: support } ]
)", {
      {{"awaria"}, "outage: enqueue support normal"},
      {{"awarię"}, "outage: enqueue support normal"},
      {{"AWARII!"}, "outage: enqueue support normal"},
      {{"awari"}, "outage: enqueue support normal"},
      {{"z konsultantem"}, "outage: enqueue support normal"},
      {{"nawaria"}, "-"},
      {{"superawaria"}, "-"},
      {{"awar"}, "-"},
      {{"konsultacja"}, "-"},
  });
}

TEST_CASE("evaluate: contains_any matches whole words only", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: human
    when: { text: { contains_any: [human, "pl"] } }
    then: [ { enqueue: support } ]
)", {
      {{"human"}, "human: enqueue support normal"},
      {{"(human)"}, "human: enqueue support normal"},
      {{"humanity"}, "-"},
      {{"inhuman"}, "-"},
      {{"humans"}, "-"},
      {{"jan@example.pl"}, "human: enqueue support normal"},  // '@' and '.' separate words
      {{"plan"}, "-"},
  });
}

TEST_CASE("evaluate: a multi-word entry matches its words consecutively", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: broken
    when: { text: { contains_any: ["nie działa", "brak dostęp*"] } }
    then: [ { enqueue: support } ]
)", {
      {{"nie działa"}, "broken: enqueue support normal"},
      {{"Strona NIE    DZIAŁA."}, "broken: enqueue support normal"},
      {{"nie, działa"}, "broken: enqueue support normal"},  // punctuation between words is no word
      {{"nie wiem czy działa"}, "-"},
      {{"działa nie"}, "-"},
      {{"nie"}, "-"},
      {{"mamy brak dostępu"}, "broken: enqueue support normal"},  // '*' on the last word
      {{"brak dostep"}, "broken: enqueue support normal"},
      {{"brakuje dostępu"}, "-"},
  });
}

TEST_CASE("evaluate: matches runs RE2 on the original text", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: order
    when: { text: { matches: 'Zamówienie nr \d+' } }
    then: [ { enqueue: support } ]
)", {
      {{"Zamówienie nr 123 nie dotarło"}, "order: enqueue support normal"},
      {{"zamówienie nr 123"}, "-"},  // case matters on the original text
      {{"Zamowienie nr 123"}, "-"},  // and so do diacritics
      {{"Zamówienie nr X"}, "-"},
  });
}

TEST_CASE("evaluate: matches with fold: true runs RE2 on the folded text", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: order
    when: { text: { matches: '^zamowienie nr \d+$', fold: true } }
    then: [ { enqueue: support } ]
)", {
      {{"ZAMÓWIENIE NR 5"}, "order: enqueue support normal"},
      {{"Zamowienie nr 77"}, "order: enqueue support normal"},
      {{"Zamówienie nr 5 i 6"}, "-"},
  });
}

TEST_CASE("evaluate: RE2's \\b is ASCII-only and does not see Polish letters as word characters",
          "[routing][evaluate]") {
  // Documented behaviour: prefer contains_any for words. The compiler warns about such patterns.
  auto result = compile(R"(version: 1
queues: { support: {} }
rules:
  - name: turtle
    when: { text: { matches: '\bżółw\b' } }
    then: [ { enqueue: support } ]
)");
  REQUIRE(result.rules != nullptr);
  CHECK(summary_of(*result.rules, {"żółw"}) == "-");
  CHECK(summary_of(*result.rules, {"mój żółw"}) == "-");
  CHECK(summary_of(*result.rules, {"xżółw"}) == "turtle: enqueue support normal");  // "boundaries" at x|ż and at the end

  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: plain
    when: { text: { matches: 'żółw' } }
    then: [ { enqueue: support } ]
  - name: folded
    when: { text: { matches: '\bzolw\b', fold: true } }
    then: [ { tag: turtle } ]
)", {
      {{"mój żółw"}, "plain: enqueue support normal"},
      {{"mój ŻÓŁW!"}, "folded: tag turtle"},
  });
}

TEST_CASE("evaluate: channel takes one name or a list", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {}, phones: {} }
rules:
  - name: mail
    when: { channel: email }
    then: [ { enqueue: support } ]
  - name: phones
    when: { channel: [sms, whatsapp] }
    then: [ { enqueue: phones } ]
)", {
      {{"x", Channel::email}, "mail: enqueue support normal"},
      {{"x", Channel::sms}, "phones: enqueue phones normal"},
      {{"x", Channel::whatsapp}, "phones: enqueue phones normal"},
      {{"x", Channel::messenger}, "-"},
      {{"x", Channel::api}, "-"},
      {{"x", Channel::webchat}, "-"},
  });
}

TEST_CASE("evaluate: first_message true and false", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: opening
    when: { first_message: true }
    then: [ { tag: new } ]
  - name: follow-up
    when: { first_message: false }
    then: [ { tag: follow-up } ]
)", {
      {{"hej", Channel::webchat, true}, "opening: tag new"},
      {{"hej", Channel::webchat, false}, "follow-up: tag follow-up"},
  });
}

TEST_CASE("evaluate: all, any and not nest", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {} }
rules:
  - name: nested
    when:
      all:
        - not: { channel: [sms, email] }
        - any:
            - text: { contains_any: [faktur*] }
            - all:
                - first_message: true
                - not: { text: { contains_any: [dziękuję] } }
    then: [ { tag: nested } ]
)", {
      {{"Gdzie faktura?", Channel::webchat, false}, "nested: tag nested"},
      {{"Gdzie faktura?", Channel::sms, false}, "-"},
      {{"Gdzie faktura?", Channel::email, true}, "-"},
      {{"Dzień dobry", Channel::messenger, true}, "nested: tag nested"},
      {{"Dziękuję", Channel::messenger, true}, "-"},
      {{"Dzień dobry", Channel::messenger, false}, "-"},
  });
}

TEST_CASE("evaluate: the first matching rule wins", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { first: {}, second: {} }
rules:
  - name: a
    when: { text: { contains_any: [awaria] } }
    then: [ { enqueue: first } ]
  - name: b
    when: { text: { contains_any: [awaria, serwer] } }
    then: [ { enqueue: second } ]
)", {
      {{"awaria serwera"}, "a: enqueue first normal"},
      {{"serwer"}, "b: enqueue second normal"},
  });
}

TEST_CASE("evaluate: continue: true accumulates the actions of later matching rules", "[routing][evaluate]") {
  run_golden(R"(version: 1
queues: { support: {}, vip: {} }
rules:
  - name: tag-urgent
    when: { text: { contains_any: [pilne] } }
    then: [ { tag: urgent } ]
    continue: true
  - name: tag-sms
    when: { channel: sms }
    then: [ { tag: sms }, { tag: phone } ]
    continue: true
  - name: vip
    when: { text: { contains_any: [vip] } }
    then: [ { enqueue: vip, priority: high } ]
  - name: default
    then: [ { enqueue: support } ]
)", {
      {{"pilne", Channel::sms}, "tag-urgent+tag-sms+default: tag urgent, tag sms, tag phone, enqueue support normal"},
      {{"pilne vip", Channel::webchat}, "tag-urgent+vip: tag urgent, enqueue vip high"},
      {{"pilne vip", Channel::sms}, "tag-urgent+tag-sms+vip: tag urgent, tag sms, tag phone, enqueue vip high"},
      {{"vip", Channel::sms}, "tag-sms+vip: tag sms, tag phone, enqueue vip high"},
      {{"hej", Channel::webchat}, "default: enqueue support normal"},
  });
}

TEST_CASE("evaluate: no matching rule gives a decision without a rule", "[routing][evaluate]") {
  auto rules = compile_ok(R"(version: 1
queues: { support: {} }
rules:
  - name: only-sms
    when: { channel: sms }
    then: [ { enqueue: support } ]
    continue: true
)");
  Decision decision = decide(*rules, {"hej", Channel::email});
  CHECK_FALSE(decision.rule.has_value());
  CHECK(decision.matched.empty());
  CHECK(decision.actions.empty());
  // A last rule with continue: true that matches still yields its actions.
  CHECK(summary_of(*rules, {"hej", Channel::sms}) == "only-sms: enqueue support normal");
}

TEST_CASE("evaluate: a reply carries the template's text", "[routing][evaluate]") {
  auto rules = compile_ok(kGoldenRules);
  Decision decision = decide(*rules, {"awaria"});
  REQUIRE(decision.actions.size() == 2);
  const auto* reply = std::get_if<ReplyAction>(&decision.actions[0]);
  REQUIRE(reply != nullptr);
  CHECK(reply->template_name == "urgent_ack");
  CHECK(reply->text == "Przyjęliśmy zgłoszenie awarii, dyżurny już został powiadomiony.");
  const auto* enqueue = std::get_if<EnqueueAction>(&decision.actions[1]);
  REQUIRE(enqueue != nullptr);
  CHECK(enqueue->queue == "support");
  CHECK(enqueue->priority == Priority::urgent);
}

TEST_CASE("evaluate: explain traces every rule checked and every part of its condition", "[routing][evaluate]") {
  auto rules = compile_ok(kGoldenRules);
  InboundMessage message;
  message.channel = Channel::sms;
  message.text = "Jaka jest cena?";
  ConversationView conversation;
  conversation.is_new = false;
  CustomerView customer;
  Explanation explanation = explain(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});

  CHECK(summary(explanation.decision) == "prices-by-phone: enqueue sales normal");
  CHECK(summary(explanation.decision) == summary(decide(*rules, {"Jaka jest cena?", Channel::sms, false})));
  REQUIRE(explanation.rules_checked.size() == 4);
  CHECK(explanation.rules_checked[0].first == "spam");
  CHECK(explanation.rules_checked[1].first == "outage");
  CHECK(explanation.rules_checked[2].first == "wants-a-human");
  CHECK(explanation.rules_checked[3].first == "prices-by-phone");

  const auto& outage = explanation.rules_checked[1].second;
  REQUIRE(outage.size() == 1);
  CHECK(outage[0].description == R"(text contains_any [awari*, "nie działa", urgent])");
  CHECK_FALSE(outage[0].value);
  CHECK(outage[0].depth == 0);

  CHECK(explanation.rules_checked[0].second.at(0).description == "text matches '(?i)viagra|casino'");

  const auto& prices = explanation.rules_checked[3].second;
  REQUIRE(prices.size() == 3);
  CHECK(prices[0].description == "all");
  CHECK(prices[0].value);
  CHECK(prices[0].depth == 0);
  CHECK(prices[1].description == "channel [sms, whatsapp]");
  CHECK(prices[1].value);
  CHECK(prices[1].depth == 1);
  CHECK(prices[2].description == R"(text matches '\bcen[aeyi]\b' fold)");
  CHECK(prices[2].value);
  CHECK(prices[2].depth == 1);
}

TEST_CASE("evaluate: explain evaluates every part even when the result is already known", "[routing][evaluate]") {
  auto rules = compile_ok(R"(version: 1
queues: { support: {} }
rules:
  - name: r
    when: { any: [ { channel: email }, { not: { first_message: true } } ] }
    then: [ { enqueue: support } ]
  - name: default
    then: [ { tag: other } ]
)");
  InboundMessage message;
  message.channel = Channel::email;
  ConversationView conversation;  // is_new = true
  CustomerView customer;
  Explanation explanation = explain(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});
  REQUIRE(explanation.rules_checked.size() == 1);
  const auto& trace = explanation.rules_checked[0].second;
  REQUIRE(trace.size() == 4);
  CHECK((trace[0].description == "any" && trace[0].value && trace[0].depth == 0));
  CHECK((trace[1].description == "channel email" && trace[1].value && trace[1].depth == 1));
  CHECK((trace[2].description == "not" && !trace[2].value && trace[2].depth == 1));
  CHECK((trace[3].description == "first_message true" && trace[3].value && trace[3].depth == 2));

  message.channel = Channel::sms;
  conversation.is_new = false;
  explanation = explain(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});
  REQUIRE(explanation.rules_checked.size() == 1);
  message.text = "x";
  conversation.is_new = true;
  explanation = explain(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});
  REQUIRE(explanation.rules_checked.size() == 2);
  REQUIRE(explanation.rules_checked[1].second.size() == 1);
  CHECK(explanation.rules_checked[1].second[0].description == "always");
  CHECK(explanation.rules_checked[1].second[0].value);
  CHECK(summary(explanation.decision) == "default: tag other");
}

TEST_CASE("evaluate: explain lists the template variables that rendered as nothing (issue 11)", "[routing][evaluate]") {
  auto rules = compile_ok(R"(version: 1
queues: { support: {} }
templates:
  info: "Dzień dobry {{customer.first_name | \"Państwo\"}}, rozmowa {{conversation.id}}{{conversation.queue}}."
  named: "Dzień dobry {{customer.name}}."
rules:
  - name: r
    then: [ { reply: info }, { enqueue: support }, { reply: named } ]
)");
  InboundMessage message;
  message.channel = Channel::email;
  ConversationView conversation;  // no id yet, as in explain
  CustomerView customer;
  Explanation explanation = explain(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});
  REQUIRE(explanation.decision.actions.size() == 3);
  REQUIRE(explanation.empty_variables.size() == 3);
  CHECK(std::get<ReplyAction>(explanation.decision.actions[0]).text == "Dzień dobry Państwo, rozmowa .");
  CHECK(explanation.empty_variables[0] == std::vector<std::string>{"conversation.id", "conversation.queue"});
  CHECK(explanation.empty_variables[1].empty());
  CHECK(explanation.empty_variables[2] == std::vector<std::string>{"customer.name"});

  customer.display_name = "Jan Kowalski";
  conversation.id = "42";
  conversation.queue = "support";
  explanation = explain(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});
  REQUIRE(explanation.empty_variables.size() == 3);
  CHECK(explanation.empty_variables[0].empty());
  CHECK(explanation.empty_variables[2].empty());
  CHECK(summary(evaluate(*rules, EvaluationInput{message, conversation, customer, Timestamp{}})) ==
        summary(explanation.decision));
}
