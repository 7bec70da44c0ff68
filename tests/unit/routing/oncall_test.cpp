// On-call schedules: the 'oncall' section's check-rules text, who_is_on_call() across weeks,
// DST changes and override days, and the escalation chain of a page.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing/oncall/schedule.hpp"
#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using Lines = std::vector<std::string>;

namespace {

constexpr const char* kOncall = R"(version: 1
timezone: Europe/Warsaw
people:
  anna:  { name: Anna Nowak, phone: "+48600100200", email: anna@example.pl, languages: [pl, en] }
  piotr: { name: Piotr Wiśniewski, phone: "+48600100300", email: piotr@example.pl, languages: [pl] }
  ewa:   { name: Ewa Lis, phone: "+48600100400", email: ewa@example.pl }
oncall:
  night: { rotation: [anna, piotr], handoff: "mon 09:00", ack_within: 10m, then: [sms, email, next] }
  xmas:
    rotation: [piotr, anna]
    overrides: [ {date: 2026-12-24, person: piotr} ]
  three: { rotation: [anna, piotr, ewa], handoff: "fri 17:30", timezone: America/New_York, then: [sms] }
rules:
  - name: default
    then: [ { tag: x } ]
)";

Timestamp at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

const OncallSchedule& schedule(const RuleSet& rules, const char* name) {
  const OncallSchedule* s = rules.oncall(name);
  REQUIRE(s != nullptr);
  return *s;
}

std::string on_call(const OncallSchedule& s, const char* rfc3339) { return who_is_on_call(s, at(rfc3339)).login; }

std::vector<std::string> steps_of(const OncallSchedule& s, const char* rfc3339) {
  std::vector<std::string> out;
  for (const auto& step : escalation(s, at(rfc3339)))
    out.push_back(std::to_string(std::chrono::duration_cast<std::chrono::minutes>(step.after).count()) + "m " +
                  std::string(to_string(step.channel)) + " " + step.login + " " + step.address);
  return out;
}

}  // namespace

TEST_CASE("oncall: schedules compile with their defaults", "[routing][oncall]") {
  auto rules = compile_ok(kOncall);
  CHECK(rules->oncall_names() == std::vector<std::string>{"night", "three", "xmas"});
  CHECK(rules->oncall("nobody") == nullptr);
  const OncallSchedule& night = schedule(*rules, "night");
  CHECK(night.rotation.size() == 2);
  CHECK(night.zone.name() == "Europe/Warsaw");
  CHECK(night.ack_within == std::chrono::minutes(10));
  const OncallSchedule& xmas = schedule(*rules, "xmas");
  CHECK(xmas.handoff_day == std::chrono::Monday);
  CHECK(xmas.handoff_time == std::chrono::hours(9));
  CHECK(xmas.ack_within == std::chrono::minutes(15));
  CHECK(xmas.then == std::vector<EscalationKind>{EscalationKind::sms, EscalationKind::email, EscalationKind::next});
  CHECK(schedule(*rules, "three").zone.name() == "America/New_York");
}

TEST_CASE("oncall: the rotation moves on at the Monday 09:00 handoff", "[routing][oncall]") {
  auto rules = compile_ok(kOncall);
  const OncallSchedule& night = schedule(*rules, "night");
  // The anchor: anna's week starts on Monday 2024-01-01 09:00 local.
  CHECK(on_call(night, "2024-01-01T08:59:59+01:00") == "piotr");
  CHECK(on_call(night, "2024-01-01T09:00:00+01:00") == "anna");
  CHECK(on_call(night, "2023-12-25T09:00:00+01:00") == "piotr");
  // Consecutive weeks alternate, one second either side of each handoff.
  CHECK(on_call(night, "2026-11-30T08:59:59+01:00") == "piotr");
  CHECK(on_call(night, "2026-11-30T09:00:00+01:00") == "anna");
  CHECK(on_call(night, "2026-12-06T23:00:00+01:00") == "anna");
  CHECK(on_call(night, "2026-12-07T08:59:59+01:00") == "anna");
  CHECK(on_call(night, "2026-12-07T09:00:01+01:00") == "piotr");
  CHECK(on_call(night, "2026-12-14T08:59:59+01:00") == "piotr");
  CHECK(on_call(night, "2026-12-14T09:00:00+01:00") == "anna");
}

TEST_CASE("oncall: the handoff stays at 09:00 local across DST changes", "[routing][oncall]") {
  auto rules = compile_ok(kOncall);
  const OncallSchedule& night = schedule(*rules, "night");
  // Spring: 2027-03-28 moves clocks forward; the next handoff is 09:00 CEST = 07:00Z.
  CHECK(on_call(night, "2027-03-22T07:59:59Z") == "piotr");
  CHECK(on_call(night, "2027-03-22T08:00:00Z") == "anna");
  CHECK(on_call(night, "2027-03-28T12:00:00+02:00") == "anna");
  CHECK(on_call(night, "2027-03-29T06:59:59Z") == "anna");
  CHECK(on_call(night, "2027-03-29T07:00:00Z") == "piotr");
  // Autumn: 2027-10-31 moves them back; 09:00 CEST = 07:00Z before, 09:00 CET = 08:00Z after.
  CHECK(on_call(night, "2027-10-25T06:59:59Z") == "anna");
  CHECK(on_call(night, "2027-10-25T07:00:00Z") == "piotr");
  CHECK(on_call(night, "2027-10-31T02:30:00+01:00") == "piotr");
  CHECK(on_call(night, "2027-11-01T07:59:59Z") == "piotr");
  CHECK(on_call(night, "2027-11-01T08:00:00Z") == "anna");
}

TEST_CASE("oncall: an override owns the whole local day", "[routing][oncall]") {
  auto rules = compile_ok(kOncall);
  const OncallSchedule& xmas = schedule(*rules, "xmas");
  // The week of 2026-12-21 is the rotation's second: anna's in [piotr, anna].
  CHECK(on_call(xmas, "2026-12-23T23:59:59+01:00") == "anna");
  CHECK(on_call(xmas, "2026-12-24T00:00:00+01:00") == "piotr");
  CHECK(on_call(xmas, "2026-12-24T12:00:00+01:00") == "piotr");
  CHECK(on_call(xmas, "2026-12-24T23:59:59+01:00") == "piotr");
  CHECK(on_call(xmas, "2026-12-25T00:00:00+01:00") == "anna");
}

TEST_CASE("oncall: a three-person rotation wraps, in its own zone and handoff", "[routing][oncall]") {
  auto rules = compile_ok(kOncall);
  const OncallSchedule& three = schedule(*rules, "three");
  // Friday 17:30 New York; the anchor is the Friday before 2024-01-01: 2023-12-29 (anna).
  CHECK(on_call(three, "2023-12-29T17:29:59-05:00") == "ewa");
  CHECK(on_call(three, "2023-12-29T17:30:00-05:00") == "anna");
  CHECK(on_call(three, "2024-01-05T17:30:00-05:00") == "piotr");
  CHECK(on_call(three, "2024-01-12T17:30:00-05:00") == "ewa");
  CHECK(on_call(three, "2024-01-19T17:29:59-05:00") == "ewa");
  CHECK(on_call(three, "2024-01-19T17:30:00-05:00") == "anna");
  // New York's DST (2024-03-10): 17:30 EDT = 21:30Z.
  CHECK(on_call(three, "2024-03-15T21:29:59Z") == on_call(three, "2024-03-08T22:30:00Z"));
  CHECK(on_call(three, "2024-03-15T21:30:00Z") != on_call(three, "2024-03-15T21:29:59Z"));
}

TEST_CASE("oncall: escalation lists concrete steps", "[routing][oncall]") {
  auto rules = compile_ok(kOncall);
  CHECK(steps_of(schedule(*rules, "night"), "2027-03-23T03:00:00+01:00") == Lines{
                                                                                 "0m sms anna +48600100200",
                                                                                 "10m email anna anna@example.pl",
                                                                                 "20m sms piotr +48600100300",
                                                                                 "30m email piotr piotr@example.pl",
                                                                             });
  CHECK(steps_of(schedule(*rules, "night"), "2027-03-30T03:00:00+02:00") == Lines{
                                                                                 "0m sms piotr +48600100300",
                                                                                 "10m email piotr piotr@example.pl",
                                                                                 "20m sms anna +48600100200",
                                                                                 "30m email anna anna@example.pl",
                                                                             });
  // On an override day the override's person comes first, then the week's rotation.
  CHECK(steps_of(schedule(*rules, "xmas"), "2026-12-24T03:00:00+01:00") == Lines{
                                                                                "0m sms piotr +48600100300",
                                                                                "15m email piotr piotr@example.pl",
                                                                                "30m sms anna +48600100200",
                                                                                "45m email anna anna@example.pl",
                                                                            });
  // Without 'next' only the person on call is paged.
  CHECK(steps_of(schedule(*rules, "three"), "2024-01-19T17:30:00-05:00") == Lines{"0m sms anna +48600100200"});
}

TEST_CASE("oncall: every mistake is reported at its place", "[routing][oncall]") {
  CHECK(diagnostics_of(R"(version: 1
people:
  anna:  { name: Anna, phone: "+48600100200", email: anna@example.pl }
  piotr: { name: Piotr, email: piotr@example.pl }
oncall:
  night: { rotation: [anna, ana], handoff: "monday 09:00", ack_within: 10x, then: [sms, call, emial] }
  day: { rotation: [anna], handoff: "mon 9:00", overrides: [ {date: 2026-12-32, person: piotr} ] }
  weekend: { rotation: [piotr], then: [sms, next], timezone: Europe/Warsw }
  empty: { rotation: [], handof: "mon 09:00" }
  chain: { rotation: [anna], then: [next, sms] }
rules:
  - name: default
    then: [ { tag: x } ]
)") == Lines{
             "rules.yaml:6:29: error: undefined person 'ana' (did you mean 'anna'?)",
             "rules.yaml:6:44: error: unknown day 'monday' in handoff (did you mean 'mon'?)",
             "rules.yaml:6:72: error: invalid duration '10x' in 'ack_within' (use 90s, 30m, 12h, 7d or combinations such as "
             "1h30m)",
             "rules.yaml:6:89: error: unsupported escalation step 'call' (this version pages by 'sms' and 'email')",
             "rules.yaml:6:95: error: unknown escalation step 'emial' (did you mean 'email'?)",
             "rules.yaml:7:37: error: bad handoff 'mon 9:00' (expected a day and a time such as \"mon 09:00\")",
             "rules.yaml:7:69: error: bad date '2026-12-32' (expected YYYY-MM-DD such as 2026-12-24)",
             "rules.yaml:8:25: error: person 'piotr' has no phone for the 'sms' step of on-call schedule 'weekend'",
             "rules.yaml:8:62: error: unknown time zone 'Europe/Warsw' (did you mean 'Europe/Warsaw'?)",
             "rules.yaml:9:22: error: 'rotation' must be a non-empty list of people, such as [anna, piotr]",
             "rules.yaml:9:26: error: unknown key 'handof' (did you mean 'handoff'?)",
             "rules.yaml:10:43: error: 'next' must be the last escalation step (it starts the chain again for the next "
             "person)",
         });
}

TEST_CASE("oncall: a rotation needs declared people and 'rotation'", "[routing][oncall]") {
  CHECK(diagnostics_of(R"(version: 1
oncall:
  night: { handoff: "mon 09:00" }
  day: { rotation: [anna] }
  x: []
rules:
  - name: default
    then: [ { tag: x } ]
)") == Lines{
             "rules.yaml:3:10: error: on-call schedule 'night' needs 'rotation'",
             "rules.yaml:4:21: error: undefined person 'anna'",
             "rules.yaml:5:6: error: on-call schedule 'x' must be a mapping with 'rotation'",
         });
}
