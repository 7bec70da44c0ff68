// 'at_most: once per DURATION' on replies: evaluate() holds a reply back when the customer had
// the same template within the window, on whatever channel (storage answers the callback).
#include "tests/unit/routing/routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using namespace std::chrono_literals;

namespace {

const char* kRules = R"(version: 1
queues: { support: {} }
templates:
  after_hours: "Odpowiemy rano."
  thanks: "Dziękujemy."
rules:
  - name: night
    then: [ { reply: after_hours, at_most: once per 12h }, { reply: thanks }, { enqueue: support } ]
)";

Decision decide_with(const RuleSet& rules, std::function<std::optional<Timestamp>(std::string_view)> history,
                     Timestamp now, int* calls = nullptr) {
  InboundMessage message;
  message.text = "halo";
  ConversationView conversation;
  CustomerView customer;
  customer.last_auto_reply = [history, calls](std::string_view name) {
    if (calls) ++*calls;
    return history(name);
  };
  return evaluate(rules, EvaluationInput{message, conversation, customer, now});
}

const Timestamp kNow = *parse_rfc3339("2027-01-15T23:00:00+01:00");

}  // namespace

TEST_CASE("at_most: a reply sent within the window is held back", "[routing][at_most]") {
  auto rules = compile_ok(kRules);
  auto d = decide_with(*rules, [](std::string_view) { return std::optional<Timestamp>(kNow - 11h); }, kNow);
  CHECK(summary(d) == "night: reply thanks, enqueue support normal");
  CHECK(d.suppressed == std::vector<std::string>{"after_hours"});
}

TEST_CASE("at_most: a reply older than the window goes out again", "[routing][at_most]") {
  auto rules = compile_ok(kRules);
  auto d = decide_with(*rules, [](std::string_view) { return std::optional<Timestamp>(kNow - 12h); }, kNow);
  CHECK(summary(d) == "night: reply after_hours, reply thanks, enqueue support normal");
  CHECK(d.suppressed.empty());
}

TEST_CASE("at_most: no history means the reply goes out", "[routing][at_most]") {
  auto rules = compile_ok(kRules);
  auto none = decide_with(*rules, [](std::string_view) { return std::optional<Timestamp>(); }, kNow);
  CHECK(summary(none) == "night: reply after_hours, reply thanks, enqueue support normal");
  CustomerView no_callback;
  InboundMessage message;
  ConversationView conversation;
  auto d = evaluate(*rules, EvaluationInput{message, conversation, no_callback, kNow});
  CHECK(d.actions.size() == 3);
}

TEST_CASE("at_most: history is asked only for replies that carry a limit, per template", "[routing][at_most]") {
  auto rules = compile_ok(kRules);
  int calls = 0;
  std::vector<std::string> asked;
  decide_with(
      *rules,
      [&](std::string_view name) {
        asked.emplace_back(name);
        return std::optional<Timestamp>();
      },
      kNow, &calls);
  CHECK(calls == 1);
  CHECK(asked == std::vector<std::string>{"after_hours"});
}
