// One message carrying identities of two customers (a WhatsApp user id and the phone number
// seen together) merges them: one customer, one active conversation, the merge audited.
#include <catch2/catch.hpp>

#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;

namespace {

InboundMessage whatsapp(std::string wamid, std::vector<Identity> identities, std::string text) {
  InboundMessage m;
  m.channel = Channel::whatsapp;
  m.account = "106540352242922";
  m.external_id = std::move(wamid);
  m.sender = identities.front().value;
  m.identities = std::move(identities);
  m.text = std::move(text);
  m.sent_at = at("2027-03-30T08:00:00Z");
  return m;
}

const Identity kPhone{IdentityKind::phone, "+48601234567"};
const Identity kUser{IdentityKind::whatsapp_user, "PL.90817263544536271809"};

}  // namespace

TEST_CASE("merge: a WhatsApp user id and a phone of two customers seen together become one customer",
          "[storage][merge]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto by_username = pipeline.ingest(whatsapp("wamid.1", {kUser}, "Cześć, piszę z nazwy użytkownika"), no_rule_router());
  auto by_sms = pipeline.ingest(sms("SM1", "+48601234567", "A to SMS"), no_rule_router());
  REQUIRE(by_username.ok());
  REQUIRE(by_sms.ok());
  REQUIRE(by_username->customer_id != by_sms->customer_id);

  auto both = pipeline.ingest(whatsapp("wamid.2", {kPhone, kUser}, "Już z numerem"), no_rule_router());
  REQUIRE(both.ok());
  CHECK(both->customer_id == by_sms->customer_id);  // the primary identity's customer survives
  CHECK(both->conversation_id == by_sms->conversation_id);
  CHECK(d.count("SELECT count(DISTINCT customer_id) FROM identities") == 1);
  CHECK(d.db.scalar("SELECT merged_into FROM customers WHERE id = " + by_username->customer_id) == by_sms->customer_id);
  CHECK(d.count("SELECT count(*) FROM messages WHERE conversation_id = " + by_sms->conversation_id) == 3);
  CHECK(d.db.scalar("SELECT inbound_count FROM conversations WHERE id = " + by_sms->conversation_id) == "3");
  CHECK(d.count("SELECT count(*) FROM conversations WHERE state IN ('open', 'pending')") == 1);
  CHECK(d.db.scalar("SELECT state || ' ' || customer_id FROM conversations WHERE id = " + by_username->conversation_id) ==
        "resolved " + by_sms->customer_id);
  CHECK(d.count("SELECT count(*) FROM audit WHERE decision ? 'merge'") == 1);

  // Later messages from either identity land in the one conversation.
  auto later = pipeline.ingest(whatsapp("wamid.3", {kUser}, "Dziękuję"), no_rule_router());
  REQUIRE(later.ok());
  CHECK(later->conversation_id == by_sms->conversation_id);
}

TEST_CASE("merge: when the surviving customer has no open conversation the other one's moves over",
          "[storage][merge]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto by_username = pipeline.ingest(whatsapp("wamid.1", {kUser}, "Pytanie"), no_rule_router());
  auto by_sms = pipeline.ingest(sms("SM1", "+48601234567", "Stare"), no_rule_router());
  REQUIRE(by_username.ok());
  REQUIRE(by_sms.ok());
  d.db.exec("UPDATE conversations SET state = 'resolved' WHERE id = " + by_sms->conversation_id);

  auto both = pipeline.ingest(whatsapp("wamid.2", {kPhone, kUser}, "Dalej"), no_rule_router());
  REQUIRE(both.ok());
  CHECK(both->customer_id == by_sms->customer_id);
  CHECK(both->conversation_id == by_username->conversation_id);
  CHECK(d.db.scalar("SELECT customer_id FROM conversations WHERE id = " + by_username->conversation_id) ==
        by_sms->customer_id);
  CHECK(d.count("SELECT count(*) FROM conversations WHERE customer_id = " + by_sms->customer_id) == 2);
}
