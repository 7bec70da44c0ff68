// The adapters this build ships, added to a Registry explicitly (no static self-registration).
#pragma once

#include "channels/api/adapter.hpp"
#include "channels/notify/adapter.hpp"
#include "channels/registry.hpp"

namespace switchboard::channels {

struct BuiltinOptions {
  api::Options api;
  notify::Options notify;
};

Status register_builtin(Registry& registry, const BuiltinOptions& options, const Clock& clock);

}  // namespace switchboard::channels
