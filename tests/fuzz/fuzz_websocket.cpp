// libFuzzer: the HTTP server's WebSocket and server-sent-events paths (daemon/http/server.cpp,
// Beast underneath), reached the way a hostile client reaches them: bytes on a TCP connection to
// a server running in this process, whose route table holds a WebSocket echo route and an event
// stream (built as tests/unit/http/stream_test.cpp builds them).
//
// The first byte of an input says what the rest is (bits 0-1) and how it is sent (bits 2-7):
//   mode 0  WebSocket frames, sent once a valid upgrade to /ws has been answered 101;
//   mode 1  raw request bytes (malformed upgrades, bad or missing Sec-WebSocket-*, /events?hold);
//   mode 2  the body of a valid GET /events, which the route sends back as one event;
//   mode 3  raw request bytes up to the first blank line, then the rest once it is answered
//           (frames after a handshake of the fuzzer's own);
//   bit 2   end abruptly: RST once the server has been quiet for a moment, instead of FIN and
//           reading until the server closes;
//   bits 3-7  n > 0: write n bytes at a time (TCP_NODELAY), so frames straddle the server's reads.
// Seeds: tests/fuzz/seeds/websocket/.
//
// Checked besides ASan, UBSan and LSan: the server answers every valid upgrade (it never hangs nor
// stops accepting); what it sends after a 101 is well-formed server frames ("hello", then echoes);
// the stream callbacks keep HttpStream's contract (on_open first, one at a time, on_close once,
// on_message only text within max_message_bytes); an event stream carries each message's lines
// as data lines and no field of its own; every stream opened is closed once the server stops
// (checked at exit, so that report names no input: the run's corpus holds the culprit).
// A crash found while the server still works on an earlier input is reported against the later
// one: rerun the whole corpus, not just the artifact, if an artifact does not reproduce.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sanitizer/common_interface_defs.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "channels/http.hpp"
#include "channels/routes.hpp"
#include "daemon/http/server.hpp"

namespace {

using namespace switchboard;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Small limits, so that fuzz-sized inputs reach the refusals (1009, 413, 431).
constexpr std::size_t kMaxMessageBytes = 1024;
constexpr std::size_t kBodyLimit = 4096;
constexpr std::size_t kMaxHeaderBytes = 2048;
// A valid upgrade is answered in a millisecond or two, even under ASan on a busy machine: far
// longer than this is a hung server, and a finding.
constexpr auto kUpgradeDeadline = 3s;
// How long mode 3 waits for the answer to the fuzzer's request before sending the rest anyway
// (an incomplete request is never answered).
constexpr auto kAnswerWait = 50ms;
// After our FIN the server closes at once, except on an event stream that holds (?hold): it does
// not read, and only notices the client has gone at its next ping.
constexpr auto kEndDeadline = 300ms;
// The abrupt ending's "quiet for a moment".
constexpr auto kQuietTime = 5ms;
// What is kept of the server's output (the rest is read and dropped).
constexpr std::size_t kMaxKeptBytes = 1 << 20;

// RFC 6455 1.3's example: the key and the Sec-WebSocket-Accept it must be answered with.
constexpr std::string_view kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
constexpr std::string_view kAccept = "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

// A check may fail on a server thread while the fuzzer goes on (even runs the input again, for
// its leak check), so the first failure has the floor: a second one waits for the abort instead
// of interleaving its report or killing the process under libFuzzer's. The stack is printed here
// because libFuzzer's own report of a signal on another thread does not always get that far.
void check(bool ok, const char* what) {
  if (ok) return;
  static std::atomic<bool> failing{false};
  if (failing.exchange(true)) {
    for (;;) std::this_thread::sleep_for(1s);
  }
  std::fprintf(stderr, "fuzz_websocket: %s\n", what);
  __sanitizer_print_stack_trace();
  std::abort();
}

// Strict UTF-8 as RFC 3629 has it (no overlong forms, no surrogates, nothing past U+10FFFF): what
// a WebSocket endpoint must check text frames against (RFC 6455 8.1).
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t more = 0;
    std::uint32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) {
      more = 1, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      more = 2, cp = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      more = 3, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= more) return false;
    for (std::size_t k = 1; k <= more; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += more + 1;
  }
  return true;
}

// ---- The server's side: the routes and the callbacks' contract ----

// Streams opened and closed, compared once the server has stopped.
std::atomic<long> g_opened{0};
std::atomic<long> g_closed{0};

// One stream's callbacks' view. No lock: the server runs them one at a time (OneAtATime checks
// it), and the atomic orders what one callback left for the next, on another worker thread.
struct StreamState {
  std::atomic<bool> busy{false};
  std::shared_ptr<StreamSink> sink;
  bool opened = false;
  bool closed = false;
};

class OneAtATime {
 public:
  explicit OneAtATime(StreamState& state) : state_(state) {
    check(!state_.busy.exchange(true, std::memory_order_acq_rel), "two callbacks of one stream ran at once");
  }
  ~OneAtATime() { state_.busy.store(false, std::memory_order_release); }
  OneAtATime(const OneAtATime&) = delete;
  OneAtATime& operator=(const OneAtATime&) = delete;

 private:
  StreamState& state_;
};

void opened(StreamState& state, std::shared_ptr<StreamSink> sink) {
  check(!state.opened, "on_open ran twice");
  state.opened = true;
  state.sink = std::move(sink);
  g_opened.fetch_add(1);
}

void closed(StreamState& state) {
  const OneAtATime busy(state);
  check(state.opened && !state.closed, "on_close without on_open, or twice");
  state.closed = true;
  state.sink.reset();  // the sink is the server's: ours goes with the stream
  g_closed.fetch_add(1);
}

// The echo route of stream_test.cpp: "hello" on open, "echo: <m>" for each message, "bye" closes.
HttpResponse websocket_route(const HttpRequest&, const channels::PathParams&) {
  auto state = std::make_shared<StreamState>();
  auto stream = std::make_shared<HttpStream>();
  stream->kind = HttpStream::Kind::websocket;
  stream->max_queue = 8;
  stream->max_message_bytes = kMaxMessageBytes;
  stream->on_open = [state](std::shared_ptr<StreamSink> sink) {
    const OneAtATime busy(*state);
    opened(*state, std::move(sink));
    state->sink->send("hello");
  };
  stream->on_message = [state](const std::string& message) {
    const OneAtATime busy(*state);
    check(state->opened && !state->closed, "on_message before on_open or after on_close");
    check(message.size() <= kMaxMessageBytes, "on_message got a message over max_message_bytes");
    // HttpStream promises text frames, which Beast checks as UTF-8: anything else got through as
    // text (a binary frame, most likely) and would reach a handler that parses it as text.
    check(valid_utf8(message), "on_message got a message that is not UTF-8 text");
    if (message == "bye")
      state->sink->close();
    else
      state->sink->send("echo: " + message);
  };
  stream->on_close = [state] { closed(*state); };
  HttpResponse response;
  response.stream = std::move(stream);
  return response;
}

// An event stream: "hello", then the request's body (hostile bytes through the event framing),
// then the end; "?hold" keeps it open (its pings, and a client gone without the server knowing).
HttpResponse events_route(const HttpRequest& request, const channels::PathParams&) {
  auto state = std::make_shared<StreamState>();
  auto stream = std::make_shared<HttpStream>();
  stream->kind = HttpStream::Kind::events;
  stream->max_queue = 8;
  stream->ping_interval = 1s;
  stream->on_open = [state, body = request.body, hold = request.query == "hold"](std::shared_ptr<StreamSink> sink) {
    const OneAtATime busy(*state);
    opened(*state, std::move(sink));
    state->sink->send("hello");
    if (!body.empty()) state->sink->send(body);
    if (!hold) state->sink->close();
  };
  stream->on_message = [](const std::string&) { check(false, "on_message on an event stream"); };
  stream->on_close = [state] { closed(*state); };
  HttpResponse response;
  response.stream = std::move(stream);
  return response;
}

// One server for the whole run (a server per input would cost more than the input). Stopped at
// exit, so that LSan sees what a stopped server still holds and the streams are counted.
class Harness {
 public:
  Harness() {
    check(routes_.add("GET", "/ws", websocket_route, "fuzz").ok(), "cannot add /ws");
    check(routes_.add("GET", "/events", events_route, "fuzz").ok(), "cannot add /events");
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;  // sessions on two threads: their strands matter
    options.worker_threads = 2;
    // Every connection ends with our FIN or RST; these only bound what a bug would leave open.
    options.header_timeout = 1s;
    options.body_timeout = 1s;
    options.idle_timeout = 1s;
    options.max_header_bytes = kMaxHeaderBytes;
    options.default_body_limit = kBodyLimit;
    server_ = std::make_unique<http::Server>(options, [this](const HttpRequest& r) { return routes_.dispatch(r); });
    check(server_->listen().ok(), "the server cannot listen on 127.0.0.1");
    port_ = server_->port();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~Harness() {
    server_->stop(500ms);
    thread_.join();
    server_.reset();
    if (g_opened.load() != g_closed.load()) {
      std::fprintf(stderr, "fuzz_websocket: %ld streams opened, %ld closed once the server stopped\n", g_opened.load(),
                   g_closed.load());
      std::abort();
    }
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  channels::RouteTable routes_;  // before server_: its handler uses it until the server is gone
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

Harness& harness() {
  static Harness instance;
  return instance;
}

// ---- The client's side: one blocking socket per input, never waiting long ----

class Connection {
 public:
  explicit Connection(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A failed connect is retried for a while: ports in TIME_WAIT run out on a slow machine, and
    // a full backlog drops the SYN. Past that the server has stopped accepting.
    for (int attempt = 0;; ++attempt) {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      check(fd_ >= 0, "socket() failed");
      // SO_SNDTIMEO bounds connect() as well as send(); reads wait in poll(), SO_RCVTIMEO is a
      // backstop.
      const timeval timeout{0, 200 * 1000};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      const int one = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return;
      ::close(fd_);
      fd_ = -1;
      check(attempt < 100, "cannot connect to the server for 2 s: it stopped accepting");
      std::this_thread::sleep_for(20ms);
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Writes `bytes`, `chunk` at a time (0: at once). Stops quietly when the server has closed or
  // stopped reading: both are its right.
  void send(std::string_view bytes, std::size_t chunk) {
    if (chunk == 0) chunk = bytes.size();
    while (!bytes.empty()) {
      const std::size_t n = std::min(chunk, bytes.size());
      const ssize_t sent = ::send(fd_, bytes.data(), n, MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
  }

  // What the last read saw.
  enum class Got { data, end, reset, nothing };

  // Reads until `in` holds a response head (up to a blank line) or `limit` has passed. Returns
  // where the head ends in `in`, or npos (then last() says why).
  std::size_t read_head(std::string& in, Clock::duration limit) {
    const auto until = Clock::now() + limit;
    for (;;) {
      if (auto end = in.find("\r\n\r\n"); end != std::string::npos) return end + 4;
      if (read_some(in, until) != Got::data) return std::string::npos;
    }
  }
  Got last() const { return last_; }

  // Ends our side and reads what the server still sends. Returns true when it closed cleanly (its
  // FIN read: `in` then holds all it sent, if no more than kMaxKeptBytes).
  bool finish(std::string& in, bool abrupt) {
    if (abrupt) {
      // Read until the server is quiet for a moment, then reset: it may be reading or writing.
      const auto until = Clock::now() + kEndDeadline;
      while (Clock::now() < until && read_some(in, std::min(until, Clock::now() + kQuietTime)) == Got::data) {
      }
      const linger reset{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      return false;
    }
    ::shutdown(fd_, SHUT_WR);
    const auto until = Clock::now() + kEndDeadline;
    for (;;) {
      const Got got = read_some(in, until);
      if (got != Got::data) return got == Got::end;
    }
  }

 private:
  // One recv() of whatever is there by `until`.
  Got read_some(std::string& in, Clock::time_point until) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
      if (ready > 0) break;
      // libFuzzer's -timeout is a SIGALRM every few seconds, which interrupts poll(): that is no
      // verdict on the server (taking it for one reported a hang that was not).
      if (ready < 0 && errno == EINTR && Clock::now() < until) continue;
      return last_ = Got::nothing;
    }
    char buf[16 * 1024];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      // Woken for nothing: try again, until `until`.
      if (errno == EAGAIN || errno == EINTR) return last_ = Clock::now() < until ? Got::data : Got::nothing;
      return last_ = Got::reset;
    }
    if (in.size() < kMaxKeptBytes) in.append(buf, static_cast<std::size_t>(n));
    return last_ = n == 0 ? Got::end : Got::data;
  }

  int fd_ = -1;
  Got last_ = Got::nothing;
};

// ---- Oracles on what the server sent ----

std::uint64_t big_endian(std::string_view bytes) {
  std::uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// RFC 6455 7.4: 1005, 1006 and 1015 are never sent, 1004 and 1016-2999 are reserved, 0-999
// unused. Codes from 5000 on are undefined rather than forbidden: Beast accepts a client's and
// echoes it in its answer, so they pass.
bool valid_close_code(std::uint64_t code) {
  return code >= 1000 && !(code >= 1004 && code <= 1006) && !(code >= 1015 && code <= 2999);
}

// The server's frames after its 101 (RFC 6455 5.2): unmasked, no RSV bit (no extension is
// negotiated), minimal lengths, known opcodes, control frames short and whole, messages that are
// UTF-8 text ("hello" first, then echoes), a valid close code, nothing after the close frame. A
// truncated last frame is fine: the connection may end in the middle of one (a reset, a slow
// reader dropped).
void check_server_frames(std::string_view in) {
  bool close_seen = false, first = true, in_message = false;
  std::string message;
  auto message_done = [&] {
    check(valid_utf8(message), "the server sent a text message that is not UTF-8");
    if (first)
      check(message == "hello", "the server's first message is not on_open's \"hello\"");
    else
      check(message.rfind("echo: ", 0) == 0, "the server sent a message that is not an echo");
    first = false;
    in_message = false;
  };
  for (std::size_t at = 0;;) {
    if (in.size() - at < 2) return;
    const auto b0 = static_cast<unsigned char>(in[at]), b1 = static_cast<unsigned char>(in[at + 1]);
    check(!close_seen, "the server sent a frame after its close frame");
    check((b0 & 0x70) == 0, "the server set an RSV bit");
    check((b1 & 0x80) == 0, "the server masked a frame");
    const bool fin = (b0 & 0x80) != 0;
    const unsigned opcode = b0 & 0x0f;
    std::uint64_t length = b1 & 0x7f;
    std::size_t header = 2;
    if (length == 126) {
      if (in.size() - at < 4) return;
      length = big_endian(in.substr(at + 2, 2));
      header = 4;
      check(length >= 126, "the server sent a length in more bytes than needed");
    } else if (length == 127) {
      if (in.size() - at < 10) return;
      length = big_endian(in.substr(at + 2, 8));
      header = 10;
      check(length > 0xffff && length >> 63 == 0, "the server sent a non-minimal or negative 64-bit length");
    }
    if (in.size() - at - header < length) return;
    const std::string_view payload = in.substr(at + header, static_cast<std::size_t>(length));
    at += header + static_cast<std::size_t>(length);
    switch (opcode) {
      case 0x8:  // close
        check(fin && length <= 125 && length != 1, "the server sent a malformed close frame");
        if (length >= 2) {
          check(valid_close_code(big_endian(payload.substr(0, 2))), "the server sent an invalid close code");
          check(valid_utf8(payload.substr(2)), "the server sent a close reason that is not UTF-8");
        }
        close_seen = true;
        break;
      case 0x9:  // ping
      case 0xa:  // pong
        check(fin && length <= 125, "the server sent a fragmented or long control frame");
        break;
      case 0x1:  // text
        check(!in_message, "the server began a message inside another");
        message.assign(payload);
        in_message = true;
        if (fin) message_done();
        break;
      case 0x0:  // continuation
        check(in_message, "the server sent a continuation outside a message");
        message.append(payload);
        if (fin) message_done();
        break;
      default:  // binary (the routes send text only) or reserved
        check(false, "the server sent a binary frame or a reserved opcode");
    }
  }
}

// An event stream as a client reads it (the HTML standard's parsing): lines end at CR LF, CR or
// LF; "data:" lines (one space after the colon dropped) are joined by LF; comments start with
// ':'; a blank line dispatches. Any other line is a field the data smuggled in.
std::vector<std::string> parse_events(std::string_view body) {
  std::vector<std::string> events;
  std::string data;
  bool has_data = false;
  std::size_t at = 0;
  for (;;) {
    const auto end = body.find_first_of("\r\n", at);
    // The stream ends with a blank line: no line, and no event, may be left unfinished.
    if (end == std::string_view::npos) {
      check(at == body.size() && !has_data, "the event stream ends in the middle of an event");
      return events;
    }
    const std::string_view line = body.substr(at, end - at);
    at = end + (body[end] == '\r' && end + 1 < body.size() && body[end + 1] == '\n' ? 2 : 1);
    if (line.empty()) {
      if (has_data) events.push_back(data.substr(0, data.size() - 1));  // the last LF dropped
      data.clear();
      has_data = false;
    } else if (line.front() == ':') {
      // a comment (": ping")
    } else {
      check(line.rfind("data:", 0) == 0, "an event carries a field other than data");
      std::string_view value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      data.append(value).push_back('\n');
      has_data = true;
    }
  }
}

// The message as the client must see it: its line ends made LF.
std::string normalized_lines(std::string_view message) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < message.size() && message[i + 1] == '\n') ++i;
    } else {
      out.push_back(message[i]);
    }
  }
  return out;
}

void check_event_stream(std::string_view in, std::string_view body) {
  if (body.size() > kBodyLimit) {
    check(in.rfind("HTTP/1.1 413 ", 0) == 0, "a body over the limit was not answered 413");
    return;
  }
  check(in.rfind("HTTP/1.1 200 OK\r\n", 0) == 0, "GET /events was not answered 200");
  const auto head_end = in.find("\r\n\r\n");
  check(head_end != std::string_view::npos, "the event stream's head does not end");
  const std::string_view head = in.substr(0, head_end + 2);
  check(head.find("\r\nContent-Type: text/event-stream\r\n") != std::string_view::npos,
        "the event stream is not text/event-stream");
  check(head.find("Content-Length") == std::string_view::npos, "the event stream has a Content-Length");
  const auto events = parse_events(in.substr(head_end + 4));
  std::vector<std::string> expected{"hello"};
  if (!body.empty()) expected.push_back(normalized_lines(body));
  check(events == expected, "the client does not read back the messages sent as events");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  harness();  // started before the first input, so that the first input's time is its own
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned selector = data[0];
  const unsigned mode = selector & 0x3u;
  const bool abrupt = (selector & 0x4u) != 0;
  const std::size_t chunk = selector >> 3;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  Connection connection(harness().port());
  std::string in;
  switch (mode) {
    case 0: {
      connection.send(kUpgrade, 0);
      const std::size_t head_end = connection.read_head(in, kUpgradeDeadline);
      check(head_end != std::string::npos || connection.last() != Connection::Got::nothing,
            "a valid upgrade got no answer within 3 s: the server hangs");
      check(head_end != std::string::npos, "the server closed a valid upgrade's connection without answering it");
      check(in.rfind("HTTP/1.1 101 ", 0) == 0, "a valid upgrade was not answered 101");
      check(in.substr(0, head_end).find(kAccept) != std::string::npos, "the 101 has a wrong Sec-WebSocket-Accept");
      connection.send(bytes, chunk);
      break;
    }
    case 1:
      connection.send(bytes, chunk);
      break;
    case 2: {
      std::string request =
          "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(bytes.size()) + "\r\n\r\n";
      request.append(bytes);
      connection.send(request, chunk);
      break;
    }
    case 3: {
      // Frames sent before the answer would be discarded (RFC 6455 4.1: a client waits for it).
      const auto blank = bytes.find("\r\n\r\n");
      const std::size_t split = blank == std::string_view::npos ? bytes.size() : blank + 4;
      connection.send(bytes.substr(0, split), chunk);
      (void)connection.read_head(in, kAnswerWait);
      connection.send(bytes.substr(split), chunk);
      break;
    }
  }
  const bool clean_end = connection.finish(in, abrupt);

  // Whatever the request, the server answers in HTTP first (a 101 included).
  if (!in.empty()) check(in.rfind("HTTP/1.", 0) == 0, "the server's answer does not start with a status line");
  if (in.rfind("HTTP/1.1 101 ", 0) == 0) {
    if (const auto blank = in.find("\r\n\r\n"); blank != std::string::npos)
      check_server_frames(std::string_view(in).substr(blank + 4));
  }
  if (mode == 2 && clean_end && in.size() < kMaxKeptBytes) check_event_stream(in, bytes);
  return 0;
}
