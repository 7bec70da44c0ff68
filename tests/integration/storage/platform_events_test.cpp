// Delivery statuses, echoes and opt-outs against a real PostgreSQL: statuses only move forward,
// a status that beats our send's answer is applied when the answer is recorded, watermarks,
// echoes stored once, opted-out senders get no automatic reply.
#include <catch2/catch.hpp>

#include "storage/outbox.hpp"
#include "storage/platform_events.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* kT0 = "2027-03-30T08:00:00Z";

Decision reply_decision() {
  Decision d;
  d.rule = "ack";
  d.matched = {"ack"};
  d.actions = {ReplyAction{"ack", "Dziękujemy."}};
  return d;
}

DeliveryStatus status(const std::string& external_id, const std::string& name, const std::string& error = {}) {
  DeliveryStatus s;
  s.channel = Channel::sms;
  s.account = "+48500000000";
  s.external_id = external_id;
  s.status = name;
  s.error = error;
  s.at = at("2027-03-30T08:01:00Z");
  return s;
}

// One SMS with its reply claimed; returns the claim.
Claim claimed_reply(MigratedDatabase& d, Pipeline& pipeline, const std::string& sid, const std::string& phone) {
  REQUIRE(pipeline.ingest(sms(sid, phone, "Dzień dobry"), router_returning(reply_decision())).ok());
  d.db.exec("UPDATE outbox SET next_attempt_at = '" + std::string(kT0) + "'");
  auto items = claim_due(d.pool, 1, 60s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 1);
  return items->front().claim();
}

}  // namespace

TEST_CASE("platform events: statuses move a reply forward only, once each", "[storage][platform]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  const auto id = claimed_reply(d, pipeline, "SM1", "+48600100200");
  REQUIRE(mark_sent(d.pool, id, "sent", "SMout1", at(kT0)).ok());

  auto delivered = record_delivery_status(d.pool, status("SMout1", "delivered"));
  REQUIRE(delivered.ok());
  CHECK(delivered->applied);
  CHECK_FALSE(delivered->duplicate);
  CHECK(d.db.scalar("SELECT state FROM outbox WHERE id = " + id.outbox_id) == "delivered");

  auto again = record_delivery_status(d.pool, status("SMout1", "delivered"));
  REQUIRE(again.ok());
  CHECK(again->duplicate);

  // A late "sent" or "failed" does not undo "delivered"; "read" moves on.
  auto late = record_delivery_status(d.pool, status("SMout1", "sent"));
  REQUIRE(late.ok());
  CHECK_FALSE(late->applied);
  CHECK_FALSE(late->waiting);  // a no-op for a known message, not waiting (issue 11)
  REQUIRE(record_delivery_status(d.pool, status("SMout1", "failed", "30003 unreachable")).ok());
  CHECK(d.db.scalar("SELECT state FROM outbox WHERE id = " + id.outbox_id) == "delivered");
  REQUIRE(record_delivery_status(d.pool, status("SMout1", "read")).ok());
  CHECK(d.db.scalar("SELECT state FROM outbox WHERE id = " + id.outbox_id) == "read");
  CHECK(d.count("SELECT count(*) FROM delivery_statuses") == 4);

  auto bogus = record_delivery_status(d.pool, status("SMout1", "exploded"));
  REQUIRE_FALSE(bogus.ok());
  CHECK(bogus.error().code == "invalid_status");
}

TEST_CASE("platform events: a status that arrives before our send's answer is applied with it",
          "[storage][platform]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  const auto id = claimed_reply(d, pipeline, "SM2", "+48600100201");

  auto early = record_delivery_status(d.pool, status("SMout2", "delivered"));
  REQUIRE(early.ok());
  CHECK_FALSE(early->applied);  // no message has that id yet
  CHECK(early->waiting);
  CHECK(d.db.scalar("SELECT state FROM outbox WHERE id = " + id.outbox_id) == "sending");

  REQUIRE(mark_sent(d.pool, id, "sent", "SMout2", at(kT0)).ok());
  CHECK(d.db.scalar("SELECT state FROM outbox WHERE id = " + id.outbox_id) == "delivered");
}

TEST_CASE("platform events: a failed status records the error; a blocked one (WhatsApp 131047) blocks the reply",
          "[storage][platform]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  const auto first = claimed_reply(d, pipeline, "SM3", "+48600100202");
  REQUIRE(mark_sent(d.pool, first, "sent", "SMout3", at(kT0)).ok());
  REQUIRE(record_delivery_status(d.pool, status("SMout3", "failed", "30003 unreachable handset")).ok());
  CHECK(d.db.scalar("SELECT state || ' ' || last_error FROM outbox WHERE id = " + first.outbox_id) ==
        "failed 30003 unreachable handset");

  const auto second = claimed_reply(d, pipeline, "SM4", "+48600100203");
  REQUIRE(mark_sent(d.pool, second, "sent", "SMout4", at(kT0)).ok());
  REQUIRE(record_delivery_status(d.pool, status("SMout4", "blocked", "131047 Re-engagement message")).ok());
  CHECK(d.db.scalar("SELECT state FROM outbox WHERE id = " + second.outbox_id) == "blocked");
}

TEST_CASE("platform events: a read watermark covers every reply sent to that recipient before it",
          "[storage][platform]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  const auto id = claimed_reply(d, pipeline, "SM5", "+48600100204");
  REQUIRE(mark_sent(d.pool, id, "sent", "SMout5", at(kT0)).ok());
  d.db.exec("UPDATE messages SET created_at = '2027-03-30T08:00:00Z' WHERE direction = 'out'");

  DeliveryStatus early = status("", "read");
  early.recipient = "+48600100204";
  early.at = at("2027-03-30T07:59:00Z");  // before the reply: covers nothing
  auto none = record_delivery_status(d.pool, early);
  REQUIRE(none.ok());
  CHECK_FALSE(none->applied);
  CHECK_FALSE(none->waiting);  // a watermark never waits
  DeliveryStatus read = status("", "read");
  read.recipient = "+48600100204";
  auto applied = record_delivery_status(d.pool, read);
  REQUIRE(applied.ok());
  CHECK(applied->applied);
  CHECK(d.db.scalar("SELECT state FROM outbox WHERE id = " + id.outbox_id) == "read");
}

TEST_CASE("platform events: an echo is stored once as an outbound message and counts as a human reply",
          "[storage][platform]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  REQUIRE(pipeline.ingest(sms("SM6", "+48600100205", "Halo"), no_rule_router()).ok());

  Echo echo;
  echo.message = sms("m_echo_1", "+48600100205", "Odpowiedź z telefonu firmy");
  echo.message.sender = "+48500000000";
  auto stored = record_echo(d.pool, echo, at(kT0));
  REQUIRE(stored.ok());
  CHECK(stored->stored);
  auto again = record_echo(d.pool, echo, at(kT0));
  REQUIRE(again.ok());
  CHECK_FALSE(again->stored);
  CHECK(again->reason == "duplicate");
  CHECK(d.count("SELECT count(*) FROM messages WHERE direction = 'out'") == 1);
  CHECK(d.db.scalar("SELECT inbound_since_human_reply || ' ' || (last_human_reply_at IS NOT NULL) FROM conversations") ==
        "0 true");

  Echo stranger;
  stranger.message = sms("m_echo_2", "+48999999999", "Do kogoś nieznanego");
  auto unknown = record_echo(d.pool, stranger, at(kT0));
  REQUIRE(unknown.ok());
  CHECK(unknown->reason == "unknown_customer");
}

TEST_CASE("platform events: an opted-out sender's message is stored but gets no automatic reply",
          "[storage][platform]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  OptOut stop{Channel::sms, "+48500000000", Identity{IdentityKind::phone, "+48600100206"}, true};
  REQUIRE(record_opt_out(d.pool, stop, "+48600100206", at(kT0)).ok());
  REQUIRE(record_opt_out(d.pool, stop, "+48600100206", at(kT0)).ok());  // again: no error
  CHECK(opted_out(d.pool, Channel::sms, "+48600100206").value());
  CHECK_FALSE(opted_out(d.pool, Channel::whatsapp, "+48600100206").value());

  auto r = pipeline.ingest(sms("SM7", "+48600100206", "Pytanie"), router_returning(reply_decision()));
  REQUIRE(r.ok());
  CHECK(r->opted_out);
  CHECK(d.count("SELECT count(*) FROM outbox") == 0);
  CHECK(d.count("SELECT count(*) FROM audit WHERE decision ? 'replies_held_back'") == 1);

  OptOut start = stop;
  start.opted_out = false;
  REQUIRE(record_opt_out(d.pool, start, "+48600100206", at(kT0)).ok());
  REQUIRE(pipeline.ingest(sms("SM8", "+48600100206", "Znowu"), router_returning(reply_decision())).ok());
  CHECK(d.count("SELECT count(*) FROM outbox") == 1);
}
