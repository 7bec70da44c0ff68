#include "channels/builtin.hpp"

#include <memory>

namespace switchboard::channels {

Status register_builtin(Registry& registry, const BuiltinOptions& options, const Clock& clock) {
  std::vector<std::unique_ptr<Adapter>> adapters;
  adapters.push_back(std::make_unique<api::ApiAdapter>(options.api, clock));
  adapters.push_back(std::make_unique<notify::NotifyAdapter>(options.notify));
  if (options.meta) adapters.push_back(std::make_unique<meta::MetaAdapter>(*options.meta, clock));
  if (options.twilio) adapters.push_back(std::make_unique<twilio::TwilioAdapter>(*options.twilio));
  if (options.email) adapters.push_back(std::make_unique<email::EmailAdapter>(*options.email, clock));
  for (auto& adapter : adapters)
    if (auto added = registry.add(std::move(adapter)); !added) return added;
  return Ok{};
}

}  // namespace switchboard::channels
