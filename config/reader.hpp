// Reading a YAML config file: every problem collected with its file:line:col (not only the
// first), unknown keys with a "did you mean", durations, sizes, URLs and secrets checked the
// same way everywhere. The daemon's own settings and each channel adapter's section
// (channels/<name>/config.cpp) are read with it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/secrets.hpp"
#include "routing/rules/diagnostic.hpp"

namespace switchboard::config {

class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>& out, const Secrets& secrets)
      : file_(std::move(file)), out_(out), secrets_(secrets) {}

  const std::string& file() const { return file_; }
  void error(const YAML::Mark& mark, std::string message);
  void error(const YAML::Node& node, std::string message) { error(node.Mark(), std::move(message)); }

  // A mapping whose keys must all be in `allowed` (empty: any); reports unknown and duplicate
  // keys. False (with an error) when the node is not a mapping.
  bool mapping(const YAML::Node& node, const std::string& what, const std::vector<std::string>& allowed);
  std::optional<std::string> string(const YAML::Node& node, const std::string& what);
  std::optional<long long> integer(const YAML::Node& node, const std::string& what, long long min, long long max);
  std::optional<bool> boolean(const YAML::Node& node, const std::string& what);
  // Any duration ("250ms", "5s", "1h30m"), at least `min`.
  std::optional<std::chrono::milliseconds> millis(const YAML::Node& node, const std::string& what,
                                                  std::chrono::milliseconds min = std::chrono::milliseconds{1});
  std::optional<std::chrono::seconds> seconds(const YAML::Node& node, const std::string& what);
  // "1MiB", "512KiB", "4MB", a number of bytes; more than zero.
  std::optional<std::size_t> size(const YAML::Node& node, const std::string& what);
  // http:// or https://, trailing '/' removed.
  std::optional<std::string> http_url(const YAML::Node& node, const std::string& what);
  // `{ secret: NAME }` -> the secret's value; a missing secret is an error naming it, never its
  // value.
  std::optional<std::string> secret(const YAML::Node& node, const std::string& what);
  // One `{secret: X}` or a list of them (two values during rotation).
  std::vector<std::string> secrets(const YAML::Node& node, const std::string& what);

 private:
  std::string file_;
  std::vector<Diagnostic>& out_;
  const Secrets& secrets_;
};

// "1MiB", "512KiB", "4MB", "1000" -> bytes.
std::optional<std::size_t> parse_size(const std::string& text);
// 1-`max` letters, digits, '_', '-' or '.': names of accounts, mailboxes, ids.
bool valid_id(const std::string& s, std::size_t max = 64);
// `p` as given when absolute, else under `base_dir`.
std::string resolve_path(const std::string& base_dir, const std::string& p);

}  // namespace switchboard::config
