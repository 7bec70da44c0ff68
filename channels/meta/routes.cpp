// Meta's webhook endpoint (Messenger and WhatsApp): GET /webhooks/meta is the subscription
// handshake, POST /webhooks/meta the signed events. Meta redelivers what is not answered 200,
// so a database outage is answered 503 and nothing is spooled.
#include <algorithm>

#include "channels/meta/adapter.hpp"
#include "routing/core/log.hpp"

namespace switchboard::channels::meta {

namespace {

constexpr std::string_view kWebhookPath = "/webhooks/meta";

}  // namespace

Status MetaAdapter::attach(Host& host) {
  if (auto added = host.route("GET", kWebhookPath,
                              [this](const HttpRequest& request, const PathParams&) { return verify(request); });
      !added)
    return added;
  return host.route("POST", kWebhookPath, [this, &host](const HttpRequest& request, const PathParams&) {
    // A refused request is counted by endpoint: the channels of its messages are not known yet.
    const auto reject = [&](const Error& e) { return host.reject(request, "meta", "webhook_rejected", e); };
    auto events = parse_webhook(request);  // the signature is checked before any parsing
    if (!events) return reject(events.error());
    if (!host.intake().ready()) return reject(not_ready());
    hold_unconfigured_numbers(host, request.request_id, *events);
    if (events->empty())
      // Platforms disable webhooks that keep failing: what we do not handle is acknowledged.
      log::info("webhook_ignored", {{"path", request.path},
                                    {"reason", "no message, status or echo we handle"},
                                    {"bytes", std::to_string(request.body.size())},
                                    {"req", request.request_id}});
    if (auto applied = host.intake().accept(request.request_id, *events); !applied) return reject(applied.error());
    HttpResponse ok;
    ok.status = 200;
    return ok;
  });
}

void MetaAdapter::hold_unconfigured_numbers(Host& host, const std::string& request_id,
                                            std::vector<InboundEvent>& events) const {
  // Stored, so nothing is lost (and Meta would redeliver the whole batch if it were refused), but
  // never routed: no reply could go out from a number we have no token for.
  for (auto& event : events) {
    auto* message = std::get_if<InboundMessage>(&event);
    if (!message || message->channel != Channel::whatsapp || !message->automated.empty()) continue;
    const auto& numbers = options_.whatsapp_numbers;
    if (std::any_of(numbers.begin(), numbers.end(),
                    [&](const auto& n) { return n.phone_number_id == message->account; }))
      continue;
    message->automated = "whatsapp phone_number_id " + message->account + " is not configured";
    host.unconfigured_account("whatsapp", message->account);
    log::warn("whatsapp_number_not_configured",
              {{"phone_number_id", message->account},
               {"external_id", message->external_id},
               {"action", "stored, not routed; add it to channels.meta.whatsapp_numbers"},
               {"req", request_id}});
  }
}

}  // namespace switchboard::channels::meta
