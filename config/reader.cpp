#include "config/reader.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "routing/core/time.hpp"
#include "routing/rules/suggest.hpp"

namespace switchboard::config {

namespace {

std::string unknown_key(const std::string& key, const std::vector<std::string>& allowed) {
  std::vector<std::string_view> names(allowed.begin(), allowed.end());
  if (auto best = routing::nearest(key, names)) return "unknown key '" + key + "' (did you mean '" + *best + "'?)";
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return "unknown key '" + key + "' (expected one of: " + list + ")";
}

}  // namespace

void Reader::error(const YAML::Mark& mark, std::string message) {
  Diagnostic d;
  d.severity = Diagnostic::Severity::error;
  d.file = file_;
  d.line = mark.line >= 0 ? mark.line + 1 : 0;
  d.column = mark.column >= 0 ? mark.column + 1 : 0;
  d.message = std::move(message);
  out_.push_back(std::move(d));
}

bool Reader::mapping(const YAML::Node& node, const std::string& what, const std::vector<std::string>& allowed) {
  if (!node.IsMap()) {
    error(node, "'" + what + "' must be a mapping");
    return false;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.Scalar();
    if (!seen.insert(key).second) error(it->first, "duplicate key '" + key + "'");
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      error(it->first, unknown_key(key, allowed));
  }
  return true;
}

std::optional<std::string> Reader::string(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) {
    error(node, "'" + what + "' must be a string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<long long> Reader::integer(const YAML::Node& node, const std::string& what, long long min,
                                         long long max) {
  long long v = 0;
  if (!node.IsScalar() || !YAML::convert<long long>::decode(node, v)) {
    error(node, "'" + what + "' must be an integer");
    return std::nullopt;
  }
  if (v < min || v > max) {
    error(node, "'" + what + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Reader::boolean(const YAML::Node& node, const std::string& what) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) return node.Scalar() == "true";
  error(node, "'" + what + "' must be true or false");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> Reader::millis(const YAML::Node& node, const std::string& what,
                                                        std::chrono::milliseconds min) {
  auto s = string(node, what);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d || *d < min) {
    error(node, "'" + what + "' must be a duration such as '500ms', '30s' or '5m'");
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

std::optional<std::chrono::seconds> Reader::seconds(const YAML::Node& node, const std::string& what) {
  auto s = string(node, what);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d || *d < std::chrono::seconds{1}) {
    error(node, "'" + what + "' must be a duration of at least 1s such as '30s' or '5m'");
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

std::optional<std::size_t> Reader::size(const YAML::Node& node, const std::string& what) {
  auto s = string(node, what);
  if (!s) return std::nullopt;
  auto v = parse_size(*s);
  if (!v || *v == 0) {
    error(node, "'" + what + "' must be a size such as '1MiB', '512KiB' or a number of bytes");
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> Reader::http_url(const YAML::Node& node, const std::string& what) {
  auto u = string(node, what);
  if (!u) return std::nullopt;
  if (u->rfind("http://", 0) != 0 && u->rfind("https://", 0) != 0) {
    error(node, "'" + what + "' must start with http:// or https://");
    return std::nullopt;
  }
  std::string url = *u;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::optional<std::string> Reader::secret(const YAML::Node& node, const std::string& what) {
  if (!node.IsMap() || !node["secret"]) {
    error(node, "'" + what + "' must name a secret: { secret: NAME } (values never go in the file)");
    return std::nullopt;
  }
  if (!mapping(node, what, {"secret"})) return std::nullopt;
  auto name = string(node["secret"], what + ".secret");
  if (!name) return std::nullopt;
  if (!valid_secret_name(*name)) {
    error(node["secret"], "invalid secret name '" + *name + "' (letters, digits, '_', '-', '.')");
    return std::nullopt;
  }
  auto value = secrets_.get(*name);
  if (!value || value->empty()) {
    error(node["secret"], "secret '" + *name + "' is not set (looked for " + secrets_.where(*name) + ")");
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> Reader::secrets(const YAML::Node& node, const std::string& what) {
  std::vector<std::string> out;
  if (node.IsSequence()) {
    if (node.size() == 0) error(node, "'" + what + "' must name at least one secret");
    for (std::size_t i = 0; i < node.size(); ++i)
      if (auto v = secret(node[i], what + "[" + std::to_string(i) + "]")) out.push_back(*v);
  } else if (auto v = secret(node, what)) {
    out.push_back(*v);
  }
  return out;
}

std::optional<std::size_t> parse_size(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) return std::nullopt;
  std::size_t n = std::stoull(text.substr(0, i));
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::pair<const char*, std::size_t> kUnits[] = {
      {"", 1},      {"B", 1},     {"KiB", 1024},       {"MiB", 1024 * 1024},         {"GiB", 1024ull * 1024 * 1024},
      {"KB", 1000}, {"kB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000ull * 1000 * 1000}};
  for (const auto& [name, mult] : kUnits)
    if (unit == name) return n * mult;
  return std::nullopt;
}

bool valid_id(const std::string& s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
  });
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  namespace fs = std::filesystem;
  fs::path path(p);
  if (path.is_absolute() || base_dir.empty()) return path.lexically_normal().string();
  return (fs::path(base_dir) / path).lexically_normal().string();
}

}  // namespace switchboard::config
