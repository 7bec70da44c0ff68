// Tests for channels/email/smtp: submission through libcurl to a real SMTP server
// (tests/services/smtp_sink.py: STARTTLS and AUTH required, a self-signed certificate), what
// arrives byte for byte, and how each kind of failure is classified for the outbox.
#include "channels/email/smtp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "channels/email/compose.hpp"
#include "channels/retry.hpp"
#include "tests/support/smtp_sink.hpp"

using namespace switchboard;
using namespace switchboard::channels::email;
using namespace std::chrono_literals;
using switchboard::testing::SmtpSink;

namespace {

// An address no other test (or test process sharing the sink) uses.
std::string fresh_rcpt(const std::string& what) {
  static std::atomic<int> n{0};
  return "smtp-" + what + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "@customer.example";
}

SmtpOptions sink_options() {
  const SmtpSink& sink = SmtpSink::shared();
  SmtpOptions o;
  o.host = "127.0.0.1";
  o.port = static_cast<std::uint16_t>(sink.port());
  o.security = SmtpSecurity::starttls;
  o.user = sink.user();
  o.password = sink.password();
  o.ca_file = sink.ca_file();
  o.timeout = 10s;
  return o;
}

std::string message_to(const std::string& rcpt, std::string text = "Dzień dobry,\nprzesyłka jest w drodze.\n") {
  OutgoingMail m;
  m.from_address = "obsluga@support.example.com";
  m.from_name = "Obsługa klienta";
  m.to_address = rcpt;
  m.to_name = "Paweł Kowalczyk";
  m.reply_to = "obsluga+c1042.k7Hq2Xv9@support.example.com";
  m.subject = reply_subject("Gdzie jest moja przesyłka? Zamówienie 4711", "1042");
  m.text = std::move(text);
  m.message_id = make_message_id("1042", "5601", "support.example.com");
  m.in_reply_to = {"CAF3k9xYz1234.5678@mail.example.pl"};
  m.references = {"CAF3k9xYz1234.5678@mail.example.pl"};
  m.date = *parse_rfc3339("2026-01-05T14:20:00Z");
  return render(m);
}

// A loopback port that was free a moment ago and that nothing listens on: connecting is refused.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  REQUIRE(bound);
  return ntohs(addr.sin_port);
}

// A listener that accepts connections (the kernel completes the handshake) but never says a
// word: an SMTP client waits for a greeting that does not come.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

bool retryable(const Error& e) { return channels::classify(e) == channels::SendFailure::retryable; }

}  // namespace

TEST_CASE("a mail goes out with STARTTLS and AUTH and arrives byte for byte", "[email][smtp]") {
  SmtpSink& sink = SmtpSink::shared();
  const std::string rcpt = fresh_rcpt("delivered");
  // Lines that SMTP's transparency must carry: a lone dot would end DATA, a leading dot is
  // doubled on the wire and undoubled by the server.
  const std::string raw = message_to(rcpt, "Dzień dobry,\n.\n.kropka na początku\n..dwie kropki\nkoniec.\n");
  REQUIRE(raw.find("\r\n.\r\n") != std::string::npos);
  REQUIRE(raw.find("\r\n.kropka") != std::string::npos);

  const Status sent = send_mail(sink_options(), Envelope{"bounces+m5601@support.example.com", {rcpt}}, raw);
  INFO((sent ? std::string() : sent.error().code + ": " + sent.error().message) << "\n" << sink.log());
  REQUIRE(sent.ok());

  const auto mails = sink.wait_for(rcpt, 1);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].raw == raw);
  CHECK(mails[0].tls);
  CHECK(mails[0].auth_user == sink.user());
  CHECK(mails[0].rcpt_tos == std::vector<std::string>{rcpt});
  // The envelope sender is the VERP bounce address, whatever the From header says.
  CHECK(mails[0].mail_from == "bounces+m5601@support.example.com");
}

TEST_CASE("the null return path goes out as MAIL FROM:<>", "[email][smtp]") {
  SmtpSink& sink = SmtpSink::shared();
  const std::string rcpt = fresh_rcpt("null-sender");
  const Status sent = send_mail(sink_options(), Envelope{"", {rcpt}}, message_to(rcpt));
  INFO((sent ? std::string() : sent.error().message) << "\n" << sink.log());
  REQUIRE(sent.ok());
  const auto mails = sink.wait_for(rcpt, 1);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].mail_from.empty());
  CHECK(mails[0].mail_from_command.rfind("FROM:<>", 0) == 0);
}

TEST_CASE("every recipient of the envelope gets the mail once", "[email][smtp]") {
  SmtpSink& sink = SmtpSink::shared();
  const std::string a = fresh_rcpt("multi");
  const std::string b = fresh_rcpt("multi");
  REQUIRE(send_mail(sink_options(), Envelope{"bounces+m1@support.example.com", {a, b}}, message_to(a)).ok());
  const auto mails = sink.wait_for(a, 1);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].rcpt_tos == std::vector<std::string>{a, b});
  CHECK(sink.received(b).size() == 1);
}

TEST_CASE("bare LF line ends are sent as CRLF", "[email][smtp]") {
  SmtpSink& sink = SmtpSink::shared();
  const std::string rcpt = fresh_rcpt("lf");
  const std::string lf = "Subject: lf\n\n.line one\nline two\n";
  REQUIRE(send_mail(sink_options(), Envelope{"b@support.example.com", {rcpt}}, lf).ok());
  const auto mails = sink.wait_for(rcpt, 1);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].raw == "Subject: lf\r\n\r\n.line one\r\nline two\r\n");
}

TEST_CASE("a 550 to RCPT is permanent and names the enhanced status code", "[email][smtp]") {
  SmtpSink& sink = SmtpSink::shared();
  const std::string rcpt = fresh_rcpt("unknown-user");
  sink.reject_rcpt(rcpt);
  const Status sent = send_mail(sink_options(), Envelope{"bounces+m2@support.example.com", {rcpt}}, message_to(rcpt));
  REQUIRE_FALSE(sent.ok());
  INFO(sent.error().message);
  CHECK(sent.error().kind == ErrorKind::invalid);
  CHECK(sent.error().code == "smtp_rejected");
  CHECK_FALSE(retryable(sent.error()));
  CHECK(sent.error().message.find("550 5.1.1") != std::string::npos);
  CHECK(sent.error().message.find(rcpt) != std::string::npos);
  CHECK(sent.error().message.find("rcpt") != std::string::npos);  // which command was refused
  CHECK(sink.received(rcpt).empty());
}

TEST_CASE("a 451 to DATA is temporary: retried, and the retry is delivered", "[email][smtp]") {
  SmtpSink& sink = SmtpSink::shared();
  const std::string rcpt = fresh_rcpt("tempfail");
  sink.tempfail_once(rcpt);
  const std::string raw = message_to(rcpt);
  const Status first = send_mail(sink_options(), Envelope{"bounces+m3@support.example.com", {rcpt}}, raw);
  REQUIRE_FALSE(first.ok());
  INFO(first.error().message);
  CHECK(first.error().kind == ErrorKind::unavailable);
  CHECK(first.error().code == "smtp_tempfail");
  CHECK(retryable(first.error()));
  CHECK(first.error().message.find("451 4.3.0") != std::string::npos);
  CHECK(sink.received(rcpt).empty());

  REQUIRE(send_mail(sink_options(), Envelope{"bounces+m3@support.example.com", {rcpt}}, raw).ok());
  const auto mails = sink.wait_for(rcpt, 1);
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].raw == raw);
}

TEST_CASE("a wrong password is a configuration error that never shows the password", "[email][smtp]") {
  SmtpSink& sink = SmtpSink::shared();
  const std::string rcpt = fresh_rcpt("bad-auth");
  SmtpOptions options = sink_options();
  options.password = "wrong-Secret-4711";
  const Status sent = send_mail(options, Envelope{"bounces+m4@support.example.com", {rcpt}}, message_to(rcpt));
  REQUIRE_FALSE(sent.ok());
  INFO(sent.error().message);
  CHECK(sent.error().kind == ErrorKind::config);
  CHECK(sent.error().code == "smtp_auth_failed");
  CHECK(sent.error().message.find("535") != std::string::npos);
  CHECK(sent.error().message.find("wrong-Secret-4711") == std::string::npos);
  CHECK(sent.error().location.find("wrong-Secret-4711") == std::string::npos);
  CHECK(sink.received(rcpt).empty());
}

TEST_CASE("connection failures and timeouts are retryable", "[email][smtp]") {
  SmtpOptions options = sink_options();
  const std::string rcpt = fresh_rcpt("down");

  SECTION("connection refused") {
    options.port = closed_port();
    const Status sent = send_mail(options, Envelope{"b@support.example.com", {rcpt}}, message_to(rcpt));
    REQUIRE_FALSE(sent.ok());
    INFO(sent.error().message);
    CHECK(sent.error().kind == ErrorKind::unavailable);
    CHECK(sent.error().code == "smtp_unavailable");
    CHECK(retryable(sent.error()));
  }
  SECTION("a server that never greets: the timeout ends the attempt") {
    SilentListener silent;
    options.port = silent.port();
    options.timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    const Status sent = send_mail(options, Envelope{"b@support.example.com", {rcpt}}, message_to(rcpt));
    REQUIRE_FALSE(sent.ok());
    INFO(sent.error().message);
    CHECK(sent.error().kind == ErrorKind::unavailable);
    CHECK(std::chrono::steady_clock::now() - started < 5s);
  }
  SECTION("an untrusted certificate fails the handshake") {
    options.ca_file.clear();  // the system's CAs do not know the sink's self-signed certificate
    const Status sent = send_mail(options, Envelope{"b@support.example.com", {rcpt}}, message_to(rcpt));
    REQUIRE_FALSE(sent.ok());
    INFO(sent.error().message);
    CHECK(sent.error().kind == ErrorKind::unavailable);
    CHECK(SmtpSink::shared().received(rcpt).empty());
  }
  SECTION("implicit TLS against a STARTTLS port fails the handshake") {
    options.security = SmtpSecurity::tls;
    const Status sent = send_mail(options, Envelope{"b@support.example.com", {rcpt}}, message_to(rcpt));
    REQUIRE_FALSE(sent.ok());
    INFO(sent.error().message);
    CHECK(sent.error().kind == ErrorKind::unavailable);
  }
}

TEST_CASE("credentials never travel in clear except to loopback", "[email][smtp]") {
  SmtpOptions options = sink_options();
  options.security = SmtpSecurity::none;
  const std::string rcpt = fresh_rcpt("plain");

  SECTION("to another host: refused before connecting") {
    options.host = "smtp.example.com";
    const Status sent = send_mail(options, Envelope{"b@support.example.com", {rcpt}}, message_to(rcpt));
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().kind == ErrorKind::config);
    CHECK(sent.error().code == "smtp_insecure_auth");
  }
  SECTION("to loopback it is allowed, and this server wants STARTTLS first: 530") {
    const Status sent = send_mail(options, Envelope{"b@support.example.com", {rcpt}}, message_to(rcpt));
    REQUIRE_FALSE(sent.ok());
    INFO(sent.error().message);
    CHECK(sent.error().kind == ErrorKind::config);
    CHECK(sent.error().code == "smtp_auth_required");
    CHECK(sent.error().message.find("530") != std::string::npos);
  }
  CHECK(is_loopback_host("localhost"));
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("127.1.2.3"));
  CHECK(is_loopback_host("::1"));
  CHECK(is_loopback_host("[::1]"));
  CHECK_FALSE(is_loopback_host("128.0.0.1"));
  CHECK_FALSE(is_loopback_host("localhost.example.com"));
  CHECK_FALSE(is_loopback_host("::2"));
}

TEST_CASE("a malformed envelope or options never reach the server", "[email][smtp]") {
  const SmtpOptions options = sink_options();
  const std::string rcpt = fresh_rcpt("malformed");
  const std::string raw = message_to(rcpt);

  const auto code_of = [&](const SmtpOptions& o, const Envelope& e) {
    const Status s = send_mail(o, e, raw);
    return s.ok() ? std::string("ok") : s.error().code;
  };
  CHECK(code_of(options, Envelope{"b@support.example.com", {}}) == "invalid_envelope");
  CHECK(code_of(options, Envelope{"b@support.example.com", {rcpt + "\r\nRCPT TO:<x@y>"}}) == "invalid_envelope");
  CHECK(code_of(options, Envelope{"b@support.example.com", {"<" + rcpt + ">"}}) == "invalid_envelope");
  CHECK(code_of(options, Envelope{"b@x>\r\nRSET", {rcpt}}) == "invalid_envelope");
  CHECK(code_of(options, Envelope{"b@support.example.com", {""}}) == "invalid_envelope");
  // A space is allowed inside a quoted local part only; a quote does not open a way for CRLF.
  CHECK(code_of(options, Envelope{"b@support.example.com", {"jan kowalski@example.pl"}}) == "invalid_envelope");
  CHECK(code_of(options, Envelope{"b@support.example.com", {"\"a\r\nRSET\"@example.pl"}}) == "invalid_envelope");
  CHECK(code_of(options, Envelope{"b@support.example.com", {"\"a b\" c@example.pl"}}) == "invalid_envelope");
  SmtpOptions bad = options;
  bad.host = "";
  CHECK(code_of(bad, Envelope{"b@support.example.com", {rcpt}}) == "smtp_invalid_options");
  bad.host = "127.0.0.1/evil";
  CHECK(code_of(bad, Envelope{"b@support.example.com", {rcpt}}) == "smtp_invalid_options");
  bad = options;
  bad.port = 0;
  CHECK(code_of(bad, Envelope{"b@support.example.com", {rcpt}}) == "smtp_invalid_options");
  CHECK(SmtpSink::shared().received(rcpt).empty());
}
