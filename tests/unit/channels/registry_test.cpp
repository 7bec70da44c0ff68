// Tests for the explicit channel registry.
#include <catch2/catch.hpp>

#include "channels/builtin.hpp"
#include "channels/registry.hpp"

using namespace switchboard;
using namespace switchboard::channels;

TEST_CASE("registry: duplicate names fail and unknown names list the known ones", "[channels][registry]") {
  FixedClock clock(Timestamp{});
  Registry registry;
  REQUIRE(register_builtin(registry, BuiltinOptions{}, clock).ok());
  auto again = registry.add(std::make_unique<api::ApiAdapter>(api::Options{}, clock));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message == "channel adapter 'api' registered twice");
  auto unknown = registry.find("telegram");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "unknown channel 'telegram' (known: api, notify)");
  REQUIRE(registry.find("api").ok());
  CHECK((*registry.find("api"))->name() == "api");
}
