// Client for the platform fakes: shared instances, process start/stop, control-API helpers.
#include "tests/support/fakes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"

namespace switchboard::testing {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds{10};
constexpr auto kPoll = std::chrono::milliseconds{20};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string url_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string query_of(const FakeServer::Filter& filter) {
  std::string query;
  for (const auto& [name, value] : filter) query += (query.empty() ? "?" : "&") + url_encode(name) + "=" + url_encode(value);
  return query;
}

boost::json::value checked_json(const std::string& what, const HttpResult& result) {
  if (result.status != 200)
    throw std::runtime_error("fake " + what + ": " +
                             (result.status ? "HTTP " + std::to_string(result.status) : result.transport_error) + " " +
                             result.body);
  return boost::json::parse(result.body);
}

// Closes every inherited descriptor above stderr, so that the fake does not keep the test's
// sockets (e.g. a listener a test closes to simulate an outage) open. Async-signal-safe.
void close_inherited_fds() {
  if (close_range(3, ~0U, 0) != 0)
    for (int fd = 3; fd < 4096; ++fd) close(fd);
}

}  // namespace

FakeServer& FakeServer::graph() {
  static FakeServer fake({"graph_fake.py", "SWITCHBOARD_TEST_GRAPH_URL", "/_fake/webhooks", "webhooks"});
  return fake;
}

FakeServer& FakeServer::twilio() {
  static FakeServer fake({"twilio_fake.py", "SWITCHBOARD_TEST_TWILIO_URL", "/_fake/callbacks", "callbacks"});
  return fake;
}

FakeServer::FakeServer(const Kind& kind) : kind_(kind) {
  const char* shared = std::getenv(kind_.url_env);
  if (shared && *shared) {
    base_url_ = shared;
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  } else {
    start();
  }
}

void FakeServer::start() {
  char tmpl[] = "/tmp/sbfake-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const std::string script = std::string(SWITCHBOARD_SOURCE_DIR) + "/tests/fakes/" + kind_.script;
  const std::string port_file = dir_ + "/port";
  const std::string log_file = dir_ + "/fake.log";
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> args = {"python3", script, "--port", "0", "--port-file", port_file, "--exit-with-parent"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int null_fd = ::open("/dev/null", O_RDONLY);
    int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null_fd < 0 || log_fd < 0) _exit(127);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    close_inherited_fds();
    execvp("python3", argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!std::filesystem::exists(port_file)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(std::string(kind_.script) + " exited at start; log:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(std::string(kind_.script) + " did not start within 10 s; log:\n" + log());
    std::this_thread::sleep_for(kPoll);
  }
  base_url_ = "http://127.0.0.1:" + std::to_string(std::stoi(read_file(port_file)));
}

FakeServer::~FakeServer() {
  stop_child(pid_);
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string FakeServer::url(const std::string& path) const { return base_url_ + path; }

boost::json::value FakeServer::post(const std::string& path, const boost::json::value& body) const {
  return checked_json("POST " + path,
                      http_request("POST", url(path), {"Content-Type: application/json"}, boost::json::serialize(body)));
}

boost::json::value FakeServer::get(const std::string& path) const {
  return checked_json("GET " + path, http_request("GET", url(path)));
}

std::vector<boost::json::object> FakeServer::list(const std::string& path, const char* key, const Filter& filter) const {
  const boost::json::value answer = get(path + query_of(filter));  // keeps the array alive for the loop
  std::vector<boost::json::object> out;
  for (const auto& item : answer.at(key).as_array()) out.push_back(item.as_object());
  return out;
}

std::vector<boost::json::object> FakeServer::wait_for(const std::string& path, const char* key, const Filter& filter,
                                                      std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto items = list(path, key, filter);
    if (items.size() >= n || std::chrono::steady_clock::now() > deadline) return items;
    std::this_thread::sleep_for(kPoll);
  }
}

std::vector<boost::json::object> FakeServer::requests(const Filter& filter) const {
  return list("/_fake/requests", "requests", filter);
}

std::vector<boost::json::object> FakeServer::wait_for_requests(const Filter& filter, std::size_t n,
                                                               std::chrono::milliseconds timeout) const {
  return wait_for("/_fake/requests", "requests", filter, n, timeout);
}

std::vector<boost::json::object> FakeServer::sent_webhooks(const Filter& filter) const {
  return list(kind_.sent_path, kind_.sent_key, filter);
}

std::vector<boost::json::object> FakeServer::wait_for_sent_webhooks(const Filter& filter, std::size_t n,
                                                                    std::chrono::milliseconds timeout) const {
  return wait_for(kind_.sent_path, kind_.sent_key, filter, n, timeout);
}

std::string FakeServer::log() const { return dir_.empty() ? std::string() : read_file(dir_ + "/fake.log"); }

}  // namespace switchboard::testing
