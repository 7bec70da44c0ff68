#include "daemon/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "channels/builtin.hpp"
#include "config/reader.hpp"
#include "routing/core/time.hpp"

namespace switchboard::daemon {

namespace {

bool split_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit)) return false;
  long v = std::stol(p);
  if (v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

}  // namespace

ConfigResult parse_config(const std::string& text, const std::string& file_name, const std::string& base_dir,
                          const config::Secrets& secrets) {
  ConfigResult result;
  config::Reader r(file_name, result.diagnostics, secrets);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.error(e.mark, "invalid YAML: " + e.msg);
    return result;
  }
  Config c;
  c.path = file_name;
  std::vector<std::string> top = {"listen", "public_url", "database", "rules",  "state_dir", "http",
                                  "limits", "admin",      "channels", "default_region", "outbox", "shutdown_timeout",
                                  "spool",  "auth",       "stream", "console"};
  for (auto& section : channels::builtin_sections(false)) top.push_back(std::move(section));
  if (!r.mapping(root, "config", top)) return result;

  if (root["listen"]) {
    if (auto s = r.string(root["listen"], "listen"))
      if (!split_listen(*s, c.listen_address, c.listen_port))
        r.error(root["listen"], "'listen' must be HOST:PORT such as '127.0.0.1:8080'");
  }
  if (root["public_url"]) {
    if (auto s = r.string(root["public_url"], "public_url")) {
      const std::size_t scheme = s->rfind("https://", 0) == 0 ? 8 : s->rfind("http://", 0) == 0 ? 7 : 0;
      // Platforms sign the full URL: public_url + the path they were given. With a path in it
      // (the webhook's own URL, say) every signature would be checked against the wrong URL.
      const std::size_t path = scheme == 0 ? std::string::npos : s->find('/', scheme);
      if (scheme == 0)
        r.error(root["public_url"], "'public_url' must start with http:// or https://");
      else if (s->find_first_of("?#", scheme) != std::string::npos)
        r.error(root["public_url"], "'public_url' must not have a query or fragment: '" + *s + "'");
      else if (path != std::string::npos && s->substr(path) != "/")
        r.error(root["public_url"], "'public_url' must be the scheme, host and port only, without a path: '" + *s +
                                        "' (did you mean '" + s->substr(0, path) + "'?)");
      c.public_url = *s;
      while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
    }
  }
  if (c.public_url.empty()) c.public_url = "http://" + c.listen_address + ":" + std::to_string(c.listen_port);

  const char* env_url = std::getenv("SWITCHBOARD_DATABASE_URL");
  if (YAML::Node db = root["database"]) {
    if (r.mapping(db, "database", {"url", "pool_size", "connect_timeout"})) {
      if (db["url"])
        if (auto s = r.string(db["url"], "database.url")) c.database_url = *s;
      if (db["pool_size"])
        if (auto v = r.integer(db["pool_size"], "database.pool_size", 1, 512)) c.pool_size = static_cast<std::size_t>(*v);
      if (db["connect_timeout"])
        if (auto v = r.seconds(db["connect_timeout"], "database.connect_timeout")) c.connect_timeout = *v;
    }
  }
  if (env_url && *env_url) c.database_url = env_url;
  if (c.database_url.empty())
    r.error(root["database"] ? root["database"].Mark() : root.Mark(),
            "'database.url' is required (or set SWITCHBOARD_DATABASE_URL)");

  if (root["rules"]) {
    if (auto s = r.string(root["rules"], "rules")) c.rules_path = config::resolve_path(base_dir, *s);
  } else {
    r.error(root.Mark(), "'rules' is required: the path of the rules file");
  }
  if (root["state_dir"]) {
    if (auto s = r.string(root["state_dir"], "state_dir")) c.state_dir = config::resolve_path(base_dir, *s);
  } else {
    c.state_dir = config::resolve_path(base_dir, "state");
  }
  if (root["default_region"]) {
    if (auto s = r.string(root["default_region"], "default_region")) {
      if (s->size() != 2 || !std::isupper(static_cast<unsigned char>((*s)[0])) ||
          !std::isupper(static_cast<unsigned char>((*s)[1])))
        r.error(root["default_region"], "'default_region' must be a two-letter country code such as 'PL'");
      c.default_region = *s;
    }
  }

  if (YAML::Node h = root["http"]) {
    if (r.mapping(h, "http", {"io_threads", "workers", "header_timeout", "body_timeout", "idle_timeout"})) {
      if (h["io_threads"])
        if (auto v = r.integer(h["io_threads"], "http.io_threads", 1, 64)) c.io_threads = static_cast<std::size_t>(*v);
      if (h["workers"])
        if (auto v = r.integer(h["workers"], "http.workers", 1, 1024)) c.workers = static_cast<std::size_t>(*v);
      if (h["header_timeout"])
        if (auto v = r.seconds(h["header_timeout"], "http.header_timeout")) c.header_timeout = *v;
      if (h["body_timeout"])
        if (auto v = r.seconds(h["body_timeout"], "http.body_timeout")) c.body_timeout = *v;
      if (h["idle_timeout"])
        if (auto v = r.seconds(h["idle_timeout"], "http.idle_timeout")) c.idle_timeout = *v;
    }
  }
  if (c.workers == 0) c.workers = c.pool_size;

  if (YAML::Node l = root["limits"]) {
    if (r.mapping(l, "limits", {"api_body", "webhook_body"})) {
      if (l["api_body"])
        if (auto v = r.size(l["api_body"], "limits.api_body")) c.api_body_limit = *v;
      if (l["webhook_body"])
        if (auto v = r.size(l["webhook_body"], "limits.webhook_body")) c.webhook_body_limit = *v;
    }
  }

  if (YAML::Node a = root["admin"]) {
    if (r.mapping(a, "admin", {"tokens"}) && a["tokens"]) c.admin_tokens = r.secrets(a["tokens"], "admin.tokens");
  }

  const channels::Settings settings{.public_url = c.public_url,
                                    .default_region = c.default_region,
                                    .api_body_limit = c.api_body_limit,
                                    .webhook_body_limit = c.webhook_body_limit};
  c.channels = channels::read_builtin(r, root, settings);

  if (YAML::Node ob = root["outbox"]) {
    if (r.mapping(ob, "outbox", {"workers", "batch", "sweep_interval", "lease", "retry"})) {
      if (ob["workers"])
        if (auto v = r.integer(ob["workers"], "outbox.workers", 0, 64)) c.outbox.workers = static_cast<std::size_t>(*v);
      if (ob["batch"])
        if (auto v = r.integer(ob["batch"], "outbox.batch", 1, 1000)) c.outbox.batch = static_cast<std::size_t>(*v);
      if (ob["sweep_interval"])
        if (auto v = r.millis(ob["sweep_interval"], "outbox.sweep_interval")) c.outbox.sweep_interval = *v;
      if (ob["lease"])
        if (auto v = r.millis(ob["lease"], "outbox.lease", std::chrono::seconds{1})) c.outbox.lease = *v;
      if (YAML::Node rt = ob["retry"]) {
        if (r.mapping(rt, "outbox.retry", {"base", "cap", "max_attempts"})) {
          if (rt["base"])
            if (auto v = r.millis(rt["base"], "outbox.retry.base")) c.outbox.retry_base = *v;
          if (rt["cap"])
            if (auto v = r.millis(rt["cap"], "outbox.retry.cap")) c.outbox.retry_cap = *v;
          if (rt["max_attempts"])
            if (auto v = r.integer(rt["max_attempts"], "outbox.retry.max_attempts", 1, 100))
              c.outbox.max_attempts = static_cast<int>(*v);
          if (c.outbox.retry_cap < c.outbox.retry_base)
            r.error(rt, "'outbox.retry.cap' must not be less than 'outbox.retry.base'");
        }
      }
    }
  }
  c.auth.secure_cookie = c.public_url.rfind("https://", 0) == 0;
  if (YAML::Node au = root["auth"]) {
    if (r.mapping(au, "auth", {"session_ttl", "password_memory", "password_passes", "max_concurrent_hashes",
                               "login_failures", "trusted_proxies"})) {
      if (au["session_ttl"])
        if (auto v = r.seconds(au["session_ttl"], "auth.session_ttl")) c.auth.session_ttl = *v;
      if (au["password_memory"])
        if (auto v = r.size(au["password_memory"], "auth.password_memory")) {
          if (*v < 8 * 1024 || *v > 4ull * 1024 * 1024 * 1024)
            r.error(au["password_memory"], "'auth.password_memory' must be between 8KiB and 4GiB");
          c.auth.password_memory = *v;
        }
      if (au["password_passes"])
        if (auto v = r.integer(au["password_passes"], "auth.password_passes", 1, 20))
          c.auth.password_passes = static_cast<unsigned long long>(*v);
      if (au["max_concurrent_hashes"])
        if (auto v = r.integer(au["max_concurrent_hashes"], "auth.max_concurrent_hashes", 1, 64))
          c.auth.max_concurrent_hashes = static_cast<std::size_t>(*v);
      if (YAML::Node lf = au["login_failures"]) {
        if (r.mapping(lf, "auth.login_failures", {"per_login", "per_address", "window"})) {
          if (lf["per_login"])
            if (auto v = r.integer(lf["per_login"], "auth.login_failures.per_login", 1, 10000))
              c.auth.max_failures_per_login = static_cast<int>(*v);
          if (lf["per_address"])
            if (auto v = r.integer(lf["per_address"], "auth.login_failures.per_address", 1, 100000))
              c.auth.max_failures_per_address = static_cast<int>(*v);
          if (lf["window"])
            if (auto v = r.seconds(lf["window"], "auth.login_failures.window")) c.auth.failure_window = *v;
        }
      }
      if (YAML::Node tp = au["trusted_proxies"]) {
        if (!tp.IsSequence()) {
          r.error(tp, "'auth.trusted_proxies' must be a list of IP addresses such as [127.0.0.1]");
        } else {
          for (std::size_t i = 0; i < tp.size(); ++i)
            if (auto v = r.string(tp[i], "auth.trusted_proxies[" + std::to_string(i) + "]"))
              c.auth.trusted_proxies.push_back(*v);
        }
      }
    }
  }
  if (YAML::Node st = root["stream"]) {
    if (r.mapping(st, "stream", {"keep", "max_backlog"})) {
      if (st["keep"])
        if (auto v = r.seconds(st["keep"], "stream.keep")) {
          if (*v < std::chrono::minutes{1})
            r.error(st["keep"], "'stream.keep' must be at least 1m: clients resume from what is kept");
          c.stream.keep = *v;
        }
      if (st["max_backlog"])
        if (auto v = r.integer(st["max_backlog"], "stream.max_backlog", 10, 100000))
          c.stream.max_backlog = static_cast<std::size_t>(*v);
    }
  }
  if (YAML::Node co = root["console"]) {
    if (r.mapping(co, "console", {"dir"}) && co["dir"])
      if (auto v = r.string(co["dir"], "console.dir")) c.console_dir = config::resolve_path(base_dir, *v);
  }
  // As with the database URL, the environment wins (deploy/quickstart points it at its build).
  if (const char* env_console = std::getenv("SWITCHBOARD_CONSOLE_DIR"); env_console && *env_console)
    c.console_dir = env_console;
  if (YAML::Node sp = root["spool"]) {
    if (r.mapping(sp, "spool", {"max_size"}) && sp["max_size"])
      if (auto v = r.size(sp["max_size"], "spool.max_size")) c.spool_max_bytes = *v;
  }
  if (root["shutdown_timeout"])
    if (auto v = r.millis(root["shutdown_timeout"], "shutdown_timeout", std::chrono::seconds{1})) c.shutdown_timeout = *v;

  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (!has_errors(result.diagnostics)) result.config = std::move(c);
  return result;
}

ConfigResult load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigResult r;
    Diagnostic d;
    d.file = path;
    d.message = "cannot read the config file";
    r.diagnostics.push_back(d);
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path, std::filesystem::path(path).parent_path().string());
}

}  // namespace switchboard::daemon
