// Who is on call: the rotation week of an instant (local handoffs, so DST moves the UTC instant
// of a handoff, never its wall-clock time), whole-day overrides and the escalation chain.
#include "routing/oncall/schedule.hpp"

#include <algorithm>

namespace switchboard::routing {

namespace {

// The handoff day on or before `date` (both local dates).
std::chrono::sys_days handoff_day_on_or_before(std::chrono::sys_days date, std::chrono::weekday day) {
  return date - (std::chrono::weekday(date) - day);  // weekday difference is 0..6 days
}

std::size_t rotation_index(const OncallSchedule& schedule, std::chrono::sys_days week_start) {
  const auto anchor = handoff_day_on_or_before(kOncallAnchorDate, schedule.handoff_day);
  const long long weeks = (week_start - anchor).count() / 7;  // both on handoff_day: exact
  const auto n = static_cast<long long>(schedule.rotation.size());
  return static_cast<std::size_t>(((weeks % n) + n) % n);
}

}  // namespace

std::string_view to_string(Role role) { return role == Role::admin ? "admin" : "agent"; }

std::string_view to_string(EscalationKind kind) {
  switch (kind) {
    case EscalationKind::sms: return "sms";
    case EscalationKind::email: return "email";
    case EscalationKind::next: return "next";
  }
  return "?";
}

std::chrono::sys_days rotation_week_start(const OncallSchedule& schedule, Timestamp instant) {
  const LocalParts local = schedule.zone.local_parts(instant);
  auto day = handoff_day_on_or_before(std::chrono::sys_days(local.date), schedule.handoff_day);
  const auto handoff_at = [&](std::chrono::sys_days d) {
    return schedule.zone.from_local(LocalTime(d.time_since_epoch()) + schedule.handoff_time);
  };
  // On the handoff day itself, before the handoff the previous week still runs.
  if (handoff_at(day) > instant) day -= std::chrono::days(7);
  return day;
}

const Person& who_is_on_call(const OncallSchedule& schedule, Timestamp instant) {
  const LocalParts local = schedule.zone.local_parts(instant);
  if (auto it = schedule.overrides.find(std::chrono::sys_days(local.date)); it != schedule.overrides.end()) return it->second;
  return schedule.rotation[rotation_index(schedule, rotation_week_start(schedule, instant))];
}

std::vector<EscalationStep> escalation(const OncallSchedule& schedule, Timestamp instant) {
  std::vector<const Person*> order{&who_is_on_call(schedule, instant)};
  const std::size_t first = rotation_index(schedule, rotation_week_start(schedule, instant));
  for (std::size_t i = 0; i < schedule.rotation.size(); ++i) {
    const Person& p = schedule.rotation[(first + i) % schedule.rotation.size()];
    if (std::none_of(order.begin(), order.end(), [&](const Person* q) { return q->login == p.login; })) order.push_back(&p);
  }
  std::vector<EscalationStep> steps;
  for (const Person* person : order) {
    bool next = false;
    for (EscalationKind kind : schedule.then) {
      if (kind == EscalationKind::next) {
        next = true;
        break;
      }
      const bool sms = kind == EscalationKind::sms;
      const std::string& address = sms ? person->phone : person->email;
      if (address.empty()) continue;
      const auto due = schedule.ack_within * static_cast<long long>(steps.size());
      steps.push_back(EscalationStep{sms ? Channel::sms : Channel::email, person->login, address, due});
    }
    if (!next) break;
  }
  return steps;
}

}  // namespace switchboard::routing
