// The rules file's 'people' section and the skills queues need: check-rules text and what the
// RuleSet exposes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using Lines = std::vector<std::string>;

TEST_CASE("rules people: declared people are exposed on the RuleSet", "[routing][people]") {
  auto rules = compile_ok(R"(version: 1
people:
  anna: { name: Anna Nowak, phone: "+48600100200", email: anna@example.pl, languages: [pl, en], skills: [billing] }
  piotr.w: { name: Piotr Wiśniewski, phone: +48600100300 }
queues: { billing: { skills: [billing], description: Faktury } }
rules:
  - name: default
    then: [ { enqueue: billing } ]
)");
  REQUIRE(rules->people().size() == 2);
  const Person& anna = rules->people()[0];
  CHECK(anna.login == "anna");
  CHECK(anna.name == "Anna Nowak");
  CHECK(anna.phone == "+48600100200");
  CHECK(anna.email == "anna@example.pl");
  CHECK(anna.languages == std::vector<std::string>{"pl", "en"});
  CHECK(anna.skills == std::vector<std::string>{"billing"});
  REQUIRE(rules->person("piotr.w") != nullptr);
  CHECK(rules->person("piotr.w")->name == "Piotr Wiśniewski");
  CHECK(rules->person("piotr.w")->phone == "+48600100300");
  CHECK(rules->person("piotr.w")->email.empty());
  CHECK(rules->person("nobody") == nullptr);
}

TEST_CASE("rules people: every mistake is reported at its place", "[routing][people]") {
  CHECK(diagnostics_of(R"(version: 1
people:
  anna: { phone: "+48600100200" }
  piotr: { name: Piotr, phone: "600 100 300", email: piotr.example.pl }
  ewa: { name: Ewa, phone: "+4860", languages: [polish], skills: billing }
  Marek: { name: Marek }
  jan: { name: Jan, mail: jan@example.pl }
  zofia: Zofia
rules:
  - name: default
    then: [ { tag: x } ]
)") == Lines{
             "rules.yaml:3:9: error: person 'anna' needs 'name'",
             "rules.yaml:4:32: error: phone must be in E.164 form such as +48600100200",
             "rules.yaml:4:54: error: 'piotr.example.pl' is not an e-mail address such as anna@example.pl",
             "rules.yaml:5:28: error: phone must be in E.164 form such as +48600100200",
             "rules.yaml:5:49: error: 'polish' is not a language code such as 'pl' or 'en'",
             "rules.yaml:5:66: error: 'skills' must be a list of strings",
             "rules.yaml:6:3: error: bad login 'Marek' (use lower-case letters, digits, '_', '.' and '-', starting with a "
             "letter or digit)",
             "rules.yaml:7:21: error: unknown key 'mail' (did you mean 'email'?)",
             "rules.yaml:8:10: error: person 'zofia' must be a mapping with 'name'",
         });
}

TEST_CASE("rules people: 'people' must be a mapping, duplicate logins are reported", "[routing][people]") {
  CHECK(diagnostics_of("version: 1\npeople: [anna]\nrules:\n  - name: a\n    then: [ { tag: x } ]\n") ==
        Lines{"rules.yaml:2:9: error: 'people' must be a mapping of logins to their settings"});
  const auto lines = diagnostics_of("version: 1\npeople:\n  anna: { name: A }\n  anna: { name: B }\nrules:\n  - name: a\n    then: [ { tag: x } ]\n");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].starts_with("rules.yaml:4:3: error: duplicate key 'anna'"));
}

TEST_CASE("rules people: a queue skill nobody has is a warning", "[routing][people]") {
  constexpr const char* kRules = R"(version: 1
people:
  anna: { name: Anna, skills: [billing] }
queues:
  support: { skills: [billing, english] }
rules:
  - name: default
    then: [ { enqueue: support } ]
)";
  CHECK(diagnostics_of(kRules) == Lines{"rules.yaml:5:32: warning: no person has skill 'english' needed by queue 'support'"});
  CHECK(compile(kRules).rules != nullptr);
  // Without a 'people' section (people declared elsewhere later) there is nothing to check.
  CHECK(diagnostics_of("version: 1\nqueues: { s: { skills: [english] } }\nrules:\n  - name: a\n    then: [ { enqueue: s } ]\n")
            .empty());
}

TEST_CASE("rules people: roles and the queues' people decide who sees a conversation", "[routing][people][roles]") {
  auto rules = compile_ok(R"(version: 1
people:
  admin: { name: Administrator, role: admin }
  anna: { name: Anna }
  piotr: { name: Piotr, role: agent }
queues:
  billing: { people: [anna] }
  support: {}
rules:
  - name: default
    then: [ { enqueue: billing }, { enqueue: support } ]
)");
  const Person& admin = *rules->person("admin");
  const Person& anna = *rules->person("anna");
  const Person& piotr = *rules->person("piotr");
  CHECK(admin.role == Role::admin);
  CHECK(anna.role == Role::agent);  // the default
  CHECK(to_string(admin.role) == "admin");
  CHECK(rules->queue_people("billing") == std::vector<std::string>{"anna"});
  CHECK(rules->queue_people("support").empty());
  CHECK(rules->queue_people("nowhere").empty());
  using Q = std::optional<std::string>;
  // A queue that lists people: theirs (and the admin's); one that lists nobody: everyone's.
  CHECK(rules->may_see(anna, Q("billing"), std::nullopt));
  CHECK_FALSE(rules->may_see(piotr, Q("billing"), std::nullopt));
  CHECK(rules->may_see(admin, Q("billing"), std::nullopt));
  CHECK(rules->may_see(piotr, Q("support"), std::nullopt));
  CHECK(rules->may_see(piotr, std::nullopt, std::nullopt));
  // Assigned to them: theirs whatever the queue.
  CHECK(rules->may_see(piotr, Q("billing"), Q("piotr")));
  CHECK_FALSE(rules->may_see(piotr, Q("billing"), Q("anna")));
}

TEST_CASE("rules people: a bad role or an unknown person in a queue is reported", "[routing][people][roles]") {
  CHECK(diagnostics_of(R"(version: 1
people:
  anna: { name: Anna, role: owner }
  ewa: { name: Ewa }
queues:
  billing: { people: [anna, ewa, ewa, marek] }
  support: { people: anna }
rules:
  - name: default
    then: [ { enqueue: billing }, { enqueue: support } ]
)") == Lines{
             "rules.yaml:3:29: error: 'role' must be agent or admin",
             "rules.yaml:6:34: warning: 'ewa' is listed twice in queue 'billing'",
             "rules.yaml:6:39: error: undefined person 'marek'",
             "rules.yaml:7:22: error: 'people' must be a list of logins of the 'people' section",
         });
}
