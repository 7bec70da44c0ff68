#include "routing/core/decision.hpp"

#include <iterator>
#include <type_traits>
#include <variant>

namespace switchboard {

namespace {
constexpr std::string_view kPriorityNames[] = {"low", "normal", "high", "urgent"};
}

std::string_view to_string(Priority p) { return kPriorityNames[static_cast<int>(p)]; }

std::optional<Priority> priority_from_string(std::string_view s) {
  for (int i = 0; i < static_cast<int>(std::size(kPriorityNames)); ++i)
    if (kPriorityNames[i] == s) return static_cast<Priority>(i);
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> action_fields(const Action& action) {
  return std::visit(
      [](const auto& a) -> std::vector<std::pair<std::string, std::string>> {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, ReplyAction>) {
          return {{"type", "reply"}, {"template", a.template_name}, {"text", a.text}};
        } else if constexpr (std::is_same_v<T, EnqueueAction>) {
          return {{"type", "enqueue"}, {"queue", a.queue}, {"priority", std::string(to_string(a.priority))}};
        } else if constexpr (std::is_same_v<T, TagAction>) {
          return {{"type", "tag"}, {"tag", a.tag}};
        } else if constexpr (std::is_same_v<T, AssignAction>) {
          return {{"type", "assign"}, {"agent", a.agent}};
        } else if constexpr (std::is_same_v<T, PageAction>) {
          return {{"type", "page"}, {"schedule", a.schedule}, {"person", a.person}};
        } else if constexpr (std::is_same_v<T, CloseAction>) {
          return {{"type", "close"}};
        } else if constexpr (std::is_same_v<T, SetPriorityAction>) {
          return {{"type", "set_priority"}, {"priority", std::string(to_string(a.priority))}};
        } else if constexpr (std::is_same_v<T, SetLanguageAction>) {
          return {{"type", "set_language"}, {"language", a.language}};
        } else {
          static_assert(std::is_same_v<T, NotifyAction>, "every action kind needs its fields here");
          return {{"type", "notify"}, {"url", a.url}, {"template", a.template_name}, {"text", a.text}};
        }
      },
      action);
}

}  // namespace switchboard
