// Secret lookup (CONTRACT "Secrets"): $CREDENTIALS_DIRECTORY/NAME if that file exists (systemd
// credentials), else SWITCHBOARD_SECRET_<NAME upper-cased, '-' as '_'>.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::daemon {

bool valid_secret_name(std::string_view name);
// "api-token" -> "SWITCHBOARD_SECRET_API_TOKEN"
std::string secret_env_name(std::string_view name);
// The value, or nullopt when neither source has it. A trailing newline of a file is dropped.
std::optional<std::string> read_secret(std::string_view name);

}  // namespace switchboard::daemon
