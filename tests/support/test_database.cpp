#include "tests/support/test_database.hpp"

#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>
#include <stdexcept>
#include <unistd.h>

namespace switchboard::testing {

namespace {
std::atomic<int> g_counter{0};

// Replaces the database name (the URL's path) of a postgresql:// URL.
std::string with_database(const std::string& url, const std::string& db) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) throw std::runtime_error("test database URL must be postgresql://...");
  auto slash = url.find('/', scheme + 3);
  std::string base = slash == std::string::npos ? url : url.substr(0, slash);
  std::string query;
  if (slash != std::string::npos) {
    auto q = url.find('?', slash);
    if (q != std::string::npos) query = url.substr(q);
  }
  return base + "/" + db + query;
}
}  // namespace

std::string test_server_url() {
  const char* v = std::getenv("SWITCHBOARD_TEST_DATABASE_URL");
  if (!v || !*v)
    throw std::runtime_error(
        "SWITCHBOARD_TEST_DATABASE_URL is not set: run the suite with ./tests/run, which starts PostgreSQL");
  return v;
}

TestDatabase::TestDatabase() {
  admin_url_ = test_server_url();
  name_ = "sbtest_" + std::to_string(::getpid()) + "_" + std::to_string(g_counter++);
  pqxx::connection c(admin_url_);
  pqxx::nontransaction tx(c);
  tx.exec("DROP DATABASE IF EXISTS " + name_);
  tx.exec("CREATE DATABASE " + name_);
  url_ = with_database(admin_url_, name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection c(admin_url_);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

std::string TestDatabase::scalar(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].c_str();
}

void TestDatabase::exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

}  // namespace switchboard::testing
