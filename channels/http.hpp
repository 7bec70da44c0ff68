// Plain HTTP request/response structs shared by the server (daemon/http) and the adapters.
// No Beast types: adapters stay testable without a socket.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "routing/core/result.hpp"

namespace switchboard {

struct HttpRequest {
  std::string method;      // "GET", "POST", ...
  std::string target;      // as received: path and query
  std::string path;        // percent-decoding is left to the handler
  std::string query;       // without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string request_id;  // X-Request-Id: the client's when valid, else generated
  std::string remote;      // peer address

  // Case-insensitive header lookup; nullptr when absent.
  const std::string* header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response

  HttpResponse& set_header(std::string name, std::string value);
};

// {"error":{"code":...,"message":...}} with application/json.
HttpResponse error_response(int status, std::string_view code, std::string_view message);
// The HTTP status for an Error's kind (invalid 400, unauthorized 401, ... bug 500).
int http_status(ErrorKind kind);
// error_response() for an Error, with WWW-Authenticate on 401, Retry-After on 503, close on 413.
HttpResponse error_response(const Error& error);
HttpResponse json_response(int status, std::string body);

}  // namespace switchboard
