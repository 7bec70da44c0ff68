// compile_rules(): what check-rules prints for each kind of mistake (exact text and position),
// that every problem is reported in one pass and in file order, and the RuleSet it builds.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using Lines = std::vector<std::string>;

TEST_CASE("rules: unknown action key suggests the nearest", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: default
    then: [ { enqeue: support } ]
)") == Lines{"rules.yaml:5:15: error: unknown key 'enqeue' (did you mean 'enqueue'?)"});
}

TEST_CASE("rules: unknown keys in conditions, actions and rules, with and without a suggestion", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: r
    when: { chanel: sms }
    then: [ { enqueue: support, forward: anna } ]
    xyz: 1
)") == Lines{
             "rules.yaml:5:13: error: unknown key 'chanel' (did you mean 'channel'?)",
             "rules.yaml:6:33: error: unknown key 'forward'",
             "rules.yaml:7:5: error: unknown key 'xyz'",
         });
}

TEST_CASE("rules: 'page' resolves its schedule beside other errors", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
people: { anna: { name: Anna, phone: "+48600100200", email: anna@example.pl } }
oncall: { night: { rotation: [anna] } }
rules:
  - name: r
    when: { open: office }
    then: [ { page: nigth } ]
)") == Lines{
             "rules.yaml:6:19: error: undefined calendar 'office'",
             "rules.yaml:7:21: error: undefined on-call schedule 'nigth' (did you mean 'night'?)",
         });
}

TEST_CASE("rules: undefined template suggests the nearest", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
templates:
  after_hours: "Odpowiemy jutro."
rules:
  - name: night
    then:
      - reply: after_hour
)") == Lines{"rules.yaml:7:16: error: undefined template 'after_hour' (did you mean 'after_hours'?)"});
}

TEST_CASE("rules: undefined queue, with a suggestion when one is near", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {}, sales: {} }
rules:
  - name: a
    then: [ { enqueue: suport } ]
  - name: b
    then: [ { enqueue: billing } ]
)") == Lines{
             "rules.yaml:5:24: error: undefined queue 'suport' (did you mean 'support'?)",
             "rules.yaml:7:24: error: undefined queue 'billing'",
         });
}

TEST_CASE("rules: bad priority names the allowed ones", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: a
    then: [ { enqueue: support, priority: hihg } ]
  - name: b
    then: [ { enqueue: support, priority: asap } ]
)") == Lines{
             "rules.yaml:5:43: error: unknown priority 'hihg' (did you mean 'high'?)",
             "rules.yaml:7:43: error: unknown priority 'asap' (expected 'low', 'normal', 'high' or 'urgent')",
         });
}

TEST_CASE("rules: invalid regular expression carries RE2's message", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: a
    when: { text: { matches: "(abc" } }
    then: [ { enqueue: support } ]
  - name: b
    when: { text: { matches: 'x**' } }
    then: [ { enqueue: support } ]
)") == Lines{
             "rules.yaml:5:30: error: invalid regular expression: missing ): (abc",
             "rules.yaml:8:30: error: invalid regular expression: bad repetition operator: **",
         });
}

TEST_CASE("rules: duplicate rule name points at the first one", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: outage
    then: [ { enqueue: support } ]
  - name: outage
    then: [ { enqueue: support } ]
)") == Lines{"rules.yaml:6:11: error: duplicate rule name 'outage' (first defined at line 4)"});
}

TEST_CASE("rules: YAML syntax error is one error at yaml-cpp's position", "[routing][rules]") {
  auto result = compile(R"(version: 1
rules:
  - name: a
    then: [ { tag: x }
  - name: b
)");
  CHECK(result.rules == nullptr);
  CHECK(Lines{result.diagnostics.at(0).format()} == Lines{"rules.yaml:5:3: error: illegal block entry"});
  CHECK(result.diagnostics.size() == 1);

  CHECK(diagnostics_of("version: 1\nrules: [\n") == Lines{"rules.yaml:3:1: error: end of sequence flow not found"});
  CHECK(diagnostics_of("version: 1\nrules: a: b\n") == Lines{"rules.yaml:2:9: error: illegal map value"});
}

TEST_CASE("rules: several errors are reported at once, in file order", "[routing][rules]") {
  auto result = compile(R"(version: 1
templates:
  hello: "Dzień dobry {{customer.name}}"
calendars: {}
rules:
  - name: a
    when: { channel: fax }
    then: [ { reply: hello }, { tag: VIP } ]
    continue: yes
)");
  CHECK(result.rules == nullptr);
  Lines lines;
  for (const auto& d : result.diagnostics) lines.push_back(d.format());
  CHECK(lines == Lines{
                     "rules.yaml:3:10: warning: 'customer.name' may be empty (an SMS sender has no name): give a "
                     "fallback such as {{customer.name | \"Państwo\"}}",
                     "rules.yaml:7:22: error: unknown channel 'fax' (expected 'api', 'webchat', 'email', "
                     "'messenger', 'whatsapp' or 'sms')",
                     "rules.yaml:8:38: error: invalid tag 'VIP': use lower-case letters, digits, '_', '.' and '-', "
                     "starting with a letter or digit",
                     "rules.yaml:9:15: error: 'continue' must be true or false",
                 });
}

TEST_CASE("rules: a rule after a catch-all gets a warning and the file still compiles", "[routing][rules]") {
  auto result = compile(R"(version: 1
queues: { support: {} }
rules:
  - name: tag-all
    then: [ { tag: seen } ]
    continue: true
  - name: default
    then: [ { enqueue: support } ]
  - name: outage
    when: { text: { contains_any: [awaria] } }
    then: [ { enqueue: support } ]
  - name: another-default
    then: [ { tag: x } ]
)");
  REQUIRE(result.rules != nullptr);
  Lines lines;
  for (const auto& d : result.diagnostics) lines.push_back(d.format());
  CHECK(lines == Lines{
                     "rules.yaml:9:5: warning: rule 'outage' can never fire: rule 'default' above matches every message",
                     "rules.yaml:12:5: warning: rule 'another-default' can never fire: rule 'default' above matches "
                     "every message",
                 });
  CHECK_FALSE(has_errors(result.diagnostics));
}

TEST_CASE("rules: version missing, unsupported or not a number", "[routing][rules]") {
  CHECK(diagnostics_of("rules:\n  - name: a\n    then: [ { tag: x } ]\n") ==
        Lines{"rules.yaml:1:1: error: missing required key 'version'"});
  CHECK(diagnostics_of("version: 2\nrules:\n  - name: a\n    then: [ { tag: x } ]\n") ==
        Lines{"rules.yaml:1:10: error: unsupported rules version 2 (this build reads version 1)"});
  CHECK(diagnostics_of("version: \"1\"\nrules:\n  - name: a\n    then: [ { tag: x } ]\n") ==
        Lines{"rules.yaml:1:10: error: 'version' must be 1"});
  CHECK(diagnostics_of("version: one\nrules:\n  - name: a\n    then: [ { tag: x } ]\n") ==
        Lines{"rules.yaml:1:10: error: 'version' must be 1"});
}

TEST_CASE("rules: declared queues and templates that no rule uses get warnings", "[routing][rules]") {
  auto result = compile(R"(version: 1
queues:
  support: {}
  sales: {}
templates:
  unused: "x"
rules:
  - name: a
    then: [ { enqueue: support } ]
)");
  REQUIRE(result.rules != nullptr);
  Lines lines;
  for (const auto& d : result.diagnostics) lines.push_back(d.format());
  CHECK(lines == Lines{
                     "rules.yaml:4:3: warning: queue 'sales' is never used",
                     "rules.yaml:6:3: warning: template 'unused' is never used",
                 });
}

TEST_CASE("rules: no never-used warnings when a rule has errors", "[routing][rules]") {
  // The typo already explains why 'support' looks unused.
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: a
    then: [ { enqueue: support, prio: high } ]
)") == Lines{"rules.yaml:5:33: error: unknown key 'prio' (did you mean 'priority'?)"});
}

TEST_CASE("rules: duplicate keys in one mapping are errors", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues:
  support: {}
  support: { skills: [en] }
rules:
  - name: a
    then: [ { tag: x } ]
    then: [ { enqueue: support } ]
)") == Lines{
             "rules.yaml:4:3: error: duplicate key 'support' (first defined at line 3)",
             "rules.yaml:8:5: error: duplicate key 'then' (first defined at line 7)",
         });
}

TEST_CASE("rules: wrong types are reported with what was expected", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
rules:
  - name: a
    then: { tag: x }
    continue: "true"
  - name: b
    when: [ { channel: sms } ]
    then: []
  - name: [c]
    when:
    then: [ tag ]
)") == Lines{
             "rules.yaml:4:11: error: 'then' must be a list of actions",
             "rules.yaml:5:15: error: 'continue' must be true or false",
             "rules.yaml:7:11: error: a condition must be a mapping such as '{ channel: sms }'",
             "rules.yaml:8:11: error: 'then' must list at least one action",
             "rules.yaml:9:11: error: 'name' must be a string",
             "rules.yaml:10:5: error: a condition must be a mapping such as '{ channel: sms }'",
             "rules.yaml:11:13: error: an action must be a mapping such as '{ enqueue: support }'",
         });
}

TEST_CASE("rules: one key per condition and one kind per action", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
templates: { hi: "Hej" }
rules:
  - name: a
    when: { channel: sms, first_message: true }
    then:
      - { enqueue: support, tag: x }
      - { reply: hi, priority: high }
      - { priority: high }
)") == Lines{
             "rules.yaml:6:27: error: a condition has one key, found 'channel' and 'first_message' (combine "
             "conditions with 'all' or 'any')",
             "rules.yaml:8:29: error: 'enqueue' and 'tag' are two actions: write them as separate items of 'then'",
             "rules.yaml:9:22: error: 'priority' applies only to 'enqueue'",
             "rules.yaml:10:9: error: an action needs one of 'reply', 'enqueue', 'tag', 'assign', 'page', 'close', "
             "'set_priority', 'set_language' or 'notify'",
         });
}

TEST_CASE("rules: contains_any entries must have words and '*' only at the end", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: a
    when: { text: { contains_any: [ok, "!!", "a*b", "awaria *"], fold: true } }
    then: [ { enqueue: support } ]
)") == Lines{
             "rules.yaml:5:40: error: entry '!!' has no letters or digits",
             "rules.yaml:5:46: error: misplaced '*' in 'a*b': it may only end the entry, right after a letter or digit",
             "rules.yaml:5:53: error: misplaced '*' in 'awaria *': it may only end the entry, right after a letter or "
             "digit",
             "rules.yaml:5:66: error: 'fold' applies only to 'matches' ('contains_any' always folds)",
         });
}

TEST_CASE("rules: text takes exactly one of contains_any and matches", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues: { support: {} }
rules:
  - name: a
    when: { text: { contains_any: [a], matches: "b" } }
    then: [ { enqueue: support } ]
  - name: b
    when: { text: { fold: true } }
    then: [ { enqueue: support } ]
  - name: c
    when: { text: { contains_any: [] } }
    then: [ { enqueue: support } ]
)") == Lines{
             "rules.yaml:5:40: error: 'text' takes 'contains_any' or 'matches', not both (combine them with 'all' or "
             "'any')",
             "rules.yaml:8:19: error: 'text' needs 'contains_any' or 'matches'",
             "rules.yaml:11:35: error: 'contains_any' must be a non-empty list of words or phrases",
         });
}

TEST_CASE("rules: \\b next to a non-ASCII letter gets a warning", "[routing][rules]") {
  auto result = compile(R"(version: 1
queues: { support: {} }
rules:
  - name: a
    when: { text: { matches: '\bżółw\b' } }
    then: [ { enqueue: support } ]
  - name: b
    when: { text: { matches: '\bturtle\b|\\bż' } }
    then: [ { enqueue: support } ]
)");
  REQUIRE(result.rules != nullptr);
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].format() ==
        "rules.yaml:5:30: warning: '\\b' in RE2 knows only ASCII letters, so it does not treat 'ż' as part of a "
        "word (use contains_any to match words)");
}

TEST_CASE("rules: a fold: true pattern with capitals or diacritics gets a warning", "[routing][rules]") {
  auto result = compile(R"(version: 1
queues: { support: {} }
rules:
  - name: a
    when: { text: { matches: 'Zamówienie \d+', fold: true } }
    then: [ { enqueue: support } ]
  - name: b
    when: { text: { matches: '(?i)zam[oó]wienie', fold: true } }
    then: [ { enqueue: support } ]
  - name: c
    when: { text: { matches: '(?i)ZAMOWIENIE\D\p{Lu}', fold: true } }
    then: [ { enqueue: support } ]
)");
  REQUIRE(result.rules != nullptr);
  Lines lines;
  for (const auto& d : result.diagnostics) lines.push_back(d.format());
  CHECK(lines == Lines{
                     "rules.yaml:5:30: warning: with 'fold: true' the text is lower-case and without diacritics, so "
                     "'Z' in the pattern never matches (write 'z')",
                     "rules.yaml:8:30: warning: with 'fold: true' the text is lower-case and without diacritics, so "
                     "'ó' in the pattern never matches (write 'o')",
                 });
}

TEST_CASE("rules: timezone must look like Area/City or UTC", "[routing][rules]") {
  const std::string rest = "\nrules:\n  - name: a\n    then: [ { tag: x } ]\n";
  CHECK(diagnostics_of("version: 1\ntimezone: Warsaw" + rest) ==
        Lines{"rules.yaml:2:11: error: 'Warsaw' is not a time zone name like 'Europe/Warsaw' or 'UTC'"});
  CHECK(diagnostics_of("version: 1\ntimezone: Europe/" + rest) ==
        Lines{"rules.yaml:2:11: error: 'Europe/' is not a time zone name like 'Europe/Warsaw' or 'UTC'"});
  CHECK(compile_ok("version: 1\ntimezone: UTC" + rest)->timezone() == "UTC");
  CHECK(compile_ok("version: 1\ntimezone: America/Argentina/Buenos_Aires" + rest)->timezone() ==
        "America/Argentina/Buenos_Aires");
  CHECK(compile_ok("version: 1" + rest)->timezone() == "Europe/Warsaw");
}

TEST_CASE("rules: empty file, empty rules and a file that is not a mapping", "[routing][rules]") {
  CHECK(diagnostics_of("") == Lines{"rules.yaml:1:1: error: the rules file is empty: expected 'version: 1' and 'rules'"});
  CHECK(diagnostics_of("# only a comment\n") ==
        Lines{"rules.yaml:1:1: error: the rules file is empty: expected 'version: 1' and 'rules'"});
  CHECK(diagnostics_of("version: 1\nrules: []\n") == Lines{"rules.yaml:2:8: error: rules: expected at least one rule"});
  CHECK(diagnostics_of("version: 1\n") == Lines{"rules.yaml:1:1: error: missing required key 'rules'"});
  CHECK(diagnostics_of("- a\n- b\n") ==
        Lines{"rules.yaml:1:1: error: the rules file must be a mapping with 'version' and 'rules'"});
  CHECK(diagnostics_of("version: 1\nrules:\n  - name: a\n    then: [ { tag: x } ]\n---\nversion: 1\n") ==
        Lines{"rules.yaml:6:1: error: unexpected second YAML document (a rules file holds one)"});
}

TEST_CASE("rules: a rule needs a name and actions", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
rules:
  - name: a
  - then: [ { tag: x } ]
  - name: ""
    then: [ { tag: x } ]
  - just-a-string
)") == Lines{
             "rules.yaml:3:5: error: missing required key 'then'",
             "rules.yaml:4:5: error: missing required key 'name'",
             "rules.yaml:5:11: error: 'name' must not be empty",
             "rules.yaml:7:5: error: a rule must be a mapping with 'name' and 'then'",
         });
}

TEST_CASE("rules: queue and template declarations are checked", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
queues:
  support: { skills: en, descripton: "x" }
  sales: [a]
templates:
  empty: ""
  list: [a, b]
rules:
  - name: a
    then: [ { enqueue: support }, { enqueue: sales }, { reply: empty }, { reply: list } ]
)") == Lines{
             "rules.yaml:3:22: error: 'skills' must be a list of strings",
             "rules.yaml:3:26: error: unknown key 'descripton' (did you mean 'description'?)",
             "rules.yaml:4:10: error: queue 'sales' must be a mapping (use {} for none)",
             "rules.yaml:6:10: error: template 'empty' is empty",
             "rules.yaml:7:9: error: template 'list' must be a string or a mapping of languages to strings",
         });
}

TEST_CASE("rules: channel names are checked, with a suggestion for a typo", "[routing][rules]") {
  CHECK(diagnostics_of(R"(version: 1
rules:
  - name: a
    when: { channel: [sms, whatsap, {x: 1}] }
    then: [ { tag: x } ]
  - name: b
    when: { channel: [] }
    then: [ { tag: x } ]
)") == Lines{
             "rules.yaml:4:28: error: unknown channel 'whatsap' (did you mean 'whatsapp'?)",
             "rules.yaml:4:37: error: 'channel' must be a channel name or a list of channel names",
             "rules.yaml:7:22: error: 'channel' must be a channel name or a list of channel names",
         });
}

TEST_CASE("rules: compile_rules never throws, whatever the input", "[routing][rules]") {
  const std::string inputs[] = {
      std::string("\x00\xff\xfe{{{[[[", 9),
      "version: 1\nrules: *nope\n",
      "a: &a [*a]\n",
      "version: 1\nrules:\n  - name: \"\xff\"\n    then: [ { tag: x } ]\n",
      std::string(200, '[') + std::string(200, ']'),
      "version: 1\nrules: [{name: a, then: [{tag: x}], when: {not: {not: {not: {first_message: true}}}}}]",
  };
  for (const auto& input : inputs) {
    CompileResult result;
    CHECK_NOTHROW(result = compile(input));
    CHECK((result.rules == nullptr) == has_errors(result.diagnostics));
  }
}

TEST_CASE("rules: the RuleSet exposes names, queues, templates and its origin", "[routing][rules]") {
  auto result = compile_rules(R"(version: 1
queues: { support: {}, sales: {} }
templates: { a: "A", b: "B" }
rules:
  - name: first
    then: [ { enqueue: sales }, { reply: b } ]
  - name: second
    then: [ { enqueue: support }, { reply: a } ]
)",
                              CompileOptions{.source_name = "/etc/switchboard/rules.yaml", .hash = "abc123"});
  REQUIRE(result.rules != nullptr);
  const RuleSet& rules = *result.rules;
  CHECK(rules.source_name() == "/etc/switchboard/rules.yaml");
  CHECK(rules.hash() == "abc123");
  CHECK(rules.version() == 1);
  CHECK(rules.rule_names() == std::vector<std::string>{"first", "second"});
  CHECK(rules.queue_names() == std::vector<std::string>{"support", "sales"});
  CHECK(rules.templates() == std::map<std::string, std::string>{{"a", "A"}, {"b", "B"}});
  // 'second' can never fire, and says so in a diagnostic naming the file as given.
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].format() ==
        "/etc/switchboard/rules.yaml:7:5: warning: rule 'second' can never fire: rule 'first' above matches every "
        "message");
}

TEST_CASE("rules: diagnostics format with and without a position", "[routing][rules]") {
  Diagnostic error{Diagnostic::Severity::error, "rules.yaml", 12, 7, "unknown key 'enqeue'"};
  CHECK(error.format() == "rules.yaml:12:7: error: unknown key 'enqeue'");
  Diagnostic warning{Diagnostic::Severity::warning, "r.yaml", 3, 1, "template 'x' is never used"};
  CHECK(warning.format() == "r.yaml:3:1: warning: template 'x' is never used");
  Diagnostic nowhere{Diagnostic::Severity::error, "rules.yaml", 0, 0, "internal error"};
  CHECK(nowhere.format() == "rules.yaml: error: internal error");
  CHECK(has_errors({warning, error}));
  CHECK_FALSE(has_errors({warning}));
  CHECK_FALSE(has_errors({}));
}

TEST_CASE("rules: quoted booleans and yes/no are not booleans", "[routing][rules]") {
  const std::string head = "version: 1\nrules:\n  - name: a\n    then: [ { tag: x } ]\n";
  CHECK(diagnostics_of(head + "    continue: yes\n") == Lines{"rules.yaml:5:15: error: 'continue' must be true or false"});
  CHECK(diagnostics_of(head + "    continue: 'false'\n") ==
        Lines{"rules.yaml:5:15: error: 'continue' must be true or false"});
  CHECK(compile(head + "    continue: True\n").rules != nullptr);
  CHECK(diagnostics_of("version: 1\nrules:\n  - name: a\n    when: { first_message: 1 }\n    then: [ { tag: x } ]\n") ==
        Lines{"rules.yaml:4:28: error: 'first_message' must be true or false"});
}

TEST_CASE("rules: a stray ',' outside brackets is a syntax error, not a hang", "[routing][rules]") {
  // yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1040).
  CHECK(diagnostics_of(",version: 1\n") == Lines{"rules.yaml:1:1: error: unexpected ','"});
  CHECK(diagnostics_of("- a\n,\n") == Lines{"rules.yaml:2:1: error: unexpected ','"});
  CHECK(diagnostics_of("[1], [2]\n") == Lines{"rules.yaml:1:4: error: unexpected ','"});
}

TEST_CASE("rules: aliases reuse a node; an alias inside its own anchor is an error", "[routing][rules]") {
  auto rules = compile_ok(R"(version: 1
queues: { support: {} }
rules:
  - name: sms
    when: { channel: sms }
    then: &to-support [ { tag: routed }, { enqueue: support } ]
  - name: email
    when: { channel: email }
    then: *to-support
)");
  CHECK(summary_of(*rules, {"x", Channel::email}) == "email: tag routed, enqueue support normal");
  CHECK(diagnostics_of("version: 1\nrules: &r [ { name: a, then: *r } ]\n") ==
        Lines{
            "rules.yaml:2:24: error: 'then' must be a list of actions",
            "rules.yaml:2:30: error: an alias cannot refer to the node that contains it",
        });
}
