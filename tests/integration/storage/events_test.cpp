// The live stream's events (migrations 0014, 0015): keyed by transaction, read only once every
// older transaction has ended, so a reader never moves its cursor past an event that commits
// later, and no lock serialises the commits that write them.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <pqxx/pqxx>
#include <thread>

#include "storage/agent.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;

namespace {

// Events wait for every older transaction on the whole server: tests running beside this one
// (other databases of the same cluster) can hold them back for a moment.
Result<std::vector<EventRow>> events_when(Pool& pool, EventId after, std::size_t count) {
  for (int i = 0;; ++i) {
    auto rows = events_after(pool, after, 100);
    if (!rows || rows->size() >= count || i == 200) return rows;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

std::string note_sql(const std::string& conversation, const std::string& text) {
  return "INSERT INTO notes (conversation_id, author, body) VALUES (" + conversation + ", 'anna', '" + text + "')";
}

}  // namespace

TEST_CASE("events: an id is one decimal number, increasing with (transaction, number)", "[storage][events]") {
  CHECK(EventId{0, 17}.str() == "17");  // 0014's ids keep their digits
  CHECK(EventId{741, 3}.str() == "741000000003");
  CHECK(EventId{741, 999999999}.str() == "741999999999");
  CHECK(EventId::parse("741000000003") == EventId{741, 3});
  CHECK(EventId::parse("17") == EventId{0, 17});
  CHECK(EventId::parse("0000000017") == EventId{0, 17});
  CHECK(EventId::parse("18446744073709551615999999999") ==
        EventId{std::numeric_limits<std::uint64_t>::max(), 999999999});
  for (const char* bad : {"", "-1", "+1", "1e3", " 1", "1 ", "0x10", "18446744073709551616000000000", "١٢"})
    CHECK_FALSE(EventId::parse(bad));
  // Numeric order of the digits is the order of the keys.
  const EventId keys[] = {{0, 1}, {0, 999999999}, {1, 1}, {1, 2}, {9, 999999999}, {10, 1}, {4294967296, 5}};
  for (std::size_t i = 1; i < std::size(keys); ++i) {
    CHECK(keys[i - 1] < keys[i]);
    const auto a = keys[i - 1].str(), b = keys[i].str();
    CHECK((a.size() < b.size() || (a.size() == b.size() && a < b)));
    CHECK(EventId::parse(b) == keys[i]);
  }
}

TEST_CASE("events: one from a later transaction waits for an earlier one still running", "[storage][events]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  auto first = pipeline.ingest(sms("SM1", "+48601234567", "Dzień dobry"), no_rule_router());
  REQUIRE(first.ok());
  const auto& conversation = first->conversation_id;

  auto start = events_when(d.pool, EventId{}, 1);
  REQUIRE(start.ok());
  REQUIRE_FALSE(start->empty());
  CHECK(start->front().json.find("\"type\":\"message.created\"") != std::string::npos);
  const EventId cursor = start->back().id;
  {
    auto bounds = event_bounds(d.pool);
    REQUIRE(bounds.ok());
    CHECK(bounds->newest == cursor);
    CHECK(bounds->pruned_through == EventId{});
  }

  // The earlier transaction takes its id first and writes its event last: its key is lower.
  pqxx::connection early(d.db.url());
  pqxx::work t1(early);
  t1.exec(note_sql(conversation, "early"));
  {
    pqxx::connection late(d.db.url());
    pqxx::work t2(late);
    t2.exec(note_sql(conversation, "late one"));
    t2.exec(note_sql(conversation, "late two"));
    t2.commit();
  }
  CHECK(d.count("SELECT count(*) FROM events WHERE type = 'note.created'") == 2);  // committed...
  auto held = events_after(d.pool, cursor, 100);
  REQUIRE(held.ok());
  CHECK(held->empty());  // ...but not handed out while t1 runs: a cursor past them would skip t1's
  CHECK(event_bounds(d.pool)->newest == cursor);

  t1.commit();
  auto all = events_when(d.pool, cursor, 3);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].json.find("\"text\":\"early\"") != std::string::npos);
  CHECK((*all)[1].json.find("\"text\":\"late one\"") != std::string::npos);
  CHECK((*all)[2].json.find("\"text\":\"late two\"") != std::string::npos);
  CHECK((*all)[0].id < (*all)[1].id);
  CHECK((*all)[1].id.xact == (*all)[2].id.xact);  // one transaction, numbered in order
  CHECK((*all)[2].id.seq == (*all)[1].id.seq + 1);
  for (const auto& e : *all) {
    CHECK(e.json.find("\"id\":\"" + e.id.str() + "\"") != std::string::npos);
    CHECK(d.db.scalar("SELECT switchboard_event_id(xact, seq) FROM events WHERE xact = '" + std::to_string(e.id.xact) +
                      "' AND seq = " + std::to_string(e.id.seq)) == e.id.str());
  }
  CHECK(event_bounds(d.pool)->newest == all->back().id);
  // Paging resumes exactly after the last key read.
  auto rest = events_after(d.pool, (*all)[1].id, 100);
  REQUIRE(rest.ok());
  REQUIRE(rest->size() == 1);
  CHECK(rest->front().id == all->back().id);

  // Pruning moves the horizon to the newest key it deleted.
  auto pruned = prune_events(d.pool, clock.now() + std::chrono::hours{24 * 365 * 10});
  REQUIRE(pruned.ok());
  CHECK(*pruned == static_cast<long>(start->size() + 3));
  auto bounds = event_bounds(d.pool);
  REQUIRE(bounds.ok());
  CHECK(bounds->pruned_through == all->back().id);
  CHECK(bounds->newest == all->back().id);
  CHECK(events_after(d.pool, EventId{}, 100)->empty());
}
