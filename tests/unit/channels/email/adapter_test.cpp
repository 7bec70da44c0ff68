// The e-mail adapter's own logic: signed reply tokens, and what a raw mail becomes (a message,
// automatic mail, a bounce of our reply, a report that is nobody's message).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "channels/email/adapter.hpp"

using namespace switchboard;
namespace email = switchboard::channels::email;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR) + "/protocols/fixtures/email/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const email::EmailAdapter& adapter() {
  static FixedClock clock(*parse_rfc3339("2026-01-09T19:00:00Z"));
  static const email::EmailAdapter instance(
      [] {
        email::Options o;
        o.token_secret = "unit-test-token-secret";
        o.loop_marker = "switchboard";
        email::Mailbox box;
        box.name = "support";
        box.address = "obsluga@support.example.com";
        o.mailboxes = {box};
        return o;
      }(),
      clock);
  return instance;
}

}  // namespace

TEST_CASE("email adapter: reply tokens verify only with our signature", "[email][adapter]") {
  const auto& a = adapter();
  const std::string token = a.reply_token("1042");
  CHECK(token.rfind("c1042.", 0) == 0);
  CHECK(a.verify_token(token) == "1042");
  CHECK(a.verify_token("c1042.k7Hq2Xv9").empty());  // the fixture's token was not signed by us
  std::string forged = token;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  CHECK(a.verify_token(forged).empty());
  CHECK(a.verify_token("c1043" + token.substr(5)).empty());  // another conversation, same signature
  CHECK(a.verify_token("").empty());
  CHECK(a.verify_token("m5600").empty());
}

TEST_CASE("email adapter: a customer's mail is a message; robots' mail is marked automatic", "[email][adapter]") {
  const auto& a = adapter();
  auto plain = a.parse_mail(fixture("plain_polish_iso8859-2_qp.eml"), "support");
  REQUIRE(plain.ok());
  REQUIRE(plain->size() == 1);
  const auto& m = std::get<InboundMessage>(plain->front());
  CHECK(m.channel == Channel::email);
  CHECK(m.account == "support");
  CHECK(m.automated.empty());
  REQUIRE(m.mail);  // mail is threaded as mail: its details come along
  CHECK(m.mail->message_id_header == "CAF3k9xYz1234.5678@mail.example.pl");
  CHECK(m.mail->subject == "Gdzie jest moja przesyłka? Zamówienie 4711");

  auto ooo = a.parse_mail(fixture("auto_reply_out_of_office.eml"), "support");
  REQUIRE(ooo.ok());
  REQUIRE(ooo->size() == 1);
  CHECK(!std::get<InboundMessage>(ooo->front()).automated.empty());
  auto list = a.parse_mail(fixture("mailing_list_precedence_list.eml"), "support");
  REQUIRE(list.ok());
  CHECK(!std::get<InboundMessage>(list->front()).automated.empty());
}

TEST_CASE("email adapter: a delivery report of our reply is a system message with its failed status",
          "[email][adapter]") {
  auto bounce = adapter().parse_mail(fixture("bounce_dsn_multipart_report.eml"), "support");
  REQUIRE(bounce.ok());
  REQUIRE(bounce->size() == 1);
  const auto& sys = std::get<SystemMessage>(bounce->front());
  CHECK(sys.channel == Channel::email);
  CHECK(sys.account == "support");
  CHECK(sys.kind == "bounce");
  CHECK(!sys.external_id.empty());
  CHECK(sys.concerns_external_id == "sb.c1044.m5600@support.example.com");
  CHECK(sys.status == "failed");
  CHECK(sys.error.find("5.1.1") != std::string::npos);
  CHECK(!sys.text.empty());
}

TEST_CASE("email adapter: broken mail still gives a message and its defects; an unknown mailbox is an error",
          "[email][adapter]") {
  std::vector<std::string> defects;
  auto broken = adapter().parse_mail(fixture("malformed_mime_invalid_utf8.eml"), "support", &defects);
  REQUIRE(broken.ok());
  CHECK(!defects.empty());
  CHECK(std::holds_alternative<InboundMessage>(broken->front()));
  auto unknown = adapter().parse_mail(fixture("malformed_mime_invalid_utf8.eml"), "nope");
  REQUIRE(!unknown.ok());
  CHECK(unknown.error().code == "unknown_mailbox");
}
