// Tests for channels/twilio's webhooks: the fixtures of fixtures/twilio/ with their signatures
// (SIGNATURES.md section 2) through the adapter, the checks' order and errors, SMS, MMS, STOP and
// status callbacks, and replaying a verified (spooled) request.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>

#include "channels/twilio/adapter.hpp"

using namespace switchboard;
using namespace switchboard::channels;

namespace {

const char* kSid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01";
const char* kSmsTarget = "/webhooks/twilio/sms?account=main";
const char* kJsonTarget =
    "/webhooks/twilio/status?account=main&bodySHA256=3c2b9126740e2fa271c71b1b090511cb716f0d8924d86ede7a07f9c11e3a69b5";
const char* kForm = "application/x-www-form-urlencoded";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR "/protocols/fixtures/twilio/") + name, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

twilio::Account main_account(std::vector<std::string> tokens = {"test_auth_token"}) {
  twilio::Account a;
  a.name = "main";
  a.account_sid = kSid;
  a.auth_tokens = std::move(tokens);
  a.messaging_service_sid = "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02";
  return a;
}

twilio::Options options(std::vector<twilio::Account> accounts = {main_account()}) {
  twilio::Options o;
  o.public_url = "https://switchboard.example.com";
  twilio::Account other;
  other.name = "other";
  other.account_sid = "ACcccccccccccccccccccccccccccccc03";
  other.auth_tokens = {"other_token"};
  other.from = "+48732000000";
  accounts.push_back(other);
  o.accounts = std::move(accounts);
  return o;
}

HttpRequest request(std::string target, std::string body, std::optional<std::string> signature,
                    std::string content_type = kForm) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? std::string() : target.substr(q + 1);
  r.body = std::move(body);
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", content_type);
  if (signature) r.headers.emplace_back("X-Twilio-Signature", *signature);
  return r;
}

// Signs a body we made up, as Twilio would at the default public URL.
std::string sign(const std::string& target, const std::string& body, const std::string& token = "test_auth_token") {
  auto params = twilio::parse_form(body);
  REQUIRE(params.ok());
  return twilio::signature(token, "https://switchboard.example.com" + target, *params);
}

std::vector<InboundEvent> accept(const twilio::TwilioAdapter& adapter, const HttpRequest& r, bool sms = true) {
  auto events = sms ? adapter.parse_sms(r) : adapter.parse_status(r);
  if (!events) FAIL(events.error().code << " " << events.error().message);
  return *events;
}

Error reject(twilio::TwilioAdapter& adapter, const HttpRequest& r) {
  auto events = adapter.parse_webhook(r);
  REQUIRE_FALSE(events.ok());
  return events.error();
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

const InboundMessage& message_at(const std::vector<InboundEvent>& events, std::size_t i = 0) {
  REQUIRE(events.size() > i);
  REQUIRE(std::holds_alternative<InboundMessage>(events[i]));
  return std::get<InboundMessage>(events[i]);
}

}  // namespace

TEST_CASE("twilio: every fixture is accepted with its signature, plain and with :443", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  struct Row {
    const char* file;
    const char* target;
    const char* plain;
    const char* with_port;
    std::size_t events;
  };
  const Row rows[] = {
      {"inbound_sms.form", kSmsTarget, "GD+ajB1aPh8WF36RAtqyLuZ3WM0=", "gYEx5/N4MEMvGWl1Zjxqu2gGHMI=", 1},
      {"inbound_mms.form", kSmsTarget, "aM6xW6Qkn0iMlhz8VpWtFZtdhiY=", "RU0/H5Cyyr9QsiQADDq0M3kJ98I=", 1},
      {"inbound_stop.form", kSmsTarget, "pocuO1mXfdJf2jbG+O5ieu9FUws=", "MeUfy4s9qOnOT0qQ7vqzf17imBs=", 2},
      {"status_delivered.form", "/webhooks/twilio/status?outbox=43", "f0b307yE/5d71OWem0SSXZ7ziQY=",
       "0zGEWfVeRcZDzAQ51lsJg2sAm0w=", 1},
      {"status_undelivered.form", "/webhooks/twilio/status?outbox=44", "PaOV9WLoVQKptSmT3+wOhPYNko0=",
       "KqvYCutQ6zEMo4A/JdH/GTbEXe0=", 1},
  };
  for (const Row& row : rows) {
    INFO(row.file);
    const std::string body = fixture(row.file);
    for (const char* signature : {row.plain, row.with_port}) {
      auto events = adapter.parse_webhook(request(row.target, body, signature));
      if (!events) FAIL(events.error().code << " " << events.error().message);
      CHECK(events->size() == row.events);
    }
    // The other direction: a public_url configured with :443, Twilio signing without it.
    auto with_port = options();
    with_port.public_url = "https://switchboard.example.com:443";
    twilio::TwilioAdapter configured_443(with_port);
    CHECK(configured_443.parse_webhook(request(row.target, body, row.plain)).ok());
  }
}

TEST_CASE("twilio: the JSON-body fixture is checked by URL signature and bodySHA256", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  const std::string body = fixture("json_body.json");
  for (const char* signature : {"6oPiC+tT5KbyKS4p+sRe8mZwFE4=", "yg9D5rTM1qWAwZVQpoHHuEM4Gko="}) {
    auto events = adapter.parse_webhook(request(kJsonTarget, body, signature, "application/json"));
    if (!events) FAIL(events.error().code << " " << events.error().message);
    CHECK(events->empty());  // no MessageStatus: nothing to record
  }
  // The body changed under a valid URL signature: the hash in the signed query no longer matches.
  auto tampered = request(kJsonTarget, replace(body, "example", "exampl3"), "6oPiC+tT5KbyKS4p+sRe8mZwFE4=",
                          "application/json");
  Error e = reject(adapter, tampered);
  CHECK(e.kind == ErrorKind::forbidden);
  CHECK(e.code == "bad_signature");
  CHECK(e.message == "the bodySHA256 query parameter does not match the body");
  // Signed without bodySHA256 at all.
  const std::string bare = "/webhooks/twilio/status?account=main";
  e = reject(adapter, request(bare, body, twilio::signature("test_auth_token", "https://switchboard.example.com" + bare, {}),
                              "application/json"));
  CHECK(e.code == "bad_signature");
  // Not JSON.
  e = reject(adapter, request(kJsonTarget, "{", "6oPiC+tT5KbyKS4p+sRe8mZwFE4=", "application/json"));
  CHECK(e.kind == ErrorKind::invalid);
  CHECK(e.code == "invalid_json");
}

TEST_CASE("twilio: forged, misdirected and unknown requests are refused before the fields are read",
          "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  const std::string body = fixture("inbound_sms.form");
  const std::string good = "GD+ajB1aPh8WF36RAtqyLuZ3WM0=";

  auto forbidden = [&](const HttpRequest& r, const std::string& code) {
    Error e = reject(adapter, r);
    CHECK(e.kind == ErrorKind::forbidden);
    CHECK(e.code == code);
  };
  // The other token's signature (SIGNATURES.md negative vector).
  forbidden(request(kSmsTarget, body, "L0KGUO6HFRmPN/r454xfQaMGQG8="), "bad_signature");
  // The query string dropped.
  forbidden(request("/webhooks/twilio/sms", body, good), "bad_signature");
  // No header, an empty one, a lower-case copy.
  forbidden(request(kSmsTarget, body, std::nullopt), "bad_signature");
  forbidden(request(kSmsTarget, body, ""), "bad_signature");
  forbidden(request(kSmsTarget, body, "gd+ajb1aph8wf36ratqylUZ3WM0="), "bad_signature");
  // A changed, an added and a removed parameter.
  forbidden(request(kSmsTarget, replace(body, "Dzie%C5%84", "Dobry"), good), "bad_signature");
  forbidden(request(kSmsTarget, body + "&Extra=1", good), "bad_signature");
  forbidden(request(kSmsTarget, replace(body, "&FromZip=", ""), good), "bad_signature");
  // Another configured account's AccountSid: checked with that account's token, so it fails.
  forbidden(request(kSmsTarget, replace(body, kSid, "ACcccccccccccccccccccccccccccccc03"), good), "bad_signature");
  // An AccountSid nobody configured, even correctly signed with some token.
  const std::string unknown = replace(body, kSid, "ACdddddddddddddddddddddddddddddd04");
  forbidden(request(kSmsTarget, unknown, sign(kSmsTarget, unknown)), "unknown_account");
  // The 'account' query hint is only used when the body names no AccountSid.
  const std::string no_sid = replace(body, std::string("&AccountSid=") + kSid, "");
  forbidden(request("/webhooks/twilio/sms", no_sid, sign("/webhooks/twilio/sms", no_sid)), "unknown_account");
  CHECK(adapter.parse_webhook(request(kSmsTarget, no_sid, sign(kSmsTarget, no_sid))).ok());
  // The same signature at the status endpoint (a different URL).
  forbidden(request("/webhooks/twilio/status?account=main", body, good), "bad_signature");
}

TEST_CASE("twilio: a signature that does not match names the URLs it was checked against (issue 11)",
          "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  const std::string body = fixture("inbound_sms.form");
  Error e = reject(adapter, request(kSmsTarget, body, "L0KGUO6HFRmPN/r454xfQaMGQG8="));
  CHECK(e.code == "bad_signature");
  CHECK(e.message ==
        "the X-Twilio-Signature signature does not match the request signed for "
        "https://switchboard.example.com/webhooks/twilio/sms?account=main or "
        "https://switchboard.example.com:443/webhooks/twilio/sms?account=main");
}

TEST_CASE("twilio: either auth token verifies during rotation", "[channels][twilio]") {
  const std::string body = fixture("inbound_sms.form");
  twilio::TwilioAdapter rotated(options({main_account({"new_token", "test_auth_token"})}));
  CHECK(rotated.parse_webhook(request(kSmsTarget, body, "GD+ajB1aPh8WF36RAtqyLuZ3WM0=")).ok());
  CHECK(rotated.parse_webhook(request(kSmsTarget, body, sign(kSmsTarget, body, "new_token"))).ok());
  twilio::TwilioAdapter replaced(options({main_account({"other_token"})}));
  CHECK_FALSE(replaced.parse_webhook(request(kSmsTarget, body, "GD+ajB1aPh8WF36RAtqyLuZ3WM0=")).ok());
}

TEST_CASE("twilio: checks run in order: size, content type, form, account and signature", "[channels][twilio]") {
  auto small = options();
  small.max_body_bytes = 100;
  twilio::TwilioAdapter limited(small);
  const std::string body = fixture("inbound_sms.form");
  Error e = reject(limited, request(kSmsTarget, body, std::nullopt, "text/plain"));
  CHECK(e.kind == ErrorKind::too_large);
  CHECK(e.code == "body_too_large");

  twilio::TwilioAdapter adapter(options());
  for (const char* type : {"text/plain", "", "multipart/form-data"}) {
    e = reject(adapter, request(kSmsTarget, body, std::nullopt, type));
    CHECK(e.kind == ErrorKind::invalid);
    CHECK(e.code == "unsupported_content_type");
  }
  // Parameters of the media type and its case do not matter.
  CHECK(adapter
            .parse_webhook(request(kSmsTarget, body, "GD+ajB1aPh8WF36RAtqyLuZ3WM0=",
                                   "Application/X-WWW-Form-Urlencoded; charset=UTF-8"))
            .ok());

  for (const std::string& bad : {body + "&Body2=%zz", body + "&Body2=%C5", body + "&Body2=%"}) {
    e = reject(adapter, request(kSmsTarget, bad, std::nullopt));
    CHECK(e.kind == ErrorKind::invalid);
    CHECK(e.code == "malformed_form");
  }
  e = reject(adapter, request("/webhooks/twilio/elsewhere", body, "GD+ajB1aPh8WF36RAtqyLuZ3WM0="));
  CHECK(e.kind == ErrorKind::not_found);
}

TEST_CASE("twilio: an inbound SMS becomes a message of the configured account", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  auto events = accept(adapter, request(kSmsTarget, fixture("inbound_sms.form"), "GD+ajB1aPh8WF36RAtqyLuZ3WM0="));
  REQUIRE(events.size() == 1);
  const InboundMessage& m = message_at(events);
  CHECK(m.channel == Channel::sms);
  CHECK(m.account == "main");
  CHECK(m.external_id == "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0");
  CHECK(m.sender == "+48601234567");
  CHECK(m.identities == std::vector<Identity>{{IdentityKind::phone, "+48601234567"}});
  CHECK(m.display_name.empty());
  CHECK(m.text == "Dzień dobry! Czy paczka już wysłana? \xF0\x9F\x98\x80");
  CHECK(m.attachments.empty());
  CHECK(m.sent_at == Timestamp{});  // unknown: the pipeline stores none rather than 1970
}

TEST_CASE("twilio: an MMS carries its media URLs and types", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  auto events = accept(adapter, request(kSmsTarget, fixture("inbound_mms.form"), "aM6xW6Qkn0iMlhz8VpWtFZtdhiY="));
  REQUIRE(events.size() == 1);
  const InboundMessage& m = message_at(events);
  CHECK(m.external_id == "MM2a3b4c5d6e7f80910a1b2c3d4e5f6a7b");
  CHECK(m.text == "Zdjęcie paragonu");
  REQUIRE(m.attachments.size() == 1);
  CHECK(m.attachments[0].url ==
        "https://api.twilio.com/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01/Messages/"
        "MM2a3b4c5d6e7f80910a1b2c3d4e5f6a7b/Media/ME0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f");
  CHECK(m.attachments[0].mime_type == "image/jpeg");
  CHECK(m.attachments[0].name.empty());
  CHECK_FALSE(m.attachments[0].size.has_value());
}

TEST_CASE("twilio: STOP is stored and opts the phone out", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  auto events = accept(adapter, request(kSmsTarget, fixture("inbound_stop.form"), "pocuO1mXfdJf2jbG+O5ieu9FUws="));
  REQUIRE(events.size() == 2);
  CHECK(message_at(events).text == "STOP");
  REQUIRE(std::holds_alternative<OptOut>(events[1]));
  const OptOut& o = std::get<OptOut>(events[1]);
  CHECK(o.channel == Channel::sms);
  CHECK(o.account == "main");
  CHECK(o.identity == Identity{IdentityKind::phone, "+48601234567"});
  CHECK(o.opted_out);
}

TEST_CASE("twilio: opt-out and opt-in keywords, with and without OptOutType", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  auto opt = [&](const std::string& extra) -> std::optional<bool> {
    const std::string body =
        "MessageSid=SM00000000000000000000000000000001&AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01&From=%2B48601234567" +
        extra;
    auto events = adapter.parse_verified({std::string(twilio::kSmsPath), kForm, body, "main"});
    REQUIRE(events.ok());
    REQUIRE_FALSE(events->empty());
    CHECK(std::holds_alternative<InboundMessage>(events->front()));
    if (events->size() == 1) return std::nullopt;
    REQUIRE(events->size() == 2);
    return std::get<OptOut>(events->back()).opted_out;
  };
  for (const char* word : {"STOP", "stop", "+Stop+", "%09STOPALL%0A", "unsubscribe", "Cancel", "END", "quit",
                           "REVOKE", "optout"}) {
    INFO(word);
    CHECK(opt(std::string("&Body=") + word) == std::optional<bool>(true));
  }
  for (const char* word : {"START", "yes", "Unstop"}) {
    INFO(word);
    CHECK(opt(std::string("&Body=") + word) == std::optional<bool>(false));
  }
  for (const char* word : {"HELP", "STOP+please", "S+TOP", "NIE", "", "ST%C3%93P"}) {
    INFO(word);
    CHECK(opt(std::string("&Body=") + word) == std::nullopt);
  }
  // Advanced Opt-Out decides (localised keywords), whatever the Body says.
  CHECK(opt("&Body=NIE&OptOutType=STOP") == std::optional<bool>(true));
  CHECK(opt("&Body=TAK&OptOutType=START") == std::optional<bool>(false));
  CHECK(opt("&Body=STOP&OptOutType=HELP") == std::nullopt);
}

TEST_CASE("twilio: senders that are no phone number, and missing fields", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  auto parse = [&](const std::string& body) {
    return adapter.parse_verified({std::string(twilio::kSmsPath), kForm, body, "main"});
  };
  auto events = parse("MessageSid=SM1&From=ALLEGRO&Body=Kod%3A+1234");
  REQUIRE(events.ok());
  const InboundMessage& m = message_at(*events);
  CHECK(m.sender == "ALLEGRO");
  CHECK(m.identities == std::vector<Identity>{{IdentityKind::api, "sms:main:ALLEGRO"}});
  // A local number is read in the default region.
  events = parse("MessageSid=SM2&From=601234567&Body=x");
  REQUIRE(events.ok());
  CHECK(message_at(*events).identities == std::vector<Identity>{{IdentityKind::phone, "+48601234567"}});

  for (const char* body : {"From=%2B48601234567&Body=x", "MessageSid=&From=%2B48601234567",
                                 "MessageSid=SM3&Body=x"}) {
    INFO(body);
    auto missing = parse(body);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == ErrorKind::invalid);
    CHECK(missing.error().code == "missing_field");
  }
  // Signed but without MessageSid: refused as malformed once verified.
  const std::string signed_body = "AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01&From=%2B48601234567&Body=x";
  auto r = adapter.parse_sms(request(kSmsTarget, signed_body, sign(kSmsTarget, signed_body)));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "missing_field");
}

TEST_CASE("twilio: status callbacks become delivery statuses", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  auto delivered = accept(adapter,
                          request("/webhooks/twilio/status?outbox=43", fixture("status_delivered.form"),
                                  "f0b307yE/5d71OWem0SSXZ7ziQY="),
                          false);
  REQUIRE(delivered.size() == 1);
  REQUIRE(std::holds_alternative<DeliveryStatus>(delivered[0]));
  const DeliveryStatus& d = std::get<DeliveryStatus>(delivered[0]);
  CHECK(d.channel == Channel::sms);
  CHECK(d.account == "main");
  CHECK(d.external_id == "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d");
  CHECK(d.status == "delivered");
  CHECK(d.error.empty());

  auto failed = accept(adapter,
                       request("/webhooks/twilio/status?outbox=44", fixture("status_undelivered.form"),
                               "PaOV9WLoVQKptSmT3+wOhPYNko0="),
                       false);
  REQUIRE(failed.size() == 1);
  const DeliveryStatus& f = std::get<DeliveryStatus>(failed[0]);
  CHECK(f.external_id == "SM8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e");
  CHECK(f.status == "failed");
  CHECK(f.error == "30003 unreachable handset");

  auto status = [&](const std::string& extra) {
    auto events = adapter.parse_verified(
        {std::string(twilio::kStatusPath), kForm, "MessageSid=SM9&AccountSid=ACx" + extra, "main"});
    REQUIRE(events.ok());
    return *events;
  };
  for (const char* s : {"queued", "sending", "accepted", "scheduled", "canceled", "receiving", "received",
                        "partially_delivered", ""}) {
    INFO(s);
    CHECK(status(std::string("&MessageStatus=") + s).empty());
  }
  for (const char* s : {"sent", "read"}) {
    auto events = status(std::string("&MessageStatus=") + s);
    REQUIRE(events.size() == 1);
    CHECK(std::get<DeliveryStatus>(events[0]).status == s);
  }
  auto events = status("&MessageStatus=failed&ErrorCode=30007");
  REQUIRE(events.size() == 1);
  CHECK(std::get<DeliveryStatus>(events[0]).error == "30007 carrier filtering");
  events = status("&MessageStatus=undelivered&ErrorCode=30010");
  CHECK(std::get<DeliveryStatus>(events.at(0)).error == "30010");
  events = status("&MessageStatus=failed");
  CHECK(std::get<DeliveryStatus>(events.at(0)).error == "failed");
}

TEST_CASE("twilio: a verified request replays to the same events without its signature", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options());
  // What the daemon spools: routed as /webhooks/twilio/sms, verified, then written to disk.
  const HttpRequest r = request(kSmsTarget, fixture("inbound_stop.form"), "pocuO1mXfdJf2jbG+O5ieu9FUws=");
  auto verified = adapter.verify(r, twilio::kSmsPath);
  REQUIRE(verified.ok());
  CHECK(verified->path == "/webhooks/twilio/sms");
  CHECK(verified->content_type == kForm);
  CHECK(verified->body == r.body);
  CHECK(verified->account == "main");

  // Later, perhaps after a restart with the token rotated away: no signature is checked.
  twilio::TwilioAdapter restarted(options({main_account({"rotated_token"})}));
  auto replayed = restarted.parse_verified(twilio::Verified{verified->path, verified->content_type, verified->body,
                                                            verified->account});
  auto direct = adapter.parse_sms(r);
  REQUIRE(replayed.ok());
  REQUIRE(direct.ok());
  REQUIRE(replayed->size() == 2);
  CHECK(std::get<InboundMessage>((*replayed)[0]).external_id == std::get<InboundMessage>((*direct)[0]).external_id);
  CHECK(std::get<OptOut>((*replayed)[1]).identity == std::get<OptOut>((*direct)[1]).identity);

  // verify() refuses what parse_sms() refuses.
  auto forged = adapter.verify(request(kSmsTarget, r.body, "L0KGUO6HFRmPN/r454xfQaMGQG8="), twilio::kSmsPath);
  REQUIRE_FALSE(forged.ok());
  CHECK(forged.error().code == "bad_signature");
  CHECK(adapter.verify(r, "/webhooks/twilio/other").error().code == "unknown_path");

  auto status = adapter.verify(request("/webhooks/twilio/status?outbox=44", fixture("status_undelivered.form"),
                                       "PaOV9WLoVQKptSmT3+wOhPYNko0="),
                               twilio::kStatusPath);
  REQUIRE(status.ok());
  auto status_events = adapter.parse_verified(*status);
  REQUIRE(status_events.ok());
  CHECK(std::get<DeliveryStatus>(status_events->at(0)).error == "30003 unreachable handset");

  auto json = adapter.verify(request(kJsonTarget, fixture("json_body.json"), "6oPiC+tT5KbyKS4p+sRe8mZwFE4=",
                                     "application/json"),
                             twilio::kStatusPath);
  REQUIRE(json.ok());
  CHECK(json->account == "main");
  CHECK(adapter.parse_verified(*json).ok());

  // A spooled record that is damaged on disk is an error, not a crash.
  CHECK(adapter.parse_verified({"/webhooks/twilio/sms", kForm, "Body=%", "main"}).error().code == "malformed_form");
  CHECK(adapter.parse_verified({"/elsewhere", kForm, r.body, "main"}).error().code == "unknown_path");
  CHECK(adapter.parse_verified({"/webhooks/twilio/sms", "", r.body, "main"}).error().code ==
        "unsupported_content_type");
}

TEST_CASE("twilio: options are validated", "[channels][twilio]") {
  CHECK(twilio::validate(options()).ok());
  CHECK(twilio::TwilioAdapter(options()).name() == "twilio");
  CHECK(twilio::TwilioAdapter(options()).posture().max_body_bytes == 4 * 1024 * 1024);
  auto error_of = [](const twilio::Options& o) {
    auto s = twilio::validate(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::config);
    CHECK(s.error().code == "invalid_twilio_options");
    return s.error().message;
  };
  auto o = options();
  o.public_url = "switchboard.example.com";
  CHECK(error_of(o) == "public_url must be an http:// or https:// URL");
  o = options();
  o.public_url += "/";
  CHECK(error_of(o) == "public_url must not end with '/'");
  o = options();
  o.accounts.clear();
  CHECK(error_of(o) == "at least one twilio account is required");
  o = options();
  o.accounts[1].name = "main";
  CHECK(error_of(o) == "account 'main' is configured twice");
  o = options();
  o.accounts[1].account_sid = kSid;
  CHECK(error_of(o) == "account_sid of 'other' is used by another account");
  o = options();
  o.accounts[0].auth_tokens.clear();
  CHECK(error_of(o) == "account 'main' has no auth token");
  o = options();
  o.accounts[0].from = "+48732123456";
  CHECK(error_of(o) == "account 'main' needs exactly one of from and messaging_service_sid");
  o.accounts[0].from.clear();
  o.accounts[0].messaging_service_sid.clear();
  CHECK(error_of(o) == "account 'main' needs exactly one of from and messaging_service_sid");
}
