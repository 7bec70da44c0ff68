// The e-mail channel end to end against the real binary, a real Dovecot (mail delivered with
// dovecot-lda, as a mail server would) and a real SMTP receiver: a customer's mail, the rules'
// auto-reply threaded under it, the customer's answer in the same conversation; no auto-reply
// to robots; nothing lost or doubled across a database outage and a daemon crash; a UIDVALIDITY
// change.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.hpp"
#include "tests/support/dovecot.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/private_cluster.hpp"
#include "tests/support/smtp_sink.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/test_rules.hpp"

using namespace switchboard::testing;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR) + "/protocols/fixtures/email/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <class Scalar>
bool eventually(Scalar scalar, const std::string& sql, const std::string& want,
                std::chrono::milliseconds timeout = std::chrono::seconds{20}) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (scalar(sql) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  return false;
}

DaemonOptions with_mailbox(const std::string& database_url, const std::string& user,
                           const std::string& rules = kTestRules) {
  auto& dovecot = Dovecot::shared();
  auto& sink = SmtpSink::shared();
  DaemonOptions o;
  o.database_url = database_url;
  o.rules_yaml = rules;
  o.extra_config = "outbox: { workers: 1, sweep_interval: 200ms }\n";
  o.channels_extra =
      "  email:\n"
      "    token_secret: { secret: email-token }\n"
      "    mailboxes:\n"
      "      support:\n"
      "        address: obsluga@support.example.com\n"
      "        name: \"Obsługa klienta\"\n"
      "        imap: { host: 127.0.0.1, port: " + std::to_string(dovecot.imap_port()) +
      ", security: starttls, user: " + user + ", password: { secret: imap-pass }, ca_file: '" + dovecot.ca_file() +
      "' }\n"
      "        smtp: { host: 127.0.0.1, port: " + std::to_string(sink.port()) + ", security: starttls, user: " +
      sink.user() + ", password: { secret: smtp-pass }, ca_file: '" + sink.ca_file() + "' }\n"
      "        poll_interval: 1s\n";
  o.env = {{"SWITCHBOARD_SECRET_EMAIL_TOKEN", "test-email-token-secret"},
           {"SWITCHBOARD_SECRET_IMAP_PASS", user + "-pass"},
           {"SWITCHBOARD_SECRET_SMTP_PASS", sink.password()}};
  return o;
}

std::string header(const std::string& raw, const std::string& name) {
  std::smatch m;
  std::regex re("(^|\r\n)" + name + ": ([^\r\n]*(\r\n[ \t][^\r\n]*)*)", std::regex::icase);
  if (!std::regex_search(raw, m, re)) return {};
  return m[2];
}

}  // namespace

TEST_CASE("email: a mail gets a threaded auto-reply by SMTP and the customer's answer joins the conversation",
          "[daemon][email]") {
  TestDatabase db;
  auto& dovecot = Dovecot::shared();
  auto& sink = SmtpSink::shared();
  const std::string user = dovecot.add_user("roundtrip");
  // The customer's address is unique per run: the sink is shared.
  const std::string customer = user + "@example.pl";
  std::string first = fixture("plain_polish_iso8859-2_qp.eml");
  first = std::regex_replace(first, std::regex("pawel\\.kowalczyk@example\\.pl"), customer);
  DaemonProcess d(with_mailbox(db.url(), user));
  dovecot.deliver(user, first);

  auto scalar = [&](const std::string& sql) { return db.scalar(sql); };
  REQUIRE(eventually(scalar, "SELECT count(*) FROM messages WHERE channel = 'email' AND direction = 'in'", "1"));
  CHECK(db.scalar("SELECT display_name FROM customers") == "Paweł Kowalczyk");
  CHECK(db.scalar("SELECT body FROM messages WHERE direction = 'in'").find("przesyłka") != std::string::npos);
  CHECK(db.scalar("SELECT external_id FROM messages WHERE direction = 'in'").rfind("CAF3k9xYz1234.5678@mail.example.pl#", 0) == 0);

  auto replies = sink.wait_for(customer, 1);
  REQUIRE(replies.size() == 1);
  const auto& reply = replies[0];
  CHECK(reply.mail_from.empty());  // an auto-reply goes out with the null return path
  CHECK(header(reply.raw, "In-Reply-To") == "<CAF3k9xYz1234.5678@mail.example.pl>");
  CHECK(header(reply.raw, "Auto-Submitted") == "auto-replied");
  const std::string conversation = db.scalar("SELECT id FROM conversations");
  const std::string reply_to = header(reply.raw, "Reply-To");
  CHECK(reply_to.find("obsluga+c" + conversation + ".") != std::string::npos);
  std::string message_id = header(reply.raw, "Message-ID");
  REQUIRE(message_id.size() > 2);
  CHECK(eventually(scalar, "SELECT state FROM outbox", "sent"));
  CHECK(db.scalar("SELECT external_id FROM messages WHERE direction = 'out'") == message_id.substr(1, message_id.size() - 2));
  // Marked \Seen only after the commit; here, after it.
  CHECK(dovecot.flags(user, "INBOX", 1).find("\\Seen") != std::string::npos);

  // The customer answers from a client that keeps In-Reply-To but not the token address.
  std::string answer = "From: Paweł <" + customer + ">\r\nTo: obsluga@support.example.com\r\nSubject: Re: cokolwiek\r\n"
                       "Message-ID: <answer-" + user + "@example.pl>\r\nIn-Reply-To: " + message_id +
                       "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDziękuję, czekam.\r\n";
  db.exec("UPDATE conversations SET state = 'resolved'");  // a reply reopens it
  dovecot.deliver(user, answer);
  REQUIRE(eventually(scalar, "SELECT count(*) FROM messages WHERE direction = 'in'", "2"));
  CHECK(db.scalar("SELECT count(*) FROM conversations") == "1");
  CHECK(db.scalar("SELECT full_text FROM email_headers h JOIN messages m ON m.id = h.message_id "
                  "WHERE m.body LIKE 'Dziękuję%'").find("Dziękuję, czekam.") != std::string::npos);
  CHECK(db.scalar("SELECT state FROM conversations") == "open");
}

TEST_CASE("email: out-of-office, list mail and bounces are kept but never answered", "[daemon][email]") {
  TestDatabase db;
  auto& dovecot = Dovecot::shared();
  const std::string user = dovecot.add_user("robots");
  const std::string everything = R"(version: 1
timezone: Europe/Warsaw
templates:
  thanks: "Dziękujemy."
rules:
  - name: always
    then: [ { reply: thanks } ]
)";
  DaemonProcess d(with_mailbox(db.url(), user, everything));
  dovecot.deliver(user, fixture("auto_reply_out_of_office.eml"));
  dovecot.deliver(user, fixture("mailing_list_precedence_list.eml"));
  dovecot.deliver(user, fixture("bounce_dsn_multipart_report.eml"));
  dovecot.deliver(user, fixture("malformed_mime_invalid_utf8.eml"));
  dovecot.deliver(user, fixture("mislabelled_cp1250_as_iso8859-2.eml"));
  dovecot.deliver(user, fixture("reply_polish_quoted.eml"));
  auto scalar = [&](const std::string& sql) { return db.scalar(sql); };
  REQUIRE(eventually(scalar, "SELECT last_uid FROM mailbox_positions", "6"));
  // The people's mail (the malformed one and the last two) is answered; the robots' are stored
  // and not routed.
  CHECK(eventually(scalar, "SELECT count(*) FROM outbox", "3"));
  CHECK(db.scalar("SELECT count(*) FROM audit WHERE decision ? 'not_routed'") == "2");
  CHECK(db.scalar("SELECT count(*) FROM delivery_statuses WHERE channel = 'email' AND status = 'failed'") == "1");
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'in'") == "5");  // the bounce is a status
  // A reply is stored as its new text; the quoted history stays in the full text.
  const std::string quoted = "FROM email_headers h JOIN messages m ON m.id = h.message_id WHERE m.external_id LIKE "
                             "'5f1c2a9e-7b3d-4e0a-9c1d-2b6f8e4a7d10@mail.example.pl#%'";
  CHECK(db.scalar("SELECT m.body " + quoted).find("pisze:") == std::string::npos);
  CHECK(db.scalar("SELECT h.full_text " + quoted).find("pisze:") != std::string::npos);
  CHECK(db.scalar("SELECT body FROM messages WHERE external_id LIKE 'mislabel-0001@example.pl#%'")
            .find("Proszę o kontakt w środę") != std::string::npos);
  CHECK(d.log().find("event=mail_defects") != std::string::npos);
  CHECK(db.scalar("SELECT cardinality(h.defects) > 0 FROM email_headers h JOIN messages m ON m.id = h.message_id "
                  "WHERE m.external_id LIKE 'broken-0001@broken.example#%'") == "t");
}

TEST_CASE("email: mail arriving during a database outage and a daemon crash is stored exactly once",
          "[daemon][email][faults]") {
  PrivateCluster pg;
  auto& dovecot = Dovecot::shared();
  const std::string user = dovecot.add_user("outage");
  auto d = std::make_unique<DaemonProcess>(with_mailbox(pg.url(), user));
  auto scalar = [&](const std::string& sql) { return pg.scalar(sql); };
  auto mail = [&](int i) {
    return "From: Klient " + std::to_string(i) + " <k" + std::to_string(i) + "-" + user +
           "@example.pl>\r\nTo: obsluga@support.example.com\r\nSubject: Pytanie " + std::to_string(i) +
           "\r\nMessage-ID: <q" + std::to_string(i) + "-" + user + "@example.pl>\r\n\r\nTreść " + std::to_string(i) + "\r\n";
  };
  dovecot.deliver(user, mail(0));
  REQUIRE(eventually(scalar, "SELECT count(*) FROM messages WHERE direction = 'in'", "1"));

  pg.stop();
  for (int i = 1; i <= 4; ++i) dovecot.deliver(user, mail(i));
  std::this_thread::sleep_for(std::chrono::seconds{3});  // the poller fetches and fails to commit
  CHECK(dovecot.flags(user, "INBOX", 2).find("\\Seen") == std::string::npos);
  d->signal(SIGKILL);
  d->wait_exit();
  pg.start();
  DaemonOptions again = with_mailbox(pg.url(), user);
  d = std::make_unique<DaemonProcess>(again);
  REQUIRE(eventually(scalar, "SELECT count(*) FROM messages WHERE direction = 'in'", "5"));
  std::this_thread::sleep_for(std::chrono::seconds{2});
  CHECK(pg.scalar("SELECT count(DISTINCT external_id) FROM messages WHERE direction = 'in'") == "5");
  CHECK(pg.scalar("SELECT count(*) FROM messages WHERE direction = 'in'") == "5");
  for (std::uint32_t uid = 1; uid <= 5; ++uid) CHECK(dovecot.flags(user, "INBOX", uid).find("\\Seen") != std::string::npos);
}

TEST_CASE("email: after a UIDVALIDITY change the folder is scanned again and nothing is stored twice",
          "[daemon][email]") {
  TestDatabase db;
  auto& dovecot = Dovecot::shared();
  const std::string user = dovecot.add_user("uidvalidity");
  DaemonProcess d(with_mailbox(db.url(), user));
  dovecot.deliver(user, fixture("mislabelled_cp1250_as_iso8859-2.eml"));
  dovecot.deliver(user, fixture("multipart_alternative_attachment_rfc2231.eml"));
  auto scalar = [&](const std::string& sql) { return db.scalar(sql); };
  REQUIRE(eventually(scalar, "SELECT count(*) FROM messages WHERE direction = 'in'", "2"));
  const std::string before = db.scalar("SELECT uidvalidity FROM mailbox_positions");
  dovecot.reset_uidvalidity(user, "INBOX");
  dovecot.deliver(user, fixture("plain_polish_iso8859-2_qp.eml"));
  REQUIRE(eventually(scalar, "SELECT count(*) FROM messages WHERE direction = 'in'", "3"));
  CHECK(db.scalar("SELECT uidvalidity FROM mailbox_positions") != before);
  CHECK(d.wait_for_log("event=mailbox_uidvalidity_changed"));
  CHECK(db.scalar("SELECT count(DISTINCT external_id) FROM messages WHERE direction = 'in'") == "3");
}

TEST_CASE("email: two daemons on one database poll a mailbox once; a mail server down does not fail readiness",
          "[daemon][email]") {
  TestDatabase db;
  auto& dovecot = Dovecot::shared();
  const std::string user = dovecot.add_user("twodaemons");
  DaemonProcess first(with_mailbox(db.url(), user));
  DaemonProcess second(with_mailbox(db.url(), user));
  for (int i = 0; i < 6; ++i)
    dovecot.deliver(user, "From: k" + std::to_string(i) + "-" + user + "@example.pl\r\nTo: obsluga@support.example.com\r\n"
                          "Subject: x\r\nMessage-ID: <two-" + std::to_string(i) + "-" + user + "@example.pl>\r\n\r\nHej\r\n");
  auto scalar = [&](const std::string& sql) { return db.scalar(sql); };
  REQUIRE(eventually(scalar, "SELECT count(*) FROM messages WHERE direction = 'in'", "6"));
  const std::string a = http_request("GET", first.url("/readyz")).body;
  const std::string b = http_request("GET", second.url("/readyz")).body;
  CHECK(((a.find(R"("state":"standby")") != std::string::npos) != (b.find(R"("state":"standby")") != std::string::npos)));
  std::this_thread::sleep_for(std::chrono::seconds{2});
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'in'") == "6");

  // A mailbox whose IMAP server refuses connections: reported, readiness unaffected.
  DaemonOptions broken = with_mailbox(db.url(), user);
  broken.channels_extra = std::regex_replace(broken.channels_extra, std::regex("port: " + std::to_string(dovecot.imap_port())),
                                             "port: 1");
  broken.channels_extra = std::regex_replace(broken.channels_extra, std::regex("      support:"), "      other:");
  DaemonProcess down(broken);
  bool reported = false;
  for (int i = 0; i < 50 && !reported; ++i) {
    auto r = http_request("GET", down.url("/readyz"));
    reported = r.status == 200 && r.body.find(R"("state":"down")") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  CHECK(reported);
  CHECK(http_request("GET", down.url("/metrics")).body.find(R"(switchboard_mailbox_up{mailbox="other"} 0)") != std::string::npos);
}
