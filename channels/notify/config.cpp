// notify: (top level) the secrets that sign the rules' notify: POSTs, and their timeout.
#include "channels/notify/adapter.hpp"

namespace switchboard::channels::notify {

std::optional<Options> NotifyAdapter::read_config(config::Reader& r, const YAML::Node& section, const Settings&) {
  Options o;
  if (!section || !r.mapping(section, "notify", {"secrets", "timeout"})) return o;
  if (section["secrets"]) o.secrets = r.secrets(section["secrets"], "notify.secrets");
  if (section["timeout"])
    if (auto v = r.millis(section["timeout"], "notify.timeout")) o.timeout = *v;
  return o;
}

}  // namespace switchboard::channels::notify
