// get_conversation / list_messages: the read side of the agent API.
#include <catch2/catch.hpp>

#include "storage/conversations.hpp"
#include "tests/integration/storage/fixtures.hpp"

using namespace switchboard;
using namespace switchboard::storage;
using namespace switchboard::storage::testing;

TEST_CASE("conversations: a conversation and its messages, inbound then the reply", "[storage][conversations]") {
  MigratedDatabase d;
  FixedClock clock(at("2027-03-30T08:00:00Z"));
  Pipeline pipeline(d.pool, clock);
  Decision decision;
  decision.rule = "r";
  decision.matched = {"r"};
  decision.actions = {ReplyAction{"t", "reply text"}, EnqueueAction{"support", Priority::high}, TagAction{"x"}};
  auto message = sms("SM1", "+48600100200", "question");
  message.attachments = {Attachment{"https://x/1.png", "image/png", "1.png", 10}};
  auto r = pipeline.ingest(message, router_returning(decision));
  REQUIRE(r.ok());

  auto c = get_conversation(d.pool, r->conversation_id);
  REQUIRE(c.ok());
  CHECK(c->id == r->conversation_id);
  CHECK(c->customer_id == r->customer_id);
  CHECK(c->state == "open");
  CHECK(c->queue == std::optional<std::string>("support"));
  CHECK(c->priority == "high");
  CHECK(c->tags == std::vector<std::string>{"x"});
  CHECK(c->opened_at == "2027-03-30T08:00:00.000000Z");

  auto messages = list_messages(d.pool, r->conversation_id);
  REQUIRE(messages.ok());
  REQUIRE(messages->size() == 2);
  const auto& in = (*messages)[0];
  const auto& out = (*messages)[1];
  CHECK(in.id == r->message_id);
  CHECK(in.conversation_id == r->conversation_id);
  CHECK(in.direction == "in");
  CHECK(in.channel == "sms");
  CHECK(in.account == "+48500000000");
  CHECK(in.external_id == std::optional<std::string>("SM1"));
  CHECK(in.sender == "+48600100200");
  CHECK(in.body == "question");
  CHECK(in.attachments_json == R"([{"url": "https://x/1.png", "name": "1.png", "size": 10, "mime_type": "image/png"}])");
  CHECK(in.delivery_state == std::nullopt);
  CHECK(in.created_at.size() == std::string("2027-03-30T08:00:00.000000Z").size());
  CHECK(in.created_at.back() == 'Z');
  CHECK(out.direction == "out");
  CHECK(out.external_id == std::nullopt);
  CHECK(out.sender == "");
  CHECK(out.body == "reply text");
  CHECK(out.attachments_json == "[]");
  CHECK(out.delivery_state == std::optional<std::string>("queued"));

  d.db.exec("UPDATE outbox SET state = 'delivered'");
  auto again = list_messages(d.pool, r->conversation_id);
  REQUIRE(again.ok());
  CHECK((*again)[1].delivery_state == std::optional<std::string>("delivered"));
}

TEST_CASE("conversations: unknown and malformed ids are not found", "[storage][conversations]") {
  MigratedDatabase d;
  for (const std::string id : {"abc", "999999", "", "-1", "007", "1.5", "99999999999999999999", " 1"}) {
    INFO(id);
    auto c = get_conversation(d.pool, id);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().kind == ErrorKind::not_found);
    CHECK(c.error().code == "conversation_not_found");
    auto m = list_messages(d.pool, id);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().kind == ErrorKind::not_found);
  }
  auto c = get_conversation(d.pool, "abc");
  CHECK(c.error().message == "no conversation with id 'abc'");
}

TEST_CASE("conversations: a conversation without messages lists none", "[storage][conversations]") {
  MigratedDatabase d;
  d.db.exec("INSERT INTO customers DEFAULT VALUES");
  const auto id = d.db.scalar(
      "INSERT INTO conversations (customer_id, opened_at) SELECT id, now() FROM customers RETURNING id");
  auto m = list_messages(d.pool, id);
  REQUIRE(m.ok());
  CHECK(m->empty());
}
