// channels.twilio: the Twilio accounts (AccountSid, auth tokens, our number or messaging
// service), the API's base URL and status callbacks.
#include "channels/twilio/adapter.hpp"

namespace switchboard::channels::twilio {

std::optional<Options> TwilioAdapter::read_config(config::Reader& r, const YAML::Node& tw, const Settings& settings) {
  Options o;
  o.public_url = settings.public_url;
  o.max_body_bytes = settings.webhook_body_limit;
  o.default_region = settings.default_region;
  if (!r.mapping(tw, "channels.twilio", {"api_url", "send_timeout", "status_callbacks", "accounts"})) return o;
  if (tw["api_url"])
    if (auto u = r.http_url(tw["api_url"], "channels.twilio.api_url")) o.api_base_url = *u;
  if (tw["send_timeout"])
    if (auto v = r.millis(tw["send_timeout"], "channels.twilio.send_timeout")) o.send_timeout = *v;
  if (const YAML::Node s = tw["status_callbacks"])
    if (auto v = r.boolean(s, "channels.twilio.status_callbacks")) o.status_callbacks = *v;
  const YAML::Node accounts = tw["accounts"];
  if (!accounts) {
    r.error(tw, "'channels.twilio.accounts' is required: inbound webhooks are matched on their AccountSid");
    return o;
  }
  if (!r.mapping(accounts, "channels.twilio.accounts", {})) return o;
  for (auto it = accounts.begin(); it != accounts.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string what = "channels.twilio.accounts." + name;
    if (!config::valid_id(name)) {
      r.error(it->first, "account name '" + name + "' must be 1-64 letters, digits, '_', '-' or '.'");
      continue;
    }
    if (!r.mapping(it->second, what, {"account_sid", "auth_tokens", "from", "messaging_service_sid"})) continue;
    Account acc;
    acc.name = name;
    if (it->second["account_sid"]) {
      if (auto v = r.string(it->second["account_sid"], what + ".account_sid")) {
        if (v->size() != 34 || v->rfind("AC", 0) != 0)
          r.error(it->second["account_sid"], "'" + what + ".account_sid' must be the 34-character AC... id");
        acc.account_sid = *v;
      }
    } else {
      r.error(it->first, "'" + what + ".account_sid' is required");
    }
    if (it->second["auth_tokens"])
      acc.auth_tokens = r.secrets(it->second["auth_tokens"], what + ".auth_tokens");
    else
      r.error(it->first, "'" + what + ".auth_tokens' is required: every webhook is checked against them");
    if (it->second["from"])
      if (auto v = r.string(it->second["from"], what + ".from")) acc.from = *v;
    if (it->second["messaging_service_sid"])
      if (auto v = r.string(it->second["messaging_service_sid"], what + ".messaging_service_sid"))
        acc.messaging_service_sid = *v;
    if (acc.from.empty() == acc.messaging_service_sid.empty())
      r.error(it->first, "'" + what + "' needs exactly one of 'from' (our number) and 'messaging_service_sid'");
    for (const auto& other : o.accounts)
      if (!acc.account_sid.empty() && other.account_sid == acc.account_sid)
        r.error(it->first, "'" + what + "' has the same account_sid as '" + other.name + "'");
    o.accounts.push_back(std::move(acc));
  }
  if (o.accounts.empty()) return std::nullopt;  // `accounts: {}`: the channel is off
  return o;
}

}  // namespace switchboard::channels::twilio
