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
