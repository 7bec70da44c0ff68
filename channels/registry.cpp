#include "channels/registry.hpp"

namespace switchboard::channels {

Status Registry::add(std::unique_ptr<Adapter> adapter) {
  std::string name(adapter->name());
  if (adapters_.count(name))
    return make_error(ErrorKind::config, "duplicate_adapter", "channel adapter '" + name + "' registered twice");
  adapters_.emplace(std::move(name), std::move(adapter));
  return Ok{};
}

Result<Adapter*> Registry::find(std::string_view name) const {
  auto it = adapters_.find(name);
  if (it != adapters_.end()) return it->second.get();
  std::string known;
  for (const auto& [k, v] : adapters_) known += (known.empty() ? "" : ", ") + k;
  return make_error(ErrorKind::config, "unknown_adapter",
                    "unknown channel '" + std::string(name) + "' (known: " + known + ")");
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : adapters_) out.push_back(k);
  return out;
}

}  // namespace switchboard::channels
