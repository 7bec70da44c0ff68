// People and on-call rotations as the rules file declares them, and who is on call at an
// instant: a weekly rotation with a local handoff time (DST-correct), whole-day overrides and an
// escalation chain. who_is_on_call() and escalation() are pure functions of an instant.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/calendar/zone.hpp"
#include "routing/core/message.hpp"
#include "routing/core/time.hpp"

namespace switchboard::routing {

// What a person may do in the console and the agent API: an agent works the conversations of
// their queues; an admin sees everything and manages people's tokens and passwords.
enum class Role { agent, admin };
std::string_view to_string(Role role);

// A person of the 'people' section: agents and on-call staff. Credentials and live state
// (presence, assignments) live in the database, not here.
struct Person {
  std::string login;  // the key: [a-z0-9][a-z0-9_.-]*
  std::string name;
  std::string phone;  // E.164 ("+48600100200"), or empty
  std::string email;  // or empty
  std::vector<std::string> languages;
  std::vector<std::string> skills;
  Role role = Role::agent;  // 'role: agent|admin'
};

// One step of an on-call schedule's 'then' chain.
enum class EscalationKind { sms, email, next };
std::string_view to_string(EscalationKind kind);

struct OncallSchedule {
  std::string name;
  std::vector<Person> rotation;  // non-empty; one person per week, in this order
  std::chrono::weekday handoff_day;
  std::chrono::minutes handoff_time;  // after local midnight of handoff_day
  TimeZone zone;
  std::map<std::chrono::sys_days, Person> overrides;  // a local date -> who has that whole day
  Duration ack_within;                                // how long each step waits for an acknowledgement
  std::vector<EscalationKind> then;                   // 'next', if present, is the last step
};

// The rotation's anchor: the handoff on or before Monday 2024-01-01 (local time in the schedule's
// zone) starts the week of rotation[0]; every later (or earlier) handoff moves one person on.
inline constexpr std::chrono::sys_days kOncallAnchorDate{std::chrono::year(2024) / std::chrono::January / 1};

// The local date of the handoff that starts the rotation week containing `instant`.
std::chrono::sys_days rotation_week_start(const OncallSchedule& schedule, Timestamp instant);
// Who is on call at `instant`: the override for its local date if any, else the rotation's
// person of that week.
const Person& who_is_on_call(const OncallSchedule& schedule, Timestamp instant);

// A concrete notification of a page: sent `after` the page started unless it was acknowledged.
struct EscalationStep {
  Channel channel = Channel::sms;  // sms or email
  std::string login;
  std::string address;  // the person's phone or e-mail
  Duration after{0};
};

// The steps of a page raised at `instant`: the chain for the person on call; 'next' starts it
// again for the next person, in the order: the person on call, then the rotation from that
// week's person on (wrapping), each login once, so that everyone in the rotation gets the chain
// once at most. Step i is due at i * ack_within. A step for a contact the person lacks (no phone
// for 'sms'; the compiler rejects such schedules) is left out.
std::vector<EscalationStep> escalation(const OncallSchedule& schedule, Timestamp instant);

}  // namespace switchboard::routing
