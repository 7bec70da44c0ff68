// Plain HTTP request/response structs shared by the server (daemon/http) and the adapters.
// No Beast types: adapters stay testable without a socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
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

// The server's end of a long-lived answer (HttpStream): thread-safe.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues one message (a WebSocket text frame, or one server-sent event). False when the peer
  // is too slow or the stream has ended: the stream is then closed, so that a slow peer never
  // grows the process's memory. Too slow: HttpStream::max_queue messages wait and the writer
  // has taken none for a second (its write is stuck on a peer that does not read), or 16 times
  // max_queue (or 16 MiB) wait whatever the writer does. A burst to a reading peer goes through.
  virtual bool send(std::string message) = 0;
  // Ends the stream (a WebSocket close frame; the end of the event stream).
  virtual void close() = 0;
  // Ends a WebSocket with this close code (RFC 6455 7.4: 1000-4999) and reason (at most 123
  // bytes); an event stream just ends.
  virtual void close(int code, std::string reason) = 0;
  // Messages waiting to be written: an owner that produces faster than the peer reads can wait
  // (or give up) before send() has to drop the peer.
  virtual std::size_t backlog() = 0;
};

// A response that takes the connection over (HttpResponse::stream):
// - websocket: the request must ask to upgrade (else the server answers 426 with
//   Upgrade: websocket); the server accepts it, hands each text frame to on_message, and writes
//   what the sink is given as text frames; pings keep it alive.
// - events: 200 text/event-stream; each message is one event (a "data:" line per line of the
//   message), a comment every ping_interval keeps proxies from closing it; it ends when the
//   client goes away or close() is called.
// The callbacks run on the server's worker pool, one at a time per connection. on_close runs
// once, whoever ended the stream (also when the server stops).
struct HttpStream {
  enum class Kind { websocket, events };
  Kind kind = Kind::websocket;
  std::function<void(std::shared_ptr<StreamSink>)> on_open;
  std::function<void(const std::string& message)> on_message;  // websocket text frames
  std::function<void()> on_close;
  std::size_t max_queue = 256;                 // messages waiting to be written
  std::size_t max_message_bytes = 64 * 1024;   // a larger incoming message closes the socket
  std::chrono::seconds ping_interval{20};
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
  // Set: the connection becomes this stream (status, content_type and body are ignored).
  std::shared_ptr<HttpStream> stream{};

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
