#include "channels/http.hpp"

#include <boost/json.hpp>
#include <strings.h>

namespace switchboard {

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0) return &v;
  return nullptr;
}

HttpResponse& HttpResponse::set_header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  boost::json::object err;
  err["code"] = code;
  err["message"] = message;
  boost::json::object root;
  root["error"] = std::move(err);
  return json_response(status, boost::json::serialize(root));
}

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid: return 400;
    case ErrorKind::unauthorized: return 401;
    case ErrorKind::forbidden: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::conflict: return 409;
    case ErrorKind::unprocessable: return 422;
    case ErrorKind::too_large: return 413;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::config:
    case ErrorKind::bug: return 500;
  }
  return 500;
}

HttpResponse error_response(const Error& error) {
  int status = http_status(error.kind);
  // A bug's text may describe internals: the client gets a generic message, the log the detail.
  HttpResponse r = status == 500 ? error_response(500, "internal_error", "internal error")
                                 : error_response(status, error.code, error.message);
  if (status == 401) r.set_header("WWW-Authenticate", "Bearer");
  if (status == 503) r.set_header("Retry-After", "5");
  if (status == 413) r.close = true;
  return r;
}

}  // namespace switchboard
