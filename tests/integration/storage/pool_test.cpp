// Pool: timeouts, unreachable servers, recovery after the server drops connections, redaction.
#include <catch2/catch.hpp>

#include <thread>

#include "storage/pool.hpp"
#include <pqxx/pqxx>

#include "storage/sql.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using switchboard::storage::testing::MigratedDatabase;
using switchboard::storage::testing::no_rule_router;
using switchboard::storage::testing::sms;

TEST_CASE("redact_database_url: masks passwords in URLs and keyword strings", "[storage][pool]") {
  CHECK(redact_database_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db");
  CHECK(redact_database_url("postgres://u:s3cr%40t@h:5432/db?sslmode=require") ==
        "postgres://u:***@h:5432/db?sslmode=require");
  CHECK(redact_database_url("postgresql://u@h/db") == "postgresql://u@h/db");
  CHECK(redact_database_url("postgresql://h/db") == "postgresql://h/db");
  CHECK(redact_database_url("postgresql://h/db?user=u&password=secret&sslmode=disable") ==
        "postgresql://h/db?user=u&password=***&sslmode=disable");
  // An unencoded '@' in the password: everything up to the last '@' of the authority is masked.
  CHECK(redact_database_url("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db");
  CHECK(redact_database_url("host=h password=x dbname=d") == "host=h password=*** dbname=d");
  CHECK(redact_database_url("host=h password = 'a b\\' c' dbname=d") == "host=h password = *** dbname=d");
  CHECK(redact_database_url("dbname=d") == "dbname=d");
  CHECK(redact_database_url("") == "");
  // libpq would reject it; what follows the malformed part might be a password, so it goes.
  CHECK(redact_database_url("host=h password secret") == "host=h ***");

  Pool pool(PoolOptions{.url = "postgresql://u:secret@h/db"});
  CHECK(pool.redacted_url() == "postgresql://u:***@h/db");
}

TEST_CASE("pool: acquire times out when every connection is leased", "[storage][pool]") {
  switchboard::testing::TestDatabase db;
  Pool pool(PoolOptions{.url = db.url(), .size = 1, .acquire_timeout = std::chrono::milliseconds(100)});
  auto first = pool.acquire();
  REQUIRE(first.ok());
  const auto start = std::chrono::steady_clock::now();
  auto second = pool.acquire();
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().kind == ErrorKind::unavailable);
  CHECK(second.error().code == "database_unavailable");
  CHECK(second.error().message == "no database connection became free within 100 ms (pool size 1)");
  CHECK(waited >= std::chrono::milliseconds(100));
}

TEST_CASE("pool: a waiting acquire gets the connection another thread returns", "[storage][pool]") {
  switchboard::testing::TestDatabase db;
  Pool pool(PoolOptions{.url = db.url(), .size = 1, .acquire_timeout = std::chrono::milliseconds(5000)});
  auto first = pool.acquire();
  REQUIRE(first.ok());
  std::thread releaser([lease = std::move(first.value())]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto dropped = std::move(lease);
  });
  auto second = pool.acquire();
  releaser.join();
  CHECK(second.ok());
}

TEST_CASE("pool: an unreachable server is unavailable and the password stays out of the message",
          "[storage][pool]") {
  Pool pool(PoolOptions{.url = "postgresql://sb:hunter2secret@127.0.0.1:1/switchboard",
                        .size = 2,
                        .connect_timeout = std::chrono::seconds(2)});
  auto lease = pool.acquire();
  REQUIRE_FALSE(lease.ok());
  CHECK(lease.error().kind == ErrorKind::unavailable);
  CHECK(lease.error().code == "database_unavailable");
  CHECK(lease.error().message.find("hunter2secret") == std::string::npos);
  CHECK_THAT(lease.error().message,
             Catch::StartsWith("cannot connect to the database at postgresql://sb:***@127.0.0.1:1/switchboard: "));
  // The failed attempt gave its slot back: both slots can be tried again.
  for (int i = 0; i < 3; ++i) CHECK_FALSE(pool.acquire().ok());
}

TEST_CASE("pool: connect_timeout is added to URLs and keyword strings", "[storage][pool]") {
  switchboard::testing::TestDatabase db;
  // With a query string already present the setting is appended with '&'.
  Pool with_query(PoolOptions{.url = db.url() + "?application_name=sbtest", .connect_timeout = std::chrono::seconds(7)});
  {
    auto lease = with_query.acquire();
    REQUIRE(lease.ok());
  }
  CHECK(db.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sbtest'") == "1");
  // A keyword string, built from the URL's parts.
  const auto url = db.url();
  const auto host_port = url.substr(url.find('@') + 1, url.rfind('/') - url.find('@') - 1);
  const std::string keywords = "host=" + host_port.substr(0, host_port.find(':')) +
                               " port=" + host_port.substr(host_port.find(':') + 1) + " user=switchboard dbname=" +
                               db.name();
  Pool with_keywords(PoolOptions{.url = keywords});
  auto lease = with_keywords.acquire();
  CHECK(lease.ok());
}

TEST_CASE("pool: recovers by itself when the server drops every connection", "[storage][pool][pipeline]") {
  MigratedDatabase d(4);
  FixedClock clock(switchboard::storage::testing::at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  REQUIRE(pipeline.ingest(sms("r-1", "+48600000001", "one"), no_rule_router()).ok());
  {
    // Three idle connections, as after a busy moment.
    auto a = d.pool.acquire();
    auto b = d.pool.acquire();
    auto c = d.pool.acquire();
    REQUIRE((a.ok() && b.ok() && c.ok()));
  }
  // What a server restart does to them: terminated from the server side while idle.
  d.db.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  auto next = pipeline.ingest(sms("r-2", "+48600000001", "two"), no_rule_router());
  REQUIRE(next.ok());
  CHECK(next->duplicate == false);
  CHECK(d.count("SELECT count(*) FROM messages") == 2);
}

TEST_CASE("sql: a failure is classified by SQLSTATE and names its constraint", "[storage][sql]") {
  MigratedDatabase d(1);
  auto lease = d.pool.acquire();
  REQUIRE(lease.ok());
  auto& conn = lease->conn();
  {
    pqxx::work tx(conn);
    tx.exec("INSERT INTO customers (display_name) VALUES ('a'), ('b')");
    tx.exec("INSERT INTO conversations (customer_id, opened_at) SELECT min(id), now() FROM customers");
    tx.commit();
  }
  sql::Failure failure;
  try {
    pqxx::work tx(conn);
    // A second open conversation of the same customer: the partial unique index refuses it.
    tx.exec("INSERT INTO conversations (customer_id, opened_at) SELECT min(id), now() FROM customers");
  } catch (...) {
    failure = sql::classify_current_exception(conn);
  }
  CHECK(failure.sqlstate == "23505");
  CHECK(failure.kind == sql::FailureKind::retry);
  CHECK(failure.constraint == "conversations_one_active_per_customer");
  try {
    pqxx::work tx(conn);
    tx.exec("SELECT 'x'::int");
  } catch (...) {
    failure = sql::classify_current_exception(conn);
  }
  CHECK(failure.sqlstate == "22P02");
  CHECK(failure.kind == sql::FailureKind::invalid);
  CHECK(failure.constraint.empty());

  // Translations quote names their own way (lc_messages is the server's).
  CHECK(sql::constraint_named(R"(duplicate key value violates unique constraint "outbox_pkey")") == "outbox_pkey");
  CHECK(sql::constraint_named("la valeur d'une clé dupliquée rompt la contrainte unique « outbox_pkey »") ==
        "outbox_pkey");
  CHECK(sql::constraint_named("la valeur rompt la contrainte unique \u00aboutbox_pkey\u00bb") == "outbox_pkey");
  CHECK(sql::constraint_named("narusza ograniczenie \u201eoutbox_pkey\u201d") == "outbox_pkey");
  CHECK(sql::constraint_named("no name here") == "");
}
