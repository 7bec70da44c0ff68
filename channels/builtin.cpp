#include "channels/builtin.hpp"

#include <memory>

namespace switchboard::channels {

Status register_builtin(Registry& registry, const BuiltinOptions& options, const Clock& clock) {
  return registry.add(std::make_unique<api::ApiAdapter>(options.api, clock));
}

}  // namespace switchboard::channels
