#include "config/secrets.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace switchboard::config {

bool valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
  return name.front() != '.';
}

std::string secret_env_name(std::string_view name) {
  std::string out = "SWITCHBOARD_SECRET_";
  for (unsigned char c : name) out += (c == '-' || c == '.') ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

std::optional<std::string> read_secret(std::string_view name) {
  if (!valid_secret_name(name)) return std::nullopt;
  if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir) {
    std::ifstream in(std::string(dir) + "/" + std::string(name), std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      std::string v = ss.str();
      while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
      return v;
    }
  }
  if (const char* v = std::getenv(secret_env_name(name).c_str())) return std::string(v);
  return std::nullopt;
}

std::string EnvironmentSecrets::where(std::string_view name) const {
  return "$CREDENTIALS_DIRECTORY/" + std::string(name) + " and " + secret_env_name(name);
}

}  // namespace switchboard::config
