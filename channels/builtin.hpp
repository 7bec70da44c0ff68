// The adapters this build ships, added to a Registry explicitly (no static self-registration).
// A channel is its folder plus one line in builtin.cpp (channels/README.md).
#pragma once

#include <optional>

#include "channels/api/adapter.hpp"
#include "channels/email/adapter.hpp"
#include "channels/meta/adapter.hpp"
#include "channels/notify/adapter.hpp"
#include "channels/registry.hpp"
#include "channels/twilio/adapter.hpp"

namespace switchboard::channels {

// The adapters' options; an optional one is registered only when its section is configured.
struct BuiltinOptions {
  api::Options api;
  notify::Options notify;
  std::optional<meta::Options> meta{};
  std::optional<twilio::Options> twilio{};
  std::optional<email::Options> email{};
};

Status register_builtin(Registry& registry, const BuiltinOptions& options, const Clock& clock);

}  // namespace switchboard::channels
