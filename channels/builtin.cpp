#include "channels/builtin.hpp"

#include <memory>

namespace switchboard::channels {

Status register_builtin(Registry& registry, const BuiltinOptions& options, const Clock& clock) {
  if (auto added = registry.add(std::make_unique<api::ApiAdapter>(options.api, clock)); !added) return added;
  return registry.add(std::make_unique<notify::NotifyAdapter>(options.notify));
}

}  // namespace switchboard::channels
