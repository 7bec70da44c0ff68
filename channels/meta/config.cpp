// channels.meta: the Meta apps' secrets and verify token, the Graph API, and the Pages and
// WhatsApp numbers we send from.
#include "channels/meta/adapter.hpp"

namespace switchboard::channels::meta {

std::optional<Options> MetaAdapter::read_config(config::Reader& r, const YAML::Node& meta, const Settings& settings) {
  Options o;
  o.max_body_bytes = settings.webhook_body_limit;
  if (!r.mapping(
          meta, "channels.meta",
          {"app_secrets", "verify_token", "graph_url", "graph_version", "send_timeout", "pages", "whatsapp_numbers"}))
    return o;
  if (meta["app_secrets"])
    o.app_secrets = r.secrets(meta["app_secrets"], "channels.meta.app_secrets");
  else
    r.error(meta, "'channels.meta.app_secrets' is required: every webhook is checked against them");
  if (meta["verify_token"]) {
    if (auto v = r.secret(meta["verify_token"], "channels.meta.verify_token")) o.verify_token = *v;
  } else {
    r.error(meta, "'channels.meta.verify_token' is required for Meta's verification handshake");
  }
  if (meta["graph_url"])
    if (auto u = r.http_url(meta["graph_url"], "channels.meta.graph_url")) o.graph_base_url = *u;
  if (meta["graph_version"]) {
    if (auto v = r.string(meta["graph_version"], "channels.meta.graph_version")) {
      if (v->size() < 4 || (*v)[0] != 'v' || v->find('.') == std::string::npos)
        r.error(meta["graph_version"], "'channels.meta.graph_version' must look like 'v25.0'");
      o.graph_version = *v;
    }
  }
  if (meta["send_timeout"])
    if (auto v = r.millis(meta["send_timeout"], "channels.meta.send_timeout")) o.send_timeout = *v;
  if (const YAML::Node pages = meta["pages"]; pages && r.mapping(pages, "channels.meta.pages", {})) {
    for (auto it = pages.begin(); it != pages.end(); ++it) {
      std::string id = it->first.Scalar();
      std::string what = "channels.meta.pages." + id;
      if (!config::valid_id(id)) {
        r.error(it->first, "page id '" + id + "' must be the Page's numeric id");
        continue;
      }
      if (!r.mapping(it->second, what, {"access_token", "human_agent"})) continue;
      Options::Page page;
      page.id = id;
      if (it->second["access_token"]) {
        if (auto v = r.secret(it->second["access_token"], what + ".access_token")) page.access_token = *v;
      } else {
        r.error(it->first, "'" + what + ".access_token' is required to send Messenger replies");
      }
      if (const YAML::Node h = it->second["human_agent"])
        if (auto v = r.boolean(h, what + ".human_agent")) page.human_agent = *v;
      o.pages.push_back(std::move(page));
    }
  }
  if (const YAML::Node numbers = meta["whatsapp_numbers"];
      numbers && r.mapping(numbers, "channels.meta.whatsapp_numbers", {})) {
    for (auto it = numbers.begin(); it != numbers.end(); ++it) {
      std::string id = it->first.Scalar();
      std::string what = "channels.meta.whatsapp_numbers." + id;
      if (!config::valid_id(id)) {
        r.error(it->first, "phone number id '" + id + "' must be the number's id from WhatsApp Manager");
        continue;
      }
      if (!r.mapping(it->second, what, {"access_token"})) continue;
      Options::WhatsAppNumber number;
      number.phone_number_id = id;
      if (it->second["access_token"]) {
        if (auto v = r.secret(it->second["access_token"], what + ".access_token")) number.access_token = *v;
      } else {
        r.error(it->first, "'" + what + ".access_token' is required to send WhatsApp replies");
      }
      o.whatsapp_numbers.push_back(std::move(number));
    }
  }
  return o;
}

}  // namespace switchboard::channels::meta
