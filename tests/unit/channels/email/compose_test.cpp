// Tests for channels/email/compose: what render() writes, read back with GMime (an independent
// parser), plus the line-length rules checked on the raw bytes, and the subject/id helpers.
#include "channels/email/compose.hpp"

#include <gmime/gmime.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "channels/email/gmime_init.hpp"
#include "routing/core/time.hpp"

using namespace switchboard;
using namespace switchboard::channels::email;

namespace {

const std::string kPolishSubject = "Re: Gdzie jest moja przesyłka? Zamówienie 4711 [#1042]";

struct Unref {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;

GPtr<GMimeMessage> parse(const std::string& raw) {
  ensure_gmime();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  REQUIRE(message);
  return message;
}

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

std::string header(GMimeMessage* m, const char* name) { return str(g_mime_object_get_header(GMIME_OBJECT(m), name)); }
bool has_header(GMimeMessage* m, const char* name) { return g_mime_object_get_header(GMIME_OBJECT(m), name) != nullptr; }

// The ids of a References / In-Reply-To value, without <>.
std::vector<std::string> ids(const std::string& value) {
  std::vector<std::string> out;
  GMimeReferences* refs = g_mime_references_parse(nullptr, value.c_str());
  if (!refs) return out;
  for (int i = 0; i < g_mime_references_length(refs); ++i) out.emplace_back(g_mime_references_get_message_id(refs, i));
  g_mime_references_free(refs);
  return out;
}

struct Mailbox {
  std::string name;
  std::string address;
};

Mailbox first_mailbox(InternetAddressList* list) {
  REQUIRE(list);
  REQUIRE(internet_address_list_length(list) >= 1);
  InternetAddress* a = internet_address_list_get_address(list, 0);
  REQUIRE(INTERNET_ADDRESS_IS_MAILBOX(a));
  return {str(internet_address_get_name(a)), str(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)))};
}

std::string text_of(GMimeObject* part) {
  REQUIRE(GMIME_IS_TEXT_PART(part));
  char* text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
  std::string out = str(text);
  g_free(text);
  // Line ends as LF, so that texts compare whatever the wire form was.
  std::string lf;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (!(out[i] == '\r' && i + 1 < out.size() && out[i + 1] == '\n')) lf += out[i];
  return lf;
}

std::string mime_type(GMimeObject* part) {
  GMimeContentType* type = g_mime_object_get_content_type(part);
  return str(g_mime_content_type_get_media_type(type)) + "/" + str(g_mime_content_type_get_media_subtype(type));
}

// The raw lines of a rendered message (which must use CRLF and nothing else).
std::vector<std::string> lines_of(const std::string& raw) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < raw.size()) {
    const auto end = raw.find("\r\n", start);
    REQUIRE(end != std::string::npos);  // the message ends with CRLF
    lines.push_back(raw.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

std::vector<std::string> header_lines(const std::string& raw) {
  std::vector<std::string> out;
  for (auto& line : lines_of(raw)) {
    if (line.empty()) break;
    out.push_back(std::move(line));
  }
  return out;
}

void check_line_rules(const std::string& raw) {
  INFO(raw);
  CHECK(raw.find('\0') == std::string::npos);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') CHECK((i > 0 && raw[i - 1] == '\r'));
    if (raw[i] == '\r') CHECK((i + 1 < raw.size() && raw[i + 1] == '\n'));
  }
  for (const auto& line : lines_of(raw)) CHECK(line.size() <= 998);
  for (const auto& line : header_lines(raw)) {
    INFO(line);
    if (line.find("=?") != std::string::npos) CHECK(line.size() <= 76);
    for (unsigned char c : line) CHECK(c < 0x80);  // non-ASCII header text is encoded
  }
}

Timestamp at(const char* rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  REQUIRE(t);
  return *t;
}

OutgoingMail polish_reply() {
  OutgoingMail m;
  m.from_address = "obsluga@support.example.com";
  m.from_name = "Obsługa klienta";
  m.to_address = "pawel.kowalczyk@example.pl";
  m.to_name = "Paweł Kowalczyk";
  m.reply_to = "obsluga+c1042.k7Hq2Xv9@support.example.com";
  m.subject = reply_subject("Gdzie jest moja przesyłka? Zamówienie 4711", "1042");
  m.text =
      "Dzień dobry,\n"
      "przesyłka z zamówienia 4711 wyjechała dziś z magazynu; numer listu przewozowego znajdzie Pan w "
      "panelu klienta, w zakładce „Zamówienia”, razem z linkiem do śledzenia przesyłki u przewoźnika.\n"
      ".kropka na początku wiersza\n"
      "From the warehouse: żółw   \n"
      "\n"
      "Pozdrawiamy\n"
      "Zespół obsługi\n";
  m.message_id = make_message_id("1042", "5601", "support.example.com");
  m.in_reply_to = {"CAF3k9xYz1234.5678@mail.example.pl"};
  m.references = thread_references({"sb.c1042.m5501@support.example.com"}, {"sb.c1042.m5501@support.example.com"},
                                   "CAF3k9xYz1234.5678@mail.example.pl");
  m.date = at("2026-01-05T14:20:00Z");
  return m;
}

}  // namespace

TEST_CASE("an agent's reply renders to a message GMime reads back field by field", "[email][compose]") {
  const OutgoingMail mail = polish_reply();
  const std::string raw = render(mail);
  check_line_rules(raw);
  for (const auto& line : header_lines(raw)) CHECK(line.size() <= 78);

  auto message = parse(raw);
  GMimeMessage* m = message.get();
  CHECK(str(g_mime_message_get_subject(m)) == kPolishSubject);
  // Only the words that need it are encoded: "Re:" and the tag stay readable in the raw header.
  CHECK(raw.find("\r\nSubject: Re: Gdzie jest moja =?UTF-8?") != std::string::npos);
  CHECK(raw.find(" 4711 [#1042]\r\n") != std::string::npos);

  const Mailbox from = first_mailbox(g_mime_message_get_from(m));
  CHECK(from.name == "Obsługa klienta");
  CHECK(from.address == "obsluga@support.example.com");
  const Mailbox to = first_mailbox(g_mime_message_get_to(m));
  CHECK(to.name == "Paweł Kowalczyk");
  CHECK(to.address == "pawel.kowalczyk@example.pl");
  CHECK(first_mailbox(g_mime_message_get_reply_to(m)).address == "obsluga+c1042.k7Hq2Xv9@support.example.com");

  const std::string id = str(g_mime_message_get_message_id(m));
  CHECK(id == mail.message_id);
  CHECK(id.rfind("sb.c1042.m5601.", 0) == 0);
  CHECK(id.size() > std::string("@support.example.com").size());
  CHECK(id.substr(id.size() - 20) == "@support.example.com");

  CHECK(ids(header(m, "In-Reply-To")) == std::vector<std::string>{"CAF3k9xYz1234.5678@mail.example.pl"});
  CHECK(ids(header(m, "References")) ==
        std::vector<std::string>{"sb.c1042.m5501@support.example.com", "CAF3k9xYz1234.5678@mail.example.pl"});

  // An agent's reply: no Auto-Submitted ("no" is the default), no Exchange suppression.
  CHECK_FALSE(has_header(m, "Auto-Submitted"));
  CHECK_FALSE(has_header(m, "X-Auto-Response-Suppress"));
  CHECK_FALSE(has_header(m, "X-Switchboard-Loop"));
  CHECK(header(m, "MIME-Version") == "1.0");

  GMimeObject* body = g_mime_message_get_mime_part(m);
  CHECK(mime_type(body) == "text/plain");
  CHECK(str(g_mime_object_get_content_type_parameter(body, "charset")) == "UTF-8");
  CHECK(g_mime_part_get_content_encoding(GMIME_PART(body)) == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  CHECK(text_of(body) == mail.text);
  CHECK(raw.find("\r\n.kropka") != std::string::npos);  // left for SMTP's dot-stuffing
  CHECK(raw.find("\r\n=46rom the warehouse") != std::string::npos);  // no mbox "From " line
}

TEST_CASE("the Date header shows the customer's zone with its offset", "[email][compose]") {
  OutgoingMail mail = polish_reply();

  SECTION("winter in Warsaw: +0100") {
    mail.date = at("2026-01-05T14:20:00Z");
    const std::string raw = render(mail);
    CHECK(raw.rfind("Date: Mon, 05 Jan 2026 15:20:00 +0100\r\n", 0) == 0);
    auto message = parse(raw);
    GDateTime* date = g_mime_message_get_date(message.get());
    REQUIRE(date);
    CHECK(g_date_time_get_utc_offset(date) == G_TIME_SPAN_HOUR);
    CHECK(g_date_time_to_unix(date) == std::chrono::duration_cast<std::chrono::seconds>(mail.date.time_since_epoch()).count());
  }
  SECTION("summer in Warsaw: +0200") {
    mail.date = at("2026-07-01T10:00:59.900Z");
    const std::string raw = render(mail);
    CHECK(raw.rfind("Date: Wed, 01 Jul 2026 12:00:59 +0200\r\n", 0) == 0);
    auto message = parse(raw);
    CHECK(g_date_time_get_utc_offset(g_mime_message_get_date(message.get())) == 2 * G_TIME_SPAN_HOUR);
  }
  SECTION("a zone west of UTC, and an unknown zone as UTC") {
    mail.date = at("2026-01-05T14:20:00Z");
    mail.time_zone = "America/New_York";
    CHECK(render(mail).rfind("Date: Mon, 05 Jan 2026 09:20:00 -0500\r\n", 0) == 0);
    mail.time_zone = "Mars/Olympus_Mons";
    CHECK(render(mail).rfind("Date: Mon, 05 Jan 2026 14:20:00 +0000\r\n", 0) == 0);
  }
  SECTION("no date given: now") {
    mail.date = Timestamp{};
    auto message = parse(render(mail));
    GDateTime* date = g_mime_message_get_date(message.get());
    REQUIRE(date);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(g_date_time_to_unix(date) >= now - 60);
    CHECK(g_date_time_to_unix(date) <= now + 1);
  }
}

TEST_CASE("an automatic reply says so (RFC 3834) and carries the loop marker", "[email][compose]") {
  OutgoingMail mail = polish_reply();
  mail.automatic = true;
  mail.loop_marker = "sb-instance-7";
  const std::string raw = render(mail);
  check_line_rules(raw);
  auto message = parse(raw);
  CHECK(header(message.get(), "Auto-Submitted") == "auto-replied");
  CHECK(header(message.get(), "X-Auto-Response-Suppress") == "All");
  CHECK(header(message.get(), "X-Switchboard-Loop") == "sb-instance-7");
  CHECK(ids(header(message.get(), "In-Reply-To")).size() == 1);
}

TEST_CASE("with HTML the body is multipart/alternative, plain text first", "[email][compose]") {
  OutgoingMail mail = polish_reply();
  mail.html = "<p>Dzień dobry,</p>\n<p>przesyłka <b>wyjechała</b> dziś; <a href=\"https://example.pl/t?a=1&b=2\">śledzenie</a>.</p>\n";
  const std::string raw = render(mail);
  check_line_rules(raw);
  auto message = parse(raw);
  GMimeObject* body = g_mime_message_get_mime_part(message.get());
  REQUIRE(GMIME_IS_MULTIPART(body));
  CHECK(mime_type(body) == "multipart/alternative");
  GMimeMultipart* multipart = GMIME_MULTIPART(body);
  REQUIRE(g_mime_multipart_get_count(multipart) == 2);
  GMimeObject* plain = g_mime_multipart_get_part(multipart, 0);
  GMimeObject* html = g_mime_multipart_get_part(multipart, 1);
  CHECK(mime_type(plain) == "text/plain");
  CHECK(mime_type(html) == "text/html");
  CHECK(str(g_mime_object_get_content_type_parameter(html, "charset")) == "UTF-8");
  // The CRLF before a boundary belongs to the boundary: each part's last line end is not content.
  CHECK(text_of(plain) + "\n" == mail.text);
  CHECK(text_of(html) + "\n" == mail.html);
  CHECK(str(g_mime_message_get_subject(message.get())) == kPolishSubject);
}

TEST_CASE("long and awkward header values stay within the line limits and decode back", "[email][compose]") {
  OutgoingMail mail = polish_reply();

  SECTION("a long Polish subject becomes several encoded words, each line at most 76") {
    std::string subject;
    for (int i = 0; i < 12; ++i) subject += "Zażółć gęślą jaźń — reklamacja nr " + std::to_string(i) + " ";
    subject += "koniec";
    mail.subject = subject;
    const std::string raw = render(mail);
    check_line_rules(raw);
    CHECK(str(g_mime_message_get_subject(parse(raw).get())) == subject);
  }
  SECTION("text with few ASCII letters goes as B words, padding only in the last") {
    std::string subject;
    for (int i = 0; i < 10; ++i) subject += "ŻÓŁĆ żółć gęślą jaźń ŚĆŹ ";
    subject += "ą";
    mail.subject = subject;
    const std::string raw = render(mail);
    check_line_rules(raw);
    CHECK(str(g_mime_message_get_subject(parse(raw).get())) == subject);
    // Decoders that join adjacent words before decoding (GMime does) would stop at a "=" in the
    // middle.
    std::vector<std::string> payloads;
    for (const auto& line : header_lines(raw)) {
      for (auto at = line.find("?B?"); at != std::string::npos; at = line.find("?B?", at + 3))
        payloads.push_back(line.substr(at + 3, line.find("?=", at + 3) - at - 3));
    }
    REQUIRE(payloads.size() > 2);
    for (std::size_t k = 0; k + 1 < payloads.size(); ++k) CHECK(payloads[k].find('=') == std::string::npos);
  }
  SECTION("a long ASCII subject folds at spaces within 78") {
    std::string subject;
    for (int i = 0; i < 40; ++i) subject += "word" + std::to_string(i) + " ";
    subject += "end";
    mail.subject = subject;
    const std::string raw = render(mail);
    check_line_rules(raw);
    for (const auto& line : header_lines(raw)) CHECK(line.size() <= 78);
    CHECK(str(g_mime_message_get_subject(parse(raw).get())) == subject);
  }
  SECTION("a 2000-character word cannot fold: encoded words carry it") {
    mail.subject = std::string(2000, 'x');
    const std::string raw = render(mail);
    check_line_rules(raw);
    CHECK(str(g_mime_message_get_subject(parse(raw).get())) == mail.subject);
  }
  SECTION("text that looks like an encoded word is encoded, not passed through") {
    mail.subject = "literally =?UTF-8?Q?abc?= here";
    CHECK(str(g_mime_message_get_subject(parse(render(mail)).get())) == mail.subject);
  }
  SECTION("CR and LF cannot inject a header") {
    mail.subject = "Hello\r\nBcc: victim@example.com";
    mail.to_name = "Jan\r\nX-Evil: 1";
    mail.reply_to = "a@b.example\r\nBcc: x@y.example";
    const std::string raw = render(mail);
    check_line_rules(raw);
    auto message = parse(raw);
    CHECK_FALSE(has_header(message.get(), "Bcc"));
    CHECK_FALSE(has_header(message.get(), "X-Evil"));
    CHECK(str(g_mime_message_get_subject(message.get())) == "Hello Bcc: victim@example.com");
    CHECK(internet_address_list_length(g_mime_message_get_bcc(message.get())) == 0);
  }
  SECTION("display names with specials are quoted, plain ones are atoms") {
    mail.to_name = "Kowalczyk, Paweł \"PK\"";
    mail.from_name = "Sklep \"Ogród\" (obsługa)";
    auto message = parse(render(mail));
    CHECK(first_mailbox(g_mime_message_get_to(message.get())).name == "Kowalczyk, Paweł \"PK\"");
    CHECK(first_mailbox(g_mime_message_get_from(message.get())).name == "Sklep \"Ogród\" (obsługa)");
    mail.to_name = "Kowalski, Jan";
    mail.from_name = "Support";
    const std::string raw = render(mail);
    CHECK(raw.find("\r\nTo: \"Kowalski, Jan\" <pawel.kowalczyk@example.pl>\r\n") != std::string::npos);
    CHECK(raw.find("\r\nFrom: Support <obsluga@support.example.com>\r\n") != std::string::npos);
    CHECK(first_mailbox(g_mime_message_get_to(parse(raw).get())).name == "Kowalski, Jan");
  }
  SECTION("a long display name folds before the address") {
    mail.to_name = "Przedsiębiorstwo Handlowo-Usługowe Żółta Łódź spółka z ograniczoną odpowiedzialnością";
    const std::string raw = render(mail);
    check_line_rules(raw);
    const Mailbox to = first_mailbox(g_mime_message_get_to(parse(raw).get()));
    CHECK(to.name == mail.to_name);
    CHECK(to.address == "pawel.kowalczyk@example.pl");
  }
  SECTION("many references fold one id a line") {
    mail.references.clear();
    for (int i = 0; i < 30; ++i) mail.references.push_back("sb.c1042.m" + std::to_string(5000 + i) + ".abcdefgh@support.example.com");
    const std::string raw = render(mail);
    check_line_rules(raw);
    for (const auto& line : header_lines(raw)) CHECK(line.size() <= 78);
    CHECK(ids(header(parse(raw).get(), "References")) == mail.references);
  }
}

TEST_CASE("quoted-printable bodies keep every byte and every line short", "[email][compose]") {
  OutgoingMail mail = polish_reply();
  std::string long_line;
  for (int i = 0; i < 60; ++i) long_line += "ąę=" + std::to_string(i) + " ";
  mail.text = long_line + "\nspaces at the end   \n\ttab\nlast line without a line end";
  const std::string raw = render(mail);
  check_line_rules(raw);
  const auto body_start = raw.find("\r\n\r\n");
  REQUIRE(body_start != std::string::npos);
  for (const auto& line : lines_of(raw.substr(body_start + 4))) CHECK(line.size() <= 76);
  auto message = parse(raw);
  CHECK(text_of(g_mime_message_get_mime_part(message.get())) == mail.text + "\n");

  SECTION("CRLF, CR and LF line ends all become CRLF") {
    mail.text = "one\r\ntwo\rthree\nfour";
    auto parsed = parse(render(mail));
    CHECK(text_of(g_mime_message_get_mime_part(parsed.get())) == "one\ntwo\nthree\nfour\n");
  }
  SECTION("invalid UTF-8 becomes U+FFFD, so charset=UTF-8 stays true") {
    mail.text = "zła \xC5 bajt \xFF koniec";
    mail.subject = "temat \xC3\x28";
    auto parsed = parse(render(mail));
    CHECK(text_of(g_mime_message_get_mime_part(parsed.get())) == "zła \xEF\xBF\xBD bajt \xEF\xBF\xBD koniec\n");
    CHECK(str(g_mime_message_get_subject(parsed.get())) == "temat \xEF\xBF\xBD(");
  }
}

TEST_CASE("reply_subject: one Re:, the tag once, Polish kept", "[email][compose]") {
  CHECK(reply_subject("Gdzie jest moja przesyłka? Zamówienie 4711", "1042") == kPolishSubject);
  CHECK(reply_subject("Re: Gdzie jest moja przesyłka? Zamówienie 4711", "#1042") == kPolishSubject);
  CHECK(reply_subject("RE: Re: re:Gdzie jest moja przesyłka? Zamówienie 4711 [#1042]", "[#1042]") == kPolishSubject);
  CHECK(reply_subject("Odp: Re[2]: AW: Gdzie jest moja przesyłka? Zamówienie 4711", "1042") == kPolishSubject);
  CHECK(reply_subject("Re: [#1042] Gdzie jest moja przesyłka?", "1042") == "Re: [#1042] Gdzie jest moja przesyłka?");
  CHECK(reply_subject("re: faktura [#1042]", "1042") == "Re: faktura [#1042]");
  CHECK(reply_subject("Faktura   na\r\n firmę", "1042") == "Re: Faktura na firmę [#1042]");
  CHECK(reply_subject("Fwd: faktura", "1042") == "Re: Fwd: faktura [#1042]");
  CHECK(reply_subject("Regarding: faktura", "") == "Re: Regarding: faktura");
  CHECK(reply_subject("faktura [#10420]", "1042") == "Re: faktura [#1042]");
  CHECK(reply_subject("", "1042") == "Re: Twoja wiadomość [#1042]");
  CHECK(reply_subject("Re:", "1042") == "Re: Twoja wiadomość [#1042]");
  CHECK(reply_subject("  Re:  [#1042] ", "1042") == "Re: Twoja wiadomość [#1042]");
  CHECK(reply_subject("", "") == "Re: Twoja wiadomość");
}

TEST_CASE("reply_subject: tags of other conversations are dropped (issue 11)", "[email][compose]") {
  CHECK(reply_subject("Re: faktura [#2]", "3") == "Re: faktura [#3]");
  CHECK(reply_subject("Re: faktura [#2] [#3]", "3") == "Re: faktura [#3]");
  CHECK(reply_subject("Re: [#2] faktura [#7] za marzec", "#3") == "Re: faktura za marzec [#3]");
  CHECK(reply_subject("Re: [#3] faktura [#2]", "3") == "Re: [#3] faktura");
  CHECK(reply_subject("Re: [#2] Re: faktura", "3") == "Re: faktura [#3]");
  CHECK(reply_subject("Re: [#2]", "3") == "Re: Twoja wiadomość [#3]");
  // Only "[#" digits "]" is a tag; without a tag of ours nothing is dropped.
  CHECK(reply_subject("Re: zamówienie [#A2] [# 2] [#]", "3") == "Re: zamówienie [#A2] [# 2] [#] [#3]");
  CHECK(reply_subject("Re: faktura [#2]", "") == "Re: faktura [#2]");
}

TEST_CASE("make_message_id and thread_references", "[email][compose]") {
  const std::string id = make_message_id("1042", "5601", "support.example.com");
  CHECK(id.rfind("sb.c1042.m5601.", 0) == 0);
  CHECK(id.find('@') == std::string("sb.c1042.m5601.").size() + 12);
  CHECK(id.substr(id.find('@')) == "@support.example.com");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(make_message_id("1", "2", "x.example"));
  CHECK(seen.size() == 100);
  // Characters that could break the id are dropped.
  const std::string odd = make_message_id("10 42>", "5.6", "<sup port..example.com.>");
  CHECK(odd.rfind("sb.c1042.m56.", 0) == 0);
  CHECK(odd.substr(odd.find('@')) == "@support.example.com");
  CHECK(make_message_id("1", "2", "").substr(make_message_id("1", "2", "").find('@')) == "@localhost");

  // RFC 5322 3.6.4: the parent's References, else its single In-Reply-To, then its Message-ID.
  CHECK(thread_references({"<a@x>", "b@x"}, {"b@x"}, "<c@x>") == std::vector<std::string>{"a@x", "b@x", "c@x"});
  CHECK(thread_references({}, {"b@x"}, "c@x") == std::vector<std::string>{"b@x", "c@x"});
  CHECK(thread_references({}, {"a@x", "b@x"}, "c@x") == std::vector<std::string>{"c@x"});
  CHECK(thread_references({}, {}, "c@x") == std::vector<std::string>{"c@x"});
  CHECK(thread_references({"a@x", "c@x"}, {}, "c@x") == std::vector<std::string>{"a@x", "c@x"});
  CHECK(thread_references({}, {}, "").empty());
}

TEST_CASE("a message without a Message-ID gets one on the sender's domain", "[email][compose]") {
  OutgoingMail mail = polish_reply();
  mail.message_id.clear();
  auto message = parse(render(mail));
  const std::string id = str(g_mime_message_get_message_id(message.get()));
  CHECK(id.rfind("sb.", 0) == 0);
  CHECK(id.substr(id.find('@')) == "@support.example.com");
}
