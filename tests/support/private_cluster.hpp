// A PostgreSQL cluster of a test's own (deploy/pg-cluster), so that the test can stop and start
// it under a running daemon.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace switchboard::testing {

// Runs a shell command; its stdout without trailing newlines.
inline std::string run_command(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class PrivateCluster {
 public:
  PrivateCluster() {
    char tmpl[] = "/tmp/sbpg-XXXXXX";
    dir_ = mkdtemp(tmpl);
    run_command("chmod 755 " + dir_);
    url_ = run_command(script() + " start " + dir_ + "/pg 2>&1");
    if (url_.rfind("postgresql://", 0) != 0) throw std::runtime_error("cannot start PostgreSQL: " + url_);
  }
  ~PrivateCluster() {
    stop();
    run_command("rm -rf " + dir_);
  }
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  void stop() { run_command(script() + " stop " + dir_ + "/pg"); }
  void start() {
    std::string port = run_command("cat " + dir_ + "/pg/port");
    run_command(script() + " start " + dir_ + "/pg " + port);
  }
  const std::string& url() const { return url_; }
  // The first column of the first row of a query, through psql.
  std::string scalar(const std::string& sql) const {
    return run_command("psql '" + url_ + "' -Atc \"" + sql + "\"");
  }

 private:
  static std::string script() { return std::string(SWITCHBOARD_SOURCE_DIR) + "/deploy/pg-cluster"; }
  std::string dir_;
  std::string url_;
};

}  // namespace switchboard::testing
