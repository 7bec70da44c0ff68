// Streams on the HTTP server (channels/http.hpp HttpStream): a WebSocket echo route (in the tests
// only), server-sent events, a request that does not ask to upgrade, a slow reader dropped with
// its queue bounded, and stop() closing open streams.
#include <catch2/catch.hpp>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http/server.hpp"

using namespace switchboard;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

namespace {

class Running {
 public:
  explicit Running(http::Handler handler) {
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<http::Server>(options, std::move(handler));
    REQUIRE(server_->listen().ok());
    thread_ = std::thread([this] { server_->run(); });
  }
  ~Running() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    server_->stop(2000ms);
    thread_.join();
  }
  std::string port() const { return std::to_string(server_->port()); }

 private:
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// What the stream callbacks saw, from the worker threads.
struct Seen {
  std::mutex mu;
  std::vector<std::string> messages;
  std::shared_ptr<StreamSink> sink;
  std::atomic<int> closed{0};
};

// The echo route: "hello" on open, "echo: <m>" for each message, "bye" closes.
HttpResponse echo_route(Seen& seen, HttpStream::Kind kind = HttpStream::Kind::websocket) {
  auto stream = std::make_shared<HttpStream>();
  stream->kind = kind;
  stream->max_queue = 8;
  stream->max_message_bytes = 1024;
  stream->on_open = [&seen](std::shared_ptr<StreamSink> sink) {
    std::lock_guard lock(seen.mu);
    seen.sink = sink;
    sink->send("hello");
  };
  stream->on_message = [&seen](const std::string& m) {
    std::shared_ptr<StreamSink> sink;
    {
      std::lock_guard lock(seen.mu);
      seen.messages.push_back(m);
      sink = seen.sink;
    }
    if (m == "bye")
      sink->close();
    else
      sink->send("echo: " + m);
  };
  stream->on_close = [&seen] { ++seen.closed; };
  HttpResponse r;
  r.stream = stream;
  return r;
}

void open_websocket(websocket::stream<tcp::socket>& ws, const std::string& port) {
  tcp::resolver resolver(ws.get_executor());
  net::connect(ws.next_layer(), resolver.resolve("127.0.0.1", port));
  ws.handshake("127.0.0.1", "/ws");
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  return done();
}

}  // namespace

TEST_CASE("stream: a WebSocket route echoes text frames and closes on request", "[http][stream]") {
  Seen seen;
  Running server([&](const HttpRequest&) { return echo_route(seen); });
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  open_websocket(ws, server.port());
  beast::flat_buffer buffer;
  ws.read(buffer);
  CHECK(beast::buffers_to_string(buffer.data()) == "hello");
  for (const std::string& m : std::vector<std::string>{"Dzień dobry", "zażółć gęślą jaźń", std::string(1000, 'x')}) {
    ws.write(net::buffer(m));
    buffer.clear();
    ws.read(buffer);
    CHECK(beast::buffers_to_string(buffer.data()) == "echo: " + m);
  }
  ws.write(net::buffer(std::string("bye")));
  buffer.clear();
  beast::error_code ec;
  ws.read(buffer, ec);
  CHECK(ec == websocket::error::closed);
  CHECK(ws.reason().code == websocket::close_code::normal);
  CHECK(eventually([&] { return seen.closed == 1; }));
}

TEST_CASE("stream: an oversized frame closes the socket (1009), the stream ends once", "[http][stream]") {
  Seen seen;
  Running server([&](const HttpRequest&) { return echo_route(seen); });
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  open_websocket(ws, server.port());
  beast::flat_buffer buffer;
  ws.read(buffer);
  ws.write(net::buffer(std::string(1025, 'y')));
  beast::error_code ec;
  for (int i = 0; i < 3 && !ec; ++i) {
    buffer.clear();
    ws.read(buffer, ec);
  }
  CHECK(ec);
  CHECK(eventually([&] { return seen.closed == 1; }));
  std::lock_guard lock(seen.mu);
  CHECK(seen.messages.empty());
}

TEST_CASE("stream: a plain request to a WebSocket route gets 426", "[http][stream]") {
  Seen seen;
  Running server([&](const HttpRequest&) { return echo_route(seen); });
  net::io_context ioc;
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  net::connect(socket, resolver.resolve("127.0.0.1", server.port()));
  const std::string request = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
  net::write(socket, net::buffer(request));
  net::streambuf in;
  beast::error_code ec;
  net::read(socket, in, ec);  // until the server closes
  const std::string answer = beast::buffers_to_string(in.data());
  CHECK(answer.rfind("HTTP/1.1 426 ", 0) == 0);
  CHECK(answer.find("Upgrade: websocket") != std::string::npos);
  CHECK(seen.closed == 0);
}

TEST_CASE("stream: server-sent events, one data line per line, until the client leaves", "[http][stream]") {
  Seen seen;
  Running server([&](const HttpRequest&) { return echo_route(seen, HttpStream::Kind::events); });
  net::io_context ioc;
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  net::connect(socket, resolver.resolve("127.0.0.1", server.port()));
  net::write(socket, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  net::streambuf in;
  net::read_until(socket, in, "data: hello\n\n");
  std::string got = beast::buffers_to_string(in.data());
  CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(got.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(got.find("Content-Length") == std::string::npos);
  REQUIRE(eventually([&] {
    std::lock_guard lock(seen.mu);
    return seen.sink != nullptr;
  }));
  {
    std::lock_guard lock(seen.mu);
    CHECK(seen.sink->send("line one\nline two"));
  }
  in.consume(in.size());
  net::read_until(socket, in, "\n\n");
  CHECK(beast::buffers_to_string(in.data()) == "data: line one\ndata: line two\n\n");
  // A CR alone ends a line for the client too: a message cannot smuggle in a field.
  {
    std::lock_guard lock(seen.mu);
    CHECK(seen.sink->send("a\rid: 7\r\nevent: x"));
  }
  in.consume(in.size());
  net::read_until(socket, in, "\n\n");
  CHECK(beast::buffers_to_string(in.data()) == "data: a\ndata: id: 7\ndata: event: x\n\n");
  {
    std::lock_guard lock(seen.mu);
    seen.sink->close();
  }
  beast::error_code ec;
  net::read(socket, in, ec);
  CHECK(ec == net::error::eof);
  CHECK(eventually([&] { return seen.closed == 1; }));
}

TEST_CASE("stream: a peer that does not read is dropped; its queue never grows past the bound", "[http][stream]") {
  Seen seen;
  Running server([&](const HttpRequest&) { return echo_route(seen); });
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  open_websocket(ws, server.port());
  REQUIRE(eventually([&] {
    std::lock_guard lock(seen.mu);
    return seen.sink != nullptr;
  }));
  std::shared_ptr<StreamSink> sink;
  {
    std::lock_guard lock(seen.mu);
    sink = seen.sink;
  }
  // 64 KiB messages while the client reads nothing: the socket buffers fill, then the queue (8).
  const std::string big(64 * 1024, 'z');
  int accepted = 0;
  for (int i = 0; i < 10000 && sink->send(big); ++i) ++accepted;
  CHECK(accepted < 10000);
  CHECK_FALSE(sink->send("after"));  // ended for good
  CHECK(eventually([&] { return seen.closed == 1; }));
}

TEST_CASE("stream: stop() closes open streams and returns", "[http][stream]") {
  Seen seen;
  auto server = std::make_unique<Running>([&](const HttpRequest&) { return echo_route(seen); });
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  open_websocket(ws, server->port());
  beast::flat_buffer buffer;
  ws.read(buffer);
  server->stop();
  // Closed by stop(), not left to the end of the grace (then the I/O would just stop, and
  // on_close would never run).
  CHECK(seen.closed == 1);
  beast::error_code ec;
  buffer.clear();
  ws.read(buffer, ec);
  CHECK(ec);
}

TEST_CASE("stream: stop() ends an event stream waiting for its next message", "[http][stream]") {
  Seen seen;
  auto server = std::make_unique<Running>(
      [&](const HttpRequest&) { return echo_route(seen, HttpStream::Kind::events); });
  net::io_context ioc;
  tcp::socket socket(ioc);
  tcp::resolver resolver(ioc);
  net::connect(socket, resolver.resolve("127.0.0.1", server->port()));
  net::write(socket, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
  net::streambuf in;
  net::read_until(socket, in, "data: hello\n\n");
  server->stop();  // the writer waits 20 s for a ping otherwise, past the 2 s grace
  CHECK(seen.closed == 1);
  beast::error_code ec;
  net::read(socket, in, ec);
  CHECK(ec);
}

TEST_CASE("stream: a burst past max_queue reaches a peer that reads", "[http][stream]") {
  for (const auto kind : {HttpStream::Kind::websocket, HttpStream::Kind::events}) {
    Seen seen;
    Running server([&](const HttpRequest&) { return echo_route(seen, kind); });
    net::io_context ioc;
    tcp::socket raw(ioc);
    websocket::stream<tcp::socket> ws(ioc);
    if (kind == HttpStream::Kind::websocket) {
      open_websocket(ws, server.port());
    } else {
      tcp::resolver resolver(ioc);
      net::connect(raw, resolver.resolve("127.0.0.1", server.port()));
      const std::string request = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
      net::write(raw, net::buffer(request));
    }
    REQUIRE(eventually([&] {
      std::lock_guard lock(seen.mu);
      return seen.sink != nullptr;
    }));
    std::shared_ptr<StreamSink> sink;
    {
      std::lock_guard lock(seen.mu);
      sink = seen.sink;
    }
    // 100 messages at once on a queue of 8 (the event bus fanning out a burst of notifications):
    // the writer is not stuck, so none is refused and all arrive in order.
    for (int i = 0; i < 100; ++i) REQUIRE(sink->send("m" + std::to_string(i)));
    sink->close();
    std::string received;
    if (kind == HttpStream::Kind::websocket) {
      beast::flat_buffer buffer;
      beast::error_code ec;
      while (!ec) {
        buffer.clear();
        ws.read(buffer, ec);
        if (!ec) received += beast::buffers_to_string(buffer.data()) + ",";
      }
    } else {
      beast::error_code ec;
      std::array<char, 4096> chunk{};
      for (;;) {
        const std::size_t n = raw.read_some(net::buffer(chunk), ec);
        if (ec) break;
        received.append(chunk.data(), n);
      }
    }
    INFO(received.substr(0, 300));
    CHECK(received.find("m0") != std::string::npos);
    CHECK(received.find("m99") != std::string::npos);
    CHECK(received.find("m98") < received.find("m99"));
    CHECK(eventually([&] { return seen.closed == 1; }));
  }
}

TEST_CASE("stream: a binary frame is refused with 1003, never handed over as text", "[http][stream]") {
  Seen seen;
  Running server([&](const HttpRequest&) { return echo_route(seen); });
  net::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  open_websocket(ws, server.port());
  beast::flat_buffer buffer;
  ws.read(buffer);  // "hello"
  ws.binary(true);
  const std::string bytes("\xff\xfe\x00bin", 6);
  ws.write(net::buffer(bytes));
  beast::error_code ec;
  buffer.clear();
  ws.read(buffer, ec);
  CHECK(ec == websocket::error::closed);
  CHECK(ws.reason().code == websocket::close_code::unknown_data);
  CHECK(eventually([&] { return seen.closed == 1; }));
  std::lock_guard lock(seen.mu);
  CHECK(seen.messages.empty());
}
