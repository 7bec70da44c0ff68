// Tests for channels/meta: the verification handshake, X-Hub-Signature-256 over the raw body
// (fixtures/meta/SIGNATURES.md) and the Messenger / WhatsApp payloads of fixtures/meta/.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>

#include "channels/meta/adapter.hpp"

using namespace switchboard;
using namespace switchboard::channels;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR "/protocols/fixtures/meta/") + name, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const char* kPolish =
    "Dzień dobry! Zażółć gęślą jaźń — ZAŻÓŁĆ GĘŚLĄ JAŹŃ. Czy zamówienie 4711 już wysłane? \xF0\x9F\x98\x80";

std::string signature_of(const std::string& file) {
  static const std::pair<const char*, const char*> kVectors[] = {
      {"messenger_attachment.json", "f5a5f4a3b7734bfa8d871f0fdaa5d1bc7d836a4e8295f19959ffb37e1fe31d7d"},
      {"messenger_batch_two_entries.json", "a8986296f0a76ce7b471ff311fb358d512638e176f79bec29417d433c82dd53c"},
      {"messenger_delivery_read.json", "7725346f5142d18d1960f5e212553d5b7943140a22e39a0a2cccadb25e98917d"},
      {"messenger_echo.json", "e3669e7833754cad5acd9fad86f76c06b5dfdd4d02b0aef477622bc77854a542"},
      {"messenger_postback.json", "17736c9834b3adb11207d4f5c4e897582216caa51b7025d9e4b320199aad9d8e"},
      {"messenger_text.json", "cee9629566147fb153e79edc09b6620c5ef9dd61cf1d56823ac0e65e2028d9e0"},
      {"whatsapp_image.json", "f1b22e497db89d9520a23705735ef74a4fb906536ac8127498113e45329bc7ca"},
      {"whatsapp_interactive_button_reply.json", "045345dbaf9d60648cb9c12f7c3b005075aa0cf2ebb00bafd719f7e6efe1640e"},
      {"whatsapp_polish_text.json", "7ef4a5cab8a1748d84e289d75ef791bd7fa0ed3e47d7a763bc9993061c4bddd3"},
      {"whatsapp_polish_text_utf8.json", "bef69ead6ca30721a3ccaed27aa8958914f68dcc9f79f6a377f16242b1682895"},
      {"whatsapp_status_delivered.json", "252a941b09b3cdc111146dd00f2c581f7b45b979658b56197013359921c82702"},
      {"whatsapp_status_failed.json", "640d0af0e1acfc4cb1f222ab5b819ce001776e061bb4f25e81a4347976ccb6ff"},
      {"whatsapp_text.json", "090f5180a1c0a9a3f79df43cd067a86f4a0c9e249832a4afe7f0ec32ec720d7c"},
      {"whatsapp_username_no_phone.json", "481c77053064e1c9e8c1259607618b610d8d85ca7bc3ec71754df736acb2241c"},
  };
  for (const auto& [name, hex] : kVectors)
    if (file == name) return std::string("sha256=") + hex;
  FAIL("no signature vector for " << file);
  return {};
}

HttpRequest post(std::string body, std::optional<std::string> signature) {
  HttpRequest r;
  r.method = "POST";
  r.path = r.target = "/webhooks/meta";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", "application/json");
  if (signature) r.headers.emplace_back("X-Hub-Signature-256", *signature);
  return r;
}

const SystemClock kClock;  // the inbound side never reads it

meta::MetaAdapter make_adapter() {
  meta::Options o;
  o.app_secrets = {"test_app_secret"};
  o.verify_token = "verify-me";
  return meta::MetaAdapter(o, kClock);
}

std::vector<InboundEvent> parse_fixture(const std::string& file) {
  auto adapter = make_adapter();
  auto events = adapter.parse_webhook(post(fixture(file), signature_of(file)));
  if (!events) FAIL(file << ": " << events.error().code << " " << events.error().message);
  return *events;
}

HttpRequest get(std::string query) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/webhooks/meta";
  r.target = r.path + "?" + query;
  r.query = std::move(query);
  return r;
}

Timestamp ms(std::int64_t v) { return Timestamp{std::chrono::milliseconds{v}}; }
Timestamp sec(std::int64_t v) { return Timestamp{std::chrono::seconds{v}}; }

}  // namespace

TEST_CASE("meta: messenger text", "[channels][meta]") {
  auto events = parse_fixture("messenger_text.json");
  REQUIRE(events.size() == 1);
  const auto& m = std::get<InboundMessage>(events[0]);
  CHECK(m.channel == Channel::messenger);
  CHECK(m.account == "104857600012345");
  CHECK(m.external_id == "m_Gx1pQm8bKx3E2vYw7oRk0A-text-0001");
  CHECK(m.sender == "7012345678901234");
  REQUIRE(m.identities.size() == 1);
  CHECK(m.identities[0] == Identity{IdentityKind::messenger_psid, "7012345678901234"});
  CHECK(m.text == "Dzień dobry, czy jesteście otwarci w sobotę?");
  CHECK(m.sent_at == ms(1767618180231));
}

TEST_CASE("meta: messenger attachments", "[channels][meta]") {
  auto events = parse_fixture("messenger_attachment.json");
  REQUIRE(events.size() == 1);
  const auto& m = std::get<InboundMessage>(events[0]);
  CHECK(m.external_id == "m_Gx1pQm8bKx3E2vYw7oRk0A-att-0002");
  CHECK(m.text.empty());
  REQUIRE(m.attachments.size() == 2);
  CHECK(m.attachments[0].url ==
        "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo_0002.jpg?_nc_cat=1&oh=00_AbC&oe=6A1B2C3D");
  CHECK(m.attachments[0].mime_type == "image");
  CHECK(m.attachments[1].url == "https://cdn.fbsbx.com/v/t59.2708-21/paragon_0002.pdf?_nc_cat=2&oh=00_DeF&oe=6A1B2C3E");
  CHECK(m.attachments[1].mime_type == "file");
}

TEST_CASE("meta: messenger echo is an Echo of the page's message", "[channels][meta]") {
  auto events = parse_fixture("messenger_echo.json");
  REQUIRE(events.size() == 1);
  REQUIRE(std::holds_alternative<Echo>(events[0]));
  const auto& m = std::get<Echo>(events[0]).message;
  CHECK(m.channel == Channel::messenger);
  CHECK(m.account == "104857600012345");
  CHECK(m.external_id == "m_Echo7rT2pQx9LmN3vB5kZ0-0003");
  CHECK(m.sender == "104857600012345");
  REQUIRE(m.identities.size() == 1);
  CHECK(m.identities[0] == Identity{IdentityKind::messenger_psid, "7012345678901234"});
  CHECK(m.text == "Tak, w sobotę pracujemy 9–14.");
  // The fixture is our own send coming back ("metadata":"outbox:42"): the adapter says so.
  CHECK(std::get<Echo>(events[0]).ours);
  CHECK(std::get<Echo>(events[0]).metadata == "outbox:42");

  // The same echo of a message sent from another tool (another mark, or none) is not ours.
  for (const std::string mark : {"\"metadata\":\"crm:42\",", ""}) {
    std::string body = fixture("messenger_echo.json");
    const std::string ours_mark = "\"metadata\":\"outbox:42\",";
    const auto at = body.find(ours_mark);
    REQUIRE(at != std::string::npos);
    body.replace(at, ours_mark.size(), mark);
    auto other = meta::parse_payload(body);
    REQUIRE(other.ok());
    REQUIRE(other->size() == 1);
    CHECK_FALSE(std::get<Echo>(other->front()).ours);
  }
}

TEST_CASE("meta: messenger batch of two entries", "[channels][meta]") {
  auto events = parse_fixture("messenger_batch_two_entries.json");
  REQUIRE(events.size() == 2);
  const auto& a = std::get<InboundMessage>(events[0]);
  const auto& b = std::get<InboundMessage>(events[1]);
  CHECK(a.external_id == "m_Batch1aXy2Zq3Wr4-0004");
  CHECK(a.sender == "7012345678901234");
  CHECK(a.text == "A w niedzielę?");
  CHECK(b.external_id == "m_Batch2bQw9Er8Ty7-0005");
  CHECK(b.sender == "7098765432109876");
  CHECK(b.identities[0] == Identity{IdentityKind::messenger_psid, "7098765432109876"});
  CHECK(b.text == "Hello, do you ship to Germany?");
}

TEST_CASE("meta: messenger postback", "[channels][meta]") {
  auto events = parse_fixture("messenger_postback.json");
  REQUIRE(events.size() == 1);
  const auto& m = std::get<InboundMessage>(events[0]);
  CHECK(m.external_id == "m_Postback5uIo6Pa-0006");
  CHECK(m.sender == "7012345678901234");
  CHECK(m.text == "Porozmawiaj z konsultantem");
  CHECK(m.sent_at == ms(1767618600120));
}

TEST_CASE("meta: messenger delivery and read", "[channels][meta]") {
  auto events = parse_fixture("messenger_delivery_read.json");
  REQUIRE(events.size() == 2);
  const auto& d = std::get<DeliveryStatus>(events[0]);
  CHECK(d.channel == Channel::messenger);
  CHECK(d.account == "104857600012345");
  CHECK(d.external_id == "m_Echo7rT2pQx9LmN3vB5kZ0-0003");
  CHECK(d.status == "delivered");
  const auto& r = std::get<DeliveryStatus>(events[1]);
  CHECK(r.status == "read");
  CHECK(r.external_id.empty());
  CHECK(r.at == ms(1767618400590));
}

TEST_CASE("meta: whatsapp text", "[channels][meta]") {
  auto events = parse_fixture("whatsapp_text.json");
  REQUIRE(events.size() == 1);
  const auto& m = std::get<InboundMessage>(events[0]);
  CHECK(m.channel == Channel::whatsapp);
  CHECK(m.account == "106540352242922");
  CHECK(m.external_id == "wamid.HBgLNDg2MDEyMzQ1NjcVAgASGBQzQTk5RjAwMDAwMDAwMDAwMDAwMQA=");
  CHECK(m.sender == "48601234567");
  REQUIRE(m.identities.size() == 2);
  CHECK(m.identities[0] == Identity{IdentityKind::phone, "+48601234567"});
  CHECK(m.identities[1] == Identity{IdentityKind::whatsapp_user, "PL.13491208655302741918"});
  CHECK(m.display_name == "Anna Wiśniewska");
  CHECK(m.text == "Dzień dobry, gdzie jest moja paczka?");
  CHECK(m.sent_at == sec(1767618180));
}

TEST_CASE("meta: whatsapp image with caption and url", "[channels][meta]") {
  auto events = parse_fixture("whatsapp_image.json");
  REQUIRE(events.size() == 1);
  const auto& m = std::get<InboundMessage>(events[0]);
  CHECK(m.text == "Zdjęcie uszkodzonej paczki");
  REQUIRE(m.attachments.size() == 1);
  CHECK(m.attachments[0].url ==
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1767618300&hash=ATtest");
  CHECK(m.attachments[0].mime_type == "image/jpeg");
}

TEST_CASE("meta: whatsapp interactive button reply", "[channels][meta]") {
  auto events = parse_fixture("whatsapp_interactive_button_reply.json");
  REQUIRE(events.size() == 1);
  const auto& m = std::get<InboundMessage>(events[0]);
  CHECK(m.text == "Konsultant");
  CHECK(m.external_id == "wamid.HBgLNDg2MDEyMzQ1NjcVAgASGBQzQTk5RjAwMDAwMDAwMDAwMDAwNQA=");
}

TEST_CASE("meta: escaped and raw UTF-8 Polish text decode the same, each with its own signature",
          "[channels][meta]") {
  auto escaped = parse_fixture("whatsapp_polish_text.json");
  auto raw = parse_fixture("whatsapp_polish_text_utf8.json");
  REQUIRE(escaped.size() == 1);
  REQUIRE(raw.size() == 1);
  const auto& a = std::get<InboundMessage>(escaped[0]);
  const auto& b = std::get<InboundMessage>(raw[0]);
  CHECK(a.text == kPolish);
  CHECK(b.text == kPolish);
  CHECK(a.display_name == "Łukasz Żółtowski");
  CHECK(b.display_name == a.display_name);
  CHECK(a.identities == b.identities);

  auto adapter = make_adapter();
  auto swapped1 = adapter.parse_webhook(
      post(fixture("whatsapp_polish_text.json"), signature_of("whatsapp_polish_text_utf8.json")));
  auto swapped2 = adapter.parse_webhook(
      post(fixture("whatsapp_polish_text_utf8.json"), signature_of("whatsapp_polish_text.json")));
  REQUIRE_FALSE(swapped1.ok());
  REQUIRE_FALSE(swapped2.ok());
  CHECK(swapped1.error().kind == ErrorKind::forbidden);
  CHECK(swapped2.error().kind == ErrorKind::forbidden);
}

TEST_CASE("meta: whatsapp statuses", "[channels][meta]") {
  auto delivered = parse_fixture("whatsapp_status_delivered.json");
  REQUIRE(delivered.size() == 1);
  const auto& d = std::get<DeliveryStatus>(delivered[0]);
  CHECK(d.channel == Channel::whatsapp);
  CHECK(d.account == "106540352242922");
  CHECK(d.external_id == "wamid.HBgLNDg2MDEyMzQ1NjcVAgARGBIzQUIxMjM0NTY3ODkwQUJDREVGAA==");
  CHECK(d.status == "delivered");
  CHECK(d.error.empty());
  CHECK(d.at == sec(1767618420));

  auto failed = parse_fixture("whatsapp_status_failed.json");
  REQUIRE(failed.size() == 1);
  const auto& f = std::get<DeliveryStatus>(failed[0]);
  CHECK(f.status == "blocked");  // 131047: outside the 24-hour window (the adapter decides)
  CHECK(f.external_id == "wamid.HBgLNDg2MDEyMzQ1NjcVAgARGBIzQUIxMjM0NTY3ODkwQUJDREYwAA==");
  CHECK(f.error == "131047 Re-engagement message");
}

TEST_CASE("meta: a username-only whatsapp sender has only a whatsapp_user identity", "[channels][meta]") {
  auto events = parse_fixture("whatsapp_username_no_phone.json");
  REQUIRE(events.size() == 1);
  const auto& m = std::get<InboundMessage>(events[0]);
  CHECK(m.sender == "PL.90817263544536271809");
  REQUIRE(m.identities.size() == 1);
  CHECK(m.identities[0] == Identity{IdentityKind::whatsapp_user, "PL.90817263544536271809"});
  CHECK(m.display_name == "Kasia");
  CHECK(m.text == "Cześć, piszę z nazwy użytkownika.");
}

TEST_CASE("meta: negative signature vectors are forbidden", "[channels][meta]") {
  auto adapter = make_adapter();
  const std::string text = fixture("messenger_text.json");
  const std::string good = signature_of("messenger_text.json");
  auto rejected = [&](const HttpRequest& r) {
    auto result = adapter.parse_webhook(r);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::forbidden);
    CHECK(result.error().code == "bad_signature");
  };
  rejected(post(fixture("whatsapp_text.json"), good));
  rejected(post(text + "\n", good));
  rejected(post(text, std::nullopt));
  rejected(post(text, good.substr(0, good.size() - 1)));
  HttpRequest legacy = post(text, std::nullopt);
  legacy.headers.emplace_back("X-Hub-Signature", "sha1=85d01967642da6c67c40bd545a61ce1fc37af765");
  rejected(legacy);
  // Not JSON and wrong signature: the signature is checked first.
  rejected(post("not json", good));
}

TEST_CASE("meta: signature hex is case-insensitive; a second secret works; no secret refuses", "[channels][meta]") {
  const std::string text = fixture("messenger_text.json");
  std::string upper = signature_of("messenger_text.json");
  for (std::size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  auto adapter = make_adapter();
  CHECK(adapter.parse_webhook(post(text, upper)).ok());

  meta::Options rotated;
  rotated.app_secrets = {"old_secret", "test_app_secret"};
  meta::MetaAdapter two(rotated, kClock);
  CHECK(two.parse_webhook(post(text, signature_of("messenger_text.json"))).ok());

  meta::MetaAdapter none(meta::Options{}, kClock);
  auto r = none.parse_webhook(post(text, signature_of("messenger_text.json")));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::forbidden);
}

TEST_CASE("meta: payload edge cases", "[channels][meta]") {
  auto invalid = meta::parse_payload("{\"object\":");
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().kind == ErrorKind::invalid);
  CHECK(invalid.error().code == "invalid_json");
  auto array = meta::parse_payload("[1]");
  REQUIRE_FALSE(array.ok());
  CHECK(array.error().code == "invalid_json");
  auto unknown = meta::parse_payload(R"({"object":"instagram","entry":[]})");
  REQUIRE(unknown.ok());
  CHECK(unknown->empty());
  auto other_field = meta::parse_payload(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{}}]}]})");
  REQUIRE(other_field.ok());
  CHECK(other_field->empty());
  auto media_id = meta::parse_payload(
      R"({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{)"
      R"("metadata":{"phone_number_id":"55"},"messages":[{"from":"48601234567","id":"wamid.X","timestamp":"10",)"
      R"("type":"document","document":{"id":"777","mime_type":"application/pdf","filename":"faktura.pdf"}},)"
      R"({"from":"48601234567","id":"wamid.Y","timestamp":"11","type":"reaction","reaction":{"emoji":"x"}}]}}]}]})");
  REQUIRE(media_id.ok());
  REQUIRE(media_id->size() == 1);
  const auto& m = std::get<InboundMessage>(media_id->front());
  REQUIRE(m.attachments.size() == 1);
  CHECK(m.attachments[0] == Attachment{"whatsapp-media:777", "application/pdf", "faktura.pdf", std::nullopt});
  CHECK(m.account == "55");
}

TEST_CASE("meta: verification handshake", "[channels][meta]") {
  auto adapter = make_adapter();
  auto ok = adapter.verify(get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me"));
  CHECK(ok.status == 200);
  CHECK(ok.content_type == "text/plain");
  CHECK(ok.body == "1158201444");

  auto opaque = adapter.verify(get("hub.verify_token=verify%2Dme&hub.challenge=a%2Fb%20c&hub.mode=subscribe"));
  CHECK(opaque.status == 200);
  CHECK(opaque.body == "a/b c");

  CHECK(adapter.verify(get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong")).status == 403);
  CHECK(adapter.verify(get("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me")).status == 403);
  CHECK(adapter.verify(get("hub.mode=subscribe&hub.verify_token=verify-me")).status == 403);
  CHECK(adapter.verify(get("hub.mode=subscribe&hub.challenge=1")).status == 403);

  meta::Options empty;
  empty.app_secrets = {"test_app_secret"};
  meta::MetaAdapter no_token(empty, kClock);
  CHECK(no_token.verify(get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=")).status == 403);
}

TEST_CASE("meta: name, posture, and send refuses other channels (send_test.cpp)", "[channels][meta]") {
  auto adapter = make_adapter();
  CHECK(adapter.name() == "meta");
  CHECK(adapter.posture().max_body_bytes == 4 * 1024 * 1024);
  auto r = adapter.send(OutboundMessage{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::invalid);
  CHECK(r.error().code == "unsupported_channel");
}

TEST_CASE("meta: a body over the limit is too_large", "[channels][meta]") {
  meta::Options o;
  o.app_secrets = {"test_app_secret"};
  o.max_body_bytes = 100;
  meta::MetaAdapter small(o, kClock);
  auto r = small.parse_webhook(post(fixture("messenger_text.json"), signature_of("messenger_text.json")));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::too_large);
}
