// Tests for the explicit channel registry.
#include <catch2/catch.hpp>

#include "channels/api/adapter.hpp"
#include "channels/builtin.hpp"
#include "channels/registry.hpp"

using namespace switchboard;
using namespace switchboard::channels;

TEST_CASE("registry: duplicate names fail and unknown names list the known ones", "[channels][registry]") {
  FixedClock clock(Timestamp{});
  Registry registry;
  // A file without channel sections: the adapters that always run.
  std::vector<Diagnostic> diagnostics;
  const config::EnvironmentSecrets secrets;
  config::Reader reader("sb.yaml", diagnostics, secrets);
  const auto configured = read_builtin(reader, YAML::Load("rules: r.yaml"), Settings{});
  CHECK(diagnostics.empty());
  REQUIRE(register_configured(registry, configured, clock).ok());
  auto again = registry.add(std::make_unique<api::ApiAdapter>(api::Options{}, clock));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message == "channel adapter 'api' registered twice");
  auto unknown = registry.find("telegram");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "unknown channel 'telegram' (known: api, notify)");
  REQUIRE(registry.find("api").ok());
  CHECK((*registry.find("api"))->name() == "api");
}
