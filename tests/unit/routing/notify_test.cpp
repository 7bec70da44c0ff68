// The notify action: a URL from the rules file and a rendered template, checked at compile time.
#include "tests/unit/routing/routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;

namespace {

std::string rules_with(const std::string& action) {
  return "version: 1\ntemplates:\n  note: \"Awaria: {{message.channel}}\"\nrules:\n  - name: r\n    then: [ " + action +
         " ]\n";
}

}  // namespace

TEST_CASE("notify: renders its template and carries the URL", "[routing][notify]") {
  auto rules = compile_ok(rules_with("{ notify: \"https://hooks.example.com/ops\", template: note }"));
  auto d = decide(*rules, Probe{.text = "x", .channel = Channel::sms});
  REQUIRE(d.actions.size() == 1);
  const auto& n = std::get<NotifyAction>(d.actions[0]);
  CHECK(n.url == "https://hooks.example.com/ops");
  CHECK(n.template_name == "note");
  CHECK(n.text == "Awaria: sms");
  CHECK(summary(d) == "r: notify url=https://hooks.example.com/ops template=note text=Awaria: sms");
}

TEST_CASE("notify: URL and template are checked", "[routing][notify]") {
  CHECK(diagnostics_of(rules_with("{ notify: \"ftp://x\", template: note }")) ==
        std::vector<std::string>{"rules.yaml:6:23: error: 'notify' must be an http:// or https:// URL"});
  CHECK(diagnostics_of(rules_with("{ notify: \"https://x.example\" }")) ==
        std::vector<std::string>{"rules.yaml:6:13: error: 'notify' needs 'template': the template whose text is sent"});
  auto undefined = diagnostics_of(rules_with("{ notify: \"https://x.example\", template: nope }"));
  REQUIRE(undefined.size() == 1);
  CHECK(undefined[0].rfind("rules.yaml:6:54: error: undefined template 'nope'", 0) == 0);
}

TEST_CASE("html: e-mail replies get an escaped HTML part, other channels plain text only", "[routing][html]") {
  auto rules = compile_ok("version: 1\ntemplates:\n  hi: \"Dzień dobry {{customer.name | \\\"Państwo\\\"}}\\nDo usłyszenia\"\n"
                          "rules:\n  - name: r\n    then: [ { reply: hi } ]\n");
  InboundMessage message;
  message.channel = Channel::email;
  ConversationView conversation;
  CustomerView customer;
  customer.display_name = "<script>alert('x')</script> & Co";
  auto d = evaluate(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});
  const auto& reply = std::get<ReplyAction>(d.actions.at(0));
  CHECK(reply.text == "Dzień dobry <script>alert('x')</script> & Co\nDo usłyszenia");
  CHECK(reply.html == "Dzień dobry &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co<br>\nDo usłyszenia");
  message.channel = Channel::sms;
  auto sms = evaluate(*rules, EvaluationInput{message, conversation, customer, Timestamp{}});
  CHECK(std::get<ReplyAction>(sms.actions.at(0)).html.empty());
}
