#include "channels/registry.hpp"

namespace switchboard::channels {

Status Registry::add(std::unique_ptr<Adapter> adapter) {
  std::string name(adapter->name());
  if (adapters_.count(name))
    return make_error(ErrorKind::config, "duplicate_adapter", "channel adapter '" + name + "' registered twice");
  const auto channels = adapter->sends_for();
  for (const auto& channel : channels)
    if (auto it = senders_.find(channel); it != senders_.end())
      return make_error(ErrorKind::config, "duplicate_sender",
                        "channel adapters '" + std::string(it->second->name()) + "' and '" + name +
                            "' both send for '" + channel + "'");
  for (const auto& channel : channels) senders_.emplace(channel, adapter.get());
  adapters_.emplace(std::move(name), std::move(adapter));
  return Ok{};
}

Result<Adapter*> Registry::sender(std::string_view channel) const {
  if (auto it = senders_.find(channel); it != senders_.end()) return it->second;
  std::string known;
  for (const auto& [k, v] : senders_) known += (known.empty() ? "" : ", ") + k;
  return make_error(ErrorKind::config, "unknown_adapter",
                    "no channel adapter sends for '" + std::string(channel) + "' (configured: " + known + ")");
}

std::vector<Adapter*> Registry::all() const {
  std::vector<Adapter*> out;
  for (const auto& [k, v] : adapters_) out.push_back(v.get());
  return out;
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

namespace switchboard::channels {

int code_points(std::string_view utf8) {
  int n = 0;
  for (unsigned char c : utf8)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

ReplyCheck Adapter::check_reply(const OutboundMessage& draft, Timestamp now) const {
  (void)now;
  ReplyCheck check;
  check.characters = code_points(draft.text);
  if (draft.text.empty()) {
    check.allowed = false;
    check.reason = "empty";
    check.message = "the reply is empty";
  }
  return check;
}

}  // namespace switchboard::channels
