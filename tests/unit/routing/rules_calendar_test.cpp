// The rules file's calendars, the conditions that read time, customer and conversation, reply
// templates with variables and languages, and 'at_most': check-rules text and evaluate().
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using Lines = std::vector<std::string>;

namespace {

struct Input {
  const char* at = "2027-03-30T10:00:00+02:00";
  std::string name{};
  std::optional<std::string> customer_language{};
  std::optional<std::string> message_language{};
  std::vector<std::string> tags{};
  std::string account = "shop";
  bool attachment = false;
  std::string state = "open";
  long inbound_count = 1;
};

Decision run(const RuleSet& rules, const Input& in) {
  InboundMessage message;
  message.channel = Channel::sms;
  message.account = in.account;
  message.language = in.message_language;
  if (in.attachment) message.attachments.push_back(Attachment{"https://x/y.png", "image/png", "y.png", 10});
  ConversationView conversation;
  conversation.id = "c-42";
  conversation.state = in.state;
  conversation.inbound_count = in.inbound_count;
  CustomerView customer;
  customer.display_name = in.name;
  customer.language = in.customer_language;
  customer.tags = in.tags;
  return evaluate(rules, EvaluationInput{message, conversation, customer, *parse_rfc3339(in.at)});
}

std::string reply_text(const RuleSet& rules, const Input& in) {
  Decision d = run(rules, in);
  for (const auto& a : d.actions)
    if (const auto* r = std::get_if<ReplyAction>(&a)) return r->text;
  return "-";
}

constexpr const char* kOffice = R"(version: 1
timezone: Europe/Warsaw
calendars:
  office:
    hours: { mon-fri: "08:00-17:00", sat: "09:00-13:00" }
    holidays: pl
    closed: [2026-12-31]
    open: [ {date: 2026-12-24, hours: "09:00-12:00"} ]
templates:
  after_hours:
    pl: "Dzień dobry {{customer.first_name | \"Państwo\"}}, odpowiemy {{office.next_open}}."
    en: "Hello {{customer.first_name | 'there'}}, we will answer {{office.next_open}}."
  info: "Kanał {{message.channel}}, rozmowa {{conversation.id}}."
queues: { support: {} }
rules:
  - name: after-hours
    when: { not: { open: office } }
    then: [ { reply: after_hours, at_most: once per 12h }, { enqueue: support } ]
  - name: default
    then: [ { reply: info } ]
)";

}  // namespace

TEST_CASE("rules calendars: open condition, next_open in the customer's language", "[routing][calendar]") {
  auto rules = compile_ok(kOffice);
  CHECK(summary(run(*rules, {.at = "2027-03-30T10:00:00+02:00"})) == "default: reply info");
  CHECK(reply_text(*rules, {.at = "2027-03-30T10:00:00+02:00"}) == "Kanał sms, rozmowa c-42.");
  CHECK(summary(run(*rules, {.at = "2027-03-29T10:00:00+02:00"})) == "after-hours: reply after_hours, enqueue support normal");
  // Easter Monday 2027, then Tuesday 08:00.
  CHECK(reply_text(*rules, {.at = "2027-03-29T10:00:00+02:00", .name = "Jan Kowalski"}) ==
        "Dzień dobry Jan, odpowiemy jutro o 8:00.");
  CHECK(reply_text(*rules, {.at = "2027-03-29T10:00:00+02:00"}) == "Dzień dobry Państwo, odpowiemy jutro o 8:00.");
  CHECK(reply_text(*rules, {.at = "2027-03-29T10:00:00+02:00", .name = "Anna Nowak", .customer_language = "en"}) ==
        "Hello Anna, we will answer tomorrow at 8:00.");
  CHECK(reply_text(*rules, {.at = "2027-03-29T10:00:00+02:00", .message_language = "en"}) ==
        "Hello there, we will answer tomorrow at 8:00.");
  // A language without a variant falls back to the file's default (pl).
  CHECK(reply_text(*rules, {.at = "2027-03-29T10:00:00+02:00", .customer_language = "de"}) ==
        "Dzień dobry Państwo, odpowiemy jutro o 8:00.");
  // Saturday 23:00 -> Tuesday (Easter Sunday and Monday closed).
  CHECK(reply_text(*rules, {.at = "2027-03-27T23:00:00+01:00"}) == "Dzień dobry Państwo, odpowiemy we wtorek o 8:00.");
  // Wednesday 2026-12-30 18:00: 31 Dec closed, 1 Jan holiday, Saturday 2 Jan 09:00.
  CHECK(reply_text(*rules, {.at = "2026-12-30T18:00:00+01:00"}) == "Dzień dobry Państwo, odpowiemy w sobotę o 9:00.");
  CHECK(reply_text(*rules, {.at = "2026-12-30T18:00:00+01:00", .customer_language = "en"}) ==
        "Hello there, we will answer on Saturday at 9:00.");
  Decision d = run(*rules, {.at = "2027-03-29T10:00:00+02:00"});
  REQUIRE(std::holds_alternative<ReplyAction>(d.actions[0]));
  CHECK(std::get<ReplyAction>(d.actions[0]).at_most == std::chrono::hours(12));
  CHECK(rules->templates().at("after_hours") == "Dzień dobry {{customer.first_name | \"Państwo\"}}, odpowiemy {{office.next_open}}.");
}

TEST_CASE("rules calendars: 2026-12-23 evening with Christmas closed says 28 grudnia", "[routing][calendar]") {
  auto rules = compile_ok(R"(version: 1
calendars:
  office: { hours: { mon-fri: "08:00-17:00" }, holidays: pl, closed: [2026-12-24] }
templates: { t: { pl: "Odpowiemy {{office.next_open}}.", en: "We answer {{office.next_open}}." } }
rules:
  - name: r
    then: [ { reply: t } ]
)");
  CHECK(reply_text(*rules, {.at = "2026-12-23T18:00:00+01:00"}) == "Odpowiemy 28 grudnia o 8:00.");
  CHECK(reply_text(*rules, {.at = "2026-12-23T18:00:00+01:00", .customer_language = "en"}) == "We answer on 28 December at 8:00.");
  CHECK(reply_text(*rules, {.at = "2027-04-02T18:00:00+02:00"}) == "Odpowiemy w poniedziałek o 8:00.");  // Friday
}

TEST_CASE("rules calendars: check-rules errors in calendars", "[routing][calendar]") {
  CHECK(diagnostics_of(R"(version: 1
timezone: Europe/Warsw
calendars:
  a:
    hours: { mon-fri: "08:00-08:00", sat: "25:00-26:00", sun: "08:00-12:00, 11:00-13:00", mo: "08:00-09:00" }
    holidays: de
    closed: [2026-02-30]
    timezone: Mars/Base
  b: { hours: { mon: "17:00-08:00", fri-mon: "08:00-09:00" }, hodlidays: pl }
rules:
  - name: r
    when: { open: c }
    then: [ { tag: x } ]
)") == Lines{
             "rules.yaml:2:11: error: unknown time zone 'Europe/Warsw' (did you mean 'Europe/Warsaw'?)",
             "rules.yaml:5:23: error: empty interval '08:00-08:00'",
             "rules.yaml:5:43: error: bad time interval '25:00-26:00' (expected 'HH:MM-HH:MM' such as '08:00-17:00')",
             "rules.yaml:5:63: error: intervals '08:00-12:00' and '11:00-13:00' overlap",
             "rules.yaml:5:91: error: unknown day 'mo' (did you mean 'mon'?) (days are mon..sun, ranges such as 'mon-fri')",
             "rules.yaml:6:15: error: unknown holiday set 'de' (expected 'pl')",
             "rules.yaml:7:14: error: bad date '2026-02-30' (expected YYYY-MM-DD such as 2026-12-31)",
             "rules.yaml:8:15: error: unknown time zone 'Mars/Base'",
             "rules.yaml:9:22: error: inverted interval '17:00-08:00' (an interval past midnight must start at 18:00 or "
             "later and end by 12:00)",
             "rules.yaml:9:37: error: day range 'fri-mon' runs backwards (write days from mon to sun, such as 'mon-fri')",
             "rules.yaml:9:63: error: unknown key 'hodlidays' (did you mean 'holidays'?)",
             "rules.yaml:12:19: error: undefined calendar 'c' (did you mean 'a'?)",
         });
}

TEST_CASE("rules calendars: template variables: errors, warnings and unused calendars", "[routing][calendar]") {
  CHECK(diagnostics_of(R"(version: 1
calendars:
  office: { hours: { mon-fri: "08:00-17:00" } }
  spare: { hours: { sat: "08:00-17:00" } }
templates:
  a: "Dzień dobry {{customer.first_name}}"
  b: "{{customer.nmae}} {{ofice.next_open}}"
  c: { en: "Hi" }
  d: "{{conversation.queue}} {{office.next_open}} {{customer.name | Pan}}"
  e: "{{customer.id"
rules:
  - name: r
    then: [ { reply: a }, { reply: b }, { reply: c }, { reply: d }, { reply: e } ]
)") == Lines{
             "rules.yaml:6:6: warning: 'customer.first_name' may be empty (an SMS sender has no name): give a fallback "
             "such as {{customer.first_name | \"Państwo\"}}",
             "rules.yaml:7:6: error: undefined variable 'customer.nmae' in template 'b' (did you mean 'customer.name'?)",
             "rules.yaml:7:6: error: undefined calendar 'ofice' (did you mean 'office'?)",
             "rules.yaml:8:6: error: template 'c' has no 'pl' text (the file's default language)",
             "rules.yaml:9:6: warning: 'conversation.queue' may be empty (a conversation is in no queue until it is "
             "enqueued): give a fallback such as {{conversation.queue | \"obsługa\"}}",
             "rules.yaml:9:6: error: the fallback of 'customer.name' in template 'd' must be quoted, such as "
             "{{customer.name | \"Państwo\"}}",
             "rules.yaml:10:6: error: unclosed '{{' in template 'e'",
         });
  // Without errors, an unused calendar is reported like unused queues and templates.
  CHECK(diagnostics_of(R"(version: 1
calendars:
  office: { hours: { mon-fri: "08:00-17:00" } }
  spare: { hours: { sat: "08:00-17:00" } }
rules:
  - name: r
    when: { open: office }
    then: [ { tag: x } ]
)") == Lines{"rules.yaml:4:3: warning: calendar 'spare' is never used"});
}

TEST_CASE("rules calendars: at_most is checked", "[routing][calendar]") {
  CHECK(diagnostics_of(R"(version: 1
templates: { t: "x" }
queues: { q: {} }
rules:
  - name: a
    then: [ { reply: t, at_most: once per 12x }, { reply: t, at_most: twice }, { enqueue: q, at_most: once per 1h } ]
)") == Lines{
             "rules.yaml:6:34: error: invalid duration '12x' in 'at_most' (use 90s, 30m, 12h, 7d or combinations such as 1h30m)",
             "rules.yaml:6:71: error: 'at_most' must read 'once per DURATION', such as 'once per 12h'",
             "rules.yaml:6:94: error: 'at_most' applies only to 'reply'",
         });
  auto rules = compile_ok("version: 1\ntemplates: { t: x }\nrules:\n  - name: a\n    then: [ { reply: t, at_most: once per 1h30m } ]\n");
  Decision d = run(*rules, {});
  CHECK(std::get<ReplyAction>(d.actions[0]).at_most == std::chrono::minutes(90));
}

TEST_CASE("rules conditions: time, weekday, customer, language, conversation, account, attachment", "[routing][evaluate]") {
  auto rules = compile_ok(R"(version: 1
rules:
  - { name: night, when: { time: { between: "22:00-06:00" } }, then: [ { tag: night } ], continue: true }
  - { name: london, when: { time: { between: "11:00-12:00", timezone: Europe/London } }, then: [ { tag: london } ], continue: true }
  - { name: weekend, when: { weekday: [sat, sun] }, then: [ { tag: weekend } ], continue: true }
  - { name: vip, when: { customer: { tags_any: [vip], language: pl } }, then: [ { tag: vip } ], continue: true }
  - { name: english, when: { language: en }, then: [ { tag: en } ], continue: true }
  - { name: busy, when: { conversation: { state: open, inbound_count_at_least: 3 } }, then: [ { tag: busy } ], continue: true }
  - { name: shop, when: { account: [shop, outlet] }, then: [ { tag: shop } ], continue: true }
  - { name: photo, when: { attachment: true }, then: [ { tag: photo } ], continue: true }
  - { name: end, then: [ { tag: end } ] }
)");
  auto tags = [&](const Input& in) {
    std::string out;
    for (const auto& a : run(*rules, in).actions) out += std::get<TagAction>(a).tag + " ";
    return out;
  };
  CHECK(tags({.at = "2027-03-30T23:30:00+02:00", .account = "x"}) == "night end ");
  CHECK(tags({.at = "2027-03-31T05:59:00+02:00", .account = "x"}) == "night end ");
  CHECK(tags({.at = "2027-03-31T06:00:00+02:00", .account = "x"}) == "end ");
  CHECK(tags({.at = "2027-03-31T12:30:00+02:00", .account = "x"}) == "london end ");  // 11:30 BST
  CHECK(tags({.at = "2027-03-27T15:00:00+01:00", .account = "x"}) == "weekend end ");
  CHECK(tags({.tags = {"new", "vip"}, .account = "x"}) == "end ");  // no language known
  CHECK(tags({.message_language = "pl", .tags = {"vip"}, .account = "x"}) == "vip end ");
  CHECK(tags({.customer_language = "en", .message_language = "pl", .account = "x"}) == "en end ");
  CHECK(tags({.account = "outlet", .inbound_count = 3}) == "busy shop end ");
  CHECK(tags({.account = "x", .state = "pending", .inbound_count = 3}) == "end ");
  CHECK(tags({.account = "x", .attachment = true}) == "photo end ");

  InboundMessage message;
  ConversationView conversation;
  CustomerView customer;
  Explanation e = explain(*rules, EvaluationInput{message, conversation, customer, *parse_rfc3339("2027-03-27T12:00:00Z")});
  std::vector<std::string> described;
  for (const auto& [rule, traces] : e.rules_checked) described.push_back(traces.at(0).description);
  CHECK(described == std::vector<std::string>{
                         "time between \"22:00-06:00\"", "time between \"11:00-12:00\" Europe/London", "weekday [sat, sun]",
                         "customer tags_any [vip] language pl", "language en",
                         "conversation state open inbound_count_at_least 3", "account [shop, outlet]", "attachment true",
                         "always"});
}

TEST_CASE("rules conditions: check-rules errors of the new conditions", "[routing][evaluate]") {
  CHECK(diagnostics_of(R"(version: 1
rules:
  - name: a
    when: { all: [ { weekday: [sat, sunday] }, { time: { between: "8-9" } }, { language: polish } ] }
    then: [ { tag: x } ]
  - name: b
    when: { any: [ { conversation: { state: closed } }, { customer: { tag: vip } }, { attachment: yes } ] }
    then: [ { tag: x } ]
)") == Lines{
             "rules.yaml:4:37: error: unknown day 'sunday' (did you mean 'sun'?)",
             "rules.yaml:4:67: error: bad time interval '8-9' (expected 'HH:MM-HH:MM' such as '08:00-17:00')",
             "rules.yaml:4:90: error: 'polish' is not a language code such as 'pl' or 'en'",
             "rules.yaml:7:45: error: unknown conversation state 'closed' (expected 'open', 'pending' or 'resolved')",
             "rules.yaml:7:71: error: unknown key 'tag' (did you mean 'tags_any'?)",
             "rules.yaml:7:99: error: 'attachment' must be true or false",
         });
}
