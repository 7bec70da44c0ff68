// The outbox's worker side (claims, leases, results) and agent replies, against a real
// PostgreSQL, including two daemons claiming at once.
#include <catch2/catch.hpp>

#include <algorithm>
#include <boost/json.hpp>
#include <future>
#include <latch>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "routing/core/log.hpp"
#include "storage/conversations.hpp"
#include "storage/instance_lock.hpp"
#include "storage/outbox.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* kT0 = "2027-03-30T08:00:00Z";

Decision reply_decision(std::string text = "Dziękujemy, odpowiemy wkrótce.") {
  Decision d;
  d.rule = "ack";
  d.matched = {"ack"};
  d.actions = {ReplyAction{"ack", std::move(text)}};
  return d;
}

// `count` outbound messages of a new customer with their outbox rows, due at `due`, straight in
// SQL: faster than the pipeline when only the outbox matters.
void seed_outbox(const MigratedDatabase& d, int count, const char* due) {
  d.db.exec("INSERT INTO customers DEFAULT VALUES");
  d.db.exec(
      "INSERT INTO conversations (customer_id, opened_at) SELECT max(id), now() FROM customers");
  d.db.exec("INSERT INTO messages (conversation_id, direction, channel, account, body) "
            "SELECT (SELECT max(id) FROM conversations), 'out', 'sms', '+48500000000', 'reply ' || g "
            "FROM generate_series(1, " + std::to_string(count) + ") AS g");
  d.db.exec("INSERT INTO outbox (message_id, channel, account, recipient, payload, next_attempt_at) "
            "SELECT m.id, m.channel, m.account, '+48600100200', jsonb_build_object('text', m.body), '" +
            std::string(due) + "' FROM messages m WHERE m.direction = 'out' AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id)");
}

// The events logged while it lives.
struct LoggedEvents final : log::Sink {
  LoggedEvents() { log::set_sink(this); }
  ~LoggedEvents() override { log::set_sink(nullptr); }
  void write(log::Level, std::string_view event, std::initializer_list<log::Field>) override {
    std::lock_guard lock(mu);
    events.emplace_back(event);
  }
  bool saw(const std::string& event) {
    std::lock_guard lock(mu);
    return std::find(events.begin(), events.end(), event) != events.end();
  }
  std::mutex mu;
  std::vector<std::string> events;
};

// One claimed row: the single due one.
OutboxItem claim_one(Pool& pool, Timestamp now, Duration lease = 60s) {
  auto items = claim_due(pool, 10, lease, now);
  REQUIRE(items.ok());
  REQUIRE(items->size() == 1);
  return items->front();
}

std::string outbox_column(const MigratedDatabase& d, const std::string& id, const std::string& column) {
  return d.db.scalar("SELECT " + column + " FROM outbox WHERE id = " + id);
}

}  // namespace

TEST_CASE("outbox: a claim returns the due rows with what a sender needs and marks them sending",
          "[storage][outbox]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "Dzień dobry"), router_returning(reply_decision()));
  REQUIRE(r.ok());
  d.db.exec("UPDATE outbox SET next_attempt_at = '2027-03-30T08:00:00Z'");

  auto items = claim_due(d.pool, 10, 30s, at("2027-03-30T08:00:05Z"));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 1);
  const auto& item = items->front();
  CHECK(item.id == d.db.scalar("SELECT id FROM outbox"));
  CHECK(item.message_id == d.db.scalar("SELECT id FROM messages WHERE direction = 'out'"));
  CHECK(item.conversation_id == r->conversation_id);
  CHECK(item.channel == "sms");
  CHECK(item.account == "+48500000000");
  CHECK(item.recipient == std::optional<std::string>("+48600100200"));
  CHECK(item.attempts == 1);
  CHECK(item.lease_until == at("2027-03-30T08:00:35Z"));
  auto payload = boost::json::parse(item.payload).as_object();
  CHECK(payload.at("text").as_string() == "Dziękujemy, odpowiemy wkrótce.");
  CHECK(payload.at("template").as_string() == "ack");
  CHECK(payload.at("in_reply_to").as_string() == r->message_id);
  CHECK(payload.at("conversation_id").as_string() == r->conversation_id);

  CHECK(outbox_column(d, item.id, "state") == "sending");
  CHECK(outbox_column(d, item.id, "attempts") == "1");
  CHECK(outbox_column(d, item.id, "updated_at = '2027-03-30T08:00:05Z'") == "t");
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "sending");
  CHECK(record->lease_until == std::optional<Timestamp>(at("2027-03-30T08:00:35Z")));

  SECTION("a second claim gets nothing") {
    auto again = claim_due(d.pool, 10, 30s, at("2027-03-30T08:00:06Z"));
    REQUIRE(again.ok());
    CHECK(again->empty());
  }
}

TEST_CASE("outbox: a claim takes rows oldest due first, up to the limit, and none due later",
          "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 3, "2027-03-30T08:00:00Z");
  seed_outbox(d, 1, "2027-03-30T07:59:00Z");
  seed_outbox(d, 1, "2027-03-30T08:05:00Z");

  auto first = claim_due(d.pool, 2, 60s, at(kT0));
  REQUIRE(first.ok());
  REQUIRE(first->size() == 2);
  CHECK(d.db.scalar("SELECT next_attempt_at = '2027-03-30T07:59:00Z' FROM outbox WHERE id = " + (*first)[0].id) == "t");

  auto rest = claim_due(d.pool, 10, 60s, at(kT0));
  REQUIRE(rest.ok());
  CHECK(rest->size() == 2);
  CHECK(d.count("SELECT count(*) FROM outbox WHERE state = 'queued'") == 1);

  // The row due at 08:05 is not claimed before then.
  auto early = claim_due(d.pool, 10, 60s, at("2027-03-30T08:04:59.999999Z"));
  REQUIRE(early.ok());
  CHECK(early->empty());
  auto due = claim_due(d.pool, 10, 60s, at("2027-03-30T08:05:00Z"));
  REQUIRE(due.ok());
  CHECK(due->size() == 1);

  auto none = claim_due(d.pool, 0, 60s, at("2027-03-30T09:00:00Z"));
  REQUIRE(none.ok());
  CHECK(none->empty());
  auto bad = claim_due(d.pool, 1, 0s, at(kT0));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::invalid);
  CHECK(bad.error().code == "invalid_lease");
}

TEST_CASE("outbox: two daemons claiming 200 rows at once get disjoint sets that cover them all",
          "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 200, "2027-03-30T07:00:00Z");
  Pool a(PoolOptions{.url = d.db.url(), .size = 2});
  Pool b(PoolOptions{.url = d.db.url(), .size = 2});

  std::latch start(2);
  auto worker = [&](Pool& pool, std::vector<std::string>& ids, bool& ok) {
    start.arrive_and_wait();
    for (;;) {
      auto items = claim_due(pool, 7, 60s, at(kT0));
      if (!items.ok()) {
        ok = false;
        return;
      }
      if (items->empty()) return;
      for (const auto& item : *items) ids.push_back(item.id);
    }
  };
  std::vector<std::string> ids_a, ids_b;
  bool ok_a = true, ok_b = true;
  std::thread ta(worker, std::ref(a), std::ref(ids_a), std::ref(ok_a));
  std::thread tb(worker, std::ref(b), std::ref(ids_b), std::ref(ok_b));
  ta.join();
  tb.join();
  REQUIRE(ok_a);
  REQUIRE(ok_b);

  std::set<std::string> all(ids_a.begin(), ids_a.end());
  CHECK(all.size() == ids_a.size());  // no row twice to one daemon either
  for (const auto& id : ids_b) CHECK(all.insert(id).second);
  CHECK(all.size() == 200);
  CHECK(d.count("SELECT count(*) FROM outbox WHERE state = 'sending' AND attempts = 1") == 200);
  INFO("daemon a claimed " << ids_a.size() << ", daemon b " << ids_b.size());
  CHECK(ids_a.size() + ids_b.size() == 200);
}

TEST_CASE("outbox: mark_retry queues the row again for later, with the error", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 1, kT0);
  const auto item = claim_one(d.pool, at(kT0));

  auto retried = mark_retry(d.pool, item.claim(), "HTTP 503 from the callback", at("2027-03-30T08:00:30Z"));
  REQUIRE(retried.ok());
  CHECK(*retried);
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "queued");
  CHECK(record->attempts == 1);
  CHECK(record->last_error == std::optional<std::string>("HTTP 503 from the callback"));
  CHECK(record->next_attempt_at == at("2027-03-30T08:00:30Z"));
  CHECK(record->lease_until == std::nullopt);

  auto early = claim_due(d.pool, 10, 60s, at("2027-03-30T08:00:29Z"));
  REQUIRE(early.ok());
  CHECK(early->empty());
  const auto again = claim_one(d.pool, at("2027-03-30T08:00:30Z"));
  CHECK(again.id == item.id);
  CHECK(again.attempts == 2);

  SECTION("agents see attempts and the last error on the message") {
    auto conversation = d.db.scalar("SELECT max(id) FROM conversations");
    auto messages = list_messages(d.pool, conversation);
    REQUIRE(messages.ok());
    REQUIRE(messages->size() == 1);
    CHECK((*messages)[0].delivery_state == std::optional<std::string>("sending"));
    CHECK((*messages)[0].attempts == std::optional<int>(2));
    CHECK((*messages)[0].last_error == std::optional<std::string>("HTTP 503 from the callback"));
  }
}

TEST_CASE("outbox: mark_failed ends the row for good", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 1, kT0);
  const auto item = claim_one(d.pool, at(kT0));
  auto failed = mark_failed(d.pool, item.claim(), "recipient unknown");
  REQUIRE(failed.ok());
  CHECK(*failed);
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "failed");
  CHECK(record->last_error == std::optional<std::string>("recipient unknown"));
  CHECK(record->lease_until == std::nullopt);
  auto later = claim_due(d.pool, 10, 60s, at("2027-04-30T00:00:00Z"));
  REQUIRE(later.ok());
  CHECK(later->empty());
  auto released = release_expired(d.pool, at("2027-04-30T00:00:00Z"));
  REQUIRE(released.ok());
  CHECK(*released == 0);
}

TEST_CASE("outbox: mark_sent records the state and the platform's id on the message", "[storage][outbox]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "Dzień dobry"), router_returning(reply_decision()));
  REQUIRE(r.ok());
  const auto item = claim_one(d.pool, at("2099-01-01T00:00:00Z"));

  auto sent = mark_sent(d.pool, item.claim(), "sent", "SMout-1", at("2099-01-01T00:00:01Z"));
  REQUIRE(sent.ok());
  CHECK(*sent);
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "sent");
  CHECK(record->external_id == std::optional<std::string>("SMout-1"));
  CHECK(record->lease_until == std::nullopt);
  CHECK(outbox_column(d, item.id, "updated_at = '2099-01-01T00:00:01Z'") == "t");
  auto messages = list_messages(d.pool, r->conversation_id);
  REQUIRE(messages.ok());
  REQUIRE(messages->size() == 2);
  CHECK((*messages)[1].external_id == std::optional<std::string>("SMout-1"));
  CHECK((*messages)[1].delivery_state == std::optional<std::string>("sent"));
  CHECK((*messages)[1].attempts == std::optional<int>(1));
  CHECK((*messages)[1].last_error == std::nullopt);

  SECTION("a result once recorded is final") {
    auto late = mark_sent(d.pool, item.claim(), "delivered", "", at("2099-01-01T00:00:02Z"));
    REQUIRE(late.ok());
    CHECK_FALSE(*late);
    CHECK(get_outbox(d.pool, item.id)->state == "sent");
  }
  SECTION("only sent and delivered are results") {
    auto bad = mark_sent(d.pool, item.claim(), "failed", "", at("2099-01-01T00:00:02Z"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == ErrorKind::invalid);
    CHECK(bad.error().code == "invalid_outbox_state");
    CHECK(bad.error().message == "a send result is 'sent' or 'delivered', not 'failed'");
  }
}

TEST_CASE("outbox: mark_sent as delivered without an id leaves the message's id alone", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 1, kT0);
  const auto item = claim_one(d.pool, at(kT0));
  auto sent = mark_sent(d.pool, item.claim(), "delivered", "", at(kT0));
  REQUIRE(sent.ok());
  CHECK(*sent);
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "delivered");
  CHECK(record->external_id == std::nullopt);
}

TEST_CASE("outbox: an external id another message holds is dropped, the result kept", "[storage][outbox]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "Dzień dobry"), router_returning(reply_decision()));
  REQUIRE(r.ok());
  const auto item = claim_one(d.pool, at("2099-01-01T00:00:00Z"));

  // The inbound message of the same channel account holds "SM1" already.
  LoggedEvents logged;
  auto sent = mark_sent(d.pool, item.claim(), "sent", "SM1", at("2099-01-01T00:00:01Z"));
  REQUIRE(sent.ok());
  CHECK(*sent);
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "sent");
  CHECK(record->external_id == std::nullopt);
  CHECK(d.count("SELECT count(*) FROM messages WHERE external_id = 'SM1'") == 1);
  CHECK(logged.saw("outbox_external_id_clash"));

  SECTION("as is one the database cannot store") {
    seed_outbox(d, 2, kT0);
    auto items = claim_due(d.pool, 10, 60s, at("2099-01-01T00:00:00Z"));
    REQUIRE(items.ok());
    REQUIRE(items->size() == 2);
    // Too long for the unique index (and not compressible).
    std::string huge;
    for (int i = 0; huge.size() < 12000; ++i) huge += std::to_string(i * 7919 % 10007) + "-";
    CHECK_FALSE(logged.saw("outbox_external_id_refused"));
    auto long_id = mark_sent(d.pool, (*items)[0].claim(), "sent", huge, at("2099-01-01T00:00:01Z"));
    REQUIRE(long_id.ok());
    CHECK(*long_id);
    CHECK(get_outbox(d.pool, (*items)[0].id)->external_id == std::nullopt);
    CHECK(logged.saw("outbox_external_id_refused"));
    auto bad_bytes = mark_sent(d.pool, (*items)[1].claim(), "sent", std::string("id\xff\0x", 5), at("2099-01-01T00:00:01Z"));
    REQUIRE(bad_bytes.ok());
    CHECK(*bad_bytes);
    CHECK(get_outbox(d.pool, (*items)[1].id)->state == "sent");
    CHECK(get_outbox(d.pool, (*items)[1].id)->external_id == std::nullopt);
  }
}

TEST_CASE("outbox: an external id another message takes at the same moment is dropped, the result kept",
          "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 2, kT0);
  auto items = claim_due(d.pool, 1, 60s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 1);
  const auto item = items->front();
  const auto other = d.db.scalar("SELECT m.id FROM messages m JOIN outbox o ON o.message_id = m.id "
                                 "WHERE o.state = 'queued'");

  // Another writer names the other message "RACE" and has not committed yet: mark_sent cannot
  // see it, and its update of the unique key waits for that transaction, then fails.
  LoggedEvents logged;
  pqxx::connection conn(d.db.url());
  pqxx::work rival(conn);
  rival.exec("UPDATE messages SET external_id = 'RACE' WHERE id = " + other);
  auto sending = std::async(std::launch::async, [&] {
    return mark_sent(d.pool, item.claim(), "sent", "RACE", at("2027-03-30T08:00:01Z"));
  });
  REQUIRE(sending.wait_for(300ms) == std::future_status::timeout);  // blocked on the rival
  rival.commit();
  REQUIRE(sending.wait_for(5s) == std::future_status::ready);
  auto sent = sending.get();
  REQUIRE(sent.ok());
  CHECK(*sent);
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "sent");
  CHECK(record->external_id == std::nullopt);
  CHECK(d.db.scalar("SELECT id FROM messages WHERE external_id = 'RACE'") == other);
  CHECK(logged.saw("outbox_external_id_refused"));
  CHECK_FALSE(logged.saw("outbox_external_id_clash"));
}

TEST_CASE("outbox: results for a row that is not being sent change nothing", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 1, kT0);
  const auto id = d.db.scalar("SELECT id FROM outbox");
  const auto snapshot = [&] {
    return d.db.scalar("SELECT concat_ws(',', state, attempts, last_error, next_attempt_at, updated_at) FROM outbox");
  };
  const auto before = snapshot();

  const std::string token = "0f0e0d0c-0b0a-4908-8706-050403020100";
  for (const Claim& claim : {Claim{id, token}, Claim{id, ""}, Claim{id, "not-a-uuid'); DROP TABLE outbox; --"},
                             Claim{"999999", token}, Claim{"abc", token}, Claim{"", ""}}) {
    INFO(claim.outbox_id << " " << claim.token);
    auto sent = mark_sent(d.pool, claim, "sent", "X1", at(kT0));
    REQUIRE(sent.ok());
    CHECK_FALSE(*sent);
    auto retry = mark_retry(d.pool, claim, "late", at(kT0));
    REQUIRE(retry.ok());
    CHECK_FALSE(*retry);
    auto failed = mark_failed(d.pool, claim, "late");
    REQUIRE(failed.ok());
    CHECK_FALSE(*failed);
    auto begun = begin_attempt(d.pool, claim, at(kT0));
    REQUIRE(begun.ok());
    CHECK_FALSE(*begun);
  }
  CHECK(snapshot() == before);
  CHECK(d.count("SELECT count(*) FROM messages WHERE external_id IS NOT NULL") == 0);

  auto missing = get_outbox(d.pool, "999999");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::not_found);
  CHECK(missing.error().code == "outbox_not_found");
  CHECK(missing.error().message == "no outbox row with id '999999'");
  CHECK(get_outbox(d.pool, "x").error().kind == ErrorKind::not_found);
}

TEST_CASE("outbox: release_expired queues rows whose sender let the lease run out", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 2, kT0);
  auto items = claim_due(d.pool, 1, 30s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 1);
  const auto item = items->front();
  auto other = claim_due(d.pool, 1, 90s, at(kT0));
  REQUIRE(other.ok());
  REQUIRE(other->size() == 1);

  auto early = release_expired(d.pool, at("2027-03-30T08:00:29Z"));
  REQUIRE(early.ok());
  CHECK(*early == 0);
  auto released = release_expired(d.pool, at("2027-03-30T08:00:30Z"));
  REQUIRE(released.ok());
  CHECK(*released == 1);
  auto record = get_outbox(d.pool, item.id);
  REQUIRE(record.ok());
  CHECK(record->state == "queued");
  CHECK(record->attempts == 1);
  CHECK(record->next_attempt_at == at("2027-03-30T08:00:30Z"));
  CHECK(record->lease_until == std::nullopt);
  CHECK(record->last_error == std::optional<std::string>("the sender reported no result before its lease expired"));
  CHECK(get_outbox(d.pool, other->front().id)->state == "sending");

  // Claimed again by another sender: a new claim token.
  const auto again = claim_one(d.pool, at("2027-03-30T08:00:31Z"));
  CHECK(again.id == item.id);
  CHECK(again.attempts == 2);
  CHECK(again.claim_token != item.claim_token);

  // The first sender wakes up late: its results must not land on the new claim.
  for (int i = 0; i < 2; ++i) {
    auto late = i == 0 ? mark_sent(d.pool, item.claim(), "sent", "X1", at("2027-03-30T08:00:32Z"))
                       : mark_failed(d.pool, item.claim(), "late failure");
    REQUIRE(late.ok());
    CHECK_FALSE(*late);
  }
  auto begun = begin_attempt(d.pool, item.claim(), at("2027-03-30T08:00:32Z"));
  REQUIRE(begun.ok());
  CHECK_FALSE(*begun);
  CHECK(get_outbox(d.pool, item.id)->state == "sending");
  CHECK(d.count("SELECT count(*) FROM messages WHERE external_id = 'X1'") == 0);

  // The new claim's own result lands.
  auto own = mark_sent(d.pool, again.claim(), "sent", "X2", at("2027-03-30T08:00:33Z"));
  REQUIRE(own.ok());
  CHECK(*own);
  // ...and a late one of the old claim still cannot overwrite it.
  auto late = mark_retry(d.pool, item.claim(), "late retry", at("2027-03-30T08:00:34Z"));
  REQUIRE(late.ok());
  CHECK_FALSE(*late);
  const auto final_record = get_outbox(d.pool, item.id);
  CHECK(final_record->state == "sent");
  CHECK(final_record->external_id == std::optional<std::string>("X2"));
}

TEST_CASE("outbox: a late result before the row is claimed again is the truth, and is recorded",
          "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 1, kT0);
  auto items = claim_due(d.pool, 1, 30s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 1);
  const auto item = items->front();
  CHECK_FALSE(item.in_doubt_since.has_value());
  REQUIRE(*begin_attempt(d.pool, item.claim(), at("2027-03-30T08:00:01Z")));
  REQUIRE(*release_expired(d.pool, at("2027-03-30T08:00:30Z")) == 1);
  auto record = get_outbox(d.pool, item.id);
  CHECK(record->state == "queued");
  CHECK(record->in_doubt_since == at("2027-03-30T08:00:01Z"));

  auto late = mark_sent(d.pool, item.claim(), "sent", "SMlate", at("2027-03-30T08:00:31Z"));
  REQUIRE(late.ok());
  CHECK(*late);
  record = get_outbox(d.pool, item.id);
  CHECK(record->state == "sent");
  CHECK(record->external_id == std::optional<std::string>("SMlate"));
  CHECK(record->in_doubt_since == std::nullopt);
  auto none = claim_due(d.pool, 10, 30s, at("2027-03-30T08:01:00Z"));
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("outbox: an attempt in doubt stays in doubt until a result is recorded", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 2, kT0);
  auto items = claim_due(d.pool, 2, 60s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 2);
  const auto a = (*items)[0];
  const auto b = (*items)[1];
  REQUIRE(*begin_attempt(d.pool, a.claim(), at("2027-03-30T08:00:01Z")));
  REQUIRE(*begin_attempt(d.pool, b.claim(), at("2027-03-30T08:00:01Z")));
  // a: the platform had the request, no answer came. b: refused before it was sent.
  REQUIRE(*mark_retry(d.pool, a.claim(), "timed out", at("2027-03-30T08:00:10Z"), true));
  REQUIRE(*mark_retry(d.pool, b.claim(), "connection refused", at("2027-03-30T08:00:10Z"), false));
  auto again = claim_due(d.pool, 2, 60s, at("2027-03-30T08:00:10Z"));
  REQUIRE(again.ok());
  REQUIRE(again->size() == 2);
  for (const auto& item : *again) {
    INFO(item.id);
    if (item.id == a.id)
      CHECK(item.in_doubt_since == at("2027-03-30T08:00:01Z"));
    else
      CHECK_FALSE(item.in_doubt_since.has_value());
  }
  // Stopping before the attempt keeps the doubt; a recorded failure ends it.
  const auto& a2 = again->front().id == a.id ? again->front() : again->back();
  REQUIRE(*mark_retry(d.pool, a2.claim(), "not attempted: the daemon was stopping", at("2027-03-30T08:00:11Z"), true));
  CHECK(get_outbox(d.pool, a.id)->in_doubt_since == at("2027-03-30T08:00:01Z"));
  const auto a3 = claim_one(d.pool, at("2027-03-30T08:00:11Z"));
  REQUIRE(a3.id == a.id);
  REQUIRE(*mark_failed(d.pool, a3.claim(), "recipient unknown"));
  CHECK(get_outbox(d.pool, a.id)->in_doubt_since == std::nullopt);
}

TEST_CASE("outbox: rows of a daemon that holds no instance lock go back at once", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 3, kT0);
  // A live instance: its lock is held on a session of its own.
  InstanceLock live(d.db.url());
  const int live_key = live.refresh();
  REQUIRE(live_key > 0);
  auto mine = claim_due(d.pool, 1, 300s, at(kT0), live_key);
  REQUIRE(mine.ok());
  REQUIRE(mine->size() == 1);
  // A dead one: its key is held by nobody (the session that held it is gone).
  int dead_key = 0;
  {
    InstanceLock gone(d.db.url());
    dead_key = gone.refresh();
    REQUIRE(dead_key > 0);
    REQUIRE(dead_key != live_key);
  }
  auto orphaned = claim_due(d.pool, 1, 300s, at(kT0), dead_key);
  REQUIRE(orphaned.ok());
  REQUIRE(orphaned->size() == 1);
  auto unowned = claim_due(d.pool, 1, 300s, at(kT0), 0);  // an older build: no key, lease only
  REQUIRE(unowned.ok());
  REQUIRE(unowned->size() == 1);

  // The dead instance's key is found (its session may take a moment to end), not ours.
  auto dead = dead_claimers(d.pool, live.held(), 0s);
  for (int i = 0; i < 100 && dead.ok() && *dead != std::vector<int>{dead_key}; ++i) {
    std::this_thread::sleep_for(50ms);
    dead = dead_claimers(d.pool, live.held(), 0s);
  }
  REQUIRE(dead.ok());
  REQUIRE(*dead == std::vector<int>{dead_key});
  // Not within the restart grace: the database started less than a year ago.
  CHECK(dead_claimers(d.pool, live.held(), std::chrono::hours{24 * 365})->empty());
  // A key given as dead but held (ours) releases nothing; the dead one's row goes back, well
  // within the 300 s lease.
  CHECK(*release_expired(d.pool, at("2027-03-30T08:00:01Z"), {live_key}) == 0);
  auto released = release_expired(d.pool, at("2027-03-30T08:00:01Z"), *dead);
  REQUIRE(released.ok());
  CHECK(*released == 1);
  const auto record = get_outbox(d.pool, orphaned->front().id);
  CHECK(record->state == "queued");
  CHECK(record->last_error == std::optional<std::string>("the daemon that claimed it stopped"));
  CHECK(get_outbox(d.pool, mine->front().id)->state == "sending");
  CHECK(get_outbox(d.pool, unowned->front().id)->state == "sending");

  // A lost session (a database restart cuts them all): the next refresh() takes the same key
  // again in the same call, and our rows are never counted as a dead instance's meanwhile.
  d.db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            " WHERE application_name = 'switchboard-instance' AND datname = current_database()");
  CHECK(live.refresh() == live_key);
  CHECK(live.held() == std::vector<int>{live_key});
  CHECK(dead_claimers(d.pool, live.held(), 0s)->empty());
  CHECK(*release_expired(d.pool, at("2027-03-30T08:00:02Z"), {live_key}) == 0);
  CHECK(get_outbox(d.pool, mine->front().id)->state == "sending");
}

TEST_CASE("outbox: rows claimed under a key we held before are stamped with the new one", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 2, kT0);
  auto old_claims = claim_due(d.pool, 1, 300s, at(kT0), 4242);
  REQUIRE(old_claims->size() == 1);
  auto other = claim_due(d.pool, 1, 300s, at(kT0), 4343);
  REQUIRE(other->size() == 1);
  auto adopted = adopt_claims(d.pool, {4242, 1}, 777);
  INFO((adopted.ok() ? std::string() : adopted.error().message));
  REQUIRE(adopted.ok());
  CHECK(*adopted == 1);
  CHECK(outbox_column(d, old_claims->front().id, "claimed_by") == "777");
  CHECK(outbox_column(d, other->front().id, "claimed_by") == "4343");
  CHECK(*adopt_claims(d.pool, {}, 777) == 0);
}

TEST_CASE("outbox: a reply sent without a platform id since this row's attempt makes its finding ambiguous",
          "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 2, kT0);
  auto items = claim_due(d.pool, 2, 60s, at(kT0));
  REQUIRE(items->size() == 2);
  const auto& a = (*items)[0];
  const auto& b = (*items)[1];
  REQUIRE(*begin_attempt(d.pool, a.claim(), at("2027-03-30T08:00:01Z")));
  REQUIRE(*mark_retry(d.pool, a.claim(), "no answer", at(kT0), true));
  REQUIRE(*mark_sent(d.pool, b.claim(), "sent", "", at("2027-03-30T08:00:02Z")));  // 2xx without a sid
  auto a2 = claim_one(d.pool, at("2027-03-30T08:00:05Z"));
  CHECK(*mark_found(d.pool, a2.claim(), "sent", "SM-9", at("2027-03-30T08:00:06Z")) == Found::ambiguous);
  CHECK(get_outbox(d.pool, a.id)->state == "sending");
}

TEST_CASE("outbox: a resend check's finding is recorded only when it is unambiguous", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 3, kT0);  // three rows, one conversation, one recipient
  auto items = claim_due(d.pool, 3, 60s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 3);
  const auto& a = (*items)[0];
  const auto& b = (*items)[1];
  const auto& c = (*items)[2];
  // a and b attempted and in doubt (their answers never came); c sent as SM-c.
  REQUIRE(*begin_attempt(d.pool, a.claim(), at("2027-03-30T08:00:01Z")));
  REQUIRE(*mark_retry(d.pool, a.claim(), "no answer", at(kT0), true));
  REQUIRE(*begin_attempt(d.pool, b.claim(), at("2027-03-30T08:00:02Z")));
  REQUIRE(*mark_retry(d.pool, b.claim(), "no answer", at(kT0), true));
  REQUIRE(*mark_sent(d.pool, c.claim(), "sent", "SM-c", at(kT0)));

  auto again = claim_due(d.pool, 2, 60s, at("2027-03-30T08:00:10Z"));
  REQUIRE(again.ok());
  REQUIRE(again->size() == 2);
  const auto a2 = again->front().id == a.id ? again->front() : again->back();
  const auto b2 = again->front().id == a.id ? again->back() : again->front();
  // Another message's id: ambiguous, nothing changed.
  CHECK(*mark_found(d.pool, a2.claim(), "sent", "SM-c", at("2027-03-30T08:00:10Z")) == Found::ambiguous);
  CHECK(get_outbox(d.pool, a.id)->state == "sending");
  // b is younger in doubt than a: a is checked first, so b's finding waits.
  CHECK(*mark_found(d.pool, b2.claim(), "sent", "SM-x", at("2027-03-30T08:00:10Z")) == Found::ambiguous);
  // a's finding stands: recorded with its id, the doubt cleared.
  CHECK(*mark_found(d.pool, a2.claim(), "sent", "SM-x", at("2027-03-30T08:00:10Z")) == Found::recorded);
  auto ra = get_outbox(d.pool, a.id);
  CHECK(ra->state == "sent");
  CHECK(ra->external_id == std::optional<std::string>("SM-x"));
  CHECK(ra->in_doubt_since == std::nullopt);
  // Now b's own (another) finding is recorded; a superseded claim gets claim_gone.
  CHECK(*mark_found(d.pool, b2.claim(), "sent", "SM-y", at("2027-03-30T08:00:11Z")) == Found::recorded);
  CHECK(*mark_found(d.pool, b.claim(), "sent", "SM-z", at("2027-03-30T08:00:11Z")) == Found::claim_gone);
  CHECK(*mark_found(d.pool, b2.claim(), "sent", "", at("2027-03-30T08:00:11Z")) == Found::ambiguous);
  // A retried result whose first try committed finds itself settled.
  CHECK(*claim_settled(d.pool, b2.claim()));
  CHECK_FALSE(*claim_settled(d.pool, b.claim()));
}

TEST_CASE("outbox: a reply whose send is under way makes another's finding ambiguous", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 2, kT0);
  auto items = claim_due(d.pool, 2, 60s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 2);
  const auto& a = (*items)[0];
  const auto& b = (*items)[1];
  REQUIRE(*begin_attempt(d.pool, a.claim(), at("2027-03-30T08:00:01Z")));
  REQUIRE(*mark_retry(d.pool, a.claim(), "no answer", at(kT0), true));
  auto a2 = claim_one(d.pool, at("2027-03-30T08:00:05Z"));
  REQUIRE(a2.id == a.id);
  // b (younger, never in doubt before) is being sent right now: the platform's message may be it.
  REQUIRE(*begin_attempt(d.pool, b.claim(), at("2027-03-30T08:00:06Z")));
  CHECK(*mark_found(d.pool, a2.claim(), "sent", "SM-1", at("2027-03-30T08:00:07Z")) == Found::ambiguous);
  REQUIRE(*mark_sent(d.pool, b.claim(), "sent", "SM-1", at("2027-03-30T08:00:07Z")));
  CHECK(*mark_found(d.pool, a2.claim(), "sent", "SM-1", at("2027-03-30T08:00:08Z")) == Found::ambiguous);
  CHECK(*mark_found(d.pool, a2.claim(), "sent", "SM-2", at("2027-03-30T08:00:08Z")) == Found::recorded);
}

TEST_CASE("outbox: last_error is cut to 1000 bytes between characters, bad bytes replaced", "[storage][outbox]") {
  MigratedDatabase d;
  seed_outbox(d, 3, kT0);
  auto items = claim_due(d.pool, 10, 60s, at(kT0));
  REQUIRE(items.ok());
  REQUIRE(items->size() == 3);

  std::string polish;
  while (polish.size() < 3000) polish += "żółć ";
  REQUIRE(mark_retry(d.pool, (*items)[0].claim(), polish, at(kT0)).ok());
  const auto stored = *get_outbox(d.pool, (*items)[0].id)->last_error;
  CHECK(stored.size() <= kMaxErrorBytes);
  CHECK(stored.size() >= kMaxErrorBytes - 1);
  CHECK(polish.compare(0, stored.size(), stored) == 0);

  REQUIRE(mark_failed(d.pool, (*items)[1].claim(), std::string(999, 'a') + "ż").ok());
  CHECK(*get_outbox(d.pool, (*items)[1].id)->last_error == std::string(999, 'a'));

  const char bad[] = "bad \xff\xc3 and \0 nul\xed\xa0\x80";
  REQUIRE(mark_failed(d.pool, (*items)[2].claim(), std::string(bad, sizeof bad - 1)).ok());
  CHECK(*get_outbox(d.pool, (*items)[2].id)->last_error == "bad \xEF\xBF\xBD\xEF\xBF\xBD and \xEF\xBF\xBD nul"
                                                            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("outbox: an agent reply goes out where the customer last wrote", "[storage][outbox][agent]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  auto first = pipeline.ingest(sms("SM1", "+48600100200", "Dzień dobry"), no_rule_router());
  REQUIRE(first.ok());
  // The same phone number on WhatsApp joins the conversation: that is where the reply goes.
  auto whatsapp = sms("wamid.1", "+48600100200", "Jest tam ktoś?");
  whatsapp.channel = Channel::whatsapp;
  whatsapp.account = "wa-shop";
  whatsapp.sender = "48600100200";
  clock.set(at("2027-03-30T08:01:00Z"));
  auto second = pipeline.ingest(whatsapp, no_rule_router());
  REQUIRE(second.ok());
  REQUIRE(second->conversation_id == first->conversation_id);
  CHECK(d.db.scalar("SELECT first_response_at IS NULL FROM conversations") == "t");

  auto reply = queue_agent_reply(d.pool, first->conversation_id, "Tak, słucham!", "agent:anna", at("2027-03-30T08:02:00Z"));
  REQUIRE(reply.ok());
  CHECK(reply->channel == "whatsapp");
  CHECK(reply->account == "wa-shop");
  CHECK(reply->recipient == "48600100200");
  CHECK(d.db.scalar("SELECT first_response_at = '2027-03-30T08:02:00Z' FROM conversations") == "t");

  auto messages = list_messages(d.pool, first->conversation_id);
  REQUIRE(messages.ok());
  REQUIRE(messages->size() == 3);
  const auto& out = (*messages)[2];
  CHECK(out.id == reply->message_id);
  CHECK(out.direction == "out");
  CHECK(out.channel == "whatsapp");
  CHECK(out.account == "wa-shop");
  CHECK(out.sender == "agent:anna");
  CHECK(out.body == "Tak, słucham!");
  CHECK(out.external_id == std::nullopt);
  CHECK(out.delivery_state == std::optional<std::string>("queued"));
  CHECK(out.attempts == std::optional<int>(0));
  CHECK(out.last_error == std::nullopt);

  auto record = get_outbox(d.pool, reply->outbox_id);
  REQUIRE(record.ok());
  CHECK(record->message_id == reply->message_id);
  CHECK(record->state == "queued");
  CHECK(record->recipient == std::optional<std::string>("48600100200"));
  CHECK(record->next_attempt_at == at("2027-03-30T08:02:00Z"));
  auto payload = boost::json::parse(record->payload).as_object();
  CHECK(payload.size() == 4);
  CHECK(payload.at("text").as_string() == "Tak, słucham!");
  CHECK(payload.at("conversation_id").as_string() == first->conversation_id);
  CHECK(payload.at("author").as_string() == "agent:anna");
  CHECK(payload.at("in_reply_to").as_string() == second->message_id);

  // Claimable at once by the workers.
  const auto item = claim_one(d.pool, at("2027-03-30T08:02:00Z"));
  CHECK(item.id == reply->outbox_id);
  CHECK(item.conversation_id == first->conversation_id);

  SECTION("a second reply keeps the first response time") {
    auto again = queue_agent_reply(d.pool, first->conversation_id, "Już sprawdzam.", "agent:anna",
                                   at("2027-03-30T08:03:00Z"));
    REQUIRE(again.ok());
    CHECK(again->outbox_id != reply->outbox_id);
    CHECK(d.db.scalar("SELECT first_response_at = '2027-03-30T08:02:00Z' FROM conversations") == "t");
    CHECK(d.count("SELECT count(*) FROM outbox") == 2);
  }
}

TEST_CASE("outbox: agent replies that cannot be queued write nothing", "[storage][outbox][agent]") {
  MigratedDatabase d;
  FixedClock clock(at(kT0));
  Pipeline pipeline(d.pool, clock);
  auto r = pipeline.ingest(sms("SM1", "+48600100200", "Dzień dobry"), no_rule_router());
  REQUIRE(r.ok());
  const auto counts = [&] {
    return d.db.scalar(
        "SELECT concat_ws(',', (SELECT count(*) FROM messages), (SELECT count(*) FROM outbox), "
        "(SELECT count(first_response_at) FROM conversations))");
  };
  const auto before = counts();

  for (const std::string id : {"999999", "abc", "", "01"}) {
    INFO(id);
    auto reply = queue_agent_reply(d.pool, id, "hello", "agent:anna", at(kT0));
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.error().kind == ErrorKind::not_found);
    CHECK(reply.error().code == "conversation_not_found");
  }
  CHECK(queue_agent_reply(d.pool, "999999", "hello", "a", at(kT0)).error().message ==
        "no conversation with id '999999'");

  struct BadText {
    std::string text;
    std::string message;
  };
  for (const auto& bad : {BadText{"", "the reply text is empty"},
                          BadText{std::string("a\0b", 3), "the reply contains a NUL character"},
                          BadText{"caf\xe9", "the reply is not valid UTF-8"}}) {
    INFO(bad.message);
    auto reply = queue_agent_reply(d.pool, r->conversation_id, bad.text, "agent:anna", at(kT0));
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.error().kind == ErrorKind::invalid);
    CHECK(reply.error().code == "invalid_text");
    CHECK(reply.error().message == bad.message);
  }

  // A conversation an agent opened, with nothing inbound yet.
  const auto empty = d.db.scalar(
      "WITH c AS (INSERT INTO customers DEFAULT VALUES RETURNING id) "
      "INSERT INTO conversations (customer_id, opened_at) SELECT id, now() FROM c RETURNING id");
  auto nowhere = queue_agent_reply(d.pool, empty, "hello", "agent:anna", at(kT0));
  REQUIRE_FALSE(nowhere.ok());
  CHECK(nowhere.error().kind == ErrorKind::conflict);
  CHECK(nowhere.error().code == "no_inbound_channel");
  CHECK(nowhere.error().message == "the conversation has no inbound message to reply to");
  CHECK(counts() == before);
}
