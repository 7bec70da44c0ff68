// ImapClient against a real Dovecot (tests/services/dovecot): login, SELECT, new-mail search,
// byte-exact BODY.PEEK[] fetches that leave \Seen alone, STORE, MOVE, size limits, IDLE,
// UIDVALIDITY changes, STARTTLS and implicit TLS, and non-ASCII folder names.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "channels/email/imap_client.hpp"
#include "tests/support/dovecot.hpp"

using namespace switchboard;
using namespace switchboard::channels::email;
using switchboard::testing::Dovecot;

namespace {

ImapOptions options_for(const std::string& user, ImapSecurity security = ImapSecurity::none) {
  const auto& dovecot = Dovecot::shared();
  ImapOptions o;
  o.host = "127.0.0.1";
  o.security = security;
  o.port = static_cast<std::uint16_t>(security == ImapSecurity::tls ? dovecot.imaps_port() : dovecot.imap_port());
  o.user = user;
  o.password = user + "-pass";
  o.timeout = std::chrono::seconds{10};
  o.verify_certificate = false;
  return o;
}

ImapClient connected(const std::string& user, ImapSecurity security = ImapSecurity::none) {
  ImapClient client(options_for(user, security));
  auto s = client.connect();
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s.ok());
  return client;
}

std::string mail(const std::string& subject, const std::string& body = "Dzień dobry\r\n") {
  return "From: Jan Kowalski <jan@example.pl>\r\nTo: obsluga@support.example.com\r\nSubject: " + subject +
         "\r\nMessage-ID: <" + subject + "@example.pl>\r\nMIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body;
}

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR) + "/protocols/fixtures/email/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string flags_of(const std::string& user, const std::string& folder, std::uint32_t uid) {
  return Dovecot::shared().flags(user, folder, uid);
}

bool has_seen(const std::string& flags) { return flags.find("\\Seen") != std::string::npos; }

// A loopback port with nothing listening on it.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("imap: login with the right password, refused with a wrong one", "[email][imap]") {
  const auto user = Dovecot::shared().add_user("login");
  auto client = connected(user);
  CHECK(client.has_capability("IDLE"));
  CHECK(client.has_capability("idle"));
  CHECK(client.has_capability("UIDPLUS"));
  CHECK(client.has_capability("MOVE"));  // post-login capabilities, not the greeting's
  client.logout();

  auto options = options_for(user);
  options.password = "wrong-secret-123";
  ImapClient wrong(options);
  auto s = wrong.connect();
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::config);
  CHECK(s.error().code == "imap_login_failed");
  CHECK(s.error().message.find("Authentication failed") != std::string::npos);  // the server's text
  CHECK(s.error().message.find("wrong-secret-123") == std::string::npos);
  CHECK(s.error().location == "imap 127.0.0.1:" + std::to_string(options.port));
}

TEST_CASE("imap: a refused connection is unavailable", "[email][imap]") {
  auto options = options_for("nobody");
  options.port = static_cast<std::uint16_t>(closed_port());
  ImapClient client(options);
  auto s = client.connect();
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind == ErrorKind::unavailable);
  CHECK(s.error().code == "imap_connect_failed");
  CHECK(s.error().message.find("refused") != std::string::npos);
  // Not connected: every command says so, as unavailable.
  auto selected = client.select("INBOX");
  REQUIRE_FALSE(selected.ok());
  CHECK(selected.error().kind == ErrorKind::unavailable);
}

TEST_CASE("imap: select, three deliveries, uids_after", "[email][imap]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("select");
  auto client = connected(user);
  auto empty = client.select("INBOX");
  REQUIRE(empty.ok());
  CHECK(empty->uidvalidity != 0);
  CHECK(empty->uidnext == 1);
  CHECK(empty->exists == 0);
  auto none = client.uids_after(0);
  REQUIRE(none.ok());
  CHECK(none->empty());

  for (int i = 1; i <= 3; ++i) dovecot.deliver(user, mail("three-" + std::to_string(i)));
  auto state = client.select("INBOX");
  REQUIRE(state.ok());
  CHECK(state->uidvalidity == empty->uidvalidity);
  CHECK(state->uidnext == 4);
  CHECK(state->exists == 3);

  auto all = client.uids_after(0);
  REQUIRE(all.ok());
  CHECK(*all == std::vector<std::uint32_t>{1, 2, 3});
  auto later = client.uids_after(1);
  REQUIRE(later.ok());
  CHECK(*later == std::vector<std::uint32_t>{2, 3});
  // "4:*" matches the highest UID (3) too: filtered out.
  auto after_last = client.uids_after(3);
  REQUIRE(after_last.ok());
  CHECK(after_last->empty());
  auto far = client.uids_after(4000000000U);
  REQUIRE(far.ok());
  CHECK(far->empty());

  auto sizes = client.sizes({3, 1, 99});
  REQUIRE(sizes.ok());
  REQUIRE(sizes->size() == 2);
  CHECK((*sizes)[0].first == 1);
  CHECK((*sizes)[1].first == 3);
  CHECK((*sizes)[0].second == mail("three-1").size());

  auto missing = client.select("No such folder");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().message.find("No such folder") != std::string::npos);
  // Nothing is selected after a failed SELECT.
  auto after = client.uids_after(0);
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code == "imap_no_folder_selected");
  client.logout();
}

TEST_CASE("imap: fetch returns the exact bytes, leaves \\Seen unset; mark_seen sets it", "[email][imap]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("fetch");
  const std::vector<std::string> names = {"plain_polish_iso8859-2_qp.eml", "mailing_list_precedence_list.eml",
                                          "malformed_mime_invalid_utf8.eml",
                                          "multipart_alternative_attachment_rfc2231.eml"};
  for (const auto& name : names) dovecot.deliver(user, fixture(name));
  auto client = connected(user);
  REQUIRE(client.select("INBOX").ok());
  for (std::uint32_t uid = 1; uid <= names.size(); ++uid) {
    INFO(names[uid - 1]);
    const std::string expected = fixture(names[uid - 1]);
    auto m = client.fetch(uid, 1024 * 1024);
    REQUIRE(m.ok());
    CHECK(m->uid == uid);
    CHECK(m->size == m->raw.size());
    // dovecot-lda may put Return-Path/Delivered-To on top: the delivered message is the tail.
    REQUIRE(m->raw.size() >= expected.size());
    CHECK(m->raw.compare(m->raw.size() - expected.size(), expected.size(), expected) == 0);
    const std::string added = m->raw.substr(0, m->raw.size() - expected.size());
    CHECK((added.empty() || added.rfind("Return-Path:", 0) == 0 || added.rfind("Delivered-To:", 0) == 0));
    CHECK_FALSE(has_seen(flags_of(user, "INBOX", uid)));
  }
  REQUIRE(client.mark_seen(2).ok());
  CHECK(has_seen(flags_of(user, "INBOX", 2)));
  CHECK_FALSE(has_seen(flags_of(user, "INBOX", 1)));

  auto gone = client.fetch(77, 1024);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ErrorKind::not_found);
  client.logout();
}

TEST_CASE("imap: a message over the limit is refused without downloading it", "[email][imap]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("large");
  const std::string big = mail("big", std::string(200000, 'x') + "\r\n");
  dovecot.deliver(user, big);
  auto client = connected(user);
  REQUIRE(client.select("INBOX").ok());
  auto refused = client.fetch(1, 100000);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::too_large);
  CHECK(refused.error().code == "message_too_large");
  CHECK(refused.error().message.find(std::to_string(big.size())) != std::string::npos);
  // Nothing was downloaded: the connection is still in step and the message still unseen.
  auto whole = client.fetch(1, big.size());
  REQUIRE(whole.ok());
  CHECK(whole->raw == big);
  CHECK_FALSE(has_seen(flags_of(user, "INBOX", 1)));
  client.logout();
}

TEST_CASE("imap: move to another folder, created when missing", "[email][imap]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("move");
  dovecot.deliver(user, mail("move-1"));
  dovecot.deliver(user, mail("move-2"));
  auto client = connected(user);
  REQUIRE(client.select("INBOX").ok());

  auto nowhere = client.move(1, "Missing");
  REQUIRE_FALSE(nowhere.ok());
  CHECK(nowhere.error().kind == ErrorKind::not_found);

  REQUIRE(client.create_folder_if_missing("Processed").ok());
  REQUIRE(client.create_folder_if_missing("Processed").ok());  // already there: fine
  REQUIRE(client.create_folder_if_missing("INBOX").ok());
  REQUIRE(client.move(1, "Processed").ok());
  auto left = client.uids_after(0);
  REQUIRE(left.ok());
  CHECK(*left == std::vector<std::uint32_t>{2});

  auto processed = client.select("Processed");
  REQUIRE(processed.ok());
  CHECK(processed->exists == 1);
  auto uids = client.uids_after(0);
  REQUIRE(uids.ok());
  REQUIRE(uids->size() == 1);
  auto moved = client.fetch(uids->front(), 1 << 20);
  REQUIRE(moved.ok());
  CHECK(moved->raw == mail("move-1"));
  client.logout();
}

TEST_CASE("imap: a non-ASCII folder name round-trips through modified UTF-7", "[email][imap]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("utf7");
  const std::string folder = "Przetworzone-żółć";
  dovecot.deliver(user, mail("utf7-1"));
  auto client = connected(user);
  REQUIRE(client.create_folder_if_missing(folder).ok());
  REQUIRE(client.create_folder_if_missing(folder).ok());
  REQUIRE(client.select("INBOX").ok());
  REQUIRE(client.move(1, folder).ok());
  // dovecot-lda takes the UTF-8 name: the same folder as the client's "&AXwA8wFCAQc-".
  dovecot.deliver(user, mail("utf7-2"), folder);
  auto state = client.select(folder);
  REQUIRE(state.ok());
  CHECK(state->exists == 2);
  CHECK(std::filesystem::exists(dovecot.dir() + "/mail/" + user + "/.Przetworzone-&AXwA8wFCAQc-"));
  auto uids = client.uids_after(0);
  REQUIRE(uids.ok());
  CHECK(uids->size() == 2);
  client.logout();
}

TEST_CASE("imap: IDLE wakes up on delivery and times out otherwise", "[email][imap]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("idle");
  auto client = connected(user);
  REQUIRE(client.select("INBOX").ok());

  auto t0 = std::chrono::steady_clock::now();
  auto quiet = client.idle(std::chrono::milliseconds{600});
  REQUIRE(quiet.ok());
  CHECK_FALSE(*quiet);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds{550});

  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    dovecot.deliver(user, mail("idle-1"));
  });
  t0 = std::chrono::steady_clock::now();
  auto woke = client.idle(std::chrono::seconds{20});
  sender.join();
  REQUIRE(woke.ok());
  CHECK(*woke);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds{15});
  auto uids = client.uids_after(0);
  REQUIRE(uids.ok());
  CHECK(*uids == std::vector<std::uint32_t>{1});

  // The connection is still usable after DONE.
  auto m = client.fetch(1, 1 << 20);
  REQUIRE(m.ok());
  CHECK(m->raw == mail("idle-1"));
  client.logout();
}

TEST_CASE("imap: a UIDVALIDITY change is observable", "[email][imap]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("uidvalidity");
  dovecot.deliver(user, mail("uv-1"));
  std::uint32_t before = 0;
  {
    auto client = connected(user);
    auto state = client.select("INBOX");
    REQUIRE(state.ok());
    before = state->uidvalidity;
    client.logout();
  }
  dovecot.reset_uidvalidity(user, "INBOX");
  auto client = connected(user);
  auto state = client.select("INBOX");
  REQUIRE(state.ok());
  CHECK(state->uidvalidity != before);
  CHECK(state->uidvalidity != 0);
  client.logout();
}

TEST_CASE("imap: STARTTLS and implicit TLS", "[email][imap][tls]") {
  auto& dovecot = Dovecot::shared();
  const auto user = dovecot.add_user("tls");
  dovecot.deliver(user, mail("tls-1"));

  SECTION("STARTTLS without verification") {
    auto client = connected(user, ImapSecurity::starttls);
    CHECK_FALSE(client.has_capability("STARTTLS"));  // capabilities were asked again inside TLS
    REQUIRE(client.select("INBOX").ok());
    auto m = client.fetch(1, 1 << 20);
    REQUIRE(m.ok());
    CHECK(m->raw == mail("tls-1"));
    client.logout();
  }
  SECTION("STARTTLS verified against the generated CA") {
    auto options = options_for(user, ImapSecurity::starttls);
    options.verify_certificate = true;
    options.ca_file = dovecot.ca_file();
    ImapClient client(options);
    REQUIRE(client.connect().ok());
    REQUIRE(client.select("INBOX").ok());
    client.logout();
  }
  SECTION("implicit TLS verified against the generated CA, by IP address and by name") {
    for (const char* host : {"127.0.0.1", "localhost"}) {
      INFO(host);
      auto options = options_for(user, ImapSecurity::tls);
      options.verify_certificate = true;
      options.ca_file = dovecot.ca_file();
      options.host = host;
      ImapClient client(options);
      auto s = client.connect();
      INFO((s ? std::string() : s.error().message));
      REQUIRE(s.ok());
      auto state = client.select("INBOX");
      REQUIRE(state.ok());
      CHECK(state->exists == 1);
      client.logout();
    }
  }
  SECTION("implicit TLS without verification") {
    auto client = connected(user, ImapSecurity::tls);
    REQUIRE(client.select("INBOX").ok());
    client.logout();
  }
  SECTION("an untrusted certificate is a TLS failure") {
    auto options = options_for(user, ImapSecurity::tls);
    options.verify_certificate = true;  // the system's trust store does not know the test CA
    ImapClient client(options);
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::unavailable);
    CHECK(s.error().code == "imap_tls_failed");
    CHECK(s.error().message.find("certificate") != std::string::npos);
  }
  SECTION("a missing CA file is a configuration error") {
    auto options = options_for(user, ImapSecurity::tls);
    options.verify_certificate = true;
    options.ca_file = dovecot.dir() + "/no-such-ca.pem";
    ImapClient client(options);
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::config);
  }
  SECTION("implicit TLS against the plain port fails cleanly") {
    auto options = options_for(user, ImapSecurity::tls);
    options.port = static_cast<std::uint16_t>(dovecot.imap_port());
    options.timeout = std::chrono::seconds{3};
    ImapClient client(options);
    auto s = client.connect();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::unavailable);
  }
}
