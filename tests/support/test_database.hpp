// A fresh, empty PostgreSQL database per test, created on the server named by
// SWITCHBOARD_TEST_DATABASE_URL and dropped when the TestDatabase goes out of scope.
#pragma once

#include <string>

namespace switchboard::testing {

class TestDatabase {
 public:
  TestDatabase();  // FAILs the test (via exception) when the variable is unset or the server down
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs SQL and returns the first column of the first row ("" when no row), for assertions.
  std::string scalar(const std::string& sql) const;
  void exec(const std::string& sql) const;

 private:
  std::string admin_url_;
  std::string name_;
  std::string url_;
};

// The server URL tests use; throws std::runtime_error with a helpful text when unset.
std::string test_server_url();

}  // namespace switchboard::testing
