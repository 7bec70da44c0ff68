// Secret lookup (CONTRACT "Secrets"): $CREDENTIALS_DIRECTORY/NAME if that file exists (systemd
// credentials), else SWITCHBOARD_SECRET_<NAME upper-cased, '-' as '_'>.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::config {

bool valid_secret_name(std::string_view name);
// "api-token" -> "SWITCHBOARD_SECRET_API_TOKEN"
std::string secret_env_name(std::string_view name);
// The value, or nullopt when neither source has it. A trailing newline of a file is dropped.
std::optional<std::string> read_secret(std::string_view name);

// Where a config file's `{ secret: NAME }` values come from. The daemon reads them as above
// (EnvironmentSecrets); tests give their own.
class Secrets {
 public:
  virtual ~Secrets() = default;
  // The value, nullopt when it is not set.
  virtual std::optional<std::string> get(std::string_view name) const = 0;
  // Where it was looked for, for the error that says it is missing.
  virtual std::string where(std::string_view name) const = 0;
};

class EnvironmentSecrets final : public Secrets {
 public:
  std::optional<std::string> get(std::string_view name) const override { return read_secret(name); }
  std::string where(std::string_view name) const override;
};

}  // namespace switchboard::config
