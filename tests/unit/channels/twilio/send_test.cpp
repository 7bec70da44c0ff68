// Tests for channels/twilio's send(): the Messages API request as a local fake of Twilio sees it
// (protocols/twilio.md "Sending"), and how each answer or failure maps to the outbox's classes.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>

#include "channels/retry.hpp"
#include "channels/twilio/adapter.hpp"
#include "tests/unit/channels/local_server.hpp"

using namespace switchboard;
using namespace switchboard::channels;
using namespace std::chrono_literals;
using testing::Gate;
using testing::LocalServer;
using testing::Recorder;

namespace {

const char* kSid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SWITCHBOARD_SHARED_DIR "/protocols/fixtures/twilio/") + name, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

twilio::Options options(std::string api_base_url) {
  twilio::Options o;
  o.public_url = "https://switchboard.example.com";
  o.api_base_url = std::move(api_base_url);
  o.send_timeout = 2s;
  twilio::Account service;
  service.name = "main";
  service.account_sid = kSid;
  service.auth_tokens = {"test_auth_token", "old_token"};
  service.messaging_service_sid = "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02";
  twilio::Account number;
  number.name = "number";
  number.account_sid = "ACcccccccccccccccccccccccccccccc03";
  number.auth_tokens = {"number_token"};
  number.from = "+48732123456";
  o.accounts = {service, number};
  return o;
}

OutboundMessage reply(std::string account = "main") {
  OutboundMessage m;
  m.outbox_id = "43";
  m.message_id = "1001";
  m.channel = Channel::sms;
  m.account = std::move(account);
  m.conversation_id = "7";
  m.recipient = "+48601234567";
  m.text = "Dziękujemy! Paczka wyszła dziś, numer przesyłki: 00123456789.";
  return m;
}

HttpResponse answer(int status, std::string body, std::string content_type = "application/json") {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

std::string header(const HttpRequest& r, const char* name) {
  const std::string* v = r.header(name);
  return v ? *v : std::string("<absent>");
}

// send() against a fake answering `status` and `body`; the error it returns.
SendResult failed_send(int status, std::string body) {
  LocalServer server([&](const HttpRequest&) { return answer(status, body); });
  twilio::TwilioAdapter adapter(options(server.url("")));
  auto sent = adapter.send(reply());
  REQUIRE_FALSE(sent.ok());
  return sent;
}

Error failure(int status, std::string body) { return failed_send(status, std::move(body)).error(); }

}  // namespace

TEST_CASE("twilio: send posts the form with basic auth and reads the sid of a 201", "[channels][twilio]") {
  Recorder recorder;
  LocalServer server([&](const HttpRequest& r) {
    recorder.add(r);
    return answer(201, fixture("send_response.json"));
  });
  twilio::TwilioAdapter adapter(options(server.url("")));
  auto sent = adapter.send(reply());
  if (!sent) FAIL(sent.error().code << " " << sent.error().message);
  CHECK(sent->external_id == "SM9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d");
  CHECK(sent->status == "sent");

  const auto requests = recorder.requests();
  REQUIRE(requests.size() == 1);
  const HttpRequest& r = requests[0];
  CHECK(r.method == "POST");
  CHECK(r.path == "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01/Messages.json");
  // base64("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01:test_auth_token"): the first token sends.
  CHECK(header(r, "Authorization") == "Basic QUNhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEwMTp0ZXN0X2F1dGhfdG9rZW4=");
  CHECK(header(r, "Content-Type") == "application/x-www-form-urlencoded");
  // Byte for byte the documented request: To, MessagingServiceSid, Body, StatusCallback.
  CHECK(r.body == fixture("send_request.form"));
}

TEST_CASE("twilio: send from a number, and without status callbacks", "[channels][twilio]") {
  Recorder recorder;
  LocalServer server([&](const HttpRequest& r) {
    recorder.add(r);
    return answer(201, R"({"sid":"SM0123","status":"queued"})");
  });
  auto o = options(server.url(""));
  o.status_callbacks = false;
  twilio::TwilioAdapter adapter(o);
  auto sent = adapter.send(reply("number"));
  REQUIRE(sent.ok());
  CHECK(sent->external_id == "SM0123");
  const auto requests = recorder.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].path == "/2010-04-01/Accounts/ACcccccccccccccccccccccccccccccc03/Messages.json");
  auto form = twilio::parse_form(requests[0].body);
  REQUIRE(form.ok());
  const twilio::Params expected = {{"To", "+48601234567"},
                                   {"From", "+48732123456"},
                                   {"Body", "Dziękujemy! Paczka wyszła dziś, numer przesyłki: 00123456789."}};
  CHECK(*form == expected);
}

TEST_CASE("twilio: a 2xx without a readable sid still counts as sent", "[channels][twilio]") {
  LocalServer server([&](const HttpRequest&) { return answer(201, "<html>", "text/html"); });
  twilio::TwilioAdapter adapter(options(server.url("")));
  auto sent = adapter.send(reply());
  REQUIRE(sent.ok());
  CHECK(sent->external_id.empty());
  CHECK(sent->status == "sent");
}

TEST_CASE("twilio: 21610 means the recipient opted out", "[channels][twilio]") {
  const Error e = failure(400, fixture("error_21610.json"));
  CHECK(e.code == "opted_out");
  CHECK(classify(e) == SendFailure::permanent);
  CHECK(e.message == "twilio answered 400, error 21610: Attempt to send to unsubscribed recipient");
  CHECK(failed_send(400, fixture("error_21610.json")).outcome() == SendOutcome::opted_out);
}

TEST_CASE("twilio: the adapter's outcome of each answer tells the outbox what to do", "[channels][twilio]") {
  CHECK(failed_send(401, "").outcome() == SendOutcome::credentials_rejected);
  CHECK(failed_send(401, R"({"code":20003,"message":"Authenticate"})").outcome() == SendOutcome::credentials_rejected);
  CHECK(failed_send(429, "").outcome() == SendOutcome::retry_after);
  CHECK(failed_send(503, "<html>busy</html>").outcome() == SendOutcome::retry_after);
  CHECK(failed_send(400, R"({"code":21211,"message":"Invalid 'To' Phone Number"})").outcome() ==
        SendOutcome::permanent);
  CHECK(failed_send(400, R"({"code":21408,"message":"region"})").outcome() == SendOutcome::permanent);
}

TEST_CASE("twilio: rate limits and server errors are retried", "[channels][twilio]") {
  Error e = failure(429, R"({"code":20429,"message":"Too Many Requests","status":429})");
  CHECK(e.kind == ErrorKind::unavailable);
  CHECK(e.code == "twilio_unavailable");
  CHECK(classify(e) == SendFailure::retryable);
  CHECK(e.message == "twilio answered 429, error 20429: Too Many Requests");

  e = failure(429, "");
  CHECK(classify(e) == SendFailure::retryable);
  CHECK(e.message == "twilio answered 429");
  e = failure(503, "<html>busy</html>");
  CHECK(classify(e) == SendFailure::retryable);
  e = failure(400, R"({"code":20429,"message":"Too Many Requests"})");
  CHECK(classify(e) == SendFailure::retryable);
}

TEST_CASE("twilio: refused credentials are a configuration error", "[channels][twilio]") {
  Error e = failure(401, R"({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})");
  CHECK(e.kind == ErrorKind::config);
  CHECK(e.code == "invalid_credentials");
  CHECK(classify(e) == SendFailure::permanent);
  CHECK(e.message == "twilio answered 401, error 20003: Authenticate");
  e = failure(401, "");
  CHECK(e.code == "invalid_credentials");
}

TEST_CASE("twilio: recipient and other client errors fail permanently", "[channels][twilio]") {
  Error e = failure(400, R"({"code":21211,"message":"Invalid 'To' Phone Number","status":400})");
  CHECK(e.kind == ErrorKind::invalid);
  CHECK(e.code == "invalid_recipient");
  CHECK(e.message == "twilio answered 400, error 21211: Invalid 'To' Phone Number");
  CHECK(failure(400, R"({"code":21614,"message":"not a mobile number"})").code == "invalid_recipient");
  e = failure(400, R"({"code":"21408","message":"Permission to send an SMS has not been enabled"})");
  CHECK(e.code == "region_not_enabled");
  CHECK(classify(e) == SendFailure::permanent);
  e = failure(400, R"({"code":21617,"message":"The concatenated message body exceeds the 1600 character limit"})");
  CHECK(e.code == "twilio_error");
  CHECK(classify(e) == SendFailure::permanent);
  CHECK(e.message == "twilio answered 400, error 21617: The concatenated message body exceeds the 1600 character limit");
}

TEST_CASE("twilio: an unreachable or slow API is retried", "[channels][twilio]") {
  twilio::TwilioAdapter refused(options("http://127.0.0.1:" + std::to_string(testing::closed_port())));
  auto sent = refused.send(reply());
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.error().kind == ErrorKind::unavailable);
  CHECK(sent.error().code == "transport_error");
  CHECK(sent.error().message.rfind("twilio request failed: ", 0) == 0);

  Gate gate;
  LocalServer server([&](const HttpRequest&) {
    gate.wait();
    return answer(201, R"({"sid":"SMlate"})");
  });
  auto o = options(server.url(""));
  o.send_timeout = 200ms;
  twilio::TwilioAdapter slow(o);
  sent = slow.send(reply());
  gate.open();
  REQUIRE_FALSE(sent.ok());
  CHECK(classify(sent.error()) == SendFailure::retryable);
  // Twilio had the request: the outbox must check before sending it again.
  CHECK(sent.error().code == "request_sent_no_answer");
}

TEST_CASE("twilio: send refuses what it cannot send before calling out", "[channels][twilio]") {
  twilio::TwilioAdapter adapter(options("http://127.0.0.1:" + std::to_string(testing::closed_port())));
  auto sent = adapter.send(reply("nobody"));
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.error().kind == ErrorKind::config);
  CHECK(sent.error().code == "unknown_account");
  auto empty = reply();
  empty.text.clear();
  CHECK(adapter.send(empty).error().code == "empty_message");
  auto nowhere = reply();
  nowhere.recipient.clear();
  CHECK(adapter.send(nowhere).error().code == "invalid_recipient");

  twilio::TwilioAdapter bad_url(options("ftp://api.twilio.com"));
  sent = bad_url.send(reply());
  REQUIRE_FALSE(sent.ok());
  CHECK(classify(sent.error()) == SendFailure::permanent);
}

TEST_CASE("twilio: check_resend lists the recipient's messages and offers those that may be ours",
          "[channels][twilio]") {
  Recorder seen;
  std::string listing;
  int status = 200;
  LocalServer server([&](const HttpRequest& r) {
    seen.add(r);
    return answer(status, listing);
  });
  twilio::TwilioAdapter adapter(options(server.url("")));
  const OutboundMessage m = reply("number");
  const Timestamp attempted = *parse_rfc3339("2026-12-05T16:21:30Z");
  const auto message = [&](const std::string& sid, const std::string& body, const std::string& created,
                           const std::string& direction = "outbound-api") {
    return "{\"sid\":\"" + sid + "\",\"body\":\"" + body + "\",\"date_created\":\"" + created +
           "\",\"direction\":\"" + direction + "\",\"to\":\"+48601234567\",\"from\":\"+48732123456\"}";
  };
  const std::string text = "Dzi\\u0119kujemy! Paczka wysz\\u0142a dzi\\u015b, numer przesy\\u0142ki: 00123456789.";
  // Newest first, as Twilio lists them: another text, ours (twice: a reply sent earlier the same
  // minute), an inbound one, ours from yesterday.
  listing = "{\"messages\":[" + message("SMother", "Inny tekst", "Sat, 05 Dec 2026 16:21:40 +0000") + "," +
            message("SMnew", text, "Sat, 05 Dec 2026 16:21:31 +0000") + "," +
            message("SMsame", text, "Sat, 05 Dec 2026 17:20:00 +0100") + "," +
            message("SMin", text, "Sat, 05 Dec 2026 16:21:35 +0000", "inbound") + "," +
            message("SMold", text, "Fri, 04 Dec 2026 16:21:31 +0000") + "],\"page\":0,\"page_size\":50}";
  auto check = adapter.check_resend(m, attempted);
  REQUIRE(check.ok());
  CHECK(check->exactly_once);
  REQUIRE(check->candidates.size() == 2);
  CHECK(check->candidates[0].external_id == "SMsame");  // oldest first
  CHECK(check->candidates[1].external_id == "SMnew");
  REQUIRE(seen.requests().size() == 1);
  const HttpRequest r = seen.requests()[0];
  CHECK(r.method == "GET");
  CHECK(r.path == "/2010-04-01/Accounts/ACcccccccccccccccccccccccccccccc03/Messages.json");
  CHECK(r.query == "To=%2B48601234567&From=%2B48732123456&PageSize=50");
  CHECK(header(r, "Authorization").rfind("Basic ", 0) == 0);

  // Nothing of ours there: no candidate, sent again.
  listing = "{\"messages\":[" + message("SMold", text, "Fri, 04 Dec 2026 16:21:31 +0000") + "]}";
  check = adapter.check_resend(m, attempted);
  REQUIRE(check.ok());
  CHECK(check->candidates.empty());

  // Hostile or odd entries are skipped, never taken for ours: not objects, fields of the wrong
  // type, dates that are no dates, no sid.
  listing = "{\"messages\":[1,\"x\",null,[],{\"sid\":5,\"body\":\"" + text +
            "\"},{\"sid\":\"SMbad\",\"body\":\"" + text + "\",\"direction\":\"outbound-api\"," +
            "\"date_created\":\"yesterday\"},{\"sid\":\"\",\"body\":\"" + text +
            "\",\"direction\":\"outbound-api\",\"date_created\":\"Sat, 05 Dec 2026 16:21:31 +0000\"}," +
            "{\"sid\":\"SMbody\",\"body\":{\"x\":1},\"direction\":\"outbound-api\"," +
            "\"date_created\":\"Sat, 05 Dec 2026 16:21:31 +0000\"}]}";
  check = adapter.check_resend(m, attempted);
  REQUIRE(check.ok());
  CHECK(check->candidates.empty());

  // With a Messaging Service the sender is not known: To alone.
  listing = "{\"messages\":[]}";
  REQUIRE(adapter.check_resend(reply("main"), attempted).ok());
  CHECK(seen.requests().back().query == "To=%2B48601234567&PageSize=50");

  // What cannot be read is "cannot tell", never "not sent".
  for (const auto& [code, body] : std::vector<std::pair<int, std::string>>{
           {500, "{}"}, {401, R"({"code":20003,"message":"Authenticate"})"}, {200, "not json"}, {200, "{\"messages\":{}}"}}) {
    INFO(code << " " << body);
    status = code;
    listing = body;
    auto failed = adapter.check_resend(m, attempted);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().kind == ErrorKind::unavailable);
    CHECK(failed.error().code == "twilio_lookup_failed");
  }
  twilio::TwilioAdapter refused(options("http://127.0.0.1:" + std::to_string(testing::closed_port())));
  auto unreachable = refused.check_resend(m, attempted);
  REQUIRE_FALSE(unreachable.ok());
  CHECK(unreachable.error().code == "twilio_lookup_failed");
}

TEST_CASE("twilio check_reply: the encoding and segments of a person's SMS, and Twilio's 1600 characters",
          "[channels][twilio][send]") {
  twilio::TwilioAdapter adapter(options("http://127.0.0.1:9"));
  auto draft = [](std::string text) {
    OutboundMessage m;
    m.channel = Channel::sms;
    m.account = "main";
    m.recipient = "+48601234567";
    m.text = std::move(text);
    m.from_human = true;
    return m;
  };
  const Timestamp now{std::chrono::seconds{1767618180}};
  auto c = adapter.check_reply(draft(std::string(160, 'a')), now);
  CHECK(c.allowed);
  CHECK(c.encoding == std::optional<std::string>("gsm7"));
  CHECK(c.segments == std::optional<int>(1));
  CHECK(c.window.empty());  // SMS has no reply window
  c = adapter.check_reply(draft(std::string(161, 'a')), now);
  CHECK(c.segments == std::optional<int>(2));
  c = adapter.check_reply(draft("Zażółć gęślą jaźń"), now);  // Polish letters outside GSM-7
  CHECK(c.encoding == std::optional<std::string>("ucs2"));
  CHECK(c.characters == 17);
  c = adapter.check_reply(draft(std::string(1601, 'a')), now);
  CHECK_FALSE(c.allowed);
  CHECK(c.reason == "too_long");
  c = adapter.check_reply(draft(""), now);
  CHECK_FALSE(c.allowed);
  CHECK(c.reason == "empty");
}
