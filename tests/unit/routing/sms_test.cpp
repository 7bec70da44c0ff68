// SMS encoding (GSM-7 or UCS-2), segments, transliteration to GSM-7, capping to a number of
// segments, and the rules file's 'sms' options applied to replies on SMS.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "routing/text/sms.hpp"
#include "routing_test_support.hpp"

using namespace switchboard;
using namespace switchboard::routing;
using namespace switchboard::routing::test;
using Lines = std::vector<std::string>;

namespace {

std::string repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// "gsm7 160/1": encoding, units and segments in one string for compact checks.
std::string shape(std::string_view text) {
  const SmsEncoding e = classify(text);
  return std::string(to_string(e.encoding)) + " " + std::to_string(e.units) + "/" + std::to_string(e.segments);
}

// Every character of the GSM 03.38 default alphabet (all 128 positions but the escape).
const std::string kDefaultAlphabet =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

}  // namespace

TEST_CASE("sms: the examples of twilio.md", "[sms]") {
  CHECK(shape(std::string(160, 'a')) == "gsm7 160/1");
  CHECK(shape(std::string(161, 'a')) == "gsm7 161/2");
  CHECK(shape(repeat("ą", 70)) == "ucs2 70/1");
  CHECK(shape(repeat("ą", 71)) == "ucs2 71/2");
  // One Polish letter switches the whole text to UCS-2.
  CHECK(shape(std::string(69, 'a') + "ż") == "ucs2 70/1");
  CHECK(shape(std::string(70, 'a') + "ż") == "ucs2 71/2");
  // The fixture's body: 37 characters in the BMP and an emoji of 2 UTF-16 units.
  CHECK(shape("Dzień dobry! Czy paczka już wysłana? 😀") == "ucs2 39/1");
  // Parts of 153 septets / 67 units once concatenated.
  CHECK(shape(std::string(306, 'a')) == "gsm7 306/2");
  CHECK(shape(std::string(307, 'a')) == "gsm7 307/3");
  CHECK(shape(repeat("ś", 134)) == "ucs2 134/2");
  CHECK(shape(repeat("ś", 135)) == "ucs2 135/3");
}

TEST_CASE("sms: the GSM 03.38 default alphabet is GSM-7, each of its characters one septet", "[sms]") {
  CHECK(shape(kDefaultAlphabet) == "gsm7 127/1");
  for (const char* outside : {"ą", "ç", "á", "`", "ł", "Ł", "€€ą", "\t", "\u00A0", "–", "…", "α", "Ж"}) {
    INFO(outside);
    CHECK(classify(outside).encoding == SmsCharset::ucs2);
  }
  CHECK(shape("") == "gsm7 0/1");  // an empty SMS still is one message
}

TEST_CASE("sms: extension characters take two septets and are never split across parts", "[sms]") {
  for (const char* extension : {"^", "{", "}", "\\", "[", "~", "]", "|", "€", "\f"}) {
    INFO(extension);
    CHECK(shape(extension) == "gsm7 2/1");
  }
  CHECK(shape("Cena: 10 € [brutto]") == "gsm7 22/1");
  CHECK(shape(repeat("€", 80)) == "gsm7 160/1");
  CHECK(shape(repeat("€", 81)) == "gsm7 162/2");
  CHECK(shape(std::string(159, 'a') + "{") == "gsm7 161/2");
  // 152 septets, then an escape pair that does not fit in the part's last septet: it opens the
  // second part, which the 152 letters after it overflow by one.
  CHECK(shape(std::string(152, 'a') + "€" + std::string(151, 'a')) == "gsm7 305/2");
  CHECK(shape(std::string(152, 'a') + "€" + std::string(152, 'a')) == "gsm7 306/3");
}

TEST_CASE("sms: emoji outside the BMP take two UTF-16 units, never split across parts", "[sms]") {
  CHECK(shape("😀") == "ucs2 2/1");
  CHECK(shape(repeat("😀", 35)) == "ucs2 70/1");
  CHECK(shape(repeat("😀", 36)) == "ucs2 72/2");
  CHECK(shape("👨‍👩‍👧") == "ucs2 8/1");  // three people joined by two ZWJ
  CHECK(shape(repeat("ą", 66) + "😀" + repeat("ą", 65)) == "ucs2 133/2");
  CHECK(shape(repeat("ą", 66) + "😀" + repeat("ą", 66)) == "ucs2 134/3");
  CHECK(shape("\xff") == "ucs2 1/1");  // invalid UTF-8 counts as U+FFFD
}

TEST_CASE("sms: transliteration of Polish to GSM-7", "[sms]") {
  CHECK(transliterate_gsm7("Zażółć gęślą jaźń") == "Zazolc gesla jazn");
  CHECK(transliterate_gsm7("ZAŻÓŁĆ GĘŚLĄ JAŹŃ") == "ZAZOLC GESLA JAZN");
  CHECK(transliterate_gsm7("Dzień dobry! Przyjęliśmy zgłoszenie awarii i zajmiemy się nim w pierwszej kolejności.") ==
        "Dzien dobry! Przyjelismy zgloszenie awarii i zajmiemy sie nim w pierwszej kolejnosci.");
  CHECK(transliterate_gsm7("Łódź, Kraków, Gdańsk, Świnoujście, Źródła, Żywiec") ==
        "Lodz, Krakow, Gdansk, Swinoujscie, Zrodla, Zywiec");
  CHECK(transliterate_gsm7("z\u0307o\u0301\u0142w") == "zolw");  // decomposed ż and ó
  const std::string sentence = transliterate_gsm7("Dzień dobry! Czy paczka już wysłana? 😀");
  CHECK(sentence == "Dzien dobry! Czy paczka juz wyslana? ?");
  CHECK(shape(sentence) == "gsm7 38/1");
}

TEST_CASE("sms: transliteration of look-alikes, other Latin letters and the rest", "[sms]") {
  CHECK(transliterate_gsm7("„Cytat” i “quote” – ‘tak’ — nie… ") == "\"Cytat\" i \"quote\" - 'tak' - nie... ");
  CHECK(transliterate_gsm7("10\u00A0000\u202Fzł\tnetto") == "10 000 zl netto");
  CHECK(transliterate_gsm7("Crème brûlée, naïve, Ångström, Straße, Ærø, Çelik, çay") ==
        "Crème brulée, naive, Ångström, Straße, Ærø, Çelik, cay");
  CHECK(transliterate_gsm7("Dvořák, Đoković, Ødegaard, Þór, œuvre, ﬁnał") == "Dvorak, Dokovic, Ødegaard, Thor, oeuvre, final");
  CHECK(transliterate_gsm7("a\u200Bb\u00ADc\uFEFF") == "abc");  // zero-width space, soft hyphen, BOM
  CHECK(transliterate_gsm7("€10 {x} [y] ~z^ | \\") == "€10 {x} [y] ~z^ | \\");
  CHECK(transliterate_gsm7(kDefaultAlphabet) == kDefaultAlphabet);
  // One '?' per user-perceived character: an emoji with its modifier, a flag, a ZWJ family.
  CHECK(transliterate_gsm7("ok 👍🏽 🇵🇱 👨‍👩‍👧 ❤️") == "ok ? ? ? ?");
  CHECK(transliterate_gsm7("Привет") == "??????");
  CHECK(transliterate_gsm7(std::string("a\xff" "b")) == "a?b");
  CHECK(transliterate_gsm7("") == "");
  for (const char* text : {"Zażółć gęślą jaźń 😀", "漢字 and ₿ and ½ and ™", "\u0301 lone mark", "Ω Ohm \u2126"}) {
    INFO(text);
    CHECK(classify(transliterate_gsm7(text)).encoding == SmsCharset::gsm7);
  }
}

TEST_CASE("sms: cap_segments leaves a text that fits alone", "[sms]") {
  CHECK(cap_segments(std::string(160, 'a'), 1) == std::string(160, 'a'));
  CHECK(cap_segments(repeat("ą", 134), 2) == repeat("ą", 134));
  CHECK(cap_segments("", 1) == "");
}

TEST_CASE("sms: cap_segments cuts GSM-7 text at a word with '...'", "[sms]") {
  std::string text;
  for (int i = 0; text.size() < 400; ++i) text += "slowo" + std::to_string(i) + " ";
  for (int max : {1, 2}) {
    INFO(max);
    const std::string capped = cap_segments(text, max);
    REQUIRE(capped.ends_with("..."));
    const std::string kept = capped.substr(0, capped.size() - 3);
    CHECK(text.starts_with(kept));
    CHECK(text[kept.size()] == ' ');                                // cut before a space
    CHECK(classify(capped).segments == max);
    CHECK(classify(capped).units > (max == 1 ? 150 : 295));        // at most one word lost
  }
  // No space to cut at: inside the word.
  CHECK(cap_segments(std::string(200, 'a'), 1) == std::string(157, 'a') + "...");
  // Extension characters are kept whole: 78 euro signs (156 septets) and "..." fill 159.
  CHECK(cap_segments(repeat("€", 100), 1) == repeat("€", 78) + "...");
  CHECK(cap_segments(repeat("a{", 100), 1) == repeat("a{", 52) + "a...");
}

TEST_CASE("sms: cap_segments cuts UCS-2 text with '…', or '...' when the cut leaves GSM-7", "[sms]") {
  const std::string polish =
      "Dzień dobry, biuro jest teraz zamknięte. Odpowiemy w poniedziałek o 8:00. W pilnych sprawach "
      "prosimy o telefon pod numer 600 100 200, dziękujemy za cierpliwość i życzymy miłego dnia.";
  REQUIRE(shape(polish) == "ucs2 182/3");
  const std::string one = cap_segments(polish, 1);
  CHECK(one == "Dzień dobry, biuro jest teraz zamknięte. Odpowiemy w poniedziałek o…");
  CHECK(shape(one) == "ucs2 68/1");
  const std::string two = cap_segments(polish, 2);
  CHECK(two.ends_with("…"));
  CHECK(polish.starts_with(two.substr(0, two.size() - std::string("…").size())));
  CHECK(classify(two).segments == 2);
  CHECK(classify(two).units > 120);
  // The Polish letter is beyond the cut: the prefix is GSM-7 and gets the GSM-7 ellipsis.
  CHECK(cap_segments(std::string(200, 'a') + "ą", 1) == std::string(157, 'a') + "...");
  CHECK(cap_segments(std::string(200, 'a') + "ą", 0) == std::string(157, 'a') + "...");  // below 1 counts as 1
}

TEST_CASE("sms: cap_segments never splits an emoji or a ZWJ sequence", "[sms]") {
  CHECK(cap_segments(repeat("😀", 50), 1) == repeat("😀", 34) + "…");
  // 8 families of 8 units each and the ellipsis: 65 units; a ninth would need 73.
  CHECK(cap_segments(repeat("👨‍👩‍👧", 10), 1) == repeat("👨‍👩‍👧", 8) + "…");
}

namespace {

constexpr const char* kSmsRules = R"(version: 1
sms:
  transliterate: true
  max_segments: 1
templates:
  long: "Dzień dobry {{customer.first_name | \"Państwo\"}}, biuro jest teraz zamknięte. Odpowiemy w poniedziałek o 8:00. W pilnych sprawach prosimy o telefon pod numer 600 100 200, dziękujemy. Zespół obsługi klienta."
rules:
  - name: r
    then: [ { reply: long } ]
)";

const ReplyAction& only_reply(const Decision& d) {
  REQUIRE(d.actions.size() == 1);
  return std::get<ReplyAction>(d.actions[0]);
}

}  // namespace

TEST_CASE("sms options: replies on SMS are transliterated and capped, other channels untouched", "[sms][routing]") {
  auto rules = compile_ok(kSmsRules);
  CHECK(rules->sms() == SmsOptions{.transliterate = true, .max_segments = 1});
  const Decision sms = decide(*rules, Probe{.text = "x", .channel = Channel::sms});
  const ReplyAction& reply = only_reply(sms);
  CHECK(reply.text ==
        "Dzien dobry Panstwo, biuro jest teraz zamkniete. Odpowiemy w poniedzialek o 8:00. W pilnych sprawach "
        "prosimy o telefon pod numer 600 100 200, dziekujemy...");
  CHECK(reply.sms_encoding == "gsm7");
  CHECK(reply.sms_segments == 1);
  CHECK(action_fields(sms.actions[0]) == std::vector<std::pair<std::string, std::string>>{
                                             {"type", "reply"},
                                             {"template", "long"},
                                             {"text", reply.text},
                                             {"sms_encoding", "gsm7"},
                                             {"sms_segments", "1"},
                                         });
  const Decision webchat = decide(*rules, Probe{.text = "x", .channel = Channel::webchat});
  const ReplyAction& chat = only_reply(webchat);
  CHECK(chat.text.starts_with("Dzień dobry Państwo, biuro jest teraz zamknięte."));
  CHECK(chat.sms_encoding.empty());
  CHECK(chat.sms_segments == 0);
  CHECK(action_fields(Action{chat}).size() == 3);
}

TEST_CASE("sms options: each applies alone; without them SMS replies still get encoding and segments", "[sms][routing]") {
  const std::string tmpl =
      "templates:\n  t: \"Dzień dobry, biuro jest teraz zamknięte. Odpowiemy w poniedziałek o 8:00. Dziękujemy.\"\n"
      "rules:\n  - name: r\n    then: [ { reply: t } ]\n";
  auto plain = compile_ok("version: 1\n" + tmpl);
  CHECK(plain->sms() == SmsOptions{});
  const Decision d1 = decide(*plain, Probe{.text = "x", .channel = Channel::sms});
  const ReplyAction& untouched = only_reply(d1);
  CHECK(untouched.text == "Dzień dobry, biuro jest teraz zamknięte. Odpowiemy w poniedziałek o 8:00. Dziękujemy.");
  CHECK(untouched.sms_encoding == "ucs2");
  CHECK(untouched.sms_segments == 2);

  auto transliterated = compile_ok("version: 1\nsms: { transliterate: true }\n" + tmpl);
  const Decision d2 = decide(*transliterated, Probe{.text = "x", .channel = Channel::sms});
  const ReplyAction& gsm = only_reply(d2);
  CHECK(gsm.text == "Dzien dobry, biuro jest teraz zamkniete. Odpowiemy w poniedzialek o 8:00. Dziekujemy.");
  CHECK(gsm.sms_encoding == "gsm7");
  CHECK(gsm.sms_segments == 1);

  auto capped = compile_ok("version: 1\nsms: { max_segments: 1, transliterate: false }\n" + tmpl);
  const Decision d3 = decide(*capped, Probe{.text = "x", .channel = Channel::sms});
  const ReplyAction& cut = only_reply(d3);
  CHECK(cut.text == "Dzień dobry, biuro jest teraz zamknięte. Odpowiemy w poniedziałek o…");
  CHECK(cut.sms_encoding == "ucs2");
  CHECK(cut.sms_segments == 1);

  auto empty = compile_ok("version: 1\nsms:\n" + tmpl);
  CHECK(empty->sms() == SmsOptions{});
}

TEST_CASE("sms options: explain shows the same reply as evaluate", "[sms][routing]") {
  auto rules = compile_ok(kSmsRules);
  InboundMessage message;
  message.channel = Channel::sms;
  ConversationView conversation;
  CustomerView customer;
  const EvaluationInput input{message, conversation, customer, Timestamp{}};
  const Explanation explanation = explain(*rules, input);
  const ReplyAction& explained = only_reply(explanation.decision);
  const Decision evaluated = evaluate(*rules, input);
  CHECK(explained.text == only_reply(evaluated).text);
  CHECK(explained.sms_segments == 1);
}

TEST_CASE("sms options: mistakes are reported at their place", "[sms][routing]") {
  const std::string rules = "templates: { t: hi }\nrules:\n  - name: r\n    then: [ { reply: t } ]\n";
  CHECK(diagnostics_of("version: 1\nsms: { transliterate: yes, max_segments: 11, max_segment: 2 }\n" + rules) ==
        Lines{
            "rules.yaml:2:23: error: 'transliterate' must be true or false",
            "rules.yaml:2:42: error: 'max_segments' must be a whole number from 1 to 10",
            "rules.yaml:2:46: error: unknown key 'max_segment' (did you mean 'max_segments'?)",
        });
  CHECK(diagnostics_of("version: 1\nsms:\n  max_segments: 0\n" + rules) ==
        Lines{"rules.yaml:3:17: error: 'max_segments' must be a whole number from 1 to 10"});
  CHECK(diagnostics_of("version: 1\nsms:\n  max_segments: \"2\"\n  transliterate: \"true\"\n" + rules) ==
        Lines{
            "rules.yaml:3:17: error: 'max_segments' must be a whole number from 1 to 10",
            "rules.yaml:4:18: error: 'transliterate' must be true or false",
        });
  CHECK(diagnostics_of("version: 1\nsms: [transliterate]\n" + rules) ==
        Lines{"rules.yaml:2:6: error: 'sms' must be a mapping such as '{ transliterate: true, max_segments: 2 }'"});
  CHECK(diagnostics_of("version: 1\nsmss: {}\n" + rules) ==
        Lines{"rules.yaml:2:1: error: unknown key 'smss' (did you mean 'sms'?)"});
  CHECK(compile("version: 1\nsms: { max_segments: 10 }\n" + rules).rules->sms().max_segments == 10);
}
