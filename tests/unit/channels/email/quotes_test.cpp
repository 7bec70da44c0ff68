// Tests for strip_quoted: each attribution style of protocols/email.md "Quoted reply stripping",
// Polish and English, wrapped attributions, Outlook separators and header blocks, signatures,
// mobile footers, and what must stay (inline answers, a text that is all quote).
#include <catch2/catch.hpp>
#include <string>

#include "channels/email/mime.hpp"

using switchboard::channels::email::strip_quoted;

namespace {

const std::string kNew = "Dziękuję, paczka dotarła.\n\nCzy mogę wymienić czajnik?\n\nPaweł";

std::string reply(const std::string& attribution, const std::string& quote = "> Dzień dobry,\n> paczka została nadana.\n") {
  return kNew + "\n\n" + attribution + "\n" + quote;
}

}  // namespace

TEST_CASE("strip_quoted: Thunderbird, Polish and English", "[email]") {
  CHECK(strip_quoted(reply("W dniu 5.01.2026 o 15:20, Jan Kowalski pisze:")) == kNew);
  CHECK(strip_quoted(reply("On 05/01/2026 15:20, Jan Kowalski wrote:")) == kNew);
  // CRLF line ends stay as they were in what is kept.
  CHECK(strip_quoted("Nowa treść\r\n\r\nW dniu 5.01.2026 o 15:20, Jan pisze:\r\n> stara\r\n") == "Nowa treść");
}

TEST_CASE("strip_quoted: Gmail, Polish and English", "[email]") {
  CHECK(strip_quoted(reply("pon., 5 sty 2026 o 15:20 Jan Kowalski <jan@example.pl> napisał(a):")) == kNew);
  CHECK(strip_quoted(reply("On Mon, 5 Jan 2026 at 15:20, Jan Kowalski <jan@example.pl> wrote:")) == kNew);
}

TEST_CASE("strip_quoted: Apple Mail, Polish", "[email]") {
  CHECK(strip_quoted(reply("Wiadomość napisana przez Jan Kowalski w dniu 5 sty 2026, o godz. 15:20:")) == kNew);
  CHECK(strip_quoted(reply("Wiadomość napisana przez Jan Kowalski <jan@example.pl> w dniu\n5 sty 2026, o godz. 15:20:")) ==
        kNew);
}

TEST_CASE("strip_quoted: attributions wrapped over two lines", "[email]") {
  CHECK(strip_quoted(reply("W dniu 5.01.2026 o 15:20, Biuro Obsługi Klienta\n<obsluga@support.example.com> pisze:")) == kNew);
  CHECK(strip_quoted(reply("pon., 5 sty 2026 o 15:20 Jan Kowalski <jan@example.pl>\nnapisał(a):")) == kNew);
  CHECK(strip_quoted(reply("On Mon, 5 Jan 2026 at 15:20, Jan Kowalski <\njan@example.pl> wrote:")) == kNew);
  // The last line of new text right above a one-line attribution is not taken for its first half.
  CHECK(strip_quoted("Pozdrawiam, Paweł 601 234 567\nW dniu 5.01.2026 o 15:20, Jan pisze:\n> x\n") ==
        "Pozdrawiam, Paweł 601 234 567");
}

TEST_CASE("strip_quoted: Outlook separators and header blocks", "[email]") {
  CHECK(strip_quoted(reply("-----Original Message-----\nFrom: Biuro\nSent: Monday\nSubject: x", "stara treść\n")) == kNew);
  CHECK(strip_quoted(reply("-----Wiadomość oryginalna-----\nOd: Biuro\nWysłano: poniedziałek\nTemat: x", "stara\n")) == kNew);
  CHECK(strip_quoted(reply("________________________________\n"
                           "From: Biuro Obsługi Klienta <obsluga@support.example.com>\n"
                           "Sent: Monday, January 5, 2026 3:20 PM\nTo: Paweł Kowalczyk\nSubject: Re: Zamówienie 4711",
                           "\nstara treść\n")) == kNew);
  CHECK(strip_quoted(reply("Od: Biuro Obsługi Klienta <obsluga@support.example.com>\n"
                           "Wysłano: poniedziałek, 5 stycznia 2026 15:20\nDo: Paweł Kowalczyk\nTemat: Re: Zamówienie 4711",
                           "\nstara treść\n")) == kNew);
  // "*From:*" as Gmail's plain text shows a bold Outlook header.
  CHECK(strip_quoted(reply("*From:* Biuro\n*Sent:* Monday\n*To:* Paweł\n*Subject:* x", "stara\n")) == kNew);
  // A lone "From:" line in a customer's words is not a header block.
  const std::string own = "From: my old address I wrote before.\nProszę o zmianę.";
  CHECK(strip_quoted(own) == own);
}

TEST_CASE("strip_quoted: quotes, signature, mobile footers", "[email]") {
  CHECK(strip_quoted(kNew + "\n\n> quoted\n>> nested\n>\n") == kNew);
  CHECK(strip_quoted(kNew + "\n-- \nPaweł Kowalczyk\ntel. 601 234 567\n") == kNew);
  CHECK(strip_quoted(kNew + "\n\nWysłane z iPhone'a\n") == kNew);
  CHECK(strip_quoted(kNew + "\n\nSent from my iPhone\n\n> On 5 Jan 2026, at 15:20, X wrote:\n") == kNew);
  CHECK(strip_quoted(kNew + "\n\nWysłane z mojego smartfona Galaxy\n") == kNew);
  // Inline answers: the quote they answer stays, the trailing quote goes.
  const std::string inline_reply = "> Czy zamówienie jest opłacone?\nTak, wczoraj.\n\n> Adres?\nWarszawa.\n\n> Pozdrawiamy\n";
  CHECK(strip_quoted(inline_reply) == "> Czy zamówienie jest opłacone?\nTak, wczoraj.\n\n> Adres?\nWarszawa.");
}

TEST_CASE("strip_quoted: when nothing would be left, the text stays", "[email]") {
  const std::string all_quote = "> tylko cytat\n> i nic więcej\n";
  CHECK(strip_quoted(all_quote) == all_quote);
  const std::string starts_with_attribution = "W dniu 5.01.2026 o 15:20, Jan pisze:\n> x\n";
  CHECK(strip_quoted(starts_with_attribution) == starts_with_attribution);
  CHECK(strip_quoted("").empty());
  CHECK(strip_quoted("Jedno zdanie.") == "Jedno zdanie.");
  CHECK(strip_quoted("Treść\n\n\n  \n") == "Treść");  // trailing blank lines go
  // "pisze:" without a date or an address is the customer's own sentence.
  CHECK(strip_quoted("Kolega pisze:\nże nie działa.") == "Kolega pisze:\nże nie działa.");
}

TEST_CASE("strip_quoted: long hostile input stays linear", "[email]") {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "W dniu bez daty, ktoś\nOd: x\n";
  text += std::string(1 << 20, 'a');
  const std::string out = strip_quoted(text);
  CHECK(out.size() <= text.size());
}
