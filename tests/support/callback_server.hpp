// A local HTTP receiver for outbound callbacks in tests: records every request and answers as
// the test says (status per attempt, optional delay). Runs the daemon's own Beast server.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "channels/http.hpp"

namespace switchboard::http {
class Server;
}

namespace switchboard::testing {

struct ReceivedCallback {
  std::string delivery;   // X-Switchboard-Delivery
  std::string signature;  // X-Switchboard-Signature
  std::string body;
};

class CallbackServer {
 public:
  // `status_for(n)`: the status to answer the n-th request (1-based); `delay` before answering.
  explicit CallbackServer(std::function<int(int)> status_for = [](int) { return 200; },
                          std::chrono::milliseconds delay = std::chrono::milliseconds{0});
  ~CallbackServer();

  std::string url() const;
  std::vector<ReceivedCallback> received() const;
  // Waits until at least n requests arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  HttpResponse handle(const HttpRequest& request);

  std::function<int(int)> status_for_;
  std::chrono::milliseconds delay_;
  mutable std::mutex mu_;
  std::vector<ReceivedCallback> received_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// Lower-case hex HMAC-SHA256(key, data), to check signatures.
std::string hmac_sha256_hex(const std::string& key, const std::string& data);

}  // namespace switchboard::testing
