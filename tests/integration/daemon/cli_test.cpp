// The command line: check-rules output and exit codes, serve with a bad config, migrate, version.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "tests/support/daemon_process.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard::testing;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = "/tmp/sbcli-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("cli: check-rules accepts the example rules", "[cli]") {
  auto [rc, out] = run_switchboard("check-rules " + std::string(SWITCHBOARD_SOURCE_DIR) + "/deploy/examples/rules.yaml");
  INFO(out);
  CHECK(rc == 0);
  CHECK(out.find("error") == std::string::npos);
}

TEST_CASE("cli: check-rules prints every error with its position and exits 1", "[cli]") {
  std::string path = write_temp("bad-rules.yaml",
                                "version: 1\n"
                                "queues: { support: {} }\n"
                                "rules:\n"
                                "  - name: a\n"
                                "    then: [ { enqeue: support } ]\n"
                                "  - name: b\n"
                                "    then: [ { reply: missing } ]\n");
  auto [rc, out] = run_switchboard("check-rules " + path);
  INFO(out);
  CHECK(rc == 1);
  CHECK(out.find(path + ":5:15: error: unknown key 'enqeue' (did you mean 'enqueue'?)") != std::string::npos);
  CHECK(out.find(path + ":7:22: error: ") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("cli: check-rules on an unreadable file exits 2", "[cli]") {
  auto [rc, out] = run_switchboard("check-rules /nonexistent/rules.yaml");
  CHECK(rc == 2);
  CHECK(out.find("/nonexistent/rules.yaml: error: cannot read the rules file") != std::string::npos);
}

TEST_CASE("cli: serve with an invalid config exits 2 with file:line:col", "[cli]") {
  std::string path = write_temp("bad.yaml", "listen: 127.0.0.1:0\nrules: r.yaml\ndatabase: { url: x, pool_sise: 3 }\n");
  auto [rc, out] = run_switchboard("serve --config " + path);
  CHECK(rc == 2);
  CHECK(out.find(path + ":3:21: error: unknown key 'pool_sise' (did you mean 'pool_size'?)") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("cli: usage errors exit 2 and --help exits 0", "[cli]") {
  CHECK(run_switchboard("").first == 2);
  CHECK(run_switchboard("frobnicate").first == 2);
  CHECK(run_switchboard("serve").first == 2);
  for (std::string cmd : {"--help", "serve --help", "migrate --help", "check-rules --help", "version --help"}) {
    auto [rc, out] = run_switchboard(cmd);
    INFO(cmd);
    CHECK(rc == 0);
    CHECK(out.find("usage: switchboard") != std::string::npos);
  }
  auto [rc, out] = run_switchboard("version");
  CHECK(rc == 0);
  CHECK(out.rfind("switchboard ", 0) == 0);
}

TEST_CASE("cli: migrate applies the schema once and reports it current afterwards", "[cli][storage]") {
  TestDatabase db;
  std::string rules = write_temp("m-rules.yaml", "version: 1\nrules:\n  - name: x\n    then: [ { tag: t } ]\n");
  std::string path = write_temp("m.yaml", "rules: " + rules + "\n");
  auto first = run_switchboard("migrate --config " + path, {{"SWITCHBOARD_DATABASE_URL", db.url()}});
  INFO(first.second);
  CHECK(first.first == 0);
  CHECK(first.second.find("applied 1 ") != std::string::npos);
  auto second = run_switchboard("migrate --config " + path, {{"SWITCHBOARD_DATABASE_URL", db.url()}});
  CHECK(second.first == 0);
  CHECK(second.second.find("schema is current") != std::string::npos);
  auto down = run_switchboard("migrate --config " + path,
                              {{"SWITCHBOARD_DATABASE_URL", "postgresql://u:hunter2@127.0.0.1:1/x?connect_timeout=1"}});
  CHECK(down.first == 1);
  CHECK(down.second.find("hunter2") == std::string::npos);
  std::remove(path.c_str());
  std::remove(rules.c_str());
}
