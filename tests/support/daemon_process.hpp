// Runs the real switchboard binary as a child process for end-to-end tests: writes a config
// and rules into a scratch directory, starts `switchboard serve` on a free port, and reads its
// log (stderr goes to a file the test can search).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <sys/types.h>

namespace switchboard::testing {

struct DaemonOptions {
  std::string database_url;
  std::string rules_yaml;         // written to rules.yaml
  std::string extra_config;       // appended to the generated switchboard.yaml
  std::string callback_url;       // the 'shop' account's callback, signed with kCallbackSecret
  std::string callback_timeout = "2s";
  std::string channels_extra;     // more channels, indented under the generated 'channels:' key
  std::map<std::string, std::string> env;  // extra environment (secrets)
  bool database_url_unreachable = false;  // do not wait for the schema to be ready
  std::string state_dir = "state";        // relative to the daemon's scratch directory, or absolute
};

class DaemonProcess {
 public:
  explicit DaemonProcess(DaemonOptions options);  // starts and waits until it listens (throws on failure)
  ~DaemonProcess();                               // SIGKILL if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  std::string url(const std::string& path) const;  // http://127.0.0.1:PORT + path
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string log() const;
  // Waits for a log line containing `needle`; false on timeout.
  bool wait_for_log(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds{10}) const;
  void signal(int sig) const;
  // Waits for exit; returns the exit code (or 128+signal), -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds{15});

  static constexpr const char* kAdminToken = "test-admin-token";
  static constexpr const char* kShopToken = "test-shop-token";
  static constexpr const char* kOtherToken = "test-other-token";
  static constexpr const char* kCallbackSecret = "test-callback-secret";

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs `switchboard ARGS...` to completion; returns {exit code, stdout+stderr}.
std::pair<int, std::string> run_switchboard(const std::string& args, const std::map<std::string, std::string>& env = {});

}  // namespace switchboard::testing
