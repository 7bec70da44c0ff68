// The HTTP/1.1 server (Boost.Beast). Beast and Asio types stay in server.cpp: callers see plain
// HttpRequest/HttpResponse. Handlers run on a worker pool (they may block on PostgreSQL);
// the I/O threads only read and write sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "channels/http.hpp"

namespace switchboard::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see Server::port())
  std::size_t io_threads = 1;
  std::size_t worker_threads = 8;  // handlers running at once (match the database pool)
  std::chrono::seconds header_timeout{10};  // to receive a request's headers
  std::chrono::seconds body_timeout{30};    // to receive its body
  std::chrono::seconds idle_timeout{60};    // keep-alive connection with no request
  std::size_t max_header_bytes = 16 * 1024;
  // The largest body accepted for a path; a larger one gets 413 and the connection closes.
  std::function<std::size_t(std::string_view path)> body_limit;
  std::size_t default_body_limit = 1024 * 1024;  // used while body_limit is empty
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; an error (address in use, bad address) is returned, not thrown.
  Status listen();
  std::uint16_t port() const;  // the bound port (after listen())

  // Serves until stop(); blocks the calling thread.
  void run();
  // Stops accepting, lets requests in flight finish (up to grace), then closes every
  // connection and makes run() return. Safe to call from any thread or a signal watcher,
  // and more than once (later calls do nothing). It does not wait: run() returns when done.
  // Called before run(), it makes run() return at once.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{10000});

  // Requests whose handler is running or whose response is being written.
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A request id: the client's X-Request-Id when it is 1..64 of [A-Za-z0-9._-], else a new one.
std::string choose_request_id(const std::string* client_id);

}  // namespace switchboard::http
