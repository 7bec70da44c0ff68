// libFuzzer: the Twilio form parser (and its encoder, which must round-trip whatever it accepts),
// the signature's sorting and URL variants, and the parse of a verified SMS / status body, as
// form and as JSON: what a replayed spool record or a signed-but-hostile request can reach.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "channels/twilio/adapter.hpp"

namespace twilio = switchboard::channels::twilio;

namespace {

const twilio::TwilioAdapter& adapter() {
  static const twilio::TwilioAdapter instance([] {
    twilio::Options o;
    o.public_url = "https://switchboard.example.com";
    twilio::Account a;
    a.name = "main";
    a.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01";
    a.auth_tokens = {"test_auth_token"};
    a.messaging_service_sid = "MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02";
    o.accounts = {a};
    return o;
  }());
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);

  auto params = twilio::parse_form(body);
  if (params) {
    auto again = twilio::parse_form(twilio::form_encode(*params));
    if (!again || *again != *params) std::abort();
    if (twilio::signature("test_auth_token", "https://switchboard.example.com/webhooks/twilio/sms", *params).size() != 28)
      std::abort();
  }
  const auto urls = twilio::url_variants(body);
  if (urls.empty() || urls.front() != body || urls.size() > 2) std::abort();

  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  auto sms = adapter().parse_verified({std::string(twilio::kSmsPath), std::string(kForm), body, "main"});
  // Replay parses the body exactly as the webhook did: malformed for both or for neither.
  const bool malformed = !sms && sms.error().code == "malformed_form";
  if (malformed == params.ok()) std::abort();
  (void)adapter().parse_verified({std::string(twilio::kStatusPath), std::string(kForm), body, "main"}).ok();
  for (std::string_view path : {twilio::kSmsPath, twilio::kStatusPath})
    (void)adapter().parse_verified({std::string(path), "application/json", body, "main"}).ok();
  return 0;
}
