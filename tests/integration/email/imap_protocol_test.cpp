// ImapClient against a scripted server, for what a well-behaved Dovecot never sends: literals in
// odd places, unsolicited responses in the middle of commands, BYE, garbage, silence, a lying
// RFC822.SIZE, a STARTTLS injection, a server without MOVE/UIDPLUS. Plus modified UTF-7 vectors.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "channels/email/imap_client.hpp"

using namespace switchboard;
using namespace switchboard::channels::email;

namespace {

// One exchange: wait for the client's line `expect` (its tag stripped; empty: send at once),
// then send `reply` with every "{tag}" replaced by that tag, after `delay`.
struct Step {
  std::string expect;
  std::string reply;
  std::chrono::milliseconds delay{0};
};

// A one-connection IMAP server on loopback that plays a script and records what the client sent.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<Step> steps) : steps_(std::move(steps)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::uint16_t port() const { return static_cast<std::uint16_t>(port_); }
  std::vector<std::string> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::string failure() const {
    std::lock_guard lock(mu_);
    return failure_;
  }
  bool received_line_starting(const std::string& prefix) const {
    for (const auto& line : received()) {
      const auto sp = line.find(' ');
      const std::string command = sp == std::string::npos ? line : line.substr(sp + 1);
      if (command.rfind(prefix, 0) == 0) return true;
    }
    return false;
  }

 private:
  bool wait_readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    for (int waited = 0; waited < ms && !stop_; waited += 50)
      if (::poll(&p, 1, 50) > 0) return true;
    return false;
  }

  // One CRLF-terminated line from the client; false at EOF or timeout.
  bool read_line(int fd, std::string& buffer, std::string& line) {
    for (;;) {
      const auto crlf = buffer.find("\r\n");
      if (crlf != std::string::npos) {
        line = buffer.substr(0, crlf);
        buffer.erase(0, crlf + 2);
        std::lock_guard lock(mu_);
        received_.push_back(line);
        return true;
      }
      if (!wait_readable(fd, 5000)) return false;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      buffer.append(buf, static_cast<std::size_t>(n));
    }
  }

  void fail(const std::string& why) {
    std::lock_guard lock(mu_);
    if (failure_.empty()) failure_ = why;
  }

  void serve() {
    if (!wait_readable(listener_, 10000)) return;
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    std::string buffer, line, tag;
    for (const auto& step : steps_) {
      if (!step.expect.empty()) {
        if (!read_line(fd, buffer, line)) {
          fail("the client stopped before '" + step.expect + "'");
          break;
        }
        // An untagged line (DONE, a SASL response, literal bytes) must match whole; otherwise
        // the first word is the tag.
        const auto sp = line.find(' ');
        std::string command = line;
        if (line != step.expect && sp != std::string::npos) {
          tag = line.substr(0, sp);
          command = line.substr(sp + 1);
        }
        if (command != step.expect) {
          fail("expected '" + step.expect + "', got '" + line + "'");
          break;
        }
      }
      if (step.delay.count() > 0) std::this_thread::sleep_for(step.delay);
      std::string reply = step.reply;
      for (auto at = reply.find("{tag}"); at != std::string::npos; at = reply.find("{tag}", at + tag.size()))
        reply.replace(at, 5, tag);
      if (!reply.empty()) ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    }
    // Record whatever else the client says until it hangs up (or the test ends).
    while (read_line(fd, buffer, line)) {
    }
    ::close(fd);
  }

  std::vector<Step> steps_;
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> received_;
  std::string failure_;
};

constexpr const char* kGreeting = "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n";
constexpr const char* kCaps = "IMAP4rev1 IDLE UIDPLUS MOVE LITERAL+";

ImapOptions options(const ScriptedServer& server, std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
  ImapOptions o;
  o.host = "127.0.0.1";
  o.port = server.port();
  o.security = ImapSecurity::none;
  o.user = "support";
  o.password = "s3cret-pass";
  o.timeout = timeout;
  return o;
}

// Greeting and AUTHENTICATE PLAIN for support / s3cret-pass, then SELECT INBOX.
std::vector<Step> logged_in_and_selected(const std::string& caps = kCaps) {
  return {
      {"", kGreeting},
      {"AUTHENTICATE PLAIN", "+ \r\n"},
      {"AHN1cHBvcnQAczNjcmV0LXBhc3M=", "{tag} OK [CAPABILITY " + caps + "] Logged in\r\n"},
      {"SELECT \"INBOX\"",
       "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 2 EXISTS\r\n* 0 RECENT\r\n"
       "* OK [UIDVALIDITY 1700000000] UIDs valid\r\n* OK [UIDNEXT 8] Predicted next UID\r\n"
       "{tag} OK [READ-WRITE] Select completed.\r\n"},
  };
}

const Step kLogout{"LOGOUT", "* BYE Logging out\r\n{tag} OK Logout completed.\r\n"};

std::vector<Step> with(std::vector<Step> steps, const std::vector<Step>& more) {
  steps.insert(steps.end(), more.begin(), more.end());
  return steps;
}

void require_ok(const Status& s) {
  INFO((s ? std::string() : s.error().code + ": " + s.error().message));
  REQUIRE(s.ok());
}

}  // namespace

TEST_CASE("imap script: literals anywhere and unsolicited responses in between", "[email][imap][script]") {
  // The body contains NUL, CR LF, ')' and a line that looks like our tagged answer: only the
  // literal's byte count tells where it ends.
  static const char kBody[] = "Subject: x\r\n\r\nA\0B\r\n)\r\nsb4 OK fake\r\n* 9 EXISTS\r\n";
  const std::string body(kBody, sizeof kBody - 1);
  const std::string size = std::to_string(body.size());
  ScriptedServer server(with(logged_in_and_selected(),
                             {
                                 {"UID FETCH 7 (UID RFC822.SIZE)",
                                  "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (UID 7 RFC822.SIZE " + size +
                                      ")\r\n{tag} OK Fetch completed.\r\n"},
                                 {"UID FETCH 7 (UID RFC822.SIZE BODY.PEEK[])",
                                  "* 1 EXPUNGE\r\n* 1 FETCH (BODY[] {" + size + "}\r\n" + body +
                                      " UID 7 FLAGS (\\Recent) RFC822.SIZE " + size +
                                      ")\r\n* OK [ALERT] \"quoted \\\" text\"\r\n* STATUS {5}\r\nINBOX (MESSAGES 2)\r\n"
                                      "{tag} OK Fetch completed.\r\n"},
                             }));
  ImapClient client(options(server));
  require_ok(client.connect());
  CHECK(client.has_capability("MOVE"));
  REQUIRE(client.select("INBOX").ok());
  auto m = client.fetch(7, 1000);
  INFO(server.failure());
  REQUIRE(m.ok());
  CHECK(m->uid == 7);
  CHECK(m->raw == body);
  CHECK(m->size == body.size());
}

TEST_CASE("imap script: the size is checked before the body is asked for", "[email][imap][script]") {
  ScriptedServer server(with(logged_in_and_selected(),
                             {
                                 {"UID FETCH 3 (UID RFC822.SIZE)",
                                  "* 1 FETCH (UID 3 RFC822.SIZE 50000000)\r\n{tag} OK Fetch completed.\r\n"},
                                 kLogout,
                             }));
  ImapClient client(options(server));
  require_ok(client.connect());
  REQUIRE(client.select("INBOX").ok());
  auto m = client.fetch(3, 10 * 1024 * 1024);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().kind == ErrorKind::too_large);
  CHECK(m.error().code == "message_too_large");
  client.logout();
  CHECK_FALSE(server.received_line_starting("UID FETCH 3 (UID RFC822.SIZE BODY.PEEK[])"));
}

TEST_CASE("imap script: a body larger than announced is cut off, not buffered", "[email][imap][script]") {
  ScriptedServer server(with(logged_in_and_selected(),
                             {
                                 {"UID FETCH 3 (UID RFC822.SIZE)", "* 1 FETCH (UID 3 RFC822.SIZE 10)\r\n{tag} OK done\r\n"},
                                 {"UID FETCH 3 (UID RFC822.SIZE BODY.PEEK[])", "* 1 FETCH (UID 3 BODY[] {900000000}\r\nxx"},
                             }));
  ImapClient client(options(server));
  require_ok(client.connect());
  REQUIRE(client.select("INBOX").ok());
  auto m = client.fetch(3, 1000);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().kind == ErrorKind::too_large);
  CHECK(m.error().code == "message_too_large");
  // The stream is out of step: the connection was dropped.
  auto again = client.uids_after(0);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::unavailable);
}

TEST_CASE("imap script: UID SEARCH n:* is filtered; sizes ignore unsolicited FETCH", "[email][imap][script]") {
  ScriptedServer server(with(logged_in_and_selected(),
                             {
                                 {"UID SEARCH UID 8:*", "* SEARCH 7\r\n{tag} OK Search completed.\r\n"},
                                 {"UID SEARCH UID 3:*", "* SEARCH 9 4 (MODSEQ 12)\r\n* 3 EXISTS\r\n{tag} OK done\r\n"},
                                 {"UID FETCH 4:5,9 (UID RFC822.SIZE)",
                                  "* 1 FETCH (UID 4 RFC822.SIZE 100)\r\n* 2 FETCH (FLAGS (\\Deleted))\r\n"
                                  "* 3 FETCH (RFC822.SIZE 300 UID 9)\r\n* 4 FETCH (UID 77 RFC822.SIZE 1)\r\n{tag} OK done\r\n"},
                             }));
  ImapClient client(options(server));
  require_ok(client.connect());
  REQUIRE(client.select("INBOX").ok());
  auto none = client.uids_after(7);
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto some = client.uids_after(2);
  REQUIRE(some.ok());
  CHECK(*some == std::vector<std::uint32_t>{4, 9});
  auto sizes = client.sizes({9, 5, 4, 4});
  INFO(server.failure());
  REQUIRE(sizes.ok());
  REQUIRE(sizes->size() == 2);
  CHECK((*sizes)[0] == std::pair<std::uint32_t, std::uint64_t>{4, 100});
  CHECK((*sizes)[1] == std::pair<std::uint32_t, std::uint64_t>{9, 300});
}

TEST_CASE("imap script: move without MOVE: COPY, STORE \\Deleted, UID EXPUNGE or EXPUNGE", "[email][imap][script]") {
  SECTION("with UIDPLUS") {
    ScriptedServer server(with(logged_in_and_selected("IMAP4rev1 UIDPLUS"),
                               {
                                   {"UID COPY 5 \"Processed\"", "{tag} OK [COPYUID 1 5 1] Copy completed.\r\n"},
                                   {"UID STORE 5 +FLAGS.SILENT (\\Deleted)", "{tag} OK Store completed.\r\n"},
                                   {"UID EXPUNGE 5", "* 1 EXPUNGE\r\n{tag} OK Expunge completed.\r\n"},
                               }));
    ImapClient client(options(server));
    require_ok(client.connect());
    CHECK_FALSE(client.has_capability("MOVE"));
    REQUIRE(client.select("INBOX").ok());
    auto s = client.move(5, "Processed");
    INFO(server.failure());
    require_ok(s);
  }
  SECTION("without UIDPLUS") {
    ScriptedServer server(with(logged_in_and_selected("IMAP4rev1"),
                               {
                                   {"UID COPY 5 \"Processed\"", "{tag} OK Copy completed.\r\n"},
                                   {"UID STORE 5 +FLAGS.SILENT (\\Deleted)", "{tag} OK Store completed.\r\n"},
                                   {"EXPUNGE", "* 1 EXPUNGE\r\n{tag} OK Expunge completed.\r\n"},
                               }));
    ImapClient client(options(server));
    require_ok(client.connect());
    REQUIRE(client.select("INBOX").ok());
    auto s = client.move(5, "Processed");
    INFO(server.failure());
    require_ok(s);
  }
  SECTION("COPY to a missing folder") {
    ScriptedServer server(with(logged_in_and_selected("IMAP4rev1"),
                               {
                                   {"UID COPY 5 \"Processed\"", "{tag} NO [TRYCREATE] Mailbox doesn't exist: Processed\r\n"},
                                   kLogout,
                               }));
    ImapClient client(options(server));
    require_ok(client.connect());
    REQUIRE(client.select("INBOX").ok());
    auto s = client.move(5, "Processed");
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::not_found);
    CHECK(s.error().message.find("Mailbox doesn't exist") != std::string::npos);
    client.logout();
    CHECK_FALSE(server.received_line_starting("UID STORE"));
  }
}

TEST_CASE("imap script: IDLE", "[email][imap][script]") {
  SECTION("an EXISTS during IDLE wakes it; DONE ends it") {
    ScriptedServer server(with(logged_in_and_selected(),
                               {
                                   {"IDLE", "+ idling\r\n"},
                                   {"", "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 EXPUNGE\r\n", std::chrono::milliseconds{100}},
                                   {"", "* 2 EXISTS\r\n", std::chrono::milliseconds{100}},
                                   {"DONE", "{tag} OK Idle completed.\r\n"},
                               }));
    ImapClient client(options(server));
    require_ok(client.connect());
    REQUIRE(client.select("INBOX").ok());
    const auto t0 = std::chrono::steady_clock::now();
    auto woke = client.idle(std::chrono::seconds{10});
    INFO(server.failure());
    REQUIRE(woke.ok());
    CHECK(*woke);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds{5});
  }
  SECTION("new mail reported by an earlier command: true without IDLE") {
    ScriptedServer server(with(logged_in_and_selected(),
                               {
                                   {"UID STORE 1 +FLAGS.SILENT (\\Seen)", "* 3 EXISTS\r\n{tag} OK Store completed.\r\n"},
                                   kLogout,
                               }));
    ImapClient client(options(server));
    require_ok(client.connect());
    REQUIRE(client.select("INBOX").ok());
    require_ok(client.mark_seen(1));
    auto woke = client.idle(std::chrono::seconds{10});
    REQUIRE(woke.ok());
    CHECK(*woke);
    client.logout();
    CHECK_FALSE(server.received_line_starting("IDLE"));
  }
  SECTION("without the IDLE capability") {
    ScriptedServer server(logged_in_and_selected("IMAP4rev1"));
    ImapClient client(options(server));
    require_ok(client.connect());
    REQUIRE(client.select("INBOX").ok());
    auto r = client.idle(std::chrono::seconds{1});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "imap_idle_unsupported");
  }
}

TEST_CASE("imap script: BYE, garbage and silence", "[email][imap][script]") {
  SECTION("BYE in the middle of a command") {
    ScriptedServer server(with(logged_in_and_selected(),
                               {{"UID SEARCH UID 1:*", "* BYE Server shutting down.\r\n"}}));
    ImapClient client(options(server));
    require_ok(client.connect());
    REQUIRE(client.select("INBOX").ok());
    // The scripted server hangs up only when the test ends: the client must not wait for it.
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client.uids_after(0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::unavailable);
    CHECK(r.error().code == "imap_bye");
    CHECK(r.error().message.find("Server shutting down") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds{2});
  }
  SECTION("BYE instead of a greeting") {
    ScriptedServer server(std::vector<Step>{{"", "* BYE Too many connections\r\n"}});
    ImapClient client(options(server));
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::unavailable);
    CHECK(s.error().message.find("Too many connections") != std::string::npos);
  }
  SECTION("a greeting that is not IMAP") {
    ScriptedServer server(std::vector<Step>{{"", "220 smtp.example.com ESMTP\r\n"}});
    ImapClient client(options(server));
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::invalid);
    CHECK(s.error().code == "imap_protocol_error");
  }
  SECTION("no greeting at all: a timeout") {
    ScriptedServer server(std::vector<Step>{});
    ImapClient client(options(server, std::chrono::milliseconds{300}));
    const auto t0 = std::chrono::steady_clock::now();
    auto s = client.connect();
    const auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::unavailable);
    CHECK(s.error().code == "imap_timeout");
    CHECK(took >= std::chrono::milliseconds{250});
    CHECK(took < std::chrono::seconds{3});
  }
}

TEST_CASE("imap script: login", "[email][imap][script]") {
  SECTION("NO to AUTHENTICATE: the server's text, never the password") {
    ScriptedServer server({
        {"", kGreeting},
        {"AUTHENTICATE PLAIN", "+ \r\n"},
        {"AHN1cHBvcnQAczNjcmV0LXBhc3M=", "{tag} NO [AUTHENTICATIONFAILED] bad password s3cret-pass\r\n"},
    });
    ImapClient client(options(server));
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::config);
    CHECK(s.error().code == "imap_login_failed");
    CHECK(s.error().message.find("bad password") != std::string::npos);
    CHECK(s.error().message.find("s3cret-pass") == std::string::npos);
  }
  SECTION("NO [UNAVAILABLE] is temporary") {
    ScriptedServer server({
        {"", kGreeting},
        {"AUTHENTICATE PLAIN", "+ \r\n"},
        {"AHN1cHBvcnQAczNjcmV0LXBhc3M=", "{tag} NO [UNAVAILABLE] Backend down\r\n"},
    });
    ImapClient client(options(server));
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::unavailable);
  }
  SECTION("LOGIN with quoted strings, and a literal for a non-ASCII password") {
    ScriptedServer server({
        {"", "* OK IMAP4rev1 ready\r\n"},
        {"CAPABILITY", "* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n"},
        {"LOGIN \"sup\\\"port\" {10}", "+ go ahead\r\n"},
        {"zażółć", "{tag} OK Logged in\r\n"},
        {"CAPABILITY", "* CAPABILITY IMAP4rev1 IDLE MOVE\r\n{tag} OK done\r\n"},
    });
    auto o = options(server);
    o.user = "sup\"port";
    o.password = "zażółć";
    ImapClient client(o);
    auto s = client.connect();
    INFO(server.failure());
    require_ok(s);
    CHECK(client.has_capability("MOVE"));
  }
  SECTION("security=starttls refuses a server without STARTTLS before sending credentials") {
    ScriptedServer server(std::vector<Step>{{"", "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"}});
    auto o = options(server);
    o.security = ImapSecurity::starttls;
    ImapClient client(o);
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::config);
    CHECK(s.error().code == "imap_starttls_unsupported");
    CHECK_FALSE(server.received_line_starting("AUTHENTICATE"));
    CHECK_FALSE(server.received_line_starting("LOGIN"));
  }
  SECTION("clear text after the STARTTLS answer is refused") {
    ScriptedServer server({
        {"", "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n"},
        {"STARTTLS", "{tag} OK Begin TLS negotiation now.\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"},
    });
    auto o = options(server);
    o.security = ImapSecurity::starttls;
    ImapClient client(o);
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::invalid);
  }
}

TEST_CASE("imap: modified UTF-7 mailbox names", "[email][imap][utf7]") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"INBOX", "INBOX"},
      {"Przetworzone-żółć", "Przetworzone-&AXwA8wFCAQc-"},
      {"A&B", "A&-B"},
      {"~peter/mail/日本語/台北", "~peter/mail/&ZeVnLIqe-/&U,BTFw-"},  // RFC 3501 5.1.3
      {"Zażółć gęślą jaźń", "Za&AXwA8wFCAQc- g&ARkBWw-l&AQU- ja&AXoBRA-"},
      {"😀", "&2D3eAA-"},  // outside the BMP: a surrogate pair
  };
  for (const auto& [utf8, wire] : vectors) {
    INFO(utf8);
    auto encoded = encode_mailbox_name(utf8);
    REQUIRE(encoded.ok());
    CHECK(*encoded == wire);
    auto decoded = decode_mailbox_name(wire);
    REQUIRE(decoded.ok());
    CHECK(*decoded == utf8);
  }
  CHECK_FALSE(encode_mailbox_name("").ok());
  CHECK_FALSE(encode_mailbox_name("bad\xC3").ok());          // truncated UTF-8
  CHECK_FALSE(encode_mailbox_name("over\xC0\xAFlong").ok()); // overlong '/'
  CHECK_FALSE(encode_mailbox_name("line\r\nbreak").ok());
  CHECK_FALSE(decode_mailbox_name("&AXw").ok());             // no closing '-'
  CHECK_FALSE(decode_mailbox_name("&2D0-").ok());            // lone surrogate
  CHECK_FALSE(decode_mailbox_name("caf\xC3\xA9").ok());      // 8-bit on the wire
}
