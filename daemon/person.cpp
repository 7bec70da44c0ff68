// switchboard person set-password LOGIN --config F (CONTRACT.md): the password from one line of
// stdin, or asked on a terminal without echo.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "daemon/app.hpp"
#include "daemon/auth.hpp"
#include "daemon/commands.hpp"
#include "daemon/config.hpp"
#include "storage/migrate.hpp"
#include "storage/people.hpp"

namespace switchboard::daemon {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;

const char* kPersonHelp =
    "usage: switchboard person set-password LOGIN --config FILE\n"
    "\n"
    "Sets the password LOGIN signs in to the console with (POST /api/v1/session). LOGIN is a key\n"
    "of the rules file's 'people:' section. The password is one line read from stdin (the\n"
    "trailing newline is not part of it), or asked twice on a terminal without echo; at least\n"
    "10 characters. Setting it ends the person's sessions. The hash is Argon2id (libsodium) with\n"
    "the config's auth.password_memory and auth.password_passes.\n"
    "exit: 0 set; 1 unknown login or refused password; 2 bad usage, config, or the database\n"
    "unreachable.\n";

// One line from stdin; on a terminal, asked without echo.
std::optional<std::string> read_password(bool& mismatch) {
  mismatch = false;
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios saved{};
  auto line = [&](const char* prompt) -> std::optional<std::string> {
    if (tty) {
      std::cerr << prompt << std::flush;
      ::tcgetattr(STDIN_FILENO, &saved);
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string value;
    const bool got = static_cast<bool>(std::getline(std::cin, value));
    if (tty) {
      ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
      std::cerr << "\n";
    }
    if (!got) return std::nullopt;
    if (!value.empty() && value.back() == '\r') value.pop_back();
    return value;
  };
  auto first = line("Password: ");
  if (!first || !tty) return first;
  auto again = line("Again: ");
  if (!again || *again != *first) {
    mismatch = true;
    return std::nullopt;
  }
  return first;
}

}  // namespace

int cmd_person(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << kPersonHelp;
      return kExitOk;
    }
  if (args.empty() || args[0] != "set-password") {
    std::cerr << "switchboard person: expected 'set-password'\n" << kPersonHelp;
    return kExitUsage;
  }
  ParsedArgs parsed;
  std::string error;
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (!parse_args(rest, {"config"}, {}, parsed, error) || parsed.positional.size() != 1 || !parsed.has("config")) {
    std::cerr << "switchboard person set-password: " << (error.empty() ? "LOGIN and --config FILE are required" : error)
              << "\n"
              << kPersonHelp;
    return kExitUsage;
  }
  const std::string login = parsed.positional[0];
  auto loaded = load_config(*parsed.get("config"));
  for (const auto& d : loaded.diagnostics) std::cerr << d.format() << "\n";
  if (!loaded.config) return kExitUsage;
  const Config& config = *loaded.config;
  std::vector<Diagnostic> diagnostics;
  bool unreadable = false;
  auto rules = load_rules(config.rules_path, diagnostics, unreadable);
  if (!rules) {
    std::cerr << "switchboard person set-password: "
              << (unreadable ? "cannot read the rules file " + config.rules_path
                             : std::string("the rules file has errors"))
              << "\n";
    for (const auto& d : diagnostics) std::cerr << d.format() << "\n";
    return kExitUsage;
  }
  if (!rules->person(login)) {
    std::cerr << "switchboard person set-password: no person '" << login << "' in the rules file's 'people:'\n";
    return kExitRefused;
  }
  bool mismatch = false;
  auto password = read_password(mismatch);
  if (!password) {
    std::cerr << "switchboard person set-password: " << (mismatch ? "the two passwords differ" : "no password on stdin")
              << "\n";
    return kExitRefused;
  }
  if (auto ok = Passwords::acceptable(*password); !ok) {
    std::cerr << "switchboard person set-password: " << ok.error().message << "\n";
    return kExitRefused;
  }
  Passwords passwords(config.auth);
  auto hash = passwords.hash(*password);
  if (!hash) {
    std::cerr << "switchboard person set-password: " << hash.error().message << "\n";
    return kExitUsage;
  }
  storage::Pool pool(storage::PoolOptions{.url = config.database_url,
                                          .size = 1,
                                          .acquire_timeout = std::chrono::milliseconds{5000},
                                          .connect_timeout = config.connect_timeout});
  if (auto migrated = storage::migrate(pool); !migrated) {
    std::cerr << "switchboard person set-password: " << migrated.error().message << "\n";
    return kExitUsage;
  }
  if (auto set = storage::set_password_hash(pool, login, *hash); !set) {
    std::cerr << "switchboard person set-password: " << set.error().message << "\n";
    return kExitUsage;
  }
  std::cout << "password set for " << login << " (their sessions ended)\n";
  return kExitOk;
}

}  // namespace switchboard::daemon
