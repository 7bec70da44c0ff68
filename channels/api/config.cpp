// channels.api: the API accounts, their tokens and callbacks.
#include "channels/api/adapter.hpp"

namespace switchboard::channels::api {

std::optional<Options> ApiAdapter::read_config(config::Reader& r, const YAML::Node& section, const Settings& settings) {
  Options o;
  o.max_body_bytes = settings.api_body_limit;
  o.default_region = settings.default_region;
  if (!section || !r.mapping(section, "channels.api", {"accounts"}) || !section["accounts"]) return o;
  const YAML::Node accounts = section["accounts"];
  if (!r.mapping(accounts, "channels.api.accounts", {})) return o;
  for (auto it = accounts.begin(); it != accounts.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string what = "channels.api.accounts." + name;
    if (name.empty() || name.size() > 64 || name.find_first_of(" :/\t") != std::string::npos) {
      r.error(it->first, "account name '" + name + "' must be 1-64 characters without spaces, ':' or '/'");
      continue;
    }
    if (!r.mapping(it->second, what, {"tokens", "callback"})) continue;
    Account acc;
    acc.name = name;
    if (it->second["tokens"])
      acc.tokens = r.secrets(it->second["tokens"], what + ".tokens");
    else
      r.error(it->first, "'" + what + ".tokens' is required");
    if (const YAML::Node cb = it->second["callback"]) {
      std::string cw = what + ".callback";
      if (r.mapping(cb, cw, {"url", "secrets", "timeout"})) {
        if (cb["url"]) {
          if (auto u = r.string(cb["url"], cw + ".url")) {
            if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0)
              r.error(cb["url"], "'" + cw + ".url' must start with http:// or https://");
            acc.callback_url = *u;
          }
        } else {
          r.error(cb, "'" + cw + ".url' is required");
        }
        if (cb["secrets"])
          acc.callback_secrets = r.secrets(cb["secrets"], cw + ".secrets");
        else
          r.error(cb, "'" + cw + ".secrets' is required: callbacks are always signed");
        if (cb["timeout"])
          if (auto v = r.millis(cb["timeout"], cw + ".timeout")) acc.callback_timeout = *v;
      }
    }
    o.accounts.push_back(std::move(acc));
  }
  return o;
}

}  // namespace switchboard::channels::api
