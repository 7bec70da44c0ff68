// Twilio's webhook endpoints: POST /webhooks/twilio/sms (inbound SMS, answered with empty TwiML:
// replies go out through the REST API after the commit) and POST /webhooks/twilio/status
// (status callbacks). Twilio does not redeliver: when the database cannot take a verified
// request, it is kept in the durable spool (Host::spooler) and answered 200, and replayed
// through parse_spooled once the database is back.
#include <type_traits>

#include "channels/twilio/adapter.hpp"
#include "routing/core/log.hpp"

namespace switchboard::channels::twilio {

Status TwilioAdapter::attach(Host& host) {
  Spooler& spool = host.spooler();  // asked for now: the daemon opens it before serving
  for (const auto path : {kSmsPath, kStatusPath}) {
    const bool sms = path == kSmsPath;
    auto added = host.route("POST", path, [this, &host, &spool, sms](const HttpRequest& request, const PathParams&) {
      const auto reject = [&](const Error& e) {
        return host.reject(request, sms ? "twilio_sms" : "twilio_status", "webhook_rejected", e);
      };
      auto events = parse_webhook(request);  // the signature is checked before any field is read
      if (!events) return reject(events.error());
      const auto answer = [sms] {
        HttpResponse ok;
        ok.status = 200;
        if (sms) {
          ok.content_type = "text/xml";
          ok.body = R"(<?xml version="1.0" encoding="UTF-8"?><Response></Response>)";
        }
        return ok;
      };
      if (events->empty()) {
        log::info("webhook_ignored", {{"path", request.path},
                                      {"reason", "nothing we record (e.g. a queued or sending status)"},
                                      {"req", request.request_id}});
        return answer();
      }
      std::optional<Error> unavailable;
      if (!host.intake().ready()) {
        unavailable = not_ready();
      } else if (auto applied = host.intake().accept(request.request_id, *events); !applied) {
        unavailable = applied.error();
      }
      if (!unavailable) return answer();

      // The spool write stands in for the commit.
      SpooledRequest spooled;
      spooled.path = request.path;
      std::visit(
          [&spooled](const auto& e) {
            if constexpr (std::is_same_v<std::decay_t<decltype(e)>, Echo>)
              spooled.account = e.message.account;
            else
              spooled.account = e.account;
          },
          events->front());
      const std::string* content_type = request.header("Content-Type");
      spooled.content_type = content_type ? *content_type : std::string();
      spooled.request_id = request.request_id;
      spooled.received_at = host.clock().now();
      spooled.body = request.body;
      auto kept = spool.keep(spooled, unavailable->message);
      if (!kept) return reject(kept.error());
      return answer();
    });
    if (!added) return added;
  }
  return Ok{};
}

Result<std::vector<InboundEvent>> TwilioAdapter::parse_spooled(const SpooledRequest& request) {
  return parse_verified({request.path, request.content_type, request.body, request.account});
}

}  // namespace switchboard::channels::twilio
