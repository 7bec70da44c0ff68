// Tests for html_to_text: structure to line ends, lists, links, character references, dropped
// elements, quoted history of Gmail/Thunderbird/Apple/Outlook, and broken or hostile markup.
#include <catch2/catch.hpp>
#include <string>

#include "channels/email/charset.hpp"
#include "channels/email/mime.hpp"

using switchboard::channels::email::html_to_text;
using switchboard::channels::email::is_valid_utf8;

TEST_CASE("html_to_text: blocks, line breaks, whitespace", "[email]") {
  CHECK(html_to_text("<p>Dzień dobry,</p><p>w&nbsp;załączniku <b>faktura</b>.</p>") ==
        "Dzień dobry,\n\nw załączniku faktura.");
  CHECK(html_to_text("<div>a</div><div>b</div>") == "a\nb");
  CHECK(html_to_text("a<br>b<br/>c<BR />d") == "a\nb\nc\nd");
  CHECK(html_to_text("a<br><br>b") == "a\n\nb");
  CHECK(html_to_text("a<br><br><br><br>b") == "a\n\nb");  // at most one blank line
  CHECK(html_to_text("  Dużo    \n\t spacji   <span> i </span>  tagów ") == "Dużo spacji i tagów");
  CHECK(html_to_text("<h1>Tytuł</h1>Treść") == "Tytuł\n\nTreść");
  CHECK(html_to_text("<pre>  a\n    b</pre>po") == "  a\n    b\n\npo");
  CHECK(html_to_text("<table><tr><td>Produkt</td><td>Cena</td></tr><tr><td>Czajnik</td><td>99 zł</td></tr></table>") ==
        "Produkt Cena\nCzajnik 99 zł");
  CHECK(html_to_text("").empty());
}

TEST_CASE("html_to_text: lists", "[email]") {
  CHECK(html_to_text("<p>Lista:</p><ul><li>jeden</li><li>dwa</li></ul><p>koniec</p>") ==
        "Lista:\n\n- jeden\n- dwa\n\nkoniec");
  CHECK(html_to_text("<ol><li>a<ul><li>b</li></ul></li><li>c</li></ol>") == "- a\n  - b\n- c");
  CHECK(html_to_text("<ul><li>bez<li>zamknięcia</ul>") == "- bez\n- zamknięcia");
}

TEST_CASE("html_to_text: links", "[email]") {
  CHECK(html_to_text("<a href=\"https://sklep.example.pl/zamowienie/4711\">zamówienie</a>") ==
        "zamówienie (https://sklep.example.pl/zamowienie/4711)");
  CHECK(html_to_text("<a href=\"https://sklep.example.pl/\">https://sklep.example.pl</a>") == "https://sklep.example.pl");
  CHECK(html_to_text("<a href='mailto:jan@example.pl'>jan@example.pl</a>") == "jan@example.pl");
  CHECK(html_to_text("<a href=\"#top\">do góry</a>") == "do góry");
  CHECK(html_to_text("<a href=\"https://x.pl/?a=1&amp;b=2\">tu</a>") == "tu (https://x.pl/?a=1&b=2)");
  CHECK(html_to_text("<a href=\"https://x.pl/img\"><img src=\"cid:1\"></a>") == "https://x.pl/img");
}

TEST_CASE("html_to_text: character references", "[email]") {
  CHECK(html_to_text("&lt;b&gt; &amp; &quot;x&quot; &apos;y&apos;") == "<b> & \"x\" 'y'");
  CHECK(html_to_text("Za&#380;&oacute;&#x142;&#X107; &euro; &hellip; &ndash; &copy;") == "Zażółć € … – ©");
  CHECK(html_to_text("&zacute;&Lstrok;&eogon;&sacute;&aogon;") == "źŁęśą");
  CHECK(html_to_text("&#150; &#128;") == "– €");          // Windows-1252 numbers, as browsers read them
  CHECK(html_to_text("&#0; &#xD800; &#99999999;") == "\uFFFD \uFFFD \uFFFD");
  CHECK(html_to_text("&unknown; & &amp AT&T") == "&unknown; & & AT&T");
  CHECK(html_to_text("a&shy;b") == "ab");
}

TEST_CASE("html_to_text: script, style, head, comments dropped", "[email]") {
  CHECK(html_to_text("<html><head><title>T</title><style>p{color:red}</style><meta charset=utf-8></head>"
                     "<body><script>alert('<p>x</p>')</script><!-- komentarz <p>ukryty</p> -->Treść"
                     "<style type=\"text/css\">.a{}</style></body></html>") == "Treść");
  CHECK(html_to_text("<!DOCTYPE html><?xml version=\"1.0\"?>ok") == "ok");
  CHECK(html_to_text("<head><title>T</title><meta x=y><body>treść") == "treść");  // no </head>
}

TEST_CASE("html_to_text: quoted history dropped only with strip_quotes", "[email]") {
  const std::string gmail =
      "<div dir=\"ltr\">Nowa treść</div><br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">"
      "pon., 5 sty 2026 o 15:20 Jan &lt;jan@example.pl&gt; napisał(a):<br></div>"
      "<blockquote class=\"gmail_quote\" style=\"margin:0\"><div>stara <div>zagnieżdżona</div> treść</div></blockquote></div>";
  CHECK(html_to_text(gmail, true) == "Nowa treść");
  CHECK(html_to_text(gmail).find("stara") != std::string::npos);

  const std::string thunderbird =
      "<p>Nowa treść</p><div class=\"moz-cite-prefix\">W dniu 5.01.2026 o 15:20, Jan pisze:<br></div>"
      "<blockquote type=\"cite\">stara</blockquote><p>PS. dopisek</p>";
  CHECK(html_to_text(thunderbird, true) == "Nowa treść\n\nPS. dopisek");

  const std::string apple = "<div>Nowa</div><div><blockquote type=\"cite\"><div>Wiadomość napisana przez X</div>stara"
                            "<blockquote>starsza</blockquote></blockquote></div>";
  CHECK(html_to_text(apple, true) == "Nowa");

  const std::string outlook =
      "<div>Nowa treść</div><div id=\"appendonsend\"></div><hr style=\"display:inline-block\">"
      "<div id=\"divRplyFwdMsg\"><b>From:</b> Biuro<br><b>Sent:</b> Monday</div><div>stara treść</div>";
  CHECK(html_to_text(outlook, true) == "Nowa treść");
  CHECK(html_to_text(outlook).find("stara treść") != std::string::npos);
}

TEST_CASE("html_to_text: broken and hostile markup", "[email]") {
  CHECK(html_to_text("a < b and c > d") == "a < b and c > d");
  CHECK(html_to_text("<p>niedomknięty <b>tag") == "niedomknięty tag");
  CHECK(html_to_text("<a href=\"x") == "");
  CHECK(html_to_text("<p class=\"x>y\">z</p>") == "z");
  CHECK(html_to_text("<script>nigdy niezamknięty") == "");
  CHECK(html_to_text("<!-- bez końca") == "");
  CHECK(is_valid_utf8(html_to_text("bad \xC3( bytes \xFF")));

  // Deep nesting and many unclosed tags (their speed: tests/bench/hostile_mail).
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "<div><blockquote><a href=\"x\">";
  deep += "środek";
  CHECK(html_to_text(deep).find("środek") != std::string::npos);
  CHECK(html_to_text(deep, true).empty());
  std::string lt(1 << 20, '<');
  CHECK(html_to_text(lt).size() == lt.size());
  std::string quotes = "<p " + std::string(1 << 20, '"') + ">x";
  CHECK(html_to_text(quotes) == "x");
}
