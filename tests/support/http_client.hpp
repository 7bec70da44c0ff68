// A small blocking HTTP client (libcurl) for integration tests.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace switchboard::testing {

struct HttpResult {
  long status = 0;  // 0 when the request failed at the transport level
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;
  std::string transport_error;
};

HttpResult http_request(const std::string& method, const std::string& url,
                        const std::vector<std::string>& headers = {}, const std::string& body = {},
                        long timeout_ms = 10000);

}  // namespace switchboard::testing
