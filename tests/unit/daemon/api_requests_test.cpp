// What the agent API reads from requests (daemon/api/requests.hpp): the list's query string,
// PATCH bodies and reply bodies, hostile ones included.
#include <catch2/catch.hpp>

#include "daemon/api/requests.hpp"
#include "routing/rules/ruleset.hpp"
#include "search/stemmer.hpp"

namespace api = switchboard::daemon::api;
using switchboard::ErrorKind;

namespace {

std::shared_ptr<const switchboard::routing::RuleSet> rules() {
  static const auto compiled = switchboard::routing::compile_rules(R"(version: 1
people:
  anna: { name: Anna }
  boss: { name: Boss, role: admin }
queues: { support: { people: [anna] }, sales: {} }
rules:
  - name: default
    then: [ { enqueue: support } ]
)",
                                                                   {});
  REQUIRE(compiled.rules);
  return compiled.rules;
}

}  // namespace

TEST_CASE("api requests: the conversation list's query", "[api]") {
  auto q = api::conversation_query("", "anna");
  REQUIRE(q);
  CHECK(q->states == std::vector<std::string>{"open", "pending"});
  CHECK(q->limit == 50);
  CHECK_FALSE(q->by_activity);

  q = api::conversation_query(
      "state=resolved,open&queue=none&assignee=me&channel=sms&tag=vip+klient&sort=activity"
      "&limit=200&cursor=a1.5.7",
      "anna");
  REQUIRE(q);
  CHECK(q->states == std::vector<std::string>{"resolved", "open"});
  CHECK(q->queue == std::optional<std::string>(""));
  CHECK(q->assignee == std::optional<std::string>("anna"));
  CHECK(q->channel == std::optional<std::string>("sms"));
  CHECK(q->tag == std::optional<std::string>("vip klient"));
  CHECK(q->by_activity);
  CHECK(q->limit == 200);
  CHECK(q->cursor == "a1.5.7");

  q = api::conversation_query("state=all&queue=sprzeda%C5%BC&assignee=none", "anna");
  REQUIRE(q);
  CHECK(q->states.size() == 3);
  CHECK(q->queue == std::optional<std::string>("sprzedaż"));
  CHECK(q->assignee == std::optional<std::string>(""));

  for (const char* bad :
       {"limit=0", "limit=201", "limit=1e3", "limit=", "limit=-5", "state=closed", "state=open,", "sort=newest",
        "channel=telegram", "queue=", "unknown=1", "tag=%ZZ", "tag=%00", "tag=%C3%28", "q%C3%28=1"}) {
    INFO(bad);
    auto refused = api::conversation_query(bad, "anna");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK(refused.error().code == "invalid_parameter");
  }
}

TEST_CASE("api requests: PATCH bodies", "[api]") {
  const auto r = rules();
  auto c = api::conversation_change(R"({"state":"resolved","assignee":"anna","priority":"urgent",)"
                                    R"("tags":["vip","vip","zwrot"],"queue":"sales"})",
                                    r.get());
  REQUIRE(c);
  CHECK(c->state == std::optional<std::string>("resolved"));
  REQUIRE(c->assignee);
  CHECK(*c->assignee == std::optional<std::string>("anna"));
  CHECK(c->tags == std::optional<std::vector<std::string>>({"vip", "zwrot"}));  // duplicates folded
  REQUIRE(c->queue);
  CHECK(*c->queue == std::optional<std::string>("sales"));

  c = api::conversation_change(R"({"assignee":null,"queue":null})", r.get());
  REQUIRE(c);
  REQUIRE(c->assignee);
  CHECK_FALSE(c->assignee->has_value());  // unassign
  REQUIRE(c->queue);
  CHECK_FALSE(c->queue->has_value());
  CHECK_FALSE(c->state);

  std::string many = R"({"tags":[)";
  for (int i = 0; i < 51; ++i) many += (i ? ",\"t" : "\"t") + std::to_string(i) + "\"";
  many += "]}";
  for (std::string bad :
       {std::string("{}"), std::string("[]"), std::string("{"), std::string(R"({"state":"closed"})"),
        std::string(R"({"state":null})"), std::string(R"({"priority":"p1"})"), std::string(R"({"assignee":"nobody"})"),
        std::string(R"({"queue":"vip"})"), std::string(R"({"tags":"vip"})"), std::string(R"({"tags":[""]})"),
        std::string(R"({"tags":[1]})"), std::string(R"({"tags":["a\u0000b"]})"), std::string(R"({"color":"red"})"),
        std::string("{\"state\":\"open\xff\"}"), many}) {
    INFO(bad);
    auto refused = api::conversation_change(bad, r.get());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::invalid);
  }
}

TEST_CASE("api requests: reply bodies", "[api]") {
  auto reply = api::reply_request(R"({"text":"Dzień dobry","channel":"whatsapp","account":"1065"})", false);
  REQUIRE(reply);
  CHECK(reply->text == "Dzień dobry");
  CHECK(reply->route.channel == std::optional<std::string>("whatsapp"));
  CHECK(reply->route.account == std::optional<std::string>("1065"));
  CHECK_FALSE(reply->author);

  CHECK(api::reply_request(R"({"text":""})", true));  // a preview of nothing yet
  auto from_template = api::reply_request(R"({"template":"greeting","channel":"sms"})", false);
  REQUIRE(from_template);
  CHECK(from_template->template_name == std::optional<std::string>("greeting"));
  CHECK(from_template->text.empty());
  CHECK_FALSE(api::reply_request(R"({"template":"greeting","text":"both"})", false));
  CHECK_FALSE(api::reply_request(R"({"template":""})", false));
  CHECK_FALSE(api::reply_request(R"({"template":7})", false));
  auto wa = api::reply_request(
      R"({"text":"Paczka wysłana","whatsapp_template":{"name":"order_shipped","language":"pl","parameters":["4711"]}})",
      false);
  REQUIRE(wa);
  REQUIRE(wa->whatsapp_template);
  CHECK(wa->whatsapp_template->name == "order_shipped");
  CHECK(wa->whatsapp_template->parameters == std::vector<std::string>{"4711"});
  for (const char* bad : {R"({"text":"x","whatsapp_template":"order_shipped"})",
                          R"({"text":"x","whatsapp_template":{"name":"a"}})",
                          R"({"text":"x","whatsapp_template":{"name":"a","language":"pl","parameters":[1]}})",
                          R"({"text":"x","whatsapp_template":{"name":"a","language":"pl","colour":1}})"}) {
    INFO(bad);
    CHECK_FALSE(api::reply_request(bad, false));
  }
  for (const char* bad :
       {R"({"text":""})", R"({})", R"({"text":5})", R"({"text":"a\u0000"})", R"({"text":"x","channel":"fax"})",
        R"({"text":"x","account":""})", R"({"text":"x","extra":1})", "null"}) {
    INFO(bad);
    auto refused = api::reply_request(bad, false);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::invalid);
  }
}

TEST_CASE("api requests: the search box", "[api][search]") {
  auto stemmer = switchboard::search::Stemmer::open();
  REQUIRE(stemmer.ok());
  auto q = api::search_query("q=Awarii%20w%20%C5%81odzi&limit=5", stemmer->get());
  REQUIRE(q.ok());
  CHECK(q->limit == 5);
  CHECK(q->name == "awarii w łodzi");
  CHECK(q->identities == std::vector<std::string>{"Awarii w Łodzi"});
  CHECK(q->tsquery.find("'awaria'") != std::string::npos);  // the stem
  CHECK(q->tsquery.find("'lodz'") != std::string::npos);    // Łodzi -> łódź, folded
  CHECK(q->tsquery.find("'lodzi':*") != std::string::npos); // the last word, also as a prefix
  auto mail = api::search_query("q=+Jan.Kowalski%40Example.PL+", nullptr);
  REQUIRE(mail.ok());
  CHECK(mail->identities == std::vector<std::string>{"Jan.Kowalski@Example.PL", "jan.kowalski@example.pl"});
  CHECK(api::search_query("q=x&cursor=17", nullptr)->cursor == "17");
  for (const char* bad : {"", "q=", "q=%20%2C.%21", "q=x&limit=101", "q=x&limit=0", "q=x&sort=new", "q=%ff",
                          "q=%27%7C%21"}) {
    INFO(bad);
    auto refused = api::search_query(bad, stemmer->get());
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
  }
  CHECK_FALSE(api::search_query("q=" + std::string(201, 'a'), nullptr).ok());
  CHECK(api::search_query("q=" + std::string(100, 'a') + "%20" + std::string(99, 'b'), nullptr).ok());
}
