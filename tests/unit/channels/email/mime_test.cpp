// Tests for channels/email/mime: every fact of the fixture table in protocols/email.md, the
// mail-loop rules one by one, bounces, file names, the CONTRACT external_id, and hostile input
// (1 MB header lines, a 50 MB attachment, deep nesting, threads).
#include "channels/email/mime.hpp"

#include <catch2/catch.hpp>
#include <algorithm>
#include <fstream>
#include <future>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "channels/email/charset.hpp"
#include "routing/core/time.hpp"

using namespace switchboard;
using namespace switchboard::channels::email;
using namespace std::string_literals;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR "/protocols/fixtures/email/") + name, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

ParseOptions support() {
  ParseOptions o;
  o.mailbox = "support";
  o.own_addresses = {"obsluga@support.example.com"};
  o.loop_marker = "sb-test-instance";
  return o;
}

ParsedMail parse(const std::string& raw, const ParseOptions& options = support()) {
  auto r = parse_mail(raw, options);
  if (!r) FAIL("parse_mail failed: " << r.error().code << ": " << r.error().message);
  return std::move(r).value();
}

// Replaces the first occurrence of `from` (which must be there) in a fixture.
std::string edit(std::string raw, const std::string& from, const std::string& to) {
  const auto pos = raw.find(from);
  REQUIRE(pos != std::string::npos);
  raw.replace(pos, from.size(), to);
  return raw;
}

bool clean_utf8(const std::string& s) { return is_valid_utf8(s) && s.find('\0') == std::string::npos; }

// Everything a consumer reads is valid UTF-8 without NUL, whatever the input was.
void check_strings(const ParsedMail& m) {
  CHECK(clean_utf8(m.subject));
  CHECK(clean_utf8(m.message_id));
  CHECK(clean_utf8(m.full_text));
  CHECK(clean_utf8(m.html));
  CHECK(clean_utf8(m.message.text));
  CHECK(clean_utf8(m.message.display_name));
  CHECK(clean_utf8(m.message.sender));
  CHECK(clean_utf8(m.message.external_id));
  for (const auto& h : m.thread_hints) CHECK(clean_utf8(h));
  for (const auto& r : m.recipients) CHECK(clean_utf8(r));
  for (const auto& a : m.message.attachments) CHECK(clean_utf8(a.name));
  for (const auto& d : m.defects) CHECK(clean_utf8(d));
}

// A message with the given extra headers and a plain UTF-8 body.
std::string simple(const std::string& headers, const std::string& body = "Dzień dobry\r\n") {
  return "From: Jan <jan@example.pl>\r\nTo: obsluga@support.example.com\r\nSubject: test\r\n"
         "Message-ID: <t1@example.pl>\r\nDate: Mon, 05 Jan 2026 14:03:12 +0100\r\n" +
         headers + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + body;
}

}  // namespace

// --- the fixtures (protocols/email.md, table at the end) ---

TEST_CASE("plain_polish_iso8859-2_qp: Latin-2 quoted-printable", "[email]") {
  const std::string raw = fixture("plain_polish_iso8859-2_qp.eml");
  const ParsedMail m = parse(raw);
  CHECK(m.subject == "Gdzie jest moja przesyłka? Zamówienie 4711");
  CHECK(m.message.display_name == "Paweł Kowalczyk");
  CHECK(m.message_id == "CAF3k9xYz1234.5678@mail.example.pl");
  CHECK(m.message.external_id == "CAF3k9xYz1234.5678@mail.example.pl#5258f09ffdb12362");
  CHECK(m.message.channel == Channel::email);
  CHECK(m.message.account == "support");
  CHECK(m.message.sender == "pawel.kowalczyk@example.pl");
  REQUIRE(m.message.identities.size() == 1);
  CHECK(m.message.identities[0] == Identity{IdentityKind::email, "pawel.kowalczyk@example.pl"});
  CHECK(format_rfc3339(m.message.sent_at) == "2026-01-05T13:03:12.000000Z");
  const std::string body =
      "Dzień dobry,\n\nzamówiłem w piątek żółty czajnik (zamówienie nr 4711), a przesyłka do dziś nie dotarła. "
      "Proszę o sprawdzenie, gdzie jest paczka.\n\nZ poważaniem\nPaweł Kowalczyk\ntel. 601 234 567";
  CHECK(m.full_text == body);
  CHECK(m.message.text == body);  // nothing quoted
  CHECK(m.html.empty());
  CHECK(m.recipients == std::vector<std::string>{"obsluga@support.example.com"});
  CHECK(m.reply_tokens.empty());
  CHECK(m.thread_hints.empty());
  CHECK(m.has_return_path);
  CHECK(m.return_path == "pawel.kowalczyk@example.pl");
  CHECK_FALSE(m.automated);
  CHECK(m.automated_reason.empty());
  CHECK_FALSE(m.bounce);
  CHECK_FALSE(m.report);
  CHECK(m.message.attachments.empty());
  CHECK(m.defects.empty());
  check_strings(m);
}

TEST_CASE("reply_polish_quoted: threading headers, reply token, new text", "[email]") {
  const ParsedMail m = parse(fixture("reply_polish_quoted.eml"));
  CHECK(m.subject == "Re: Gdzie jest moja przesyłka? Zamówienie 4711 [#1042]");  // two B-words joined
  CHECK(m.message.display_name == "Paweł Kowalczyk");
  CHECK(m.message_id == "5f1c2a9e-7b3d-4e0a-9c1d-2b6f8e4a7d10@mail.example.pl");
  CHECK(m.message.external_id == "5f1c2a9e-7b3d-4e0a-9c1d-2b6f8e4a7d10@mail.example.pl#1b462bd5115317fe");
  // In-Reply-To first, then References newest first, de-duplicated.
  CHECK(m.thread_hints ==
        std::vector<std::string>{"sb.c1042.m5501@support.example.com", "CAF3k9xYz1234.5678@mail.example.pl"});
  CHECK(m.reply_tokens == std::vector<std::string>{"c1042.k7Hq2Xv9"});
  CHECK(m.recipients == std::vector<std::string>{"obsluga+c1042.k7hq2xv9@support.example.com"});
  CHECK(m.message.text ==
        "Dziękuję, paczka dotarła dziś rano. Czajnik jest jednak porysowany — czy mogę go wymienić?\n\nPaweł");
  CHECK(m.full_text.find("W dniu 5.01.2026 o 15:20, Biuro Obsługi Klienta pisze:") != std::string::npos);
  CHECK(m.full_text.find("> paczka została nadana dziś, numer przesyłki: 00123456789.") != std::string::npos);
  CHECK(m.full_text.find(">> nie dotarła.") != std::string::npos);
  CHECK(format_rfc3339(m.message.sent_at) == "2026-01-07T08:41:55.000000Z");
  CHECK_FALSE(m.automated);
  CHECK(m.defects.empty());
  check_strings(m);
}

TEST_CASE("multipart_alternative_attachment_rfc2231: plain preferred, RFC 2231 file name", "[email]") {
  const ParsedMail m = parse(fixture("multipart_alternative_attachment_rfc2231.eml"));
  CHECK(m.subject == "Reklamacja – faktura w załączniku");
  CHECK(m.message.display_name == "Anna Wiśniewska");
  CHECK(m.message.sender == "anna.wisniewska@example.pl");
  const std::string text = "Dzień dobry,\n\nw załączniku przesyłam fakturę do reklamacji.\n\nAnna Wiśniewska";
  CHECK(m.full_text == text);
  CHECK(m.message.text == text);
  // The HTML alternative as received, decoded from quoted-printable; its text says the same.
  CHECK(m.html ==
        "<html><body><p>Dzień dobry,</p><p>w&nbsp;załączniku przesyłam <b>fakturę</b> do reklamacji.</p>"
        "<p>Anna Wiśniewska</p></body></html>");
  CHECK(html_to_text(m.html) == text);
  REQUIRE(m.message.attachments.size() == 1);
  REQUIRE(m.attachment_data.size() == 1);
  const Attachment& a = m.message.attachments[0];
  CHECK(a.name == "Faktura FV 12 2026 zażółć gęślą jaźń.pdf");
  CHECK(a.mime_type == "application/pdf");
  CHECK(a.size == 93);
  CHECK(a.url.empty());
  CHECK(m.attachment_data[0].meta == a);
  CHECK(m.attachment_data[0].bytes.size() == 93);
  CHECK(m.attachment_data[0].bytes.rfind("%PDF-1.4\n", 0) == 0);
  CHECK_FALSE(m.attachment_data[0].truncated);
  CHECK(m.message.external_id == "8a7b6c5d.1122.3344@smtp.example.pl#676c213963f3d21c");
  CHECK(m.defects.empty());
  check_strings(m);
}

TEST_CASE("auto_reply_out_of_office: stored, never answered", "[email]") {
  const std::string raw = fixture("auto_reply_out_of_office.eml");
  const ParsedMail m = parse(raw);
  CHECK(m.automated);
  CHECK(m.automated_reason == "Auto-Submitted: auto-replied");
  CHECK(m.has_return_path);
  CHECK(m.return_path.empty());  // null <>
  CHECK_FALSE(m.bounce);
  CHECK_FALSE(m.report);
  CHECK(m.subject == "Automatyczna odpowiedź: Twoje zgłoszenie [#1043]");
  CHECK(m.message.display_name == "Jan Nowak");
  CHECK(m.message.text ==
        "Dzień dobry,\n\njestem na urlopie do 12.01.2026 r. W pilnych sprawach proszę o kontakt z biurem: "
        "biuro@firma-klienta.pl.\n\nJan Nowak");
  CHECK(m.reply_tokens == std::vector<std::string>{"c1043.Zt9wQ2pL"});
  CHECK(m.thread_hints == std::vector<std::string>{"sb.c1043.m5520@support.example.com"});
  CHECK(m.defects.empty());

  // Each of its three signals is enough on its own.
  const std::string without_auto_submitted = edit(raw, "Auto-Submitted: auto-replied\r\n", "");
  CHECK(parse(without_auto_submitted).automated_reason == "null return path");
  const std::string only_suppress = edit(without_auto_submitted, "Return-Path: <>\r\n", "");
  const ParsedMail s = parse(only_suppress);
  CHECK(s.automated);
  CHECK(s.automated_reason == "X-Auto-Response-Suppress: All");
  CHECK_FALSE(s.has_return_path);
  CHECK_FALSE(parse(edit(only_suppress, "X-Auto-Response-Suppress: All\r\n", "")).automated);
}

TEST_CASE("bounce_dsn_multipart_report: delivery status notification", "[email]") {
  const ParsedMail m = parse(fixture("bounce_dsn_multipart_report.eml"));
  CHECK(m.report);
  CHECK(m.bounce);
  CHECK(m.automated);
  REQUIRE(m.bounce_info);
  const Bounce& b = *m.bounce_info;
  CHECK(b.action == "failed");
  CHECK(b.status == "5.1.1");
  CHECK(b.recipients == std::vector<std::string>{"nieistniejacy@example.pl"});
  CHECK(b.original_message_id == "sb.c1044.m5600@support.example.com");
  CHECK(b.verp_tag == "m5600");
  CHECK(b.diagnostic == "smtp; 550 5.1.1 <nieistniejacy@example.pl>: Recipient address rejected: User unknown");
  CHECK(m.message.sender == "mailer-daemon@mx.support.example.com");
  CHECK(m.return_path.empty());
  CHECK(m.recipients == std::vector<std::string>{"bounces+m5600@support.example.com"});
  CHECK(m.reply_tokens.empty());  // our VERP address is no conversation token
  CHECK(m.message.text.find("could not\nbe delivered to one or more recipients.") != std::string::npos);
  CHECK(m.message.attachments.empty());  // the report's machine parts are not attachments
  CHECK(m.message.external_id == "20260109180501.4B2C1A0F3@mx.support.example.com#b102a6733f33ea83");
  CHECK(m.defects.empty());
  check_strings(m);
}

TEST_CASE("mailing_list_precedence_list: list mail in Windows-1250", "[email]") {
  const std::string raw = fixture("mailing_list_precedence_list.eml");
  const ParsedMail m = parse(raw);
  CHECK(m.automated);
  CHECK(m.automated_reason == "List-Id header");
  CHECK(m.subject == "Świąteczna wyprzedaż");
  CHECK(m.message.display_name == "Newsletter Sklepu");
  CHECK(m.full_text ==
        "Witaj!\n\nŚwiąteczna wyprzedaż trwa — źródło najlepszych okazji.\n"
        "Aby zrezygnować z subskrypcji, kliknij link w stopce.");
  CHECK(m.return_path == "bounce-nl-20260110-77@lists.sklep.example.pl");
  CHECK_FALSE(m.bounce);
  CHECK(m.defects.empty());

  const std::string no_list_id = edit(raw, "List-Id: Newsletter Sklepu <newsletter.sklep.example.pl>\r\n", "");
  CHECK(parse(no_list_id).automated_reason == "List-Unsubscribe header");
  const std::string no_list_headers =
      edit(edit(no_list_id, "List-Unsubscribe: <mailto:unsubscribe-77@lists.sklep.example.pl>,\r\n <https://sklep.example.pl/u/77?t=9f2c>\r\n", ""),
           "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", "");
  CHECK(parse(no_list_headers).automated_reason == "Precedence: list");
  CHECK_FALSE(parse(edit(no_list_headers, "Precedence: list\r\n", "")).automated);
}

TEST_CASE("malformed_mime_invalid_utf8: parsed as far as possible, defects listed", "[email]") {
  const std::string raw = fixture("malformed_mime_invalid_utf8.eml");
  const ParsedMail m = parse(raw);
  REQUIRE_FALSE(m.defects.empty());
  auto has_defect = [&](const std::string& part) {
    for (const auto& d : m.defects)
      if (d.find(part) != std::string::npos) return true;
    return false;
  };
  CHECK(has_defect("boundary mismatch"));
  CHECK(has_defect("no closing boundary"));
  CHECK(has_defect("broken base64"));
  CHECK(has_defect("8-bit bytes in header Subject"));
  CHECK(has_defect("malformed encoded word in header Subject"));
  CHECK(has_defect("undecodable bytes"));
  CHECK(m.message_id == "broken-0001@broken.example");
  CHECK(m.message.external_id == "broken-0001@broken.example#e1f7d1f53d0e5662");
  CHECK(m.message.display_name == "Zepsuty Nadawca");
  CHECK(m.message.sender == "spam@broken.example");
  // The 8-bit subject is not UTF-8 and has no C1 bytes: Latin-2. The malformed word stays as written.
  CHECK(m.subject == "Zamówienie Ă( =?UTF-8?B?invalid!!?= ˙");
  // The text part written under the undeclared boundary is recovered; bad bytes are U+FFFD.
  CHECK(m.message.text == "Treść z błędnymi bajtami: \uFFFD( \uFFFD\uFFFD \uFFFD\uFFFD\uFFFD \uFFFD(\uFFFD\uFFFD koniec.");
  REQUIRE(m.message.attachments.size() == 1);
  CHECK(m.message.attachments[0].name == "x.bin");
  CHECK(m.message.attachments[0].mime_type == "application/octet-stream");
  CHECK(m.attachment_data[0].bytes.rfind("Hello world", 0) == 0);
  CHECK_FALSE(m.automated);
  check_strings(m);
}

TEST_CASE("mislabelled_cp1250_as_iso8859-2: read as Windows-1250", "[email]") {
  const ParsedMail m = parse(fixture("mislabelled_cp1250_as_iso8859-2.eml"));
  CHECK(m.full_text == "Proszę o kontakt w środę. Źródło: faktura nr 12. Ślicznie dziękuję, ąś.");
  CHECK(m.message.text == m.full_text);
  CHECK(m.subject == "Prośba o kontakt");
  CHECK(m.message.display_name == "Marek");
  CHECK(m.defects == std::vector<std::string>{"text with charset ISO-8859-2 read as windows-1250"});
  check_strings(m);
}

// --- not a message ---

TEST_CASE("parse_mail refuses only what is not a message", "[email]") {
  for (const std::string& raw : {std::string(), std::string(" \r\n\t"), std::string("Hello world"),
                                std::string("just some words\r\nand more")}) {
    auto r = parse_mail(raw, support());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().code == "not_a_message");
  }
  // A separator but no header: kept as text, with a defect.
  const ParsedMail m = parse("Hello\r\n\r\nworld\r\n");
  CHECK(m.full_text == "Hello\n\nworld");
  CHECK_FALSE(m.defects.empty());
  CHECK(m.message.external_id.size() == 16);
  // One header line without a body is a message.
  CHECK(parse_mail("Subject: hi", support()).ok());
  // An mbox "From " line first is tolerated.
  CHECK(parse("From jan@example.pl Mon Jan  5 14:03:12 2026\r\n" + simple("")).subject == "test");
}

// --- mail loops and auto-replies, rule by rule ---

TEST_CASE("automated: every rule of protocols/email.md", "[email]") {
  CHECK_FALSE(parse(simple("")).automated);
  CHECK(parse(simple("Auto-Submitted: auto-generated\r\n")).automated_reason == "Auto-Submitted: auto-generated");
  CHECK(parse(simple("Auto-Submitted: auto-notified; owner-email=x@y.pl\r\n")).automated_reason ==
        "Auto-Submitted: auto-notified");
  CHECK_FALSE(parse(simple("Auto-Submitted: no\r\n")).automated);
  CHECK_FALSE(parse(simple("Auto-Submitted: No\r\n")).automated);
  CHECK(parse(simple("Return-Path: <>\r\n")).automated_reason == "null return path");
  CHECK_FALSE(parse(simple("Return-Path: <jan@example.pl>\r\n")).automated);
  CHECK(parse(simple("List-Id: <x.example.pl>\r\n")).automated_reason == "List-Id header");
  CHECK(parse(simple("List-Post: <mailto:x@example.pl>\r\n")).automated_reason == "List-Post header");
  for (const char* p : {"bulk", "list", "junk", "Bulk", "bulk (newsletter)"})
    CHECK(parse(simple(std::string("Precedence: ") + p + "\r\n")).automated);
  CHECK_FALSE(parse(simple("Precedence: first-class\r\n")).automated);
  for (const char* v : {"All", "AutoReply", "OOF", "DR, RN, NRN, OOF, AutoReply", "oof"})
    CHECK(parse(simple(std::string("X-Auto-Response-Suppress: ") + v + "\r\n")).automated);
  CHECK_FALSE(parse(simple("X-Auto-Response-Suppress: DR, RN\r\n")).automated);
  CHECK(parse(simple("X-Autoreply: yes\r\n")).automated_reason == "X-Autoreply header");
  CHECK(parse(simple("X-Autorespond: yes\r\n")).automated_reason == "X-Autorespond header");
  CHECK(parse(simple("X-Switchboard-Loop: sb-test-instance\r\n")).automated_reason == "our loop marker");
  CHECK_FALSE(parse(simple("X-Switchboard-Loop: another-instance\r\n")).automated);

  auto from = [](const std::string& address) {
    return edit(simple(""), "From: Jan <jan@example.pl>", "From: <" + address + ">");
  };
  CHECK(parse(from("MAILER-DAEMON@mx.example.pl")).automated_reason == "sender mailer-daemon");
  CHECK(parse(from("postmaster@example.pl")).automated_reason == "sender postmaster");
  CHECK(parse(from("noreply@shop.example.pl")).automated);
  CHECK(parse(from("no-reply@shop.example.pl")).automated);
  CHECK(parse(from("newsletter-request@lists.example.pl")).automated);
  CHECK(parse(from("owner-newsletter@lists.example.pl")).automated);
  CHECK_FALSE(parse(from("jan.owner@example.pl")).automated);
  CHECK(parse(simple("Return-Path: <owner-list@lists.example.pl>\r\n")).automated_reason == "sender owner-list");

  // Not addressed to us (a Bcc, or a list without list headers): routed, but never answered
  // automatically; only when we know our addresses.
  const std::string bcc = edit(simple(""), "To: obsluga@support.example.com", "To: someone@example.pl");
  CHECK_FALSE(parse(bcc).automated);
  CHECK(parse(bcc).automatic_unsure == "not addressed to any of our addresses (Bcc?)");
  CHECK(parse(bcc, ParseOptions{}).automatic_unsure.empty());
  CHECK(parse(edit(bcc, "To: someone@example.pl", "To: a@b.pl\r\nCc: Obsluga@Support.Example.com")).automatic_unsure.empty());
  // A plus-address of ours is ours.
  CHECK(parse(edit(bcc, "To: someone@example.pl", "To: obsluga+c7.abc@support.example.com")).automatic_unsure.empty());
  // The envelope headers the delivering server wrote count (an alias, a Bcc): issue "Every mail
  // accounted for", class 4.
  for (const char* envelope : {"Delivered-To", "X-Original-To", "Envelope-To"}) {
    const ParsedMail m = parse(edit(bcc, "To: someone@example.pl",
                                    std::string("To: someone@example.pl\r\n") + envelope + ": obsluga@support.example.com"));
    CHECK_FALSE(m.automated);
    CHECK(m.automatic_unsure.empty());
  }
}

TEST_CASE("reply tokens: own addresses only, every recipient header", "[email]") {
  const std::string raw = edit(simple("Delivered-To: obsluga+c9.Tok3n@support.example.com\r\n"
                                      "X-Original-To: sprzedaz+c8.xyz@support.example.com\r\n"),
                               "To: obsluga@support.example.com", "To: jan+private@example.pl, obsluga@support.example.com");
  const ParsedMail m = parse(raw);
  CHECK(m.reply_tokens == std::vector<std::string>{"c9.Tok3n"});
  CHECK(m.recipients == std::vector<std::string>{"jan+private@example.pl", "obsluga@support.example.com",
                                                 "obsluga+c9.tok3n@support.example.com",
                                                 "sprzedaz+c8.xyz@support.example.com"});
  ParseOptions any;
  CHECK(parse(raw, any).reply_tokens == std::vector<std::string>{"private", "c9.Tok3n", "c8.xyz"});
  ParseOptions two = support();
  two.own_addresses.push_back("sprzedaz@support.example.com");
  CHECK(parse(raw, two).reply_tokens == std::vector<std::string>{"c9.Tok3n", "c8.xyz"});
}

// --- bounces and reports ---

TEST_CASE("DSN: delayed is not a failure; the failed recipient is preferred", "[email]") {
  const std::string raw = fixture("bounce_dsn_multipart_report.eml");
  const ParsedMail delayed = parse(edit(edit(raw, "Action: failed", "Action: delayed"), "Status: 5.1.1", "Status: 4.4.1"));
  REQUIRE(delayed.bounce_info);
  CHECK(delayed.bounce);
  CHECK(delayed.bounce_info->action == "delayed");
  CHECK(delayed.bounce_info->status == "4.4.1");

  const std::string two = edit(raw, "Final-Recipient: rfc822; nieistniejacy@example.pl\r\n",
                               "Final-Recipient: rfc822; ok@example.pl\r\nAction: delayed\r\nStatus: 4.0.0\r\n\r\n"
                               "Final-Recipient: rfc822; nieistniejacy@example.pl\r\n");
  const ParsedMail m = parse(two);
  REQUIRE(m.bounce_info);
  CHECK(m.bounce_info->recipients == std::vector<std::string>{"ok@example.pl", "nieistniejacy@example.pl"});
  CHECK(m.bounce_info->action == "failed");
  CHECK(m.bounce_info->status == "5.1.1");
}

TEST_CASE("DSN with the original message attached and VERP in Delivered-To", "[email]") {
  const std::string raw =
      "Return-Path: <>\r\nFrom: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.pl>\r\n"
      "To: obsluga@support.example.com\r\nDelivered-To: bounces+m77@support.example.com\r\n"
      "Subject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
      "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.pl\r\n\r\n"
      "Final-Recipient: rfc822; <Someone@Example.PL>\r\nAction: failed (permanent)\r\nStatus: 5.2.2 (mailbox full)\r\n"
      "Diagnostic-Code: smtp; 552 5.2.2\r\n mailbox full\r\n\r\n"
      "--b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <sb.c1.m77.abc@support.example.com>\r\n"
      "From: obsluga@support.example.com\r\nSubject: x\r\n\r\nhello\r\n--b--\r\n";
  const ParsedMail m = parse(raw);
  CHECK(m.report);
  CHECK(m.bounce);
  REQUIRE(m.bounce_info);
  CHECK(m.bounce_info->action == "failed");
  CHECK(m.bounce_info->status == "5.2.2");
  CHECK(m.bounce_info->diagnostic == "smtp; 552 5.2.2 mailbox full");
  CHECK(m.bounce_info->recipients == std::vector<std::string>{"someone@example.pl"});
  CHECK(m.bounce_info->original_message_id == "sb.c1.m77.abc@support.example.com");
  CHECK(m.bounce_info->verp_tag == "m77");
  CHECK(m.message.attachments.empty());
  CHECK(m.message.text == "Delivery failed.");
}

TEST_CASE("read receipts and abuse reports are reports, not bounces", "[email]") {
  const std::string raw =
      "From: Jan <jan@example.pl>\r\nTo: obsluga@support.example.com\r\nSubject: Przeczytano: x\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=disposition-notification; boundary=\"r\"\r\n\r\n"
      "--r\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nWiadomość została wyświetlona.\r\n"
      "--r\r\nContent-Type: message/disposition-notification\r\n\r\nFinal-Recipient: rfc822; jan@example.pl\r\n"
      "Disposition: manual-action/MDN-sent-manually; displayed\r\n--r--\r\n";
  const ParsedMail m = parse(raw);
  CHECK(m.report);
  CHECK_FALSE(m.bounce);
  CHECK_FALSE(m.bounce_info);
  CHECK(m.automated);
  CHECK(m.automated_reason == "multipart/report");
  CHECK(m.message.text == "Wiadomość została wyświetlona.");
}

TEST_CASE("an old MTA's plain-text bounce from a null sender", "[email]") {
  const std::string raw =
      "Return-Path: <>\r\nFrom: MAILER-DAEMON@old.example.pl\r\nTo: bounces+m5601@support.example.com\r\n"
      "Subject: failure notice\r\n\r\n"
      "Hi. This is the qmail-send program at old.example.pl.\r\n"
      "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n"
      "<kto@example.pl>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
      "--- Below this line is a copy of the message.\r\n\r\n"
      "Return-Path: <bounces+m5601@support.example.com>\r\nMessage-ID: <sb.c5.m5601.x@support.example.com>\r\n"
      "From: obsluga@support.example.com\r\nTo: kto@example.pl\r\n\r\nTresc\r\n";
  const ParsedMail m = parse(raw);
  CHECK(m.bounce);
  CHECK_FALSE(m.report);
  CHECK(m.automated);
  REQUIRE(m.bounce_info);
  CHECK(m.bounce_info->recipients == std::vector<std::string>{"kto@example.pl"});
  CHECK(m.bounce_info->status == "5.1.1");
  CHECK(m.bounce_info->action == "failed");
  CHECK(m.bounce_info->original_message_id == "sb.c5.m5601.x@support.example.com");
  CHECK(m.bounce_info->verp_tag == "m5601");
  // A mailer-daemon's bounce text with a real return path is a bounce all the same (MTAs that
  // do not use the null sender; issue "Every mail accounted for", class 2).
  const ParsedMail with_path = parse(edit(raw, "Return-Path: <>", "Return-Path: <x@old.example.pl>"));
  CHECK(with_path.bounce);
  CHECK(with_path.system_kind == "bounce");
}

// --- bodies ---

TEST_CASE("HTML only: text from the HTML, quotes dropped from the new text", "[email]") {
  const std::string raw = simple("").substr(0, simple("").find("Content-Type")) +
                          "Content-Type: text/html; charset=UTF-8\r\n\r\n"
                          "<div dir=\"ltr\">Dziękuję!<br>Paweł</div><br><div class=\"gmail_quote\">"
                          "<div class=\"gmail_attr\">pon., 5 sty 2026 o 15:20 Biuro &lt;obsluga@x.pl&gt; napisał(a):</div>"
                          "<blockquote>stara treść</blockquote></div>\r\n";
  const ParsedMail m = parse(raw);
  CHECK(m.message.text == "Dziękuję!\nPaweł");
  CHECK(m.full_text == "Dziękuję!\nPaweł\n\npon., 5 sty 2026 o 15:20 Biuro <obsluga@x.pl> napisał(a):\n\nstara treść");
  CHECK(m.html.find("gmail_quote") != std::string::npos);
}

TEST_CASE("an empty text alternative gives way to the HTML", "[email]") {
  const std::string raw =
      "From: a@example.pl\r\nTo: obsluga@support.example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
      "--a\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n \r\n"
      "--a\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>Treść <a href=\"https://x.pl/a\">tutaj</a></p>\r\n--a--\r\n";
  CHECK(parse(raw).message.text == "Treść tutaj (https://x.pl/a)");
}

TEST_CASE("format=flowed is unwrapped", "[email]") {
  const std::string raw = edit(simple("", "To jest bardzo długa linia, która \r\nciągnie się dalej.\r\n> cytat \r\n> dalej\r\n"),
                               "charset=UTF-8", "charset=UTF-8; format=flowed");
  CHECK(parse(raw).full_text == "To jest bardzo długa linia, która ciągnie się dalej.\n> cytat dalej");
  const std::string delsp = edit(simple("", "Zaża \r\nłć\r\n"), "charset=UTF-8", "charset=UTF-8; format=flowed; delsp=yes");
  CHECK(parse(delsp).full_text == "Zażałć");
}

TEST_CASE("charsets: undeclared 8-bit, unknown charset, windows-1250 declared", "[email]") {
  const std::string base = simple("", "x");
  const std::string head = base.substr(0, base.find("Content-Type"));
  auto body = [&](const std::string& ct, const std::string& bytes) {
    return parse(head + "Content-Type: " + ct + "\r\n\r\n" + bytes + "\r\n");
  };
  CHECK(body("text/plain", "Za\xBF\xF3\xB3\xE6").full_text == "Zażółć");                 // no charset: Latin-2
  CHECK(body("text/plain; charset=us-ascii", "Za\xC5\xBC\xC3\xB3").full_text == "Zażó");  // 8-bit UTF-8 "ascii"
  CHECK(body("text/plain; charset=windows-1250", "\x9C\x9F\xB9").full_text == "śźą");
  CHECK(body("text/plain; charset=\"iso-8859-1\"", "caf\xE9").full_text == "café");
  const ParsedMail unknown = body("text/plain; charset=x-no-such-charset", "Zaż\xC3\xB3");
  CHECK(unknown.full_text == "Zażó");
  CHECK_FALSE(unknown.defects.empty());
  CHECK(body("text/plain; charset=koi8-r", "\xF0\xD2\xC9\xD7\xC5\xD4").full_text == "Привет");
  CHECK(body("text/plain; charset=utf-8", "a\0b"s).full_text == "ab");  // no NUL in the output
}

TEST_CASE("headers: RFC 2047 variants, raw 8-bit names, missing and bad dates", "[email]") {
  auto with = [](const std::string& from, const std::string& subject) {
    return "From: " + from + "\r\nTo: obsluga@support.example.com\r\nSubject: " + subject + "\r\n\r\nx\r\n";
  };
  // Adjacent words (whitespace between them dropped), a character split over two words, Q with '_'.
  CHECK(parse(with("a@example.pl", "=?UTF-8?Q?Za=C5?= =?UTF-8?Q?=BC=C3=B3=C5=82=C4=87?= i =?utf-8?q?g=C4=99=C5=9Bl=C4=85_ja=C5=BA=C5=84?="))
            .subject == "Zażółć i gęślą jaźń");
  CHECK(parse(with("a@example.pl", "=?windows-1250?Q?=9Cwi=EAto?=")).subject == "święto");
  CHECK(parse(with("\"=?UTF-8?Q?Pawe=C5=82?= Kowalczyk\" <p@example.pl>", "x")).message.display_name == "Paweł Kowalczyk");
  CHECK(parse(with("Pawe\xB3 <p@example.pl>", "x")).message.display_name == "Paweł");
  CHECK(parse(with("Pawe\xC5\x82 <p@example.pl>", "Zam\xC3\xB3wienie")).subject == "Zamówienie");
  const ParsedMail no_date = parse(with("a@example.pl", "x"));
  CHECK(no_date.message.sent_at == Timestamp{});
  CHECK(no_date.defects.empty());
  const ParsedMail bad_date = parse("Date: yesterday-ish\r\n" + with("a@example.pl", "x"));
  CHECK(bad_date.message.sent_at == Timestamp{});
  CHECK(bad_date.defects == std::vector<std::string>{"unparseable Date header"});
  const ParsedMail no_from = parse("To: obsluga@support.example.com\r\nSubject: x\r\n\r\nx\r\n");
  CHECK(no_from.message.sender.empty());
  CHECK(no_from.message.identities.empty());
  CHECK(no_from.defects == std::vector<std::string>{"no From address"});
}

TEST_CASE("attachment names: filename* preferred, RFC 2047 in name=, sanitised", "[email]") {
  const std::string raw =
      "From: a@example.pl\r\nTo: obsluga@support.example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
      "--m\r\nContent-Type: text/plain\r\n\r\nW załączeniu.\r\n"
      "--m\r\nContent-Type: application/pdf; name=\"ct.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"fallback.pdf\"; filename*=UTF-8''za%C5%BC%C3%B3%C5%82%C4%87.pdf\r\n\r\nabc\r\n"
      "--m\r\nContent-Type: application/pdf; name=\"ct2.pdf\"\r\nContent-Disposition: attachment; filename=\"plain.pdf\"\r\n\r\nabc\r\n"
      "--m\r\nContent-Type: application/pdf; name=\"=?UTF-8?Q?g=C4=99=C5=9Bl=C4=85.pdf?=\"\r\n\r\nabc\r\n"
      "--m\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename=\"../../etc/\\\\passwd\"\r\n\r\nabc\r\n"
      "--m\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\nContent-ID: <img1@x>\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
      "--m\r\nContent-Type: text/plain; name=\"log.txt\"\r\n\r\nlog line\r\n"
      "--m--\r\n";
  const ParsedMail m = parse(raw);
  REQUIRE(m.message.attachments.size() == 6);
  CHECK(m.message.attachments[0].name == "zażółć.pdf");
  CHECK(m.message.attachments[1].name == "plain.pdf");
  CHECK(m.message.attachments[2].name == "gęślą.pdf");
  const std::string hostile = m.message.attachments[3].name;
  CHECK(hostile.find('/') == std::string::npos);
  CHECK(hostile.find('\\') == std::string::npos);
  CHECK(hostile.front() != '.');
  CHECK(m.message.attachments[4].name == "attachment-5");
  CHECK(m.message.attachments[4].mime_type == "image/png");
  CHECK(m.message.attachments[4].size == 8);
  CHECK(m.attachment_data[4].content_id == "img1@x");
  CHECK(m.attachment_data[4].inline_part);
  CHECK(m.message.attachments[5].name == "log.txt");  // a named text part is a file, not the body
  CHECK(m.message.text == "W załączeniu.");
}

TEST_CASE("sanitize_filename", "[email]") {
  CHECK(sanitize_filename("Faktura FV 12 2026 zażółć gęślą jaźń.pdf") == "Faktura FV 12 2026 zażółć gęślą jaźń.pdf");
  CHECK(sanitize_filename("../../etc/passwd") == "_.._etc_passwd");
  CHECK(sanitize_filename("..\\..\\win.ini") == "_.._win.ini");
  CHECK(sanitize_filename(".htaccess") == "htaccess");
  CHECK(sanitize_filename("a\x01\x1f\x7f" "b.txt") == "ab.txt");
  CHECK(sanitize_filename("faktura\xE2\x80\xAE" "fdp.exe") == "fakturafdp.exe");  // no right-to-left override
  CHECK(sanitize_filename("\xC2\x85x.txt") == "x.txt");                          // no C1 control
  CHECK(sanitize_filename("bad\xFF.txt") == "bad\uFFFD.txt");
  CHECK(sanitize_filename("  ...  ").empty());
  const std::string longname = sanitize_filename(std::string(300, 'a') + ".pdf");
  CHECK(longname.size() == 200);
  CHECK(longname.substr(196) == ".pdf");
  const std::string polish = sanitize_filename(std::string(150, 'x') + std::string(40, 'x') + "ąąąąąąąąąąąą.pdf");
  CHECK(polish.size() <= 200);
  CHECK(is_valid_utf8(polish));
}

TEST_CASE("a forwarded message is an .eml attachment", "[email]") {
  const std::string raw =
      "From: a@example.pl\r\nTo: obsluga@support.example.com\r\nSubject: Fwd: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"f\"\r\n\r\n"
      "--f\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nPatrzcie.\r\n"
      "--f\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.pl\r\nSubject: =?UTF-8?Q?Zam=C3=B3wienie?=\r\n"
      "Message-ID: <orig@example.pl>\r\n\r\nTreść oryginału\r\n--f--\r\n";
  const ParsedMail m = parse(raw);
  CHECK(m.message.text == "Patrzcie.");
  REQUIRE(m.message.attachments.size() == 1);
  CHECK(m.message.attachments[0].name == "Zamówienie.eml");
  CHECK(m.message.attachments[0].mime_type == "message/rfc822");
  CHECK(m.attachment_data[0].bytes.find("Treść oryginału") != std::string::npos);
  CHECK(*m.message.attachments[0].size == static_cast<std::int64_t>(m.attachment_data[0].bytes.size()));
}

TEST_CASE("Content-Language sets the language", "[email]") {
  CHECK(parse(simple("Content-Language: pl-PL\r\n")).message.language == std::optional<std::string>("pl"));
  CHECK_FALSE(parse(simple("")).message.language);
}

// --- external_id (CONTRACT) ---

TEST_CASE("external_id: Message-ID#sha256[:16], or the hash alone", "[email]") {
  // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
  CHECK(external_id("abc", "x@y") == "x@y#ba7816bf8f01cfea");
  CHECK(external_id("abc", "<x@y>") == "x@y#ba7816bf8f01cfea");
  CHECK(external_id("abc", "") == "ba7816bf8f01cfea");
  CHECK(external_id("abc", " <> ") == "ba7816bf8f01cfea");
  const std::string raw = simple("");
  const ParsedMail with_id = parse(raw);
  CHECK(with_id.message.external_id == external_id(raw, "t1@example.pl"));
  const std::string no_id = edit(raw, "Message-ID: <t1@example.pl>\r\n", "");
  const ParsedMail without = parse(no_id);
  CHECK(without.message_id.empty());
  CHECK(without.message.external_id == external_id(no_id, ""));
  CHECK(without.message.external_id.size() == 16);
  // Same Message-ID, different bytes: different keys (some mailers reuse ids).
  CHECK(parse(raw + "x").message.external_id != with_id.message.external_id);
}

// --- hostile input ---

TEST_CASE("a 1 MB header line", "[email]") {
  const std::string mega(1024 * 1024, 'a');
  std::string refs;
  for (int i = 0; refs.size() < 1024 * 1024; ++i) refs += " <id" + std::to_string(i) + "@example.pl>";
  const std::string raw = "X-Long: " + mega + "\r\nSubject: =?UTF-8?B?" + std::string(1024 * 1024, 'Q') + "?= " + mega +
                          "\r\nReferences:" + refs + "\r\nMessage-ID: <" + mega + "@x>\r\nFrom: Jan <jan@example.pl>\r\n"
                          "To: obsluga@support.example.com\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nDzień dobry\r\n";
  // Its speed is measured by tests/bench/hostile_mail, not asserted here.
  const ParsedMail m = parse(raw);
  CHECK(m.subject.size() <= 998);
  CHECK(m.thread_hints.size() == kMaxThreadHints);
  CHECK(m.thread_hints.front().rfind("id", 0) == 0);
  CHECK(m.message.text == "Dzień dobry");
  check_strings(m);
  // A 1 MB Message-ID is no id: the key stays short enough for an index.
  CHECK(m.message_id.empty());
  CHECK(m.message.external_id.size() == 16);
  CHECK(std::find(m.defects.begin(), m.defects.end(), "Message-ID longer than 998 bytes: ignored") != m.defects.end());
}

TEST_CASE("a 50 MB base64 attachment: measured but not kept", "[email]") {
  constexpr std::size_t kDecoded = 50 * 1024 * 1024 + 1;  // a multiple of 3: no padding
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string raw =
      "From: a@example.pl\r\nTo: obsluga@support.example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
      "Duży plik.\r\n"
      "--big\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=big.zip\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n";
  const std::size_t encoded = kDecoded / 3 * 4;
  raw.reserve(raw.size() + encoded + encoded / 76 * 2 + 64);
  std::minstd_rand random(7);
  for (std::size_t i = 0; i < encoded; ++i) {
    raw.push_back(kAlphabet[random() % 64]);
    if (i % 76 == 75) raw += "\r\n";
  }
  raw += "\r\n--big--\r\n";

  const ParsedMail m = parse(raw);
  REQUIRE(m.attachment_data.size() == 1);
  CHECK(m.attachment_data[0].truncated);
  CHECK(m.attachment_data[0].bytes.empty());
  CHECK(m.message.attachments[0].size == static_cast<std::int64_t>(kDecoded));
  CHECK(m.message.attachments[0].name == "big.zip");
  CHECK(m.message.text == "Duży plik.");
  CHECK(m.defects.empty());

  // Under a raised limit the bytes are kept.
  ParseOptions roomy = support();
  roomy.max_attachment_bytes = kDecoded;
  const ParsedMail kept = parse(raw, roomy);
  CHECK_FALSE(kept.attachment_data[0].truncated);
  CHECK(kept.attachment_data[0].bytes.size() == kDecoded);
}

TEST_CASE("a long text part is cut at max_text_bytes", "[email]") {
  ParseOptions small = support();
  small.max_text_bytes = 1000;
  const ParsedMail m = parse(simple("", std::string(5000, 'x') + "\r\n"), small);
  CHECK(m.full_text.size() == 1000);
  CHECK(m.defects == std::vector<std::string>{"text part longer than 1000 bytes: cut"});
}

TEST_CASE("deeply nested multiparts: capped with a defect", "[email]") {
  for (int levels : {25, 5000}) {
    std::string raw = "From: a@example.pl\r\nTo: obsluga@support.example.com\r\nSubject: deep\r\nMIME-Version: 1.0\r\n";
    for (int i = 0; i < levels; ++i)
      raw += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" + std::to_string(i) + "\r\n";
    raw += "Content-Type: text/plain\r\n\r\ndeep text\r\n";
    for (int i = levels - 1; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\r\n";
    const ParsedMail m = parse(raw);
    bool capped = false;
    for (const auto& d : m.defects) capped |= d.find("nesting") != std::string::npos;
    CHECK(capped);
    CHECK(m.message.text.find("deep text") == std::string::npos);
    check_strings(m);
  }
}

TEST_CASE("many parts and garbage never crash and stay UTF-8", "[email]") {
  std::minstd_rand random(42);
  const std::vector<std::string> seeds = {
      fixture("plain_polish_iso8859-2_qp.eml"), fixture("multipart_alternative_attachment_rfc2231.eml"),
      fixture("bounce_dsn_multipart_report.eml"), fixture("malformed_mime_invalid_utf8.eml")};
  for (int round = 0; round < 400; ++round) {
    std::string raw = seeds[static_cast<std::size_t>(round) % seeds.size()];
    for (int k = 0; k < 1 + round % 20; ++k) raw[random() % raw.size()] = static_cast<char>(random() % 256);
    if (round % 7 == 0) raw.resize(random() % raw.size());
    auto r = parse_mail(raw, support());
    if (!r) {
      CHECK(r.error().code == "not_a_message");
      continue;
    }
    check_strings(*r);
  }
  std::string many = "From: a@example.pl\r\nTo: obsluga@support.example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n";
  for (int i = 0; i < 1500; ++i) many += "--p\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n";
  many += "--p--\r\n";
  const ParsedMail m = parse(many);
  CHECK(m.message.attachments.size() == 1000);
  CHECK_FALSE(m.defects.empty());
}

TEST_CASE("parse_mail from several threads at once", "[email]") {
  const std::vector<std::string> names = {"plain_polish_iso8859-2_qp.eml", "reply_polish_quoted.eml",
                                          "multipart_alternative_attachment_rfc2231.eml", "auto_reply_out_of_office.eml",
                                          "bounce_dsn_multipart_report.eml", "mailing_list_precedence_list.eml",
                                          "malformed_mime_invalid_utf8.eml", "mislabelled_cp1250_as_iso8859-2.eml"};
  std::vector<std::string> raws, expected;
  for (const auto& n : names) {
    raws.push_back(fixture(n));
    const ParsedMail m = parse(raws.back());
    expected.push_back(m.subject + "|" + m.message.text + "|" + std::to_string(m.defects.size()));
  }
  std::vector<std::future<bool>> runs;
  for (int t = 0; t < 8; ++t)
    runs.push_back(std::async(std::launch::async, [&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::size_t k = static_cast<std::size_t>(t + i) % raws.size();
        auto r = parse_mail(raws[k], support());
        if (!r || r->subject + "|" + r->message.text + "|" + std::to_string(r->defects.size()) != expected[k]) return false;
      }
      return true;
    }));
  for (auto& run : runs) CHECK(run.get());
}
