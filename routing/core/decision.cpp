#include "routing/core/decision.hpp"

#include <iterator>

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

}  // namespace switchboard
