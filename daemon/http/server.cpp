// The HTTP/1.1 server behind server.hpp: accepting, parsing (Beast), limits and timeouts,
// keep-alive, X-Request-Id, dispatch of handlers to the worker pool, and graceful stop.
// All of the daemon's Beast/Asio code lives here so that only this TU pays for the templates;
// asio_impl.cpp and beast_impl.cpp hold the separately compiled library parts.
#include "daemon/http/server.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <ctime>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "routing/core/log.hpp"

namespace switchboard::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Errors come back as values (a tuple with the error_code first): the session decides per
// phase what an error means, and an exception would lose which phase failed.
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// Server-sent events waiting in a stream's queue are written together up to this much.
constexpr std::size_t kEventBatchBytes = 256 * 1024;

// The first read of a keep-alive request: small, so that idle connections hold little memory.
constexpr std::size_t kIdleReadBytes = 1024;
// A connection's buffer larger than this is released between requests (after a big body).
constexpr std::size_t kKeepBufferBytes = 16 * 1024;
// After an error response the client may still be sending (the body we refused): we read and
// discard for this long so that closing does not turn into a RST that destroys our response.
constexpr std::chrono::seconds kLingerTime{2};
// How often stop() checks whether the connections have drained.
constexpr std::chrono::milliseconds kDrainPoll{10};
// A failing accept (EMFILE) fails again at once: wait before retrying instead of spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{50};

const beast::error_category& http_category() {
  static const beast::error_category& category = bhttp::make_error_code(bhttp::error::bad_target).category();
  return category;
}

std::string format_ms(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", std::chrono::duration<double, std::milli>(d).count());
  return buf;
}

// RFC 9110 IMF-fixdate, built by hand: strftime's day and month names follow the locale.
std::string http_date(std::chrono::system_clock::time_point now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool is_token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// A handler's header is sent only when it cannot break the framing: a bad name or a CR/LF in
// the value would let a handler (or data it echoes) inject headers or a second response.
// Beast throws on fields near 64 KiB; no legitimate header of ours comes close to the cap.
bool header_is_safe(std::string_view name, std::string_view value) {
  constexpr std::size_t kMaxFieldBytes = 16 * 1024;
  if (name.empty() || name.size() > kMaxFieldBytes || value.size() > kMaxFieldBytes) return false;
  for (unsigned char c : name)
    if (!is_token_char(c)) return false;
  for (unsigned char c : value)
    if ((c < ' ' && c != '\t') || c == 0x7f) return false;
  return true;
}

// Headers the server owns: framing, connection management and the request id.
bool header_is_reserved(std::string_view name) {
  for (std::string_view reserved : {"Content-Length", "Transfer-Encoding", "Connection", "X-Request-Id"})
    if (beast::iequals(name, reserved)) return true;
  return false;
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  std::string ip = endpoint.address().to_string();
  if (endpoint.address().is_v6()) ip = "[" + ip + "]";
  return ip + ":" + std::to_string(endpoint.port());
}

HttpResponse call_handler(const Handler& handler, const HttpRequest& request) {
  const log::RequestScope scope(request.request_id);  // every line the handler logs carries req=
  try {
    return handler(request);
  } catch (const std::exception& e) {
    log::error("handler_exception", {{"what", e.what()}, {"path", request.path}, {"req", request.request_id}});
  } catch (...) {
    log::error("handler_exception", {{"what", "unknown exception"}, {"path", request.path}, {"req", request.request_id}});
  }
  return error_response(500, "internal_error", "internal error");
}

// Runs on the worker pool: the handler may block on the database for as long as it needs.
net::awaitable<HttpResponse> run_handler(const Handler& handler, const HttpRequest& request) {
  co_return call_handler(handler, request);
}

// A stream's callback, its exceptions logged. References only: the caller keeps the arguments
// alive in its own frame while it awaits (GCC 12 mishandles temporaries across co_await).
net::awaitable<void> run_callback(const std::function<void()>& call, const char* what, const std::string& request_id) {
  const log::RequestScope scope(request_id);
  try {
    if (call) call();
  } catch (const std::exception& e) {
    log::error("http_stream_callback_failed", {{"callback", what}, {"what", e.what()}, {"req", request_id}});
  } catch (...) {
    log::error("http_stream_callback_failed", {{"callback", what}, {"what", "unknown exception"}, {"req", request_id}});
  }
  co_return;
}

// co_spawn's completion for the server's own coroutines: they catch what they expect, so an
// exception here is a bug in this file; it is logged, the process keeps serving.
void report_coroutine_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    log::error("http_internal_error", {{"what", x.what()}});
  } catch (...) {
    log::error("http_internal_error", {{"what", "unknown exception"}});
  }
}

}  // namespace

// Everything the sessions share. Member order matters for destruction: the worker pool is
// joined first (no handler touches anything afterwards), the io_context is destroyed before
// the session registry it may still update from destroyed coroutine frames.
struct Server::Impl {
  class Session;

  Impl(ServerOptions options, Handler handler);

  std::size_t body_limit(std::string_view path) const;
  bool stopping() const { return stop_requested_.load(std::memory_order_acquire); }

  void add_session(const std::shared_ptr<Session>& session);
  void remove_session(Session* session);
  std::vector<std::shared_ptr<Session>> sessions();
  std::size_t session_count();

  net::awaitable<void> accept_loop();
  net::awaitable<void> shutdown(std::chrono::milliseconds grace);

  ServerOptions options_;
  Handler handler_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint16_t> port_{0};

  std::mutex sessions_mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;

  net::io_context ioc_;
  // The acceptor is used by accept_loop() and closed by shutdown(): both run on this strand.
  net::strand<net::io_context::executor_type> acceptor_strand_;
  tcp::acceptor acceptor_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  net::thread_pool workers_;
};

// One connection: reads requests one after the other, hands each to the worker pool, writes
// the response. The coroutine runs on the connection's strand; the only state touched from
// outside (close_if_idle, close_now) is posted onto that strand.
class Server::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? std::string("unknown") : endpoint_text(endpoint);
    // Responses go out in one write; waiting for more data to coalesce only adds latency.
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~Session() { server_.remove_session(this); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  net::any_io_executor executor() { return stream_.get_executor(); }

  static net::awaitable<void> serve(std::shared_ptr<Session> self) { co_await self->serve_requests(); }

  // On the strand (stop): a connection waiting for the first byte of its next request has
  // nothing to finish, nor has a stream (WebSocket, events). One that has begun a request
  // (reading it, handling it, answering it) is left to finish: it answers with
  // Connection: close and ends.
  void close_if_idle() {
    if (idle_ || streaming_) close_now();
  }
  // On the strand, or from run() once no I/O thread is left.
  // From run() once no I/O thread is left: the stream's owner may still hold its sink, which
  // must not post into an io_context that is going away.
  void detach_stream();
  void close_now() {
    beast::error_code ec;
    tcp::socket& socket = ws_ ? ws_->next_layer().socket() : stream_.socket();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    // An event stream's writer may be waiting for its next message or ping: it ends now.
    if (stream_timer_) stream_timer_->cancel();
  }

 private:
  // How a request ended, and so what becomes of the connection.
  enum class Next {
    keep_alive,      // read the next request
    close,           // close after sending FIN (response said Connection: close)
    close_lingering  // an error response: drain what the client still sends, then close
  };

  // Keeps in_flight() right even when a coroutine frame is destroyed while suspended.
  struct InFlight {
    explicit InFlight(Server::Impl& s) : server(s) { server.in_flight_.fetch_add(1); }
    ~InFlight() { server.in_flight_.fetch_sub(1); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    Server::Impl& server;
  };

  net::awaitable<void> serve_requests();
  net::awaitable<std::optional<Next>> serve_one(bool first);
  net::awaitable<beast::error_code> write_response(HttpResponse response, const std::string& request_id,
                                                   unsigned version, bool head, bool close);
  net::awaitable<std::optional<Next>> reject(int status, std::string_view code, std::string message,
                                             std::string_view reason, const std::string& request_id,
                                             unsigned version);
  net::awaitable<void> linger_close();
  void fail(beast::error_code ec, std::string_view phase, std::string_view request_id = {});

  class Sink;
  // The connection becomes `stream` (HttpResponse::stream). Returns when it has ended.
  net::awaitable<std::optional<Next>> serve_stream(bhttp::request<bhttp::string_body> request,
                                                   std::shared_ptr<HttpStream> stream,
                                                   const std::string& request_id, unsigned version);
  net::awaitable<void> run_websocket(bhttp::request<bhttp::string_body> request, std::shared_ptr<HttpStream> stream,
                                     const std::string& request_id);
  static net::awaitable<void> write_frames(std::shared_ptr<Session> self, std::shared_ptr<Sink> sink);
  net::awaitable<void> run_events(std::shared_ptr<HttpStream> stream, const std::string& request_id,
                                  unsigned version);
  // A stream callback on the worker pool (it may block): `call` stays alive in the caller.
  net::awaitable<void> on_workers(const std::function<void()>& call, const char* what, const std::string& request_id) {
    co_await net::co_spawn(server_.workers_, run_callback(call, what, request_id), net::use_awaitable);
  }

  Server::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string remote_;
  bool idle_ = false;  // waiting for the first byte of a request, with nothing buffered
  bool streaming_ = false;  // the connection is a stream (serve_stream)
  std::optional<websocket::stream<beast::tcp_stream>> ws_;  // the connection, once upgraded
  std::optional<net::steady_timer> stream_timer_;  // the stream's writer waits on it; cancel wakes it
  bool stream_opened_ = false;                     // on_open ran: on_close will
  // The close frame write_frames sends: normal, unless the reader refused the client's data.
  websocket::close_code close_code_ = websocket::close_code::normal;
  std::shared_ptr<Sink> sink_;                     // the stream's, for detach_stream()

  // A sink wired to this session (see Sink); Detach unwires it when the frame that opened it
  // ends, whether it completes or is destroyed with the io_context.
  std::shared_ptr<Sink> open_sink(std::size_t max_queue);
  net::awaitable<void> call_on_open(const std::shared_ptr<HttpStream>& stream, const std::shared_ptr<Sink>& sink,
                                    const std::string& request_id);
  struct Detach {
    std::shared_ptr<Sink> sink;
    ~Detach();
  };
};

// What a stream's owner writes to: a bounded queue drained by the session. It holds no Asio
// object (its owner may keep it after the server is gone): the session attaches how to wake its
// writer and how to drop the connection, and detaches them when the stream is over; both run
// under the sink's lock, so a wake-up never reaches a session that has ended.
class Server::Impl::Session::Sink final : public StreamSink {
 public:
  explicit Sink(std::size_t max_queue) : max_(max_queue) {}

  bool send(std::string message) override {
    std::lock_guard lock(mu_);
    if (ended_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (queue_.empty()) taken_at_ = now;  // the writer's clock starts with the first message waiting
    // A burst is not a slow reader: past max_queue the peer is dropped only when the writer has
    // taken nothing for kStall (its write is stuck on a peer that does not read), or when the
    // queue reaches the hard bound that keeps memory in check whatever happens.
    const bool stalled = queue_.size() >= max_ && now - taken_at_ > kStall;
    const bool too_much = queue_.size() / kBurstFactor >= max_ || bytes_ + message.size() > kMaxBytes;
    if (stalled || too_much) {
      // The writer may be stuck in a write the peer never reads: the connection goes now.
      overflowed_ = ended_ = true;
      queue_.clear();
      bytes_ = 0;
      if (abort_) abort_();
      return false;
    }
    bytes_ += message.size();
    queue_.push_back(std::move(message));
    if (wake_) wake_();
    return true;
  }
  void close() override {
    std::lock_guard lock(mu_);
    ended_ = true;
    if (wake_) wake_();
  }
  void close(int code, std::string reason) override {
    std::lock_guard lock(mu_);
    if (code >= 1000 && code <= 4999 && !ended_) {
      code_ = code;
      reason_ = std::move(reason);
      if (reason_.size() > 123) reason_.resize(123);  // the control frame's payload limit
    }
    ended_ = true;
    if (wake_) wake_();
  }
  std::size_t backlog() override {
    std::lock_guard lock(mu_);
    return queue_.size();
  }
  // The close frame the owner asked for, if any.
  std::optional<std::pair<int, std::string>> close_reason() {
    std::lock_guard lock(mu_);
    if (!code_) return std::nullopt;
    return std::pair{*code_, reason_};
  }
  void end() {
    std::lock_guard lock(mu_);
    ended_ = true;
  }
  // On the strand.
  std::optional<std::string> pop() {
    std::lock_guard lock(mu_);
    if (queue_.empty() || overflowed_) return std::nullopt;
    std::string m = std::move(queue_.front());
    queue_.pop_front();
    bytes_ -= m.size();
    taken_at_ = std::chrono::steady_clock::now();
    return m;
  }
  bool ended() {
    std::lock_guard lock(mu_);
    return ended_;
  }
  void attach(std::function<void()> wake, std::function<void()> abort) {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
    abort_ = std::move(abort);
  }
  void detach() {
    std::lock_guard lock(mu_);
    ended_ = true;
    wake_ = nullptr;
    abort_ = nullptr;
  }

 private:
  static constexpr auto kStall = std::chrono::seconds{1};
  static constexpr std::size_t kBurstFactor = 16;
  static constexpr std::size_t kMaxBytes = 16 * 1024 * 1024;

  std::mutex mu_;
  std::deque<std::string> queue_;
  std::size_t bytes_ = 0;  // of the messages in queue_
  std::chrono::steady_clock::time_point taken_at_{};  // the writer last took a message (or the queue filled)
  std::size_t max_;
  bool ended_ = false;
  bool overflowed_ = false;
  std::optional<int> code_;  // close(code, reason)
  std::string reason_;
  std::function<void()> wake_;   // posts a wake-up of the writer onto the strand
  std::function<void()> abort_;  // posts close_now() onto the strand
};

net::awaitable<void> Server::Impl::Session::serve_requests() {
  bool first = true;
  while (!server_.stopping()) {
    // A fresh connection owes its first request within header_timeout; between keep-alive
    // requests the client may stay silent for idle_timeout, and header_timeout starts with
    // the first byte of the next request.
    if (buffer_.size() == 0) {
      if (buffer_.capacity() > kKeepBufferBytes) buffer_.shrink_to_fit();
      stream_.expires_after(first ? server_.options_.header_timeout : server_.options_.idle_timeout);
      idle_ = true;
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kIdleReadBytes), kTuple);
      idle_ = false;
      if (ec) {
        fail(ec, first ? "header" : "idle");
        co_return;
      }
      // stop() closed the connection while it waited: bytes that had arrived by then are a new
      // request, never read, never handled (the client sees the connection close unanswered).
      if (!stream_.socket().is_open()) co_return;
      buffer_.commit(n);
    }
    std::optional<Next> next = co_await serve_one(first);
    first = false;
    if (!next) co_return;  // nothing more can be sent: the socket closes with the session
    if (*next == Next::close_lingering) {
      co_await linger_close();
      co_return;
    }
    if (*next == Next::close) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

// One request and its response. nullopt: the connection is unusable (timeout, reset, client
// gone) and is dropped without a response.
net::awaitable<std::optional<Server::Impl::Session::Next>> Server::Impl::Session::serve_one(bool first) {
  const ServerOptions& options = server_.options_;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  // The limit depends on the path, unknown until the head is parsed; Beast would otherwise
  // apply its own default to the Content-Length while parsing the head.
  parser.body_limit(boost::none);

  // The first request's header_timeout runs from the connection's start, not again here.
  if (!first) stream_.expires_after(options.header_timeout);
  {
    auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, kTuple);
    if (ec == bhttp::error::header_limit) {
      co_return co_await reject(431, "header_too_large",
                                "request header exceeds " + std::to_string(options.max_header_bytes) + " bytes",
                                "header_too_large", choose_request_id(nullptr), 11);
    }
    if (ec && ec.category() == http_category() && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message) {
      co_return co_await reject(400, "bad_request", "malformed request: " + ec.message(), "bad_request",
                                choose_request_id(nullptr), 11);
    }
    if (ec) {
      fail(ec, "header");
      co_return std::nullopt;
    }
  }
  const Clock::time_point started = Clock::now();

  auto& message = parser.get();
  std::string target(message.target());
  std::string path = target.substr(0, target.find('?'));
  std::string request_id;
  if (auto it = message.find("X-Request-Id"); it != message.end()) {
    std::string client_id(it->value());
    request_id = choose_request_id(&client_id);
  } else {
    request_id = choose_request_id(nullptr);
  }
  const unsigned version = message.version();
  if (version != 10 && version != 11) {
    co_return co_await reject(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served",
                              "bad_request", request_id, 11);
  }

  const std::size_t limit = server_.body_limit(path);
  const std::string limit_message = "request body exceeds " + std::to_string(limit) + " bytes";
  if (auto length = parser.content_length(); length && *length > limit) {
    co_return co_await reject(413, "payload_too_large", limit_message, "body_too_large", request_id, version);
  }
  parser.body_limit(limit);

  if (!parser.is_done()) {
    stream_.expires_after(options.body_timeout);
    // A client that asked before sending a body it was allowed to send gets the go-ahead.
    if (version == 11 && beast::iequals(message[bhttp::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [ec, n] = co_await net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()), kTuple);
      if (ec) {
        fail(ec, "continue", request_id);
        co_return std::nullopt;
      }
    }
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, kTuple);
    if (ec == bhttp::error::body_limit) {
      co_return co_await reject(413, "payload_too_large", limit_message, "body_too_large", request_id, version);
    }
    if (ec && ec.category() == http_category() && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message) {
      co_return co_await reject(400, "bad_request", "malformed request: " + ec.message(), "bad_request",
                                request_id, version);
    }
    if (ec) {
      fail(ec, "body", request_id);
      co_return std::nullopt;
    }
  }
  // The handler's time is its own (a slow database is not the client's fault).
  stream_.expires_never();

  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::move(target);
  request.path = std::move(path);
  if (auto q = request.target.find('?'); q != std::string::npos) request.query = request.target.substr(q + 1);
  request.headers.reserve(static_cast<std::size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) request.headers.emplace_back(field.name_string(), field.value());
  request.body = std::move(message.body());
  request.request_id = request_id;
  request.remote = remote_;
  const bool keep_alive = message.keep_alive();
  const bool head = message.method() == bhttp::verb::head;

  std::optional<InFlight> in_flight(std::in_place, server_);
  HttpResponse response =
      co_await net::co_spawn(server_.workers_, run_handler(server_.handler_, request), net::use_awaitable);
  if (response.stream) {
    in_flight.reset();  // a stream is not a request in flight: stop() closes it
    log::info("http_stream", {{"method", request.method}, {"path", request.path}, {"req", request_id},
                              {"kind", response.stream->kind == HttpStream::Kind::websocket ? "websocket" : "events"}});
    co_return co_await serve_stream(parser.release(), std::move(response.stream), request_id, version);
  }

  const int status = response.status;
  const std::size_t bytes_out = response.body.size();
  const bool close = !keep_alive || response.close || server_.stopping();
  beast::error_code ec = co_await write_response(std::move(response), request_id, version, head, close);
  // The status is logged as answered only once it was written: a handled request whose answer
  // could not be written (the client left) says so.
  log::emit(ec ? log::Level::warn : log::Level::info, ec ? "http_response_lost" : "http_request",
            {{"method", request.method},
                                                         {"path", request.path},
                                                         {"status", std::to_string(status)},
                                                         {"ms", format_ms(Clock::now() - started)},
                                                         {"req", request_id},
                                                         {"bytes_in", std::to_string(request.body.size())},
                                                         {"bytes", std::to_string(bytes_out)}});
  if (ec) {
    fail(ec, "write", request_id);
    co_return std::nullopt;
  }
  co_return close ? Next::close : Next::keep_alive;
}

Server::Impl::Session::Detach::~Detach() { sink->detach(); }

void Server::Impl::Session::detach_stream() {
  if (sink_) sink_->detach();
}

std::shared_ptr<Server::Impl::Session::Sink> Server::Impl::Session::open_sink(std::size_t max_queue) {
  auto sink = std::make_shared<Sink>(max_queue);
  stream_timer_.emplace(executor());
  sink->attach(
      [weak = weak_from_this()] {
        if (auto self = weak.lock()) net::post(self->executor(), [self] { self->stream_timer_->cancel(); });
      },
      [weak = weak_from_this()] {
        if (auto self = weak.lock())
          net::post(self->executor(), [self] {
            log::warn("http_stream_dropped", {{"remote", self->remote_}, {"reason", "slow reader: its queue is full"}});
            self->close_now();
          });
      });
  sink_ = sink;
  return sink;
}

net::awaitable<void> Server::Impl::Session::call_on_open(const std::shared_ptr<HttpStream>& stream,
                                                        const std::shared_ptr<Sink>& sink,
                                                        const std::string& request_id) {
  const std::function<void()> opened = [&stream, &sink] {
    if (stream->on_open) stream->on_open(sink);
  };
  stream_opened_ = true;
  co_await on_workers(opened, "on_open", request_id);
}

net::awaitable<std::optional<Server::Impl::Session::Next>> Server::Impl::Session::serve_stream(
    bhttp::request<bhttp::string_body> request, std::shared_ptr<HttpStream> stream, const std::string& request_id,
    unsigned version) {
  if (stream->kind == HttpStream::Kind::websocket && !websocket::is_upgrade(request)) {
    HttpResponse refused = error_response(426, "upgrade_required", "this resource is a WebSocket: ask to upgrade");
    refused.set_header("Upgrade", "websocket");
    beast::error_code ec = co_await write_response(std::move(refused), request_id, version, false, true);
    if (ec) {
      fail(ec, "write", request_id);
      co_return std::nullopt;
    }
    co_return Next::close;
  }
  if (server_.stopping()) co_return std::nullopt;
  streaming_ = true;
  if (stream->kind == HttpStream::Kind::websocket)
    co_await run_websocket(std::move(request), stream, request_id);
  else
    co_await run_events(stream, request_id, version);
  // on_close pairs with on_open: a stream that never opened (its handshake failed) never closes.
  if (stream_opened_) {
    const std::function<void()> closed = [&stream] {
      if (stream->on_close) stream->on_close();
    };
    co_await on_workers(closed, "on_close", request_id);
  }
  log::info("http_stream_closed", {{"req", request_id}});
  co_return std::nullopt;
}

net::awaitable<void> Server::Impl::Session::run_websocket(bhttp::request<bhttp::string_body> request,
                                                        std::shared_ptr<HttpStream> stream,
                                                        const std::string& request_id) {
  stream_.expires_never();  // the WebSocket keeps its own time (pings, below)
  ws_.emplace(std::move(stream_));
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds{30};
  timeouts.idle_timeout = 2 * stream->ping_interval;  // a ping after half of it, then closed
  timeouts.keep_alive_pings = true;
  ws_->set_option(timeouts);
  ws_->set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(bhttp::field::server, "switchboard"); }));
  ws_->read_message_max(stream->max_message_bytes);
  // A client sends no frame before our 101 (RFC 6455 4.1): nothing read past the request counts.
  buffer_.clear();
  auto [accept_ec] = co_await ws_->async_accept(request, kTuple);
  if (accept_ec) {
    fail(accept_ec, "websocket_accept", request_id);
    co_return;
  }
  const auto sink = open_sink(stream->max_queue);
  const Detach detach{sink};
  co_await call_on_open(stream, sink, request_id);
  net::co_spawn(executor(), write_frames(shared_from_this(), sink), report_coroutine_exception);
  beast::flat_buffer frame;
  for (;;) {
    // Ended (by the owner, or below): write_frames is closing, and its async_close reads the
    // client's answer itself. A read started now could parse a bad frame already buffered and fail
    // the connection while async_close holds Beast's write lock waiting for the read lock: each
    // would wait for the other for ever (Beast handles that crossing only for a close frame).
    if (sink->ended()) break;
    auto [ec, n] = co_await ws_->async_read(frame, kTuple);
    if (ec) {
      if (ec != websocket::error::closed) fail(ec, "websocket_read", request_id);
      break;
    }
    if (!ws_->got_text()) {
      // HttpStream carries text; a binary message is refused (RFC 6455 7.4.1, 1003), not handed
      // to on_message as if it were text.
      close_code_ = websocket::close_code::unknown_data;
      break;
    }
    const std::string message = beast::buffers_to_string(frame.data());
    frame.consume(frame.size());
    const std::function<void()> received = [&stream, &message] {
      if (stream->on_message) stream->on_message(message);
    };
    co_await on_workers(received, "on_message", request_id);
  }
  sink->close();
}

net::awaitable<void> Server::Impl::Session::write_frames(std::shared_ptr<Session> self, std::shared_ptr<Sink> sink) {
  auto& ws = *self->ws_;
  for (;;) {
    if (auto next = sink->pop()) {
      ws.text(true);
      auto [ec, n] = co_await ws.async_write(net::buffer(*next), kTuple);
      if (ec) break;
      continue;
    }
    if (sink->ended()) break;
    self->stream_timer_->expires_at(net::steady_timer::time_point::max());
    co_await self->stream_timer_->async_wait(kTuple);
  }
  sink->end();
  if (ws.is_open()) {
    websocket::close_reason reason(self->close_code_);
    if (auto asked = sink->close_reason()) {
      reason = websocket::close_reason(static_cast<websocket::close_code>(asked->first), asked->second);
    }
    auto [ec] = co_await ws.async_close(reason, kTuple);
    (void)ec;
  }
}

net::awaitable<void> Server::Impl::Session::run_events(std::shared_ptr<HttpStream> stream, const std::string& request_id,
                                                     unsigned version) {
  bhttp::response<bhttp::empty_body> res{bhttp::status::ok, version};
  res.set(bhttp::field::server, "switchboard");
  res.set(bhttp::field::date, http_date(std::chrono::system_clock::now()));
  res.set(bhttp::field::content_type, "text/event-stream");
  res.set(bhttp::field::cache_control, "no-cache");
  res.set("X-Request-Id", request_id);
  res.keep_alive(false);  // the body ends with the connection
  bhttp::response_serializer<bhttp::empty_body> head{res};
  stream_.expires_after(server_.options_.body_timeout);
  if (auto [ec, n] = co_await bhttp::async_write_header(stream_, head, kTuple); ec) {
    fail(ec, "write", request_id);
    co_return;
  }
  const auto sink = open_sink(stream->max_queue);
  const Detach detach{sink};
  co_await call_on_open(stream, sink, request_id);
  for (;;) {
    std::string out;
    // Everything waiting goes out in one write: a burst costs one system call, not one each.
    for (auto next = sink->pop(); next; next = out.size() < kEventBatchBytes ? sink->pop() : std::nullopt) {
      // One "data:" line per line of the message (CR LF, CR and LF all end a line for the
      // client: none may smuggle in a field of its own); a blank line ends the event.
      std::size_t at = 0;
      for (;;) {
        const auto end = next->find_first_of("\r\n", at);
        out += "data: " + next->substr(at, end == std::string::npos ? std::string::npos : end - at) + "\n";
        if (end == std::string::npos) break;
        at = end + ((*next)[end] == '\r' && end + 1 < next->size() && (*next)[end + 1] == '\n' ? 2 : 1);
      }
      out += "\n";
    }
    if (out.empty()) {
      if (sink->ended() || server_.stopping()) break;
      stream_timer_->expires_after(stream->ping_interval);
      auto [wait_ec] = co_await stream_timer_->async_wait(kTuple);
      if (wait_ec) continue;  // woken: something to send, or the end
      out = ": ping\n\n";   // a comment: proxies keep the connection, clients ignore it
    }
    // A client that stopped reading is held to the deadline of one that does not send its body.
    stream_.expires_after(server_.options_.body_timeout);
    auto [ec, n] = co_await net::async_write(stream_, net::buffer(out), kTuple);
    if (ec) {
      fail(ec, "events", request_id);
      break;
    }
  }
  sink->end();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
}

net::awaitable<beast::error_code> Server::Impl::Session::write_response(HttpResponse response, const std::string& request_id,
                                                          unsigned version, bool head, bool close) {
  if (response.status < 200 || response.status > 999) {
    // 1xx would announce a second response that never comes; outside 100..999 Beast throws.
    log::error("handler_bad_status", {{"status", std::to_string(response.status)}, {"req", request_id}});
    response = error_response(500, "internal_error", "internal error");
  }
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), version};
  res.set(bhttp::field::server, "switchboard");
  res.set(bhttp::field::date, http_date(std::chrono::system_clock::now()));
  if (!response.content_type.empty() && header_is_safe("Content-Type", response.content_type))
    res.set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) {
    if (header_is_reserved(name)) continue;
    if (!header_is_safe(name, value)) {
      log::warn("handler_bad_header", {{"req", request_id}});
      continue;
    }
    res.insert(name, value);
  }
  res.set("X-Request-Id", request_id);
  const bool no_body = response.status == 204 || response.status == 304;
  if (!no_body) res.content_length(response.body.size());
  // A HEAD response announces the length of the body it does not carry.
  if (!no_body && !head) res.body() = std::move(response.body);
  res.keep_alive(!close);

  // A client that does not read its response is held to the deadline of one that does not
  // send its body.
  stream_.expires_after(server_.options_.body_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, res, kTuple);
  stream_.expires_never();
  co_return ec;
}

// A response the server makes itself (400, 413, 431, 505): logged, sent with Connection: close,
// and the connection is drained and closed afterwards.
net::awaitable<std::optional<Server::Impl::Session::Next>> Server::Impl::Session::reject(int status, std::string_view code, std::string message,
                                                   std::string_view reason, const std::string& request_id,
                                                   unsigned version) {
  log::warn("http_rejected", {{"reason", reason},
                              {"status", std::to_string(status)},
                              {"remote", remote_},
                              {"req", request_id}});
  beast::error_code ec =
      co_await write_response(error_response(status, code, message), request_id, version, false, true);
  if (ec) {
    fail(ec, "write", request_id);
    co_return std::nullopt;
  }
  co_return Next::close_lingering;
}

net::awaitable<void> Server::Impl::Session::linger_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  buffer_.clear();
  if (server_.stopping()) co_return;
  stream_.expires_after(kLingerTime);
  // In this coroutine's frame, so only lingering connections hold it.
  std::array<char, 4096> discard;
  for (;;) {
    auto [read_ec, n] = co_await stream_.async_read_some(net::buffer(discard), kTuple);
    if (read_ec) break;
  }
}

// The one place a connection's I/O errors are classified and logged. A client that goes away
// is normal (debug); a client too slow for a deadline is a rejection (warn).
void Server::Impl::Session::fail(beast::error_code ec, std::string_view phase, std::string_view request_id) {
  if (ec == beast::error::timeout) {
    if (phase == "idle") {
      log::emit(log::Level::debug, "http_idle_closed", {{"remote", remote_}});
    } else {
      log::warn("http_rejected", {{"reason", "timeout"}, {"phase", phase}, {"remote", remote_}, {"req", request_id}});
    }
    return;
  }
  if (ec == net::error::eof || ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe) {
    log::emit(log::Level::debug, "http_connection_closed",
              {{"phase", phase}, {"remote", remote_}, {"error", ec.message()}});
    return;
  }
  log::emit(log::Level::debug, "http_connection_error",
            {{"phase", phase}, {"remote", remote_}, {"error", ec.message()}, {"req", request_id}});
}

Server::Impl::Impl(ServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      acceptor_strand_(net::make_strand(ioc_)),
      acceptor_(acceptor_strand_),
      workers_(std::max<std::size_t>(options_.worker_threads, 1)) {}

std::size_t Server::Impl::body_limit(std::string_view path) const {
  if (!options_.body_limit) return options_.default_body_limit;
  try {
    return options_.body_limit(path);
  } catch (const std::exception& e) {
    log::error("body_limit_exception", {{"what", e.what()}});
    return options_.default_body_limit;
  }
}

void Server::Impl::add_session(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.emplace(session.get(), session);
}

void Server::Impl::remove_session(Session* session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(session);
}

auto Server::Impl::sessions() -> std::vector<std::shared_ptr<Session>> {
  std::lock_guard lock(sessions_mutex_);
  std::vector<std::shared_ptr<Session>> out;
  out.reserve(sessions_.size());
  for (auto& [raw, weak] : sessions_)
    if (auto s = weak.lock()) out.push_back(std::move(s));
  return out;
}

std::size_t Server::Impl::session_count() {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

net::awaitable<void> Server::Impl::accept_loop() {
  net::steady_timer backoff(acceptor_strand_);
  while (!stopping()) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::any_io_executor(net::make_strand(ioc_)), kTuple);
    if (stopping() || ec == net::error::operation_aborted) co_return;
    if (ec) {
      log::warn("http_accept_error", {{"error", ec.message()}});
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(kTuple);
      continue;
    }
    auto session = std::make_shared<Session>(*this, std::move(socket));
    // Registered before this strand yields again, so shutdown() (same strand) sees every
    // accepted connection.
    add_session(session);
    net::co_spawn(session->executor(), Session::serve(session), report_coroutine_exception);
  }
}

net::awaitable<void> Server::Impl::shutdown(std::chrono::milliseconds grace) {
  const auto deadline = Clock::now() + grace;
  beast::error_code ec;
  acceptor_.close(ec);
  for (auto& session : sessions())
    net::post(session->executor(), [session] { session->close_if_idle(); });
  // Busy sessions end on their own once their response is written (they see stopping()).
  net::steady_timer timer(acceptor_strand_);
  while (session_count() > 0 && Clock::now() < deadline) {
    timer.expires_after(kDrainPoll);
    co_await timer.async_wait(kTuple);
  }
  if (session_count() > 0) log::warn("http_stop_grace_expired", {{"connections", std::to_string(session_count())}});
  // Connections still open are closed by run() once the I/O threads are gone.
  work_.reset();
  ioc_.stop();
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() = default;

Status Server::listen() {
  Impl& s = *impl_;
  const std::string& address = s.options_.address;
  const std::string where =
      (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" + std::to_string(s.options_.port);
  auto failed = [&](const beast::error_code& ec) -> Status {
    beast::error_code ignored;
    s.acceptor_.close(ignored);
    return make_error(ErrorKind::config, "listen_failed", "cannot listen on " + where + ": " + ec.message());
  };
  if (s.acceptor_.is_open()) return make_error(ErrorKind::config, "listen_failed", "already listening on " + where);

  beast::error_code ec;
  tcp::endpoint endpoint;
  net::ip::address ip = net::ip::make_address(address, ec);
  if (!ec) {
    endpoint = tcp::endpoint(ip, s.options_.port);
  } else {
    // Not a literal address: a host name such as "localhost".
    tcp::resolver resolver(s.ioc_);
    auto results = resolver.resolve(address, std::to_string(s.options_.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) return failed(ec);
    if (results.empty()) return failed(net::error::host_not_found);
    endpoint = results.begin()->endpoint();
  }
  s.acceptor_.open(endpoint.protocol(), ec);
  if (ec) return failed(ec);
  s.acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return failed(ec);
  s.acceptor_.bind(endpoint, ec);
  if (ec) return failed(ec);
  s.acceptor_.listen(tcp::acceptor::max_listen_connections, ec);
  if (ec) return failed(ec);
  auto local = s.acceptor_.local_endpoint(ec);
  if (ec) return failed(ec);
  s.port_.store(local.port());
  log::info("http_listening", {{"address", local.address().to_string()}, {"port", std::to_string(local.port())}});
  return Ok{};
}

std::uint16_t Server::port() const { return impl_->port_.load(); }

std::size_t Server::in_flight() const { return impl_->in_flight_.load(); }

void Server::run() {
  Impl& s = *impl_;
  // Keeps run() serving even with no listener; shutdown() releases it.
  s.work_.emplace(s.ioc_.get_executor());
  if (s.acceptor_.is_open()) net::co_spawn(s.acceptor_strand_, s.accept_loop(), report_coroutine_exception);

  auto run_io = [&s] {
    for (;;) {
      try {
        s.ioc_.run();
        return;
      } catch (const std::exception& e) {
        // Only a bug gets here (every coroutine catches its own errors): keep serving.
        log::error("http_internal_error", {{"what", e.what()}});
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < s.options_.io_threads; ++i) threads.emplace_back(run_io);
  run_io();
  for (auto& t : threads) t.join();
  // Past the grace period: no I/O thread runs, so the sockets can be closed from here.
  for (auto& session : s.sessions()) {
    session->detach_stream();
    session->close_now();
  }
}

void Server::stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (s.stop_requested_.exchange(true, std::memory_order_acq_rel)) return;
  net::co_spawn(s.acceptor_strand_, s.shutdown(grace), report_coroutine_exception);
}

std::string choose_request_id(const std::string* client_id) {
  if (client_id && !client_id->empty() && client_id->size() <= 64) {
    bool valid = true;
    for (unsigned char c : *client_id) {
      bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (!alnum && c != '.' && c != '_' && c != '-') {
        valid = false;
        break;
      }
    }
    if (valid) return *client_id;
  }
  // One generator per thread: no lock on the request path. Ids need to be unique, not secret.
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    return std::mt19937_64((static_cast<std::uint64_t>(device()) << 32) ^ device());
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t value = rng();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kHex[value & 0xf];
    value >>= 4;
  }
  return id;
}

}  // namespace switchboard::http
