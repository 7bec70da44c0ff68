// Client for the local fakes of Meta's Graph API and Twilio's REST API (tests/fakes/*.py, control
// API described in tests/fakes/README.md). Each test process shares one instance per fake: the one
// ./tests/run started (SWITCHBOARD_TEST_GRAPH_URL / SWITCHBOARD_TEST_TWILIO_URL), else one started
// here on first use and stopped at exit. Other test processes may use the same fake concurrently:
// use unique page/phone ids and account SIDs, and always filter.
#pragma once

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace switchboard::testing {

class FakeServer {
 public:
  // Filters of the list endpoints, e.g. {{"id", page_id}} (graph) or {{"account", sid}, {"to", "+48601234567"}}
  // (twilio); values are URL-encoded here.
  using Filter = std::map<std::string, std::string>;

  static FakeServer& graph();   // tests/fakes/graph_fake.py
  static FakeServer& twilio();  // tests/fakes/twilio_fake.py

  ~FakeServer();  // stops a fake this process started
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  const std::string& base_url() const { return base_url_; }  // http://127.0.0.1:PORT, no trailing '/'
  std::string url(const std::string& path) const;            // base_url() + path

  // Control API calls (JSON in and out); throw std::runtime_error unless the fake answers 200.
  boost::json::value post(const std::string& path, const boost::json::value& body = boost::json::object{}) const;
  boost::json::value get(const std::string& path) const;

  // API requests the fake received, oldest first (GET /_fake/requests).
  std::vector<boost::json::object> requests(const Filter& filter = {}) const;
  // Polls until at least n requests match or the timeout passes; returns the matches at that point.
  std::vector<boost::json::object> wait_for_requests(const Filter& filter, std::size_t n,
                                                     std::chrono::milliseconds timeout = std::chrono::seconds{10}) const;

  // Webhooks the fake posted as the platform, with the receiver's answers: graph GET /_fake/webhooks,
  // twilio GET /_fake/callbacks.
  std::vector<boost::json::object> sent_webhooks(const Filter& filter = {}) const;
  std::vector<boost::json::object> wait_for_sent_webhooks(
      const Filter& filter, std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds{10}) const;

  // The fake's log (one line per request) when this process started it; empty for a shared one.
  std::string log() const;

 private:
  struct Kind {
    const char* script;     // under tests/fakes/
    const char* url_env;    // set by ./tests/run
    const char* sent_path;  // list endpoint of sent webhooks
    const char* sent_key;   // its array key
  };
  explicit FakeServer(const Kind& kind);
  void start();
  std::vector<boost::json::object> list(const std::string& path, const char* key, const Filter& filter) const;
  std::vector<boost::json::object> wait_for(const std::string& path, const char* key, const Filter& filter, std::size_t n,
                                            std::chrono::milliseconds timeout) const;

  Kind kind_;
  std::string base_url_;
  std::string dir_;  // scratch directory (port file, log) of a fake started here
  pid_t pid_ = -1;
};

}  // namespace switchboard::testing
