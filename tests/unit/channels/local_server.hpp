// Test helpers for adapters that call out: the daemon's HTTP server on 127.0.0.1 and an
// ephemeral port, a request recorder, a gate that holds a handler, and a port nobody listens on.
// Catch2's assertions are not thread-safe: handlers only record, tests assert afterwards.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http/server.hpp"

namespace switchboard::testing {

class LocalServer {
 public:
  explicit LocalServer(http::Handler handler) {
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.worker_threads = 2;
    server_ = std::make_unique<http::Server>(std::move(options), std::move(handler));
    REQUIRE(server_->listen().ok());
    thread_ = std::thread([this] { server_->run(); });
  }
  ~LocalServer() {
    server_->stop(std::chrono::milliseconds{100});
    thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

 private:
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// The requests a handler saw, copied under a lock.
class Recorder {
 public:
  void add(const HttpRequest& request) {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<HttpRequest> requests_;
};

// Holds a handler until open() (or a bound, so that a failing test cannot hang the server's
// shutdown). Declare it before the LocalServer whose handler waits on it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds{3}, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  ~Gate() { open(); }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A port on 127.0.0.1 that was free a moment ago and that nothing listens on: connecting to it
// is refused at once.
inline std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  REQUIRE(bound);
  return ntohs(addr.sin_port);
}

}  // namespace switchboard::testing
