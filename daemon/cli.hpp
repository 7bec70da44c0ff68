// The switchboard command line: subcommands, their --help, exit codes (CONTRACT "Command line").
#pragma once

#include <string>

namespace switchboard::daemon {

struct BuildInfo {
  std::string version;
  std::string commit;
};

int run_cli(int argc, char** argv, const BuildInfo& build);

}  // namespace switchboard::daemon
