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
          std::vector<std::pair<std::string, std::string>> fields{
              {"type", "reply"}, {"template", a.template_name}, {"text", a.text}};
          if (!a.sms_encoding.empty()) {
            fields.emplace_back("sms_encoding", a.sms_encoding);
            fields.emplace_back("sms_segments", std::to_string(a.sms_segments));
          }
          // The rendered parameters are a list: explain shows them from the action itself.
          if (a.whatsapp_template) {
            fields.emplace_back("whatsapp_template", a.whatsapp_template->name);
            fields.emplace_back("whatsapp_language", a.whatsapp_template->language);
          }
          return fields;
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
