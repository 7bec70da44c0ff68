// The rules the daemon's integration tests run with: the shape of deploy/examples/rules.yaml
// without its office-hours rule, so that no test depends on the time of day it runs at.
#pragma once

namespace switchboard::testing {

inline constexpr const char* kTestRules = R"(version: 1
timezone: Europe/Warsaw
queues:
  support: {}
  urgent: {}
templates:
  received: "Dzień dobry! Dziękujemy za wiadomość, odpowiemy najszybciej, jak to możliwe."
  outage_ack: "Przyjęliśmy zgłoszenie awarii i zajmiemy się nim w pierwszej kolejności."
  human: "Przekazujemy rozmowę konsultantowi, proszę chwilę poczekać."
rules:
  - name: outage
    when: { text: { contains_any: [awari*, "nie działa", outage, urgent] } }
    then: [ { reply: outage_ack }, { enqueue: urgent, priority: urgent }, { tag: outage } ]
  - name: wants-a-human
    when: { text: { contains_any: [człowiek*, konsultant*, human, agent] } }
    then: [ { reply: human }, { enqueue: support, priority: high } ]
  - name: first-message
    when: { first_message: true }
    then: [ { reply: received }, { enqueue: support } ]
  - name: default
    then: [ { enqueue: support } ]
)";

}  // namespace switchboard::testing
