// E-mail in the pipeline: threading (token, In-Reply-To/References, subject tag of the sender's
// own conversation only), reopening, automatic mail never routed, the per-address cap on
// automatic replies, attachment bytes kept with the message.
#include <catch2/catch.hpp>

#include "storage/outbox.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;
using namespace std::chrono_literals;

namespace {

InboundMessage mail(const std::string& id, const std::string& from, const std::string& subject) {
  InboundMessage m;
  m.channel = Channel::email;
  m.account = "support";
  m.external_id = id + "#0123456789abcdef";
  m.mail.emplace();
  m.mail->message_id_header = id;
  m.sender = from;
  m.identities = {Identity{IdentityKind::email, from}};
  m.mail->subject = subject;
  m.text = "Treść " + id;
  m.sent_at = at("2027-03-30T08:00:00Z");
  return m;
}

Decision reply_decision() {
  Decision d;
  d.rule = "ack";
  d.matched = {"ack"};
  d.actions = {ReplyAction{"ack", "Dziękujemy za wiadomość."}};
  return d;
}

}  // namespace

TEST_CASE("email pipeline: a reply finds its conversation by token, by Message-ID, by subject tag",
          "[storage][email]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto first = pipeline.ingest(mail("a1@example.pl", "anna@example.pl", "Zamówienie"), no_rule_router());
  REQUIRE(first.ok());
  const std::string conv = first->conversation_id;
  d.db.exec("UPDATE conversations SET state = 'resolved'");

  // In-Reply-To naming the customer's mail reopens the conversation.
  auto by_id = mail("a2@example.pl", "anna@example.pl", "Re: Zamówienie");
  by_id.mail->thread_hints = {"a1@example.pl"};
  auto r = pipeline.ingest(by_id, no_rule_router());
  REQUIRE(r.ok());
  CHECK(r->conversation_id == conv);
  CHECK(d.db.scalar("SELECT state FROM conversations WHERE id = " + conv) == "open");

  // Our own sent mail is found by its Message-ID (the outbound message's external_id).
  d.db.exec("INSERT INTO messages (conversation_id, direction, channel, account, external_id, body) VALUES (" + conv +
            ", 'out', 'email', 'support', 'sb.c" + conv + ".m9.x@support.example.com', 'odpowiedź')");
  d.db.exec("UPDATE conversations SET state = 'resolved'");
  auto to_ours = mail("a3@example.pl", "anna@example.pl", "Re: Re: Zamówienie");
  to_ours.mail->thread_hints = {"sb.c" + conv + ".m9.x@support.example.com"};
  r = pipeline.ingest(to_ours, no_rule_router());
  REQUIRE(r.ok());
  CHECK(r->conversation_id == conv);

  // A verified token brings even a stranger (a forwarded thread) into the conversation, without
  // making their address the customer's.
  auto stranger = mail("b1@example.pl", "kolega@example.pl", "Fwd: Zamówienie");
  stranger.mail->reply_tokens = {conv};
  r = pipeline.ingest(stranger, no_rule_router());
  REQUIRE(r.ok());
  CHECK(r->conversation_id == conv);
  CHECK(d.count("SELECT count(*) FROM identities WHERE value = 'kolega@example.pl'") == 0);

  // A subject tag counts only for the conversation's own customer.
  auto tagged_stranger = mail("c1@example.pl", "obcy@example.pl", "Pytanie [#" + conv + "]");
  r = pipeline.ingest(tagged_stranger, no_rule_router());
  REQUIRE(r.ok());
  CHECK(r->conversation_id != conv);
  d.db.exec("UPDATE conversations SET state = 'resolved' WHERE id = " + conv);
  auto tagged_own = mail("a4@example.pl", "anna@example.pl", "Jeszcze jedno [#" + conv + "]");
  r = pipeline.ingest(tagged_own, no_rule_router());
  REQUIRE(r.ok());
  CHECK(r->conversation_id == conv);
  CHECK(d.count("SELECT count(*) FROM email_headers") == 6);
}

TEST_CASE("email pipeline: a reply to a resolved conversation joins the customer's open one", "[storage][email]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto old = pipeline.ingest(mail("o1@example.pl", "jan@example.pl", "Stara sprawa"), no_rule_router());
  REQUIRE(old.ok());
  d.db.exec("UPDATE conversations SET state = 'resolved'");
  auto fresh = pipeline.ingest(mail("n1@example.pl", "jan@example.pl", "Nowa sprawa"), no_rule_router());
  REQUIRE(fresh.ok());
  REQUIRE(fresh->conversation_id != old->conversation_id);

  auto late = mail("o2@example.pl", "jan@example.pl", "Re: Stara sprawa");
  late.mail->thread_hints = {"o1@example.pl"};
  auto r = pipeline.ingest(late, no_rule_router());
  REQUIRE(r.ok());
  CHECK(r->conversation_id == fresh->conversation_id);
  CHECK(d.count("SELECT count(*) FROM conversations WHERE state IN ('open', 'pending')") == 1);
}

TEST_CASE("email pipeline: automatic mail is stored and never routed; automatic replies are capped per address",
          "[storage][email]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock, PipelineOptions{.auto_reply_interval = {{Channel::email, 1h}}});
  auto ooo = mail("ooo@example.pl", "ewa@example.pl", "Nieobecność");
  ooo.automated = "Auto-Submitted: auto-replied";
  auto r = pipeline.ingest(ooo, router_returning(reply_decision()));
  REQUIRE(r.ok());
  CHECK(d.count("SELECT count(*) FROM outbox") == 0);
  CHECK(d.count("SELECT count(*) FROM audit WHERE decision ? 'not_routed'") == 1);

  REQUIRE(pipeline.ingest(mail("e1@example.pl", "ewa@example.pl", "Pytanie"), router_returning(reply_decision())).ok());
  CHECK(d.count("SELECT count(*) FROM outbox") == 1);
  auto again = pipeline.ingest(mail("e2@example.pl", "ewa@example.pl", "Pytanie 2"), router_returning(reply_decision()));
  REQUIRE(again.ok());
  CHECK(again->capped);
  CHECK(d.count("SELECT count(*) FROM outbox") == 1);
  // Another address is not affected; after the interval the same address is answered again.
  REQUIRE(pipeline.ingest(mail("f1@example.pl", "filip@example.pl", "Hej"), router_returning(reply_decision())).ok());
  CHECK(d.count("SELECT count(*) FROM outbox") == 2);
  d.db.exec("UPDATE outbox SET created_at = created_at - interval '2 hours'");
  REQUIRE(pipeline.ingest(mail("e3@example.pl", "ewa@example.pl", "Pytanie 3"), router_returning(reply_decision())).ok());
  CHECK(d.count("SELECT count(*) FROM outbox") == 3);
}

TEST_CASE("email pipeline: attachment bytes are kept with the message, in order", "[storage][email]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto m = mail("att@example.pl", "ola@example.pl", "Faktura");
  m.attachments = {Attachment{"", "application/pdf", "faktura.pdf", 5}, Attachment{"", "image/png", "duzy.png", 99999999}};
  m.attachment_contents = {std::string("%PDF\0x", 6), ""};
  auto r = pipeline.ingest(m, no_rule_router());
  REQUIRE(r.ok());
  CHECK(d.db.scalar("SELECT position || ':' || length(bytes) FROM attachment_contents") == "0:6");
  CHECK(d.db.scalar("SELECT encode(bytes, 'hex') FROM attachment_contents") == "2550444600" "78");
}
