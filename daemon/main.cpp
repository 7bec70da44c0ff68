// switchboard's entry point: everything is a subcommand (daemon/cli.cpp).
#include "daemon/cli.hpp"

int main(int argc, char** argv) {
  return switchboard::daemon::run_cli(argc, argv, {SWITCHBOARD_VERSION, SWITCHBOARD_GIT_COMMIT});
}
