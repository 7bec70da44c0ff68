#include "daemon/metrics.hpp"

#include "routing/core/message.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace switchboard::daemon {

struct Metrics::Impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& inbound =
      prometheus::BuildCounter()
          .Name("switchboard_inbound_messages_total")
          .Help("Inbound messages by channel and result (stored, duplicate, rejected)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& rejected =
      prometheus::BuildCounter()
          .Name("switchboard_rejected_requests_total")
          .Help("Requests refused (4xx, 5xx) by endpoint (meta, twilio_sms, twilio_status, api) and reason")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& unconfigured =
      prometheus::BuildCounter()
          .Name("switchboard_unconfigured_account_messages_total")
          .Help("Messages stored but not routed because the account they came to is not configured")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& http =
      prometheus::BuildCounter()
          .Name("switchboard_http_responses_total")
          .Help("HTTP responses by status class")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& outbox =
      prometheus::BuildCounter()
          .Name("switchboard_outbox_sends_total")
          .Help("Send attempts from the outbox by channel and result (delivered, sent, retry, failed)")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& reload_failures =
      prometheus::BuildCounter()
          .Name("switchboard_rules_reload_failures_total")
          .Help("Rules reloads rejected because the new file had errors")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& build =
      prometheus::BuildGauge().Name("switchboard_build_info").Help("Version and git commit").Register(registry);
  prometheus::Family<prometheus::Gauge>& rules =
      prometheus::BuildGauge()
          .Name("switchboard_rules_info")
          .Help("The active rules file, by SHA-256 (the same hash is in every audit row)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& database_up =
      prometheus::BuildGauge().Name("switchboard_database_up").Help("1 when the database answers").Register(registry);
  prometheus::Family<prometheus::Gauge>& backlog =
      prometheus::BuildGauge()
          .Name("switchboard_outbox_rows")
          .Help("Outbox rows waiting (queued) or claimed (sending)")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& in_flight =
      prometheus::BuildGauge().Name("switchboard_in_flight").Help("Work in progress by kind").Register(registry);
  prometheus::Family<prometheus::Gauge>& spool_requests =
      prometheus::BuildGauge()
          .Name("switchboard_spool_waiting_requests")
          .Help("Webhook requests kept in the durable spool until the database takes them")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& spool_bytes =
      prometheus::BuildGauge()
          .Name("switchboard_spool_waiting_bytes")
          .Help("Size of the requests waiting in the durable spool")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& spool_events =
      prometheus::BuildCounter()
          .Name("switchboard_spool_requests_total")
          .Help("Requests spooled while the database was down, replayed from the spool, or rejected on replay")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& platform_events =
      prometheus::BuildCounter()
          .Name("switchboard_platform_events_total")
          .Help("Delivery statuses, echoes and opt-outs reported by platforms, by outcome")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& mail =
      prometheus::BuildCounter()
          .Name("switchboard_mail_fetched_total")
          .Help("Mail taken from IMAP mailboxes, one result per mail: stored, duplicate, system (a bounce or "
                "report), quarantined")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& mailbox_up =
      prometheus::BuildGauge()
          .Name("switchboard_mailbox_up")
          .Help("1 while the mailbox is polled normally, 0 while its server is down or another daemon polls it")
          .Register(registry);
  std::mutex rules_mu;
  prometheus::Gauge* active_rules = nullptr;
};

Metrics::Metrics(const std::string& version, const std::string& commit) : impl_(std::make_unique<Impl>()) {
  impl_->build.Add({{"version", version}, {"commit", commit}}).Set(1);
  impl_->reload_failures.Add({});
  // Counters without variable labels are exported from the start, at 0.
  for (const char* event : {"spooled", "replayed", "rejected"}) impl_->spool_events.Add({{"event", event}});
}

Metrics::~Metrics() = default;

void Metrics::inbound(std::string_view channel, std::string_view result) {
  impl_->inbound.Add({{"channel", std::string(channel)}, {"result", std::string(result)}}).Increment();
}

void Metrics::rejected(std::string_view endpoint, std::string_view reason) {
  impl_->rejected.Add({{"endpoint", std::string(endpoint)}, {"reason", std::string(reason)}}).Increment();
}

void Metrics::unconfigured_account(std::string_view channel, std::string_view account) {
  impl_->unconfigured.Add({{"channel", std::string(channel)}, {"account", std::string(account)}}).Increment();
}

void Metrics::http_response(int status) {
  impl_->http.Add({{"code", std::to_string(status / 100) + "xx"}}).Increment();
}

void Metrics::outbox_send(std::string_view channel, std::string_view result) {
  // A `channel` label is always a CONTRACT channel: rows of other kinds (the rules' notify:
  // POSTs) are told apart by `kind` and carry no channel.
  const bool reply = channel_from_string(channel).has_value();
  impl_->outbox
      .Add({{"channel", reply ? std::string(channel) : std::string()},
            {"kind", reply ? std::string("reply") : std::string(channel)},
            {"result", std::string(result)}})
      .Increment();
}

void Metrics::rules_loaded(const std::string& hash) {
  std::lock_guard lock(impl_->rules_mu);
  if (impl_->active_rules) impl_->rules.Remove(impl_->active_rules);
  impl_->active_rules = &impl_->rules.Add({{"hash", hash}});
  impl_->active_rules->Set(1);
}

void Metrics::rules_reload_failed() { impl_->reload_failures.Add({}).Increment(); }

void Metrics::mail(std::string_view mailbox, std::string_view result) {
  impl_->mail.Add({{"mailbox", std::string(mailbox)}, {"result", std::string(result)}}).Increment();
}

void Metrics::spool(std::string_view event) { impl_->spool_events.Add({{"event", std::string(event)}}).Increment(); }

void Metrics::platform_event(std::string_view channel, std::string_view kind, std::string_view result) {
  impl_->platform_events
      .Add({{"channel", std::string(channel)}, {"kind", std::string(kind)}, {"result", std::string(result)}})
      .Increment();
}

std::string Metrics::render(const Snapshot& s) {
  impl_->database_up.Add({}).Set(s.database_up ? 1 : 0);
  if (s.outbox_queued >= 0) impl_->backlog.Add({{"state", "queued"}}).Set(static_cast<double>(s.outbox_queued));
  if (s.outbox_sending >= 0) impl_->backlog.Add({{"state", "sending"}}).Set(static_cast<double>(s.outbox_sending));
  impl_->in_flight.Add({{"kind", "http_requests"}}).Set(static_cast<double>(s.http_in_flight));
  impl_->in_flight.Add({{"kind", "outbox_sends"}}).Set(static_cast<double>(s.outbox_in_flight));
  impl_->spool_requests.Add({}).Set(static_cast<double>(s.spool_requests));
  for (const auto& [name, up] : s.sources_up) impl_->mailbox_up.Add({{"mailbox", name}}).Set(up ? 1 : 0);
  impl_->spool_bytes.Add({}).Set(static_cast<double>(s.spool_bytes));
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace switchboard::daemon
