// Pipeline::ingest against a real PostgreSQL: idempotency, identity resolution, conversations,
// decision effects, concurrency and error mapping.
#include <catch2/catch.hpp>

#include <map>
#include <pqxx/pqxx>
#include <mutex>
#include <set>
#include <thread>

#include "storage/pipeline.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;

namespace {

// Every table's row count: "nothing was written" compares two of these.
std::string row_counts(const MigratedDatabase& d) {
  return d.db.scalar(
      "SELECT concat_ws(',', (SELECT count(*) FROM customers), (SELECT count(*) FROM identities), "
      "(SELECT count(*) FROM conversations), (SELECT count(*) FROM messages), (SELECT count(*) FROM outbox), "
      "(SELECT count(*) FROM audit))");
}

// Records what the pipeline showed the router.
struct Recorder {
  std::mutex mu;
  std::vector<ConversationView> conversations;
  std::vector<CustomerView> customers;
  std::vector<Timestamp> times;

  Router router(Decision decision = {}) {
    return Router{"hash-r", [this, decision](const routing::EvaluationInput& in) {
                    std::lock_guard lock(mu);
                    conversations.push_back(in.conversation);
                    customers.push_back(in.customer);
                    times.push_back(in.now);
                    return decision;
                  }};
  }
};

Decision reply_decision() {
  Decision d;
  d.rule = "after-hours";
  d.matched = {"after-hours"};
  d.actions = {ReplyAction{"after_hours", "Odpowiemy jutro o 8:00."}, EnqueueAction{"support", Priority::normal}};
  return d;
}

}  // namespace

TEST_CASE("pipeline: the same message twice is stored once and the second is a duplicate", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:01Z"));
  Pipeline pipeline(d.pool, clock);
  auto router = router_returning(reply_decision());
  auto message = sms("SM1", "+48600100200", "Dzień dobry, awaria!");
  message.attachments = {Attachment{"https://x/1.png", "image/png", "1.png", 1234}, Attachment{"https://x/2", "text/plain", "2", {}}};

  auto first = pipeline.ingest(message, router);
  REQUIRE(first.ok());
  CHECK_FALSE(first->duplicate);
  CHECK(first->decision.rule == std::optional<std::string>("after-hours"));
  const auto counts = row_counts(d);
  CHECK(counts == "1,1,1,2,1,1");

  auto second = pipeline.ingest(message, router);
  REQUIRE(second.ok());
  CHECK(second->duplicate);
  CHECK(second->message_id == first->message_id);
  CHECK(second->conversation_id == first->conversation_id);
  CHECK(second->customer_id == first->customer_id);
  CHECK(second->decision.actions.empty());
  CHECK(row_counts(d) == counts);
  CHECK(d.count("SELECT count(*) FROM messages WHERE direction = 'in'") == 1);
  CHECK(d.count("SELECT count(*) FROM outbox") == 1);
  CHECK(d.db.scalar("SELECT attachments FROM messages WHERE direction = 'in'") ==
        R"([{"url": "https://x/1.png", "name": "1.png", "size": 1234, "mime_type": "image/png"}, )"
        R"({"url": "https://x/2", "name": "2", "mime_type": "text/plain"}])");
}

TEST_CASE("pipeline: the same external_id with other content is a conflict and changes nothing",
          "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:01Z"));
  Pipeline pipeline(d.pool, clock);
  auto router = router_returning(reply_decision());
  auto original = sms("SM1", "+48600100200", "first text");
  REQUIRE(pipeline.ingest(original, router).ok());
  const auto counts = row_counts(d);

  auto other_text = original;
  other_text.text = "second text";
  auto other_sender = original;
  other_sender.sender = "+48600999999";
  auto other_attachments = original;
  other_attachments.attachments = {Attachment{"https://x/1.png", "image/png", "1.png", {}}};
  for (const auto* m : {&other_text, &other_sender, &other_attachments}) {
    auto r = pipeline.ingest(*m, router);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::conflict);
    CHECK(r.error().code == "external_id_conflict");
    CHECK(r.error().message == "external_id 'SM1' was already used for a different message");
  }
  CHECK(row_counts(d) == counts);

  // The same id on another account or channel is another message.
  auto other_account = original;
  other_account.account = "+48500000001";
  auto r = pipeline.ingest(other_account, router);
  REQUIRE(r.ok());
  CHECK_FALSE(r->duplicate);
}

TEST_CASE("pipeline: 50 concurrent deliveries of 10 messages from 3 senders", "[storage][pipeline]") {
  MigratedDatabase d(8);
  SystemClock clock;
  Pipeline pipeline(d.pool, clock);
  const auto router = router_returning(reply_decision());
  const std::vector<std::string> senders = {"+48600000001", "+48600000002", "+48600000003"};
  std::vector<InboundMessage> messages;
  for (int i = 0; i < 10; ++i)
    messages.push_back(sms("SM" + std::to_string(i), senders[i % 3], "message " + std::to_string(i)));

  std::mutex mu;
  std::map<std::string, std::set<std::string>> ids_per_message;
  std::vector<std::string> errors;
  int firsts = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&, t] {
      auto r = pipeline.ingest(messages[t % 10], router);
      std::lock_guard lock(mu);
      if (!r.ok()) {
        errors.push_back(r.error().code + ": " + r.error().message);
        return;
      }
      ids_per_message[messages[t % 10].external_id].insert(r->message_id + "/" + r->conversation_id + "/" +
                                                           r->customer_id);
      if (!r->duplicate) ++firsts;
    });
  }
  for (auto& t : threads) t.join();

  CHECK(errors.empty());
  for (const auto& e : errors) INFO(e);
  CHECK(firsts == 10);
  for (const auto& [external_id, ids] : ids_per_message) {
    INFO(external_id);
    CHECK(ids.size() == 1);
  }
  CHECK(d.count("SELECT count(*) FROM messages WHERE direction = 'in'") == 10);
  CHECK(d.count("SELECT count(*) FROM messages WHERE direction = 'out'") == 10);
  CHECK(d.count("SELECT count(*) FROM outbox") == 10);
  CHECK(d.count("SELECT count(*) FROM audit") == 10);
  CHECK(d.count("SELECT count(*) FROM customers") == 3);
  for (const auto& phone : senders) {
    INFO(phone);
    CHECK(d.count("SELECT count(DISTINCT customer_id) FROM identities WHERE kind = 'phone' AND value = '" + phone +
                  "'") == 1);
    CHECK(d.count("SELECT count(*) FROM conversations c JOIN identities i ON i.customer_id = c.customer_id "
                  "WHERE i.value = '" +
                  phone + "' AND c.state = 'open'") == 1);
  }
  CHECK(d.count("SELECT sum(inbound_count) FROM conversations") == 10);
}

TEST_CASE("pipeline: a second message from the sender joins the open conversation", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  Recorder rec;
  auto first_message = sms("SM1", "+48600100200", "one");
  first_message.display_name = "Jan Kowalski";
  first_message.language = "pl";
  auto first = pipeline.ingest(first_message, rec.router());
  REQUIRE(first.ok());
  clock.set(at("2027-03-30T08:05:00Z"));
  auto second = pipeline.ingest(sms("SM2", "+48600100200", "two"), rec.router());
  REQUIRE(second.ok());

  CHECK(second->conversation_id == first->conversation_id);
  CHECK(second->customer_id == first->customer_id);
  CHECK(second->message_id != first->message_id);
  REQUIRE(rec.conversations.size() == 2);
  CHECK(rec.conversations[0].is_new);
  CHECK(rec.conversations[0].inbound_count == 1);
  CHECK(rec.conversations[0].state == "open");
  CHECK_FALSE(rec.conversations[1].is_new);
  CHECK(rec.conversations[1].inbound_count == 2);
  CHECK(rec.conversations[1].state == "open");
  CHECK(rec.customers[1].id == first->customer_id);
  CHECK(rec.customers[1].display_name == "Jan Kowalski");
  CHECK(rec.customers[1].language == std::optional<std::string>("pl"));
  CHECK(rec.times[1] == at("2027-03-30T08:05:00Z"));
  CHECK(d.db.scalar("SELECT opened_at = '2027-03-30T08:00:00Z' AND last_message_at = '2027-03-30T08:05:00Z' "
                    "FROM conversations") == "t");
  CHECK(d.db.scalar("SELECT sent_at = '2027-03-30T08:00:00Z' FROM messages WHERE external_id = 'SM2'") == "t");

  // A resolved conversation stays closed: the next message opens a new one.
  d.db.exec("UPDATE conversations SET state = 'resolved', resolved_at = now()");
  auto third = pipeline.ingest(sms("SM3", "+48600100200", "three"), rec.router());
  REQUIRE(third.ok());
  CHECK(third->conversation_id != first->conversation_id);
  CHECK(third->customer_id == first->customer_id);
  CHECK(rec.conversations[2].is_new);
  CHECK(rec.conversations[2].inbound_count == 1);
}

TEST_CASE("pipeline: a phone and an e-mail address are separate customers until linked", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto by_phone = pipeline.ingest(sms("SM1", "+48600100200", "sms"), no_rule_router());
  InboundMessage mail;
  mail.channel = Channel::email;
  mail.account = "support@example.pl";
  mail.external_id = "abc@mail#0123456789abcdef";
  mail.sender = "jan@example.pl";
  mail.identities = {Identity{IdentityKind::email, "jan@example.pl"}};
  mail.text = "mail";
  auto by_mail = pipeline.ingest(mail, no_rule_router());
  REQUIRE(by_phone.ok());
  REQUIRE(by_mail.ok());
  CHECK(by_phone->customer_id != by_mail->customer_id);
  CHECK(by_phone->conversation_id != by_mail->conversation_id);
  CHECK(d.count("SELECT count(*) FROM customers") == 2);

  // A message carrying the known phone as primary and a new address attaches the address to the
  // phone's customer.
  auto api = sms("api-1", "+48600100200", "api");
  api.channel = Channel::api;
  api.account = "shop";
  api.identities.push_back(Identity{IdentityKind::api, "shop:client-7"});
  api.display_name = "Jan";
  auto linked = pipeline.ingest(api, no_rule_router());
  REQUIRE(linked.ok());
  CHECK(linked->customer_id == by_phone->customer_id);
  CHECK(linked->conversation_id == by_phone->conversation_id);
  CHECK(d.db.scalar("SELECT customer_id FROM identities WHERE kind = 'api'") == by_phone->customer_id);
  // The empty display name was filled in.
  CHECK(d.db.scalar("SELECT display_name FROM customers WHERE id = " + by_phone->customer_id) == "Jan");

  // Two known identities of different customers: one message proves they are one person; the
  // primary's customer absorbs the other (tests/integration/storage/merge_test.cpp has the rest).
  auto both = sms("SM9", "+48600100200", "both");
  both.identities.push_back(Identity{IdentityKind::email, "jan@example.pl"});
  auto r = pipeline.ingest(both, no_rule_router());
  REQUIRE(r.ok());
  CHECK(r->customer_id == by_phone->customer_id);
  CHECK(d.db.scalar("SELECT customer_id FROM identities WHERE kind = 'email'") == by_phone->customer_id);
  CHECK(d.db.scalar("SELECT merged_into FROM customers WHERE id = " + by_mail->customer_id) == by_phone->customer_id);
}

TEST_CASE("pipeline: decision effects are written with the message", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T20:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  Decision decision;
  decision.rule = "outage-at-night";
  decision.matched = {"outage-at-night", "tagger"};
  decision.actions = {ReplyAction{"urgent_ack", "Przyjęliśmy zgłoszenie awarii."},
                      EnqueueAction{"support", Priority::urgent}, TagAction{"outage"}, TagAction{"night"},
                      TagAction{"outage"}};
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "awaria"), router_returning(decision, "sha256:abc"));
  REQUIRE(r.ok());

  // Reply: an outbound message and its queued outbox row.
  CHECK(d.db.scalar("SELECT concat_ws('|', conversation_id, channel, account, coalesce(external_id, 'NULL'), "
                    "sender, body) FROM messages WHERE direction = 'out'") ==
        r->conversation_id + "|sms|+48500000000|NULL||Przyjęliśmy zgłoszenie awarii.");
  CHECK(d.db.scalar("SELECT concat_ws('|', o.channel, o.account, o.recipient, o.state, o.attempts) "
                    "FROM outbox o JOIN messages m ON m.id = o.message_id AND m.direction = 'out'") ==
        "sms|+48500000000|+48600100200|queued|0");
  CHECK(d.db.scalar("SELECT payload = jsonb_build_object('text', 'Przyjęliśmy zgłoszenie awarii.', "
                    "'template', 'urgent_ack', 'in_reply_to', '" +
                    r->message_id + "', 'conversation_id', '" + r->conversation_id + "') FROM outbox") == "t");
  // Enqueue and tags.
  CHECK(d.db.scalar("SELECT concat_ws('|', queue, priority, tags::text) FROM conversations") ==
        "support|urgent|{outage,night}");
  // Audit.
  CHECK(d.db.scalar("SELECT concat_ws('|', message_id, conversation_id, rule, rules_hash) FROM audit") ==
        r->message_id + "|" + r->conversation_id + "|outage-at-night|sha256:abc");
  CHECK(d.db.scalar(R"(SELECT decision = '{"rule": "outage-at-night", "matched": ["outage-at-night", "tagger"],
      "actions": [{"type": "reply", "template": "urgent_ack"},
                  {"type": "enqueue", "queue": "support", "priority": "urgent"},
                  {"type": "tag", "tag": "outage"}, {"type": "tag", "tag": "night"},
                  {"type": "tag", "tag": "outage"}]}'::jsonb FROM audit)") == "t");

  // A later tag already present is not added twice; a new one is.
  Decision later;
  later.rule = "tagger";
  later.matched = {"tagger"};
  later.actions = {TagAction{"night"}, TagAction{"vip"}};
  REQUIRE(pipeline.ingest(sms("SM2", "+48600100200", "again"), router_returning(later)).ok());
  CHECK(d.db.scalar("SELECT concat_ws('|', queue, priority, tags::text) FROM conversations") ==
        "support|urgent|{outage,night,vip}");
}

TEST_CASE("pipeline: no matching rule still writes an audit row, with rule NULL", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "hello"), router_returning(Decision{}, "h0"));
  REQUIRE(r.ok());
  CHECK(r->decision.rule == std::nullopt);
  CHECK(d.db.scalar("SELECT rule IS NULL FROM audit") == "t");
  CHECK(d.db.scalar("SELECT rules_hash FROM audit") == "h0");
  CHECK(d.db.scalar(R"(SELECT decision = '{"rule": null, "matched": [], "actions": []}'::jsonb FROM audit)") == "t");
  CHECK(d.count("SELECT count(*) FROM outbox") == 0);
  CHECK(d.db.scalar("SELECT concat_ws('|', coalesce(queue, 'NULL'), priority, tags::text) FROM conversations") ==
        "NULL|normal|{}");
}

TEST_CASE("pipeline: input the database cannot store is invalid and nothing is written", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  REQUIRE(pipeline.ingest(sms("SM0", "+48600100200", "fine"), no_rule_router()).ok());
  const auto counts = row_counts(d);

  SECTION("invalid UTF-8") {
    auto r = pipeline.ingest(sms("SM1", "+48600100200", "bad \xff byte"), no_rule_router());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().code == "invalid_message");
    CHECK(r.error().message == "the database refused the message: invalid byte sequence for encoding \"UTF8\": 0xff");
  }
  SECTION("invalid UTF-8 from a new sender, in the display name") {
    auto m = sms("SM1", "+48600999999", "text");
    m.display_name = "\xc3\x28";
    auto r = pipeline.ingest(m, no_rule_router());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
  }
  SECTION("a NUL character") {
    auto r = pipeline.ingest(sms("SM1", "+48600100200", std::string("a\0b", 3)), no_rule_router());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().code == "invalid_text");
  }
  SECTION("no identity") {
    auto m = sms("SM1", "+48600100200", "text");
    m.identities.clear();
    auto r = pipeline.ingest(m, no_rule_router());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().code == "no_identity");
  }
  SECTION("an external_id too long for the unique index") {
    // Incompressible, so that TOAST compression cannot make it fit.
    std::string id;
    std::uint32_t x = 12345;
    for (int i = 0; i < 10000; ++i) {
      x = x * 1103515245u + 12345u;
      id += static_cast<char>('a' + (x >> 16) % 26);
    }
    auto r = pipeline.ingest(sms(id, "+48600100200", "text"), no_rule_router());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
  }
  CHECK(row_counts(d) == counts);
}

TEST_CASE("pipeline: a router that throws is a bug and nothing is written", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  Router broken{"h", [](const routing::EvaluationInput&) -> Decision { throw std::runtime_error("boom"); }};
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "text"), broken);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::bug);
  CHECK(r.error().message == "cannot store the message: boom");  // run_unit names the work
  CHECK(row_counts(d) == "0,0,0,0,0,0");
  // The connection went back to the pool in a usable state.
  CHECK(pipeline.ingest(sms("SM1", "+48600100200", "text"), no_rule_router()).ok());
}

TEST_CASE("pipeline: a database that is down is unavailable", "[storage][pipeline]") {
  Pool pool(PoolOptions{.url = "postgresql://sb:pw@127.0.0.1:1/switchboard", .size = 1});
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(pool, clock);
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "text"), no_rule_router());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::unavailable);
  CHECK(r.error().code == "database_unavailable");
}

TEST_CASE("pipeline: a conversation another writer opens meanwhile is joined after a retry", "[storage][pipeline]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto first = pipeline.ingest(sms("SM1", "+48600100200", "one"), no_rule_router());
  REQUIRE(first.ok());
  d.db.exec("UPDATE conversations SET state = 'resolved'");

  // Another writer (an agent reopening, say) inserts an open conversation and has not committed
  // when the message arrives: the pipeline's insert waits on the unique index, then fails once.
  pqxx::connection other(d.db.url());
  pqxx::work tx(other);
  const auto opened = tx.exec("INSERT INTO conversations (customer_id, opened_at) VALUES (" + first->customer_id +
                              ", now()) RETURNING id")[0][0].as<std::string>();
  Result<IngestOutcome> second = make_error(ErrorKind::bug, "not_run", "");
  std::thread t([&] { second = pipeline.ingest(sms("SM2", "+48600100200", "two"), no_rule_router()); });
  for (int i = 0; i < 500 && d.db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND wait_event_type = 'Lock'") != "1";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  tx.commit();
  t.join();
  REQUIRE(second.ok());
  CHECK(second->conversation_id == opened);
  CHECK(d.count("SELECT count(*) FROM messages") == 2);
}
