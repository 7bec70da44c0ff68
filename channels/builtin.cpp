#include "channels/builtin.hpp"

#include <memory>
#include <string_view>
#include <type_traits>

#include "channels/api/adapter.hpp"
#include "channels/email/adapter.hpp"
#include "channels/meta/adapter.hpp"
#include "channels/notify/adapter.hpp"
#include "channels/twilio/adapter.hpp"

namespace switchboard::channels {

namespace {

struct Builtin {
  std::string_view section;  // "channels.meta", or "notify" at the top of the file
  bool always;               // made with its defaults when the section is absent
  std::optional<Configured> (*read)(config::Reader&, const YAML::Node&, const Settings&);
};

// An adapter class A with `using Options`, `static read_config(Reader&, const YAML::Node&,
// const Settings&)` and a constructor taking its Options (and the clock, if it keeps time).
template <class A>
std::optional<Configured> read(config::Reader& reader, const YAML::Node& section, const Settings& settings) {
  auto options = A::read_config(reader, section, settings);
  if (!options) return std::nullopt;
  Configured c;
  c.options = *options;
  c.make = [o = std::move(*options)](const Clock& clock) -> std::unique_ptr<Adapter> {
    if constexpr (std::is_constructible_v<A, typename A::Options, const Clock&>)
      return std::make_unique<A>(o, clock);
    else
      return std::make_unique<A>(o);
  };
  return c;
}

constexpr bool kAlways = true;

// One line per channel.
constexpr Builtin kBuiltin[] = {
    {"channels.api", kAlways, read<api::ApiAdapter>},        {"notify", kAlways, read<notify::NotifyAdapter>},
    {"channels.meta", !kAlways, read<meta::MetaAdapter>},    {"channels.twilio", !kAlways, read<twilio::TwilioAdapter>},
    {"channels.email", !kAlways, read<email::EmailAdapter>},
};

constexpr std::string_view kChannels = "channels.";

}  // namespace

std::vector<std::string> builtin_sections(bool under_channels) {
  std::vector<std::string> out;
  for (const auto& b : kBuiltin) {
    const bool nested = b.section.starts_with(kChannels);
    if (nested == under_channels) out.emplace_back(nested ? b.section.substr(kChannels.size()) : b.section);
  }
  return out;
}

std::vector<Configured> read_builtin(config::Reader& reader, const YAML::Node& root, const Settings& settings) {
  const YAML::Node channels = root["channels"];
  const bool channels_ok = channels && reader.mapping(channels, "channels", builtin_sections(true));
  std::vector<Configured> out;
  for (const auto& b : kBuiltin) {
    const bool nested = b.section.starts_with(kChannels);
    // Copied, never assigned: yaml-cpp throws on assigning an absent node.
    const YAML::Node section = !nested       ? root[std::string(b.section)]
                               : channels_ok ? channels[std::string(b.section.substr(kChannels.size()))]
                                             : YAML::Node(YAML::NodeType::Undefined);
    if (!section && !b.always) continue;
    if (auto configured = b.read(reader, section, settings)) {
      configured->name = std::string(b.section.substr(nested ? kChannels.size() : 0));
      out.push_back(std::move(*configured));
    }
  }
  return out;
}

Status register_configured(Registry& registry, const std::vector<Configured>& adapters, const Clock& clock) {
  for (const auto& c : adapters)
    if (auto added = registry.add(c.make(clock)); !added) return added;
  return Ok{};
}

}  // namespace switchboard::channels
