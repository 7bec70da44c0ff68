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
  json::object body;
  body["delivery_id"] = message.outbox_id;
  body["conversation_id"] = message.conversation_id;
  body["message_id"] = message.message_id;
  body["rule"] = message.payload.rule ? json::value(*message.payload.rule) : json::value(nullptr);
  body["template"] = message.payload.template_name;
  body["text"] = message.payload.text;
  return post_signed(SignedPost{.url = message.recipient,
                                .secret = options_.secrets.front(),
                                .delivery_id = message.outbox_id,
                                .body = json::serialize(body),
                                .timeout = options_.timeout,
                                .channel = "notify",
                                .account = ""});
}

}  // namespace switchboard::channels::notify
