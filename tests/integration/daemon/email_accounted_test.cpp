// Every mail accounted for, through the real binary and a real Dovecot: each hand-built mail of
// tests/mail/ (one class of the issue each) ends stored as a message, as a system message, or in
// the quarantine folder with a log line; nothing is only marked \Seen; no robot and no unsure
// mail gets an auto-reply; `switchboard mailbox audit` agrees (and finds a mail that is not); an
// IDLE ends at once on SIGTERM.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/daemon_process.hpp"
#include "tests/support/dovecot.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/smtp_sink.hpp"
#include "tests/support/test_mails.hpp"
#include "tests/support/test_database.hpp"

using namespace switchboard::testing;

namespace {

template <class Scalar>
bool eventually(Scalar scalar, const std::string& sql, const std::string& want,
                std::chrono::milliseconds timeout = std::chrono::seconds{30}) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (scalar(sql) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  return false;
}

const char* kReplyToEverything = R"(version: 1
timezone: Europe/Warsaw
templates:
  thanks: "Dziękujemy, odpowiemy wkrótce."
rules:
  - name: always
    then: [ { reply: thanks } ]
)";

std::string mailbox_yaml(const std::string& name, const std::string& user, const std::string& extra) {
  auto& dovecot = Dovecot::shared();
  auto& sink = SmtpSink::shared();
  return "      " + name + ":\n"
         "        address: obsluga@support.example.com\n"
         "        aliases: [kontakt@example.pl, biuro@example.pl]\n"
         "        imap: { host: 127.0.0.1, port: " + std::to_string(dovecot.imap_port()) +
         ", security: starttls, user: " + user + ", password: { secret: imap-pass-" + name + " }, ca_file: '" +
         dovecot.ca_file() + "' }\n"
         "        smtp: { host: 127.0.0.1, port: " + std::to_string(sink.port()) + ", security: starttls, user: " +
         sink.user() + ", password: { secret: smtp-pass }, ca_file: '" + sink.ca_file() + "' }\n"
         + (extra.find("poll_interval") == std::string::npos ? "        poll_interval: 1s\n" : "") + extra;
}

DaemonOptions with_mailboxes(const std::string& database_url, const std::vector<std::pair<std::string, std::string>>& boxes,
                             const std::string& extra = "") {
  auto& sink = SmtpSink::shared();
  DaemonOptions o;
  o.database_url = database_url;
  o.rules_yaml = kReplyToEverything;
  o.extra_config = "outbox: { workers: 1, sweep_interval: 200ms }\n";
  o.channels_extra = "  email:\n    token_secret: { secret: email-token }\n    mailboxes:\n";
  // The daemon's own secrets too: `switchboard mailbox audit` reads the same config.
  o.env = {{"SWITCHBOARD_SECRET_EMAIL_TOKEN", "test-email-token-secret"},
           {"SWITCHBOARD_SECRET_SMTP_PASS", sink.password()},
           {"SWITCHBOARD_SECRET_ADMIN_TOKEN", DaemonProcess::kAdminToken},
           {"SWITCHBOARD_SECRET_SHOP_TOKEN", DaemonProcess::kShopToken},
           {"SWITCHBOARD_SECRET_OTHER_TOKEN", DaemonProcess::kOtherToken},
           {"SWITCHBOARD_SECRET_CALLBACK_SECRET", DaemonProcess::kCallbackSecret}};
  for (const auto& [name, user] : boxes) {
    o.channels_extra += mailbox_yaml(name, user, extra);
    std::string env = "SWITCHBOARD_SECRET_IMAP_PASS_" + name;
    for (char& c : env) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    o.env[env] = user + "-pass";
  }
  return o;
}

std::string audit_command(const DaemonProcess& d) { return "mailbox audit --config " + d.dir() + "/switchboard.yaml"; }

}  // namespace

TEST_CASE("email: every mail is stored, a system message, or quarantined with a reason; robots get no reply",
          "[daemon][email][accounted]") {
  TestDatabase db;
  auto& dovecot = Dovecot::shared();
  auto& sink = SmtpSink::shared();
  const std::string user = dovecot.add_user("accounted");
  DaemonOptions options = with_mailboxes(db.url(), {{"support", user}}, "        max_message_size: 200KiB\n");
  DaemonProcess d(options);
  auto scalar = [&](const std::string& sql) { return db.scalar(sql); };

  // A reply of ours that the DSN of c2_dsn_failed.eml concerns (by its Message-ID).
  db.exec(
      "WITH c AS (INSERT INTO customers (display_name) VALUES ('Adresat') RETURNING id), "
      "conv AS (INSERT INTO conversations (customer_id, opened_at) SELECT id, now() FROM c RETURNING id), "
      "msg AS (INSERT INTO messages (conversation_id, direction, channel, account, external_id, body) "
      "        SELECT id, 'out', 'email', 'support', 'sb.c9.m9001.test@support.example.com', 'Odpowiedź' FROM conv "
      "        RETURNING id) "
      "INSERT INTO outbox (message_id, channel, account, recipient, payload, state) "
      "SELECT id, 'email', 'support', 'nobody@example.net', '{}', 'sent' FROM msg");
  const std::string bounced_conversation = db.scalar("SELECT conversation_id FROM messages WHERE direction = 'out'");

  const auto expected = expected_mails();
  std::map<std::string, int> per_outcome;
  std::set<std::string> people, not_to_answer;
  int unknown_senders = 0;
  for (const auto& e : expected) {
    dovecot.deliver(user, test_mail(e.file));
    ++per_outcome[e.outcome];
    if (e.outcome == "person") people.insert(e.sender);
    else if (e.sender != "unknown") not_to_answer.insert(e.sender);
    if (e.sender == "unknown") ++unknown_senders;
  }
  // Too large for max_message_size: quarantined, named in the log.
  const std::string big = "From: Duzy <duzy@example.pl>\r\nTo: obsluga@support.example.com\r\nSubject: Skan\r\n"
                          "Message-ID: <too-big-" + user + "@example.pl>\r\n\r\n" + std::string(300 * 1024, 'x') + "\r\n";
  dovecot.deliver(user, big);
  const std::size_t total = expected.size() + 1;

  REQUIRE(eventually(scalar, "SELECT last_uid FROM mailbox_positions", std::to_string(total), std::chrono::seconds{60}));
  const int messages = per_outcome["person"] + per_outcome["unsure"] + per_outcome["automatic"];
  int systems = 0;
  for (const auto& [outcome, n] : per_outcome)
    if (outcome.rfind("system:", 0) == 0) systems += n;
  CHECK(db.scalar("SELECT count(*) FROM messages WHERE direction = 'in'") == std::to_string(messages));
  CHECK(db.scalar("SELECT count(*) FROM system_messages") == std::to_string(systems));
  for (const auto& [outcome, n] : per_outcome)
    if (outcome.rfind("system:", 0) == 0)
      CHECK(db.scalar("SELECT count(*) FROM system_messages WHERE kind = '" + outcome.substr(7) + "'") ==
            std::to_string(n));
  // Nothing only marked \Seen: all but the quarantined one are stored (and \Seen), that one moved.
  CHECK(dovecot.count(user, "Quarantine") == 1);
  CHECK(dovecot.count(user, "INBOX") == static_cast<int>(expected.size()));
  for (std::uint32_t uid = 1; uid <= expected.size(); ++uid)
    CHECK(dovecot.flags(user, "INBOX", uid).find("\\Seen") != std::string::npos);
  CHECK(d.wait_for_log("event=mail_quarantined mailbox=support uid=" + std::to_string(total) +
                       " message_id=too-big-" + user + "@example.pl sender=duzy@example.pl reason=\"larger than max_message_size"));

  // The bounce is in the conversation of the reply it concerns, and failed it.
  CHECK(db.scalar("SELECT conversation_id FROM system_messages WHERE external_id LIKE 'c2-dsn-failed@%'") ==
        bounced_conversation);
  CHECK(eventually(scalar, "SELECT state FROM outbox WHERE recipient = 'nobody@example.net'", "failed"));
  {
    const auto listed = http_request("GET", d.url("/api/v1/conversations/" + bounced_conversation + "/messages"),
                                     {std::string("Authorization: Bearer ") + DaemonProcess::kAdminToken});
    CHECK(listed.status == 200);
    CHECK(listed.body.find("\"system_messages\":[{") != std::string::npos);
    CHECK(listed.body.find("\"kind\":\"bounce\"") != std::string::npos);
  }
  CHECK(db.scalar("SELECT last_error FROM outbox WHERE recipient = 'nobody@example.net'").find("5.1.1") != std::string::npos);
  // Reports about nothing of ours are in the mailbox's own list.
  CHECK(db.scalar("SELECT count(*) FROM system_messages WHERE conversation_id IS NULL") == std::to_string(systems - 1));
  // The unknown senders share one customer; unsure mail is routed (audited with the reason).
  CHECK(db.scalar("SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                  "JOIN identities i ON i.customer_id = c.customer_id WHERE i.value = 'unknown-sender@support.invalid'") ==
        std::to_string(unknown_senders));
  CHECK(db.scalar("SELECT count(*) FROM audit WHERE decision ? 'automatic' AND rule = 'always'") ==
        std::to_string(per_outcome["unsure"]));

  // Replies went to the people only, one each.
  INFO(db.scalar("SELECT string_agg(recipient || ' ' || state || ' ' || coalesce(last_error, ''), '; ') FROM outbox"));
  CHECK(eventually(scalar, "SELECT count(*) FROM outbox WHERE state = 'sent' AND NOT payload ? 'author' AND recipient <> 'nobody@example.net'",
                   std::to_string(people.size())));
  for (const auto& person : people) {
    INFO(person);
    CHECK(db.scalar("SELECT count(*) FROM outbox WHERE recipient = '" + person + "'") == "1");
  }
  for (const auto& robot : not_to_answer) {
    INFO(robot);
    CHECK(db.scalar("SELECT count(*) FROM outbox WHERE recipient = '" + robot + "'") == "0");
    CHECK(sink.received(robot).empty());
  }

  // Counters: one result per outcome, in /readyz and /metrics.
  const std::string ready = http_request("GET", d.url("/readyz")).body;
  CHECK(ready.find("\"stored\":" + std::to_string(messages)) != std::string::npos);
  CHECK(ready.find("\"system\":" + std::to_string(systems)) != std::string::npos);
  CHECK(ready.find("\"quarantined\":1") != std::string::npos);
  const std::string metrics = http_request("GET", d.url("/metrics")).body;
  CHECK(metrics.find("switchboard_mail_fetched_total{mailbox=\"support\",result=\"system\"} " + std::to_string(systems)) !=
        std::string::npos);
  CHECK(metrics.find("switchboard_mail_fetched_total{mailbox=\"support\",result=\"quarantined\"} 1") != std::string::npos);

  // The audit agrees: nothing unaccounted.
  auto [code, out] = run_switchboard(audit_command(d), options.env);
  INFO(out);
  CHECK(code == 0);
  CHECK(out.find("mailbox support: " + std::to_string(messages + systems) + " stored, 1 quarantined, 0 not yet polled, 0 unaccounted") !=
        std::string::npos);

  // A mail lost the way the acceptance run saw it (its position passed, nothing stored) is
  // listed with its UID, Message-ID and sender; a mail not polled yet is listed apart.
  d.signal(SIGTERM);
  REQUIRE(d.wait_exit() == 0);
  dovecot.deliver(user, "From: Zgubiony <zgubiony@example.pl>\r\nTo: obsluga@support.example.com\r\nSubject: x\r\n"
                        "Message-ID: <lost-" + user + "@example.pl>\r\n\r\nGdzie jestem?\r\n");
  db.exec("UPDATE mailbox_positions SET last_uid = last_uid + 1");  // past the lost one
  dovecot.deliver(user, "From: Nowy <nowy@example.pl>\r\nTo: obsluga@support.example.com\r\nSubject: y\r\n"
                        "Message-ID: <new-" + user + "@example.pl>\r\n\r\nDopiero przyszedłem.\r\n");
  auto [code2, out2] = run_switchboard(audit_command(d), options.env);
  INFO(out2);
  CHECK(code2 == 1);
  CHECK(out2.find("unaccounted mailbox=support folder=INBOX uid=" + std::to_string(total + 1) + " message_id=lost-" + user +
                  "@example.pl sender=zgubiony@example.pl") != std::string::npos);
  CHECK(out2.find("not_yet_polled mailbox=support folder=INBOX uid=" + std::to_string(total + 2)) != std::string::npos);
  CHECK(out2.find("1 not yet polled, 1 unaccounted") != std::string::npos);

  // Usage and unreachable mailboxes: exit 2.
  CHECK(run_switchboard("mailbox audit", options.env).first == 2);
  CHECK(run_switchboard(audit_command(d) + " --mailbox nope", options.env).first == 2);
}

TEST_CASE("email: SIGTERM ends the IDLE of every mailbox at once", "[daemon][email][accounted]") {
  TestDatabase db;
  auto& dovecot = Dovecot::shared();
  const std::string first = dovecot.add_user("idle-a");
  const std::string second = dovecot.add_user("idle-b");
  DaemonProcess d(with_mailboxes(db.url(), {{"one", first}, {"two", second}}, "        poll_interval: 10m\n"));
  // Both mailboxes polled once and now wait in IDLE (poll_interval 10m: only IDLE wakes them).
  auto polling = [&] {
    const std::string body = http_request("GET", d.url("/readyz")).body;
    std::size_t n = 0;
    for (auto at = body.find("\"state\":\"polling\""); at != std::string::npos; at = body.find("\"state\":\"polling\"", at + 1)) ++n;
    return n == 2;
  };
  for (int i = 0; i < 100 && !polling(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds{100});
  REQUIRE(polling());
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  const auto start = std::chrono::steady_clock::now();
  d.signal(SIGTERM);
  CHECK(d.wait_exit() == 0);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  INFO("shutdown took " << took.count() << " ms");
  CHECK(took < std::chrono::seconds{20});  // without the wake each IDLE waits out its 60 s slice
}
