// libFuzzer: the route table (channels/routes.hpp) with hostile patterns and request paths. The
// input is lines: "+METHOD PATTERN" adds a route, "METHOD PATH" dispatches a request. Checked:
// no crash; every answer is the handler's, 404 or 405 with a non-empty Allow; owner() agrees
// with dispatch(); a refused route changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "channels/routes.hpp"

namespace channels = switchboard::channels;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  channels::RouteTable table;
  std::size_t added = 0;
  for (std::size_t at = 0; at <= input.size();) {
    auto end = input.find('\n', at);
    if (end == std::string_view::npos) end = input.size();
    std::string_view line = input.substr(at, end - at);
    at = end + 1;
    const bool add = !line.empty() && line.front() == '+';
    if (add) line.remove_prefix(1);
    const auto space = line.find(' ');
    const std::string method(line.substr(0, space));
    const std::string rest(space == std::string_view::npos ? std::string_view{} : line.substr(space + 1));
    if (add) {
      const auto before = table.describe().size();
      auto ok = table.add(
          method, rest,
          [](const switchboard::HttpRequest&, const channels::PathParams&) {
            switchboard::HttpResponse r;
            r.status = 299;
            return r;
          },
          "fuzz");
      if (ok) ++added;
      if (table.describe().size() != before + (ok ? 1 : 0)) std::abort();
      continue;
    }
    switchboard::HttpRequest request;
    request.method = method;
    request.path = rest;
    const auto r = table.dispatch(request);
    const bool owned = !table.owner(method, rest).empty();
    if (owned != (r.status == 299)) std::abort();
    if (r.status == 405) {
      bool allow = false;
      for (const auto& [name, value] : r.headers) allow = allow || (name == "Allow" && !value.empty());
      if (!allow) std::abort();
    } else if (r.status != 299 && r.status != 404) {
      std::abort();
    }
  }
  if (table.describe().size() != added) std::abort();
  return 0;
}
