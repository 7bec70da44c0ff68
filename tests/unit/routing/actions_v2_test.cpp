// The actions assign, page, close, set_priority and set_language, and the conditions
// conversation age_over/age_under and since_human_reply: golden decisions, exact check-rules
// text, thresholds and explain's descriptions.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

namespace {

constexpr const char* kActions = R"(version: 1
timezone: Europe/Warsaw
people:
  anna:  { name: Anna Nowak, phone: "+48600100200", email: anna@example.pl, languages: [pl, en] }
  piotr: { name: Piotr Wiśniewski, phone: "+48600100300", email: piotr@example.pl, languages: [pl] }
queues: { support: {} }
oncall:
  night: { rotation: [anna, piotr], handoff: "mon 09:00", ack_within: 10m, then: [sms, email, next] }
templates:
  hello: { pl: "Dzień dobry", en: "Hello" }
rules:
  - name: outage
    when: { text: { contains_any: [awari*] } }
    then: [ { page: night }, { set_priority: urgent }, { enqueue: support } ]
  - name: for-anna
    when: { text: { contains_any: [anna] } }
    then: [ { assign: anna } ]
  - name: thanks
    when: { text: { contains_any: [dzięki, thanks] } }
    then: [ { close: true } ]
  - name: english
    when: { text: { contains_any: [hello] } }
    then: [ { reply: hello }, { set_language: en }, { reply: hello } ]
  - name: default
    then: [ { set_priority: low } ]
)";

Timestamp at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

Decision decide_at(const RuleSet& rules, const std::string& text, Timestamp now,
                   const ConversationView& conversation = ConversationView{}) {
  InboundMessage message;
  message.channel = Channel::webchat;
  message.text = text;
  CustomerView customer;
  return evaluate(rules, EvaluationInput{message, conversation, customer, now});
}

std::vector<std::string> steps_of(const PageAction& page) {
  std::vector<std::string> out;
  for (const PageStep& step : page.steps)
    out.push_back(std::to_string(std::chrono::duration_cast<std::chrono::minutes>(step.after).count()) + "m " +
                  step.channel + " " + step.login + " " + step.address);
  return out;
}

// The rules for the conditions: each tags the message when its condition holds.
constexpr const char* kConditions = R"(version: 1
rules:
  - { name: old, when: { conversation: { age_over: 2h } }, then: [ { tag: old } ], continue: true }
  - { name: young, when: { conversation: { age_under: 30m } }, then: [ { tag: young } ], continue: true }
  - name: old-open
    when: { conversation: { state: open, inbound_count_at_least: 2, age_over: 1h30m } }
    then: [ { tag: old-open } ]
    continue: true
  - { name: chatty, when: { since_human_reply: { messages_at_least: 3 } }, then: [ { tag: chatty } ], continue: true }
  - { name: waiting, when: { since_human_reply: { longer_than: 1h } }, then: [ { tag: waiting } ], continue: true }
  - { name: end, then: [ { tag: end } ] }
)";

constexpr Timestamp kNow = std::chrono::sys_days{std::chrono::year(2027) / 3 / 1} + 12h;

// The tags the conditions' rules give a message, in order ("end" always comes last).
std::string tags_for(const RuleSet& rules, const ConversationView& conversation) {
  std::string out;
  for (const Action& action : decide_at(rules, "x", kNow, conversation).actions) out += std::get<TagAction>(action).tag + " ";
  return out;
}

// A conversation opened `ago`, where an agent replied a minute ago (unless `replied` is false).
ConversationView opened(Duration ago, bool replied = true) {
  ConversationView c;
  c.is_new = false;
  c.opened_at = kNow - ago;
  if (replied) c.last_human_reply_at = kNow - 1min;
  return c;
}

}  // namespace

TEST_CASE("actions v2: golden decisions of assign, close, set_priority", "[routing][actions]") {
  auto rules = compile_ok(kActions);
  const Timestamp now = at("2026-11-30T12:00:00+01:00");
  CHECK(summary(decide_at(*rules, "Proszę do Anny, anna wie", now)) == "for-anna: assign agent=anna");
  CHECK(summary(decide_at(*rules, "Dzięki, wszystko jasne", now)) == "thanks: close");
  CHECK(summary(decide_at(*rules, "pytanie", now)) == "default: set_priority priority=low");
  const Decision d = decide_at(*rules, "anna", now);
  REQUIRE(d.actions.size() == 1);
  CHECK(std::get<AssignAction>(d.actions[0]).agent == "anna");
}

TEST_CASE("actions v2: page picks the person on call across the Monday 09:00 handoff", "[routing][actions]") {
  auto rules = compile_ok(kActions);
  CHECK(summary(decide_at(*rules, "awaria!", at("2026-11-30T08:59:59+01:00"))) ==
        "outage: page schedule=night person=piotr, set_priority priority=urgent, enqueue support normal");
  CHECK(summary(decide_at(*rules, "awaria!", at("2026-11-30T09:00:00+01:00"))) ==
        "outage: page schedule=night person=anna, set_priority priority=urgent, enqueue support normal");

  const Decision before = decide_at(*rules, "awaria!", at("2026-11-30T08:59:59+01:00"));
  const auto& piotr_page = std::get<PageAction>(before.actions.at(0));
  CHECK(piotr_page.schedule == "night");
  CHECK(piotr_page.person == "piotr");
  CHECK(piotr_page.ack_within == 10min);
  CHECK(steps_of(piotr_page) == Lines{
                                    "0m sms piotr +48600100300",
                                    "10m email piotr piotr@example.pl",
                                    "20m sms anna +48600100200",
                                    "30m email anna anna@example.pl",
                                });
  const Decision after = decide_at(*rules, "awaria!", at("2026-11-30T09:00:00+01:00"));
  const auto& anna_page = std::get<PageAction>(after.actions.at(0));
  CHECK(anna_page.person == "anna");
  CHECK(steps_of(anna_page) == Lines{
                                   "0m sms anna +48600100200",
                                   "10m email anna anna@example.pl",
                                   "20m sms piotr +48600100300",
                                   "30m email piotr piotr@example.pl",
                               });
  CHECK(std::get<SetPriorityAction>(after.actions.at(1)).priority == Priority::urgent);
}

TEST_CASE("actions v2: replies after set_language in the same decision use the new language", "[routing][actions]") {
  auto rules = compile_ok(kActions);
  const Decision d = decide_at(*rules, "hello", at("2026-11-30T12:00:00+01:00"));
  CHECK(summary(d) == "english: reply hello, set_language language=en, reply hello");
  REQUIRE(d.actions.size() == 3);
  CHECK(std::get<ReplyAction>(d.actions[0]).text == "Dzień dobry");
  CHECK(std::get<SetLanguageAction>(d.actions[1]).language == "en");
  CHECK(std::get<ReplyAction>(d.actions[2]).text == "Hello");
  // The next evaluation starts again from the stored language.
  CHECK(std::get<ReplyAction>(decide_at(*rules, "hello", at("2026-11-30T12:00:00+01:00")).actions[0]).text == "Dzień dobry");
}

TEST_CASE("actions v2: every mistake is reported at its place", "[routing][actions]") {
  CHECK(diagnostics_of(R"(version: 1
people:
  anna: { name: Anna, phone: "+48600100200", email: anna@example.pl }
oncall:
  night: { rotation: [anna] }
rules:
  - name: a
    then:
      - { assign: ana }
      - { page: nigth }
      - { close: false }
      - { close: "true" }
      - { set_priority: hihg }
      - { set_priority: critical }
      - { set_language: english }
      - { set_language: EN }
      - { assign: [anna] }
      - { page: { name: night } }
)") == Lines{
             "rules.yaml:9:19: error: undefined person 'ana' (did you mean 'anna'?)",
             "rules.yaml:10:17: error: undefined on-call schedule 'nigth' (did you mean 'night'?)",
             "rules.yaml:11:18: error: 'close' must be true",
             "rules.yaml:12:18: error: 'close' must be true",
             "rules.yaml:13:25: error: unknown priority 'hihg' (did you mean 'high'?)",
             "rules.yaml:14:25: error: unknown priority 'critical' (expected 'low', 'normal', 'high' or 'urgent')",
             "rules.yaml:15:25: error: 'english' is not a language code such as 'pl' or 'en'",
             "rules.yaml:16:25: error: 'EN' is not a language code such as 'pl' or 'en'",
             "rules.yaml:17:19: error: 'assign' must be the login of a person",
             "rules.yaml:18:17: error: 'page' must be the name of an on-call schedule",
         });
}

TEST_CASE("actions v2: options of other actions and misspelt kinds", "[routing][actions]") {
  CHECK(diagnostics_of(R"(version: 1
people: { anna: { name: Anna } }
rules:
  - name: a
    then: [ { assign: anna, priority: high }, { set_priorty: high } ]
)") == Lines{
             "rules.yaml:5:29: error: 'priority' applies only to 'enqueue'",
             "rules.yaml:5:49: error: unknown key 'set_priorty' (did you mean 'set_priority'?)",
         });
}

TEST_CASE("actions v2: an on-call schedule no rule pages is a warning", "[routing][actions]") {
  constexpr const char* kUnused = R"(version: 1
people: { anna: { name: Anna, phone: "+48600100200" } }
oncall:
  night: { rotation: [anna], then: [sms] }
  day: { rotation: [anna], then: [sms] }
rules:
  - name: a
    then: [ { page: day } ]
)";
  CHECK(diagnostics_of(kUnused) == Lines{"rules.yaml:4:3: warning: on-call schedule 'night' is never used"});
  CHECK(compile(kUnused).rules != nullptr);
}

TEST_CASE("conditions v2: conversation age around its thresholds", "[routing][conditions]") {
  auto rules = compile_ok(kConditions);
  // Strict bounds: exactly 2h old is not over 2h, exactly 30m old is not under 30m.
  CHECK(tags_for(*rules, opened(2h)) == "end ");
  CHECK(tags_for(*rules, opened(2h + 1s)) == "old end ");
  CHECK(tags_for(*rules, opened(30min)) == "end ");
  CHECK(tags_for(*rules, opened(30min - 1s)) == "young end ");
  CHECK(tags_for(*rules, opened(0s)) == "young end ");
  // 1h30m, with the other keys of the same mapping.
  ConversationView c = opened(1h + 30min + 1s);
  CHECK(tags_for(*rules, c) == "end ");  // one inbound message only
  c.inbound_count = 2;
  CHECK(tags_for(*rules, c) == "old-open end ");
  c.state = "pending";
  CHECK(tags_for(*rules, c) == "end ");
  c = opened(1h + 30min);
  c.inbound_count = 2;
  CHECK(tags_for(*rules, c) == "end ");
}

TEST_CASE("conditions v2: since_human_reply counts messages and time", "[routing][conditions]") {
  auto rules = compile_ok(kConditions);
  ConversationView c = opened(40min);
  c.inbound_since_human_reply = 2;
  CHECK(tags_for(*rules, c) == "end ");
  c.inbound_since_human_reply = 3;
  CHECK(tags_for(*rules, c) == "chatty end ");

  // From the last human reply, strictly longer than 1h.
  c = opened(5h);
  c.last_human_reply_at = kNow - 1h;
  CHECK(tags_for(*rules, c) == "old end ");
  c.last_human_reply_at = kNow - 1h - 1s;
  CHECK(tags_for(*rules, c) == "old waiting end ");
  // Nobody replied yet: measured from the conversation's opening.
  c = opened(1h, false);
  CHECK(tags_for(*rules, c) == "end ");
  c = opened(1h + 1s, false);
  CHECK(tags_for(*rules, c) == "waiting end ");
}

TEST_CASE("conditions v2: explain describes the new conditions", "[routing][conditions]") {
  auto rules = compile_ok(kConditions);
  InboundMessage message;
  const ConversationView conversation = opened(10min, false);
  CustomerView customer;
  Explanation e = explain(*rules, EvaluationInput{message, conversation, customer, kNow});
  std::vector<std::string> described;
  for (const auto& [rule, traces] : e.rules_checked)
    described.push_back(traces.at(0).description + (traces.at(0).value ? " = true" : " = false"));
  CHECK(described == Lines{
                         "conversation age_over 2h = false",
                         "conversation age_under 30m = true",
                         "conversation state open inbound_count_at_least 2 age_over 1h30m = false",
                         "since_human_reply messages_at_least 3 = false",
                         "since_human_reply longer_than 1h (from opening while no human reply) = false",
                         "always = true",
                     });
}

TEST_CASE("conditions v2: bad durations, counts and keys are reported at their place", "[routing][conditions]") {
  CHECK(diagnostics_of(R"(version: 1
rules:
  - name: a
    when: { all: [ { conversation: { age_over: 2 hours } }, { conversation: { age_under: 0m, age: 1h } } ] }
    then: [ { tag: x } ]
  - name: b
    when: { any: [ { since_human_reply: { longer_than: [1h] } }, { since_human_reply: { messages_at_least: 0 } } ] }
    then: [ { tag: x } ]
  - name: c
    when: { any: [ { since_human_reply: { mesages_at_least: 3 } }, { since_human_reply: 3 }, { conversation: {} } ] }
    then: [ { tag: x } ]
)") == Lines{
             "rules.yaml:4:48: error: invalid duration '2 hours' in 'age_over' (use 90s, 30m, 12h, 7d or combinations such "
             "as 1h30m)",
             "rules.yaml:4:90: error: invalid duration '0m' in 'age_under' (use 90s, 30m, 12h, 7d or combinations such as "
             "1h30m)",
             "rules.yaml:4:94: error: unknown key 'age' (did you mean 'age_over'?)",
             "rules.yaml:7:56: error: 'longer_than' must be a duration such as 90s, 30m, 12h, 7d or 1h30m",
             "rules.yaml:7:108: error: 'messages_at_least' must be a whole number of at least 1",
             "rules.yaml:10:43: error: unknown key 'mesages_at_least' (did you mean 'messages_at_least'?)",
             "rules.yaml:10:89: error: 'since_human_reply' must be a mapping with 'messages_at_least' or 'longer_than'",
             "rules.yaml:10:110: error: 'conversation' must be a mapping with 'state', 'inbound_count_at_least', "
             "'age_over' or 'age_under'",
         });
}
