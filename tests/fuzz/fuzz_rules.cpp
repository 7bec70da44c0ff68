// libFuzzer: routing::compile_rules on arbitrary text. It must report diagnostics, never crash,
// and never hand back rules together with an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "routing/rules/ruleset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = switchboard::routing::compile_rules(text, {});
  if (result.rules && switchboard::has_errors(result.diagnostics)) std::abort();
  return 0;
}
