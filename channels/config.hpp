// How an adapter is configured: it reads its own section of switchboard.yaml
// (channels/<name>/config.cpp, with config::Reader's file:line:col diagnostics) into its own
// Options. The daemon's settings an adapter may need come in Settings; the daemon never sees an
// adapter's options.
#pragma once

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "config/reader.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels {

class Adapter;

// The daemon-wide settings an adapter's section may rely on.
struct Settings {
  std::string public_url;             // how platforms reach us: "https://host[:port]", no '/'
  std::string default_region = "PL";  // phone numbers written without a country code
  std::size_t api_body_limit = 1024 * 1024;
  std::size_t webhook_body_limit = 4 * 1024 * 1024;
};

// One adapter as the config file describes it, made when the daemon starts.
struct Configured {
  std::string name;
  std::any options;  // the adapter's own Options (tests and its tools read them back)
  std::function<std::unique_ptr<Adapter>(const Clock&)> make;
};

}  // namespace switchboard::channels
