#include "tests/support/callback_server.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "daemon/http/server.hpp"

namespace switchboard::testing {

CallbackServer::CallbackServer(std::function<int(int)> status_for, std::chrono::milliseconds delay)
    : status_for_(std::move(status_for)), delay_(delay) {
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.worker_threads = 4;
  server_ = std::make_unique<http::Server>(options, [this](const HttpRequest& r) { return handle(r); });
  if (!server_->listen().ok()) throw std::runtime_error("callback server cannot listen");
  thread_ = std::thread([this] { server_->run(); });
}

CallbackServer::~CallbackServer() {
  server_->stop(std::chrono::milliseconds{100});
  if (thread_.joinable()) thread_.join();
}

std::string CallbackServer::url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }

std::vector<ReceivedCallback> CallbackServer::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

bool CallbackServer::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu_);
      if (received_.size() >= n) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

HttpResponse CallbackServer::handle(const HttpRequest& request) {
  int n;
  {
    std::lock_guard lock(mu_);
    ReceivedCallback r;
    if (const auto* d = request.header("X-Switchboard-Delivery")) r.delivery = *d;
    if (const auto* s = request.header("X-Switchboard-Signature")) r.signature = *s;
    r.body = request.body;
    received_.push_back(std::move(r));
    n = static_cast<int>(received_.size());
  }
  if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
  HttpResponse response;
  response.status = status_for_(n);
  response.content_type = "application/json";
  response.body = "{}";
  return response;
}

std::string hmac_sha256_hex(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kDigits[out[i] >> 4];
    hex += kDigits[out[i] & 15];
  }
  return hex;
}

}  // namespace switchboard::testing
