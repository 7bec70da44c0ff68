// The API channel's endpoint: POST /api/v1/inbound (CONTRACT.md), answered after the commit
// with the stored message's ids.
#include <boost/json.hpp>

#include "channels/api/adapter.hpp"

namespace switchboard::channels::api {

Status ApiAdapter::attach(Host& host) {
  return host.route("POST", "/api/v1/inbound", [this, &host](const HttpRequest& request, const PathParams&) {
    const auto reject = [&](const Error& e) { return host.reject(request, "api", "inbound_rejected", e); };
    auto events = parse_webhook(request);
    if (!events) return reject(events.error());
    if (!host.intake().ready()) return reject(not_ready());
    IntakeReport report;
    if (auto accepted = host.intake().accept(request.request_id, *events, &report); !accepted)
      return reject(accepted.error());
    if (!report.failures.empty()) return reject(report.failures.front());
    boost::json::object body;
    for (const auto& stored : report.messages) {
      body["message_id"] = stored.message_id;
      body["conversation_id"] = stored.conversation_id;
      body["customer_id"] = stored.customer_id;
      body["duplicate"] = stored.duplicate;
    }
    return json_response(200, boost::json::serialize(body));
  });
}

}  // namespace switchboard::channels::api
