#include "tests/support/daemon_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace switchboard::testing {

namespace {

std::string make_scratch_dir() {
  char tmpl[] = "/tmp/sbtest-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

DaemonProcess::DaemonProcess(DaemonOptions options) : dir_(make_scratch_dir()) {
  write_file(dir_ + "/rules.yaml", options.rules_yaml);
  std::string config =
      "listen: 127.0.0.1:0\n"
      "database:\n  url: " + options.database_url + "\n  pool_size: 4\n"
      "rules: rules.yaml\n"
      "state_dir: " + options.state_dir + "\n"
      "admin:\n  tokens: { secret: admin-token }\n"
      "channels:\n  api:\n    accounts:\n"
      "      shop:\n        tokens: { secret: shop-token }\n" +
      (options.callback_url.empty()
           ? std::string()
           : "        callback: { url: '" + options.callback_url + "', secrets: { secret: callback-secret }, timeout: " +
                 options.callback_timeout + " }\n") +
      "      other:\n        tokens: [ { secret: other-token } ]\n" + options.channels_extra + options.extra_config;
  write_file(dir_ + "/switchboard.yaml", config);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open((dir_ + "/daemon.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    dup2(fd, 1);
    setenv("SWITCHBOARD_SECRET_ADMIN_TOKEN", kAdminToken, 1);
    setenv("SWITCHBOARD_SECRET_SHOP_TOKEN", kShopToken, 1);
    setenv("SWITCHBOARD_SECRET_OTHER_TOKEN", kOtherToken, 1);
    setenv("SWITCHBOARD_SECRET_CALLBACK_SECRET", kCallbackSecret, 1);
    unsetenv("SWITCHBOARD_DATABASE_URL");
    unsetenv("CREDENTIALS_DIRECTORY");
    for (const auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
    std::string cfg = dir_ + "/switchboard.yaml";
    execl(SWITCHBOARD_BINARY, SWITCHBOARD_BINARY, "serve", "--config", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (!wait_for_log("event=started", std::chrono::seconds{15}))
    throw std::runtime_error("switchboard did not start; log:\n" + log());
  std::string text = log();
  auto p = text.find("event=started");
  auto port_at = text.find(" port=", p);
  port_ = std::stoi(text.substr(port_at + 6));
  if (!options.database_url_unreachable && !wait_for_log("event=schema_ready", std::chrono::seconds{15}))
    throw std::runtime_error("switchboard did not migrate; log:\n" + log());
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) {
  }
}

std::string DaemonProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string DaemonProcess::log() const { return read_file(dir_ + "/daemon.log"); }

bool DaemonProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (log().find(needle) != std::string::npos) return true;
    if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == pid_) return log().find(needle) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return false;
}

void DaemonProcess::signal(int sig) const { ::kill(pid_, sig); }

int DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return -1;
}

std::pair<int, std::string> run_switchboard(const std::string& args, const std::map<std::string, std::string>& env) {
  std::string cmd;
  for (const auto& [k, v] : env) cmd += k + "='" + v + "' ";
  cmd += std::string(SWITCHBOARD_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace switchboard::testing
