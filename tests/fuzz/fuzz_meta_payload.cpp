// libFuzzer: meta::parse_payload on arbitrary bytes (a signed body is still attacker-shaped JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "channels/meta/adapter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto events = switchboard::channels::meta::parse_payload(body);
  (void)events.ok();
  return 0;
}
