// The adapters this build ships, added to a Registry explicitly (no static self-registration).
// A channel is its folder plus one line in builtin.cpp (channels/README.md).
#pragma once

#include <string>
#include <vector>

#include "channels/config.hpp"
#include "channels/registry.hpp"

namespace switchboard::channels {

// The config keys the built-in adapters read: under `channels:` ("api", "meta", ...) when
// `under_channels`, else at the top of the file ("notify").
std::vector<std::string> builtin_sections(bool under_channels);

// Reads each built-in adapter's section of the file (`root` is the whole document): an adapter
// whose section is absent is left out unless it always runs (api, notify). Problems go to the
// reader's diagnostics.
std::vector<Configured> read_builtin(config::Reader& reader, const YAML::Node& root, const Settings& settings);

// Makes the configured adapters and adds them to the registry.
Status register_configured(Registry& registry, const std::vector<Configured>& adapters, const Clock& clock);

}  // namespace switchboard::channels
