#include "channels/notify/adapter.hpp"

#include <boost/json.hpp>

#include "channels/retry.hpp"
#include "channels/signed_post.hpp"

namespace switchboard::channels::notify {

namespace json = boost::json;

Result<std::vector<InboundEvent>> NotifyAdapter::parse_webhook(const HttpRequest&) {
  return make_error(ErrorKind::not_found, "not_found", "the notify channel takes no inbound requests");
}

SendResult NotifyAdapter::send(const OutboundMessage& message) {
  if (options_.secrets.empty() || options_.secrets.front().empty())
    return send_error(SendFailure::permanent, "no_notify_secret",
                      "no notify secret is configured (notify.secrets in the config)");
  if (!http_url(message.recipient))
    return send_error(SendFailure::permanent, "invalid_notify_url", "the notify URL is not an http:// or https:// URL");
  json::error_code ec;
  json::value payload = json::parse(message.payload, ec);
  if (ec || !payload.is_object())
    return send_error(SendFailure::permanent, "invalid_payload", "the outbox payload is not a JSON object");
  json::object body;
  body["delivery_id"] = message.outbox_id;
  body["conversation_id"] = message.conversation_id;
  body["message_id"] = message.message_id;
  for (const char* key : {"rule", "template", "text"})
    if (const json::value* v = payload.get_object().if_contains(key)) body[key] = *v;
  return post_signed(SignedPost{.url = message.recipient,
                                .secret = options_.secrets.front(),
                                .delivery_id = message.outbox_id,
                                .body = json::serialize(body),
                                .timeout = options_.timeout,
                                .channel = "notify",
                                .account = ""});
}

}  // namespace switchboard::channels::notify
