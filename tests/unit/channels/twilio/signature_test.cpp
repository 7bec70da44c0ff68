// Tests for channels/twilio's form codec and X-Twilio-Signature: every vector of
// fixtures/twilio/SIGNATURES.md (Twilio's helper-library vectors and switchboard's fixtures).
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>

#include "channels/twilio/adapter.hpp"

using namespace switchboard;
using namespace switchboard::channels;
using twilio::Params;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR "/protocols/fixtures/twilio/") + name, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Params form_of(const std::string& file) {
  auto params = twilio::parse_form(fixture(file));
  REQUIRE(params.ok());
  return *params;
}

const std::string kUrl = "https://mycompany.com/myapp.php?foo=1&bar=2";
const Params kParams = {{"CallSid", "CA1234567890ABCDE"},
                        {"Caller", "+14158675309"},
                        {"Digits", "1234"},
                        {"From", "+14158675309"},
                        {"To", "+18005551212"}};
const std::string kBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

}  // namespace

TEST_CASE("twilio: form parsing decodes '+', percent escapes and empty values in order", "[channels][twilio]") {
  auto p = twilio::parse_form("b=2&a=x+y%2Bz&empty=&flag&&c=%C5%BC%F0%9F%98%80&=v");
  REQUIRE(p.ok());
  const Params expected = {{"b", "2"}, {"a", "x y+z"}, {"empty", ""}, {"flag", ""},
                           {"c", "\xC5\xBC\xF0\x9F\x98\x80"}, {"", "v"}};
  CHECK(*p == expected);
  CHECK(twilio::parse_form("").value().empty());
  REQUIRE(twilio::find_param(*p, "a"));
  CHECK(*twilio::find_param(*p, "a") == "x y+z");
  CHECK(twilio::find_param(*p, "A") == nullptr);
}

TEST_CASE("twilio: form parsing rejects bad escapes and invalid UTF-8", "[channels][twilio]") {
  for (const char* bad : {"Body=%", "Body=%4", "Body=%zz", "Body=100%", "%G1=x", "Body=%C5",  // truncated
                          "Body=%C0%AF",                                                        // overlong '/'
                          "Body=%ED%A0%80",                                                     // surrogate
                          "Body=%F4%90%80%80",                                                  // above U+10FFFF
                          "Body=%FF", "Body=\xC5"}) {
    auto p = twilio::parse_form(bad);
    INFO(bad);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().kind == ErrorKind::invalid);
    CHECK(p.error().code == "malformed_form");
  }
}

TEST_CASE("twilio: form encoding round-trips and matches the send_request fixture's style", "[channels][twilio]") {
  const Params p = {{"To", "+48601234567"}, {"Body", "Dzięki! a-b_c.d*e~f/g?h&i=j k"}};
  const std::string encoded = twilio::form_encode(p);
  CHECK(encoded == "To=%2B48601234567&Body=Dzi%C4%99ki%21+a-b_c.d*e%7Ef%2Fg%3Fh%26i%3Dj+k");
  CHECK(twilio::parse_form(encoded).value() == p);
}

TEST_CASE("twilio: helper-library signature vectors (SIGNATURES.md section 1)", "[channels][twilio]") {
  CHECK(twilio::signature("12345", kUrl, kParams) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  CHECK(twilio::signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", kParams) ==
        "kvajT1Ptam85bY51eRf/AJRuM3w=");
  CHECK(twilio::signature("12345", "http://mycompany.com:80/myapp.php?foo=1&bar=2", kParams) ==
        "0ZXoZLH/DfblKGATFgpif+LLRf4=");
  CHECK(twilio::signature("12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", kParams) ==
        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
  const Params duplicates = {{"Sid", "CA123"}, {"SidAccount", "AC123"}, {"Digits", "5678"}, {"Digits", "1234"}};
  CHECK(twilio::signature("12345", kUrl, duplicates) == "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  CHECK(twilio::signature("12345", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", kParams) ==
        "CukzLTc1tT5dXEDIHm/tKBanW10=");
  CHECK(twilio::signature("12345", kUrl + "&bodySHA256=" + kBodyHash, {}) == "a9nBmqA0ju/hNViExpshrM61xv4=");
  CHECK(twilio::signature("12345", "https://mycompany.com/myapp.php?bodySHA256=" + kBodyHash, {}) ==
        "y77kIzt2vzLz71DgmJGsen2scGs=");
}

TEST_CASE("twilio: a signature is accepted with the default port added or removed, not another port",
          "[channels][twilio]") {
  const std::vector<std::string> token = {"12345"};
  // Received without a port, signed with :443, and the other way round.
  CHECK(twilio::signature_matches("kvajT1Ptam85bY51eRf/AJRuM3w=", kUrl, kParams, token));
  CHECK(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                                  kParams, token));
  CHECK(twilio::signature_matches("0ZXoZLH/DfblKGATFgpif+LLRf4=", "http://mycompany.com/myapp.php?foo=1&bar=2",
                                  kParams, token));
  // A non-default port is signed as-is: it is neither added nor removed.
  CHECK(twilio::signature_matches("Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                                  kParams, token));
  CHECK_FALSE(twilio::signature_matches("Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", "http://mycompany.com/myapp.php?foo=1&bar=2",
                                        kParams, token));
  // :80 is not https's default port.
  CHECK_FALSE(twilio::signature_matches("0ZXoZLH/DfblKGATFgpif+LLRf4=", kUrl, kParams, token));
  // Credentials in the URL: the port goes after the host, not after "user:pass".
  CHECK(twilio::signature_matches("CukzLTc1tT5dXEDIHm/tKBanW10=",
                                  "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2", kParams, token));
  CHECK(twilio::signature_matches("a9nBmqA0ju/hNViExpshrM61xv4=",
                                  "https://mycompany.com:443/myapp.php?foo=1&bar=2&bodySHA256=" + kBodyHash, {}, token));
  // Wrong token, empty token, truncated or empty header.
  CHECK_FALSE(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8=", kUrl, kParams, {"54321"}));
  CHECK_FALSE(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8=", kUrl, kParams, {""}));
  CHECK(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8=", kUrl, kParams, {"", "54321", "12345"}));
  CHECK_FALSE(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8", kUrl, kParams, token));
  CHECK_FALSE(twilio::signature_matches("", kUrl, kParams, token));
  // The parameters count: one more, one fewer, one changed.
  Params more = kParams;
  more.emplace_back("Extra", "");
  CHECK_FALSE(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8=", kUrl, more, token));
  Params fewer(kParams.begin(), kParams.end() - 1);
  CHECK_FALSE(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8=", kUrl, fewer, token));
  Params changed = kParams;
  changed[2].second = "1235";
  CHECK_FALSE(twilio::signature_matches("RSOYDt4T1cUTdK1PDd93/VVr8B8=", kUrl, changed, token));
}

TEST_CASE("twilio: url variants", "[channels][twilio]") {
  using V = std::vector<std::string>;
  CHECK(twilio::url_variants("https://a.example/x?y=1") == V{"https://a.example/x?y=1", "https://a.example:443/x?y=1"});
  CHECK(twilio::url_variants("https://a.example:443/x") == V{"https://a.example:443/x", "https://a.example/x"});
  CHECK(twilio::url_variants("HTTP://a.example?q") == V{"HTTP://a.example?q", "HTTP://a.example:80?q"});
  CHECK(twilio::url_variants("http://a.example:8080/x") == V{"http://a.example:8080/x"});
  CHECK(twilio::url_variants("https://u:p@a.example/x") == V{"https://u:p@a.example/x", "https://u:p@a.example:443/x"});
  CHECK(twilio::url_variants("https://[::1]/x") == V{"https://[::1]/x", "https://[::1]:443/x"});
  CHECK(twilio::url_variants("https://[::1]:443/x") == V{"https://[::1]:443/x", "https://[::1]/x"});
  CHECK(twilio::url_variants("ftp://a.example/x") == V{"ftp://a.example/x"});
  CHECK(twilio::url_variants("https://") == V{"https://"});
}

TEST_CASE("twilio: fixture signature vectors (SIGNATURES.md section 2)", "[channels][twilio]") {
  const std::string base = "https://switchboard.example.com";
  const std::string base443 = "https://switchboard.example.com:443";
  struct Row {
    const char* file;
    const char* target;
    const char* plain;
    const char* with_port;
  };
  const Row rows[] = {
      {"inbound_sms.form", "/webhooks/twilio/sms?account=main", "GD+ajB1aPh8WF36RAtqyLuZ3WM0=",
       "gYEx5/N4MEMvGWl1Zjxqu2gGHMI="},
      {"inbound_mms.form", "/webhooks/twilio/sms?account=main", "aM6xW6Qkn0iMlhz8VpWtFZtdhiY=",
       "RU0/H5Cyyr9QsiQADDq0M3kJ98I="},
      {"inbound_stop.form", "/webhooks/twilio/sms?account=main", "pocuO1mXfdJf2jbG+O5ieu9FUws=",
       "MeUfy4s9qOnOT0qQ7vqzf17imBs="},
      {"status_delivered.form", "/webhooks/twilio/status?outbox=43", "f0b307yE/5d71OWem0SSXZ7ziQY=",
       "0zGEWfVeRcZDzAQ51lsJg2sAm0w="},
      {"status_undelivered.form", "/webhooks/twilio/status?outbox=44", "PaOV9WLoVQKptSmT3+wOhPYNko0=",
       "KqvYCutQ6zEMo4A/JdH/GTbEXe0="},
  };
  for (const Row& row : rows) {
    INFO(row.file);
    const Params params = form_of(row.file);
    CHECK(twilio::signature("test_auth_token", base + row.target, params) == row.plain);
    CHECK(twilio::signature("test_auth_token", base443 + row.target, params) == row.with_port);
  }
  const std::string json_target =
      "/webhooks/twilio/status?account=main&bodySHA256="
      "3c2b9126740e2fa271c71b1b090511cb716f0d8924d86ede7a07f9c11e3a69b5";
  CHECK(twilio::signature("test_auth_token", base + json_target, {}) == "6oPiC+tT5KbyKS4p+sRe8mZwFE4=");
  CHECK(twilio::signature("test_auth_token", base443 + json_target, {}) == "yg9D5rTM1qWAwZVQpoHHuEM4Gko=");

  // Negative vectors.
  const Params sms = form_of("inbound_sms.form");
  CHECK(twilio::signature("other_token", base + "/webhooks/twilio/sms?account=main", sms) ==
        "L0KGUO6HFRmPN/r454xfQaMGQG8=");
  CHECK_FALSE(twilio::signature_matches("GD+ajB1aPh8WF36RAtqyLuZ3WM0=", base + "/webhooks/twilio/sms", sms,
                                        {"test_auth_token"}));
}

TEST_CASE("twilio: the decoded inbound_sms body is the documented one", "[channels][twilio]") {
  const Params sms = form_of("inbound_sms.form");
  REQUIRE(twilio::find_param(sms, "Body"));
  CHECK(*twilio::find_param(sms, "Body") == "Dzień dobry! Czy paczka już wysłana? \xF0\x9F\x98\x80");
  CHECK(twilio::find_param(sms, "FromCity"));
  CHECK(twilio::find_param(sms, "FromCity")->empty());
}
