#include "daemon/cli.hpp"

#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "daemon/app.hpp"
#include "daemon/commands.hpp"
#include "daemon/config.hpp"
#include "daemon/stderr_log.hpp"
#include "routing/core/log.hpp"
#include "storage/migrate.hpp"
#include "storage/pool.hpp"

namespace switchboard::daemon {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

const char* kMainHelp =
    "usage: switchboard [--help] COMMAND [ARGS]\n"
    "\n"
    "Omnichannel message-routing daemon: stores every inbound message in its customer's\n"
    "conversation in PostgreSQL and routes it with the rules file.\n"
    "\n"
    "commands:\n"
    "  serve --config FILE        run the daemon (HTTP API and webhooks)\n"
    "  migrate --config FILE      apply database migrations and print the versions applied\n"
    "  check-rules FILE           validate a rules file; every problem as FILE:LINE:COL: error: ...\n"
    "  explain --rules FILE --message JSON [--at TIME] [--customer JSON] [--json]\n"
    "                             which rule fires for a message, why, and what it would do\n"
    "  version                    print the version and git commit\n"
    "\n"
    "  replay --config FILE --rules FILE --since TIME [--until TIME] [--json]\n"
    "                             where candidate rules would route stored messages differently\n"
    "  mailbox audit --config FILE [--mailbox NAME]\n"
    "                             list every mail in a mailbox that is neither stored nor quarantined\n"
    "  person set-password LOGIN --config FILE\n"
    "                             set a person's console password (one line on stdin)\n"
    "\n"
    "Not built yet (see README, Status): customer export|erase, report.\n"
    "Run 'switchboard COMMAND --help' for a command's options.\n";

const char* kServeHelp =
    "usage: switchboard serve --config FILE [--log-level debug|info|warn|error]\n"
    "\n"
    "Runs the daemon with the given config (see deploy/examples/switchboard.yaml). Applies\n"
    "pending database migrations at start (under an advisory lock), then serves HTTP.\n"
    "Logs one key=value line per event on stderr. SIGTERM/SIGINT: stop accepting, finish\n"
    "requests in flight, exit 0 (a second signal exits at once). SIGHUP: reload the rules file;\n"
    "an invalid file is rejected with its errors logged and the previous rules stay active.\n"
    "\n"
    "Environment: SWITCHBOARD_DATABASE_URL overrides database.url; secrets named in the config\n"
    "are read from $CREDENTIALS_DIRECTORY/NAME or SWITCHBOARD_SECRET_<NAME>.\n"
    "exit: 0 after SIGTERM; 1 runtime failure (cannot listen); 2 bad usage, config or rules.\n";

const char* kMigrateHelp =
    "usage: switchboard migrate --config FILE\n"
    "\n"
    "Applies the database migrations this build ships that the database lacks, each in its own\n"
    "transaction, under an advisory lock (safe beside a running daemon). Prints one line per\n"
    "version applied, or that the schema is current.\n"
    "exit: 0 success; 1 failed (database unreachable, migration error); 2 bad usage or config.\n";

const char* kCheckRulesHelp =
    "usage: switchboard check-rules FILE\n"
    "\n"
    "Validates a rules file without touching the database. Prints every error and warning,\n"
    "one per line, as FILE:LINE:COL: error: MESSAGE (lines and columns 1-based).\n"
    "exit: 0 clean (warnings allowed); 1 errors; 2 unreadable file or bad usage.\n";

const char* kVersionHelp = "usage: switchboard version\n\nPrints the version and the git commit it was built from.\n";

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

void print_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) std::cerr << d.format() << "\n";
}

std::optional<Config> config_or_report(const std::string& path) {
  auto result = load_config(path);
  print_diagnostics(result.diagnostics);
  return result.config;
}

int cmd_check_rules(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << kCheckRulesHelp;
    return kExitOk;
  }
  if (args.size() != 1 || args[0].rfind("--", 0) == 0) {
    std::cerr << "switchboard check-rules: expected exactly one FILE\n" << kCheckRulesHelp;
    return kExitUsage;
  }
  std::vector<Diagnostic> diagnostics;
  bool unreadable = false;
  auto rules = load_rules(args[0], diagnostics, unreadable);
  if (unreadable) {
    std::cerr << args[0] << ": error: cannot read the rules file: " << std::strerror(errno) << "\n";
    return kExitUsage;
  }
  for (const auto& d : diagnostics) std::cout << d.format() << "\n";
  return rules ? kExitOk : kExitFailed;
}

int cmd_migrate(const std::vector<std::string>& args) {
  if (wants_help(args)) {
    std::cout << kMigrateHelp;
    return kExitOk;
  }
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"config"}, {}, parsed, error) || !parsed.positional.empty() || !parsed.has("config")) {
    std::cerr << "switchboard migrate: " << (error.empty() ? "--config FILE is required" : error) << "\n"
              << kMigrateHelp;
    return kExitUsage;
  }
  auto config = config_or_report(*parsed.get("config"));
  if (!config) return kExitUsage;
  storage::Pool pool(storage::PoolOptions{.url = config->database_url, .size = 1,
                                          .acquire_timeout = std::chrono::milliseconds{5000},
                                          .connect_timeout = config->connect_timeout});
  auto applied = storage::migrate(pool);
  if (!applied) {
    std::cerr << "switchboard migrate: error: " << applied.error().message << "\n";
    return kExitFailed;
  }
  for (int v : *applied) {
    for (const auto& m : storage::migrations())
      if (m.version == v) std::cout << "applied " << v << " " << m.name << "\n";
  }
  if (applied->empty())
    std::cout << "schema is current (version " << storage::latest_schema_version() << ")\n";
  return kExitOk;
}

int cmd_serve(const std::vector<std::string>& args, const BuildInfo& build) {
  if (wants_help(args)) {
    std::cout << kServeHelp;
    return kExitOk;
  }
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"config", "log-level"}, {}, parsed, error) || !parsed.positional.empty() ||
      !parsed.has("config")) {
    std::cerr << "switchboard serve: " << (error.empty() ? "--config FILE is required" : error) << "\n" << kServeHelp;
    return kExitUsage;
  }
  log::Level level = log::Level::info;
  if (const std::string* requested = parsed.get("log-level")) {
    static const std::map<std::string, log::Level> kLevels = {
        {"debug", log::Level::debug}, {"info", log::Level::info}, {"warn", log::Level::warn}, {"error", log::Level::error}};
    auto it = kLevels.find(*requested);
    if (it == kLevels.end()) {
      std::cerr << "switchboard serve: --log-level must be debug, info, warn or error\n";
      return kExitUsage;
    }
    level = it->second;
  }
  static StderrSink sink(level);
  log::set_sink(&sink);

  auto config = config_or_report(*parsed.get("config"));
  if (!config) {
    log::error("config_invalid", {{"path", *parsed.get("config")}});
    return kExitUsage;
  }
  std::vector<Diagnostic> diagnostics;
  bool unreadable = false;
  auto rules = load_rules(config->rules_path, diagnostics, unreadable);
  if (unreadable) {
    std::cerr << config->rules_path << ": error: cannot read the rules file\n";
    return kExitUsage;
  }
  print_diagnostics(diagnostics);
  if (!rules) {
    log::error("rules_invalid", {{"path", config->rules_path}});
    return kExitUsage;
  }

  // Signals are taken by one thread with sigwait(); every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  App app(*config, rules, build.version, build.commit);
  if (auto started = app.start(); !started) {
    log::error("listen_failed", {{"reason", started.error().message}});
    return kExitFailed;
  }
  log::info("started", {{"address", config->listen_address}, {"port", std::to_string(app.port())},
                        {"rules", config->rules_path}, {"rules_hash", rules->hash()}});

  const auto shutdown_timeout = config->shutdown_timeout;
  std::thread([&app, signals, shutdown_timeout] {
    bool stopping = false;
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        app.reload_rules();
        sd_notify(0, "READY=1");
        continue;
      }
      if (stopping) {
        log::warn("forced_exit", {{"signal", std::to_string(sig)}});
        std::_Exit(1);
      }
      stopping = true;
      log::info("shutdown_requested", {{"signal", sig == SIGTERM ? "TERM" : "INT"}});
      sd_notify(0, "STOPPING=1");
      std::thread([&app] { app.stop(); }).detach();
      // Requests in flight and sends in progress get this long; then the process ends anyway.
      // Nothing is corrupted by that: every message is committed or not, and a row claimed
      // for sending returns to the queue when its lease runs out.
      std::thread([shutdown_timeout] {
        std::this_thread::sleep_for(shutdown_timeout);
        log::error("shutdown_timeout", {{"after_ms", std::to_string(shutdown_timeout.count())}});
        std::_Exit(1);
      }).detach();
    }
  }).detach();

  sd_notify(0, "READY=1");
  app.run();
  log::info("stopped");
  return kExitOk;
}

}  // namespace

int run_cli(int argc, char** argv, const BuildInfo& build) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kMainHelp;
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "serve") return cmd_serve(rest, build);
  if (command == "migrate") return cmd_migrate(rest);
  if (command == "check-rules") return cmd_check_rules(rest);
  if (command == "version") {
    if (wants_help(rest)) {
      std::cout << kVersionHelp;
      return kExitOk;
    }
    std::cout << "switchboard " << build.version << " (commit " << build.commit << ")\n";
    return kExitOk;
  }
  if (command == "explain") return cmd_explain(rest);
  if (command == "replay") return cmd_replay(rest);
  if (command == "mailbox") return cmd_mailbox(rest);
  if (command == "person") return cmd_person(rest);
  if (command == "customer" || command == "report") {
    std::cerr << "switchboard: '" << command << "' is not built yet in this version (see README, Status)\n";
    return kExitUsage;
  }
  std::cerr << "switchboard: unknown command '" << command << "'\n" << kMainHelp;
  return kExitUsage;
}

}  // namespace switchboard::daemon
