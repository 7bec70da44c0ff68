// The running daemon: wires config, rules, the database pool, the pipeline, the channel
// adapters and the HTTP routes together. Everything here is glue; logic lives below.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "channels/http.hpp"
#include "channels/meta/adapter.hpp"
#include "channels/registry.hpp"
#include "channels/email/adapter.hpp"
#include "channels/twilio/adapter.hpp"
#include "channels/tokens.hpp"
#include "daemon/metrics.hpp"
#include "daemon/outbox_worker.hpp"
#include "daemon/config.hpp"
#include "daemon/email_poller.hpp"
#include "daemon/spool.hpp"
#include "routing/core/time.hpp"
#include "routing/rules/ruleset.hpp"
#include "storage/pipeline.hpp"
#include "storage/pool.hpp"

namespace switchboard::http {
class Server;
}

namespace switchboard::daemon {

// Reads and compiles a rules file; diagnostics go to `diagnostics`. nullptr on any error.
std::shared_ptr<const routing::RuleSet> load_rules(const std::string& path, std::vector<Diagnostic>& diagnostics,
                                                   bool& unreadable);

class App {
 public:
  App(Config config, std::shared_ptr<const routing::RuleSet> rules, const std::string& version = "dev",
      const std::string& commit = "unknown");
  ~App();

  // Binds the listener and starts migrating the database in the background.
  Status start();
  // Serves until stop(); blocks.
  void run();
  void stop();
  // Re-reads the rules file; on errors the old rules stay active and the errors are logged.
  bool reload_rules();

  std::uint16_t port() const;
  HttpResponse handle(const HttpRequest& request);

 private:
  HttpResponse healthz() const;
  // The error's response, with a log line saying why (event, path, status, reason, request id).
  HttpResponse rejected(const HttpRequest& request, std::string_view event, const Error& error) const;
  HttpResponse readyz();
  HttpResponse metrics();
  HttpResponse route(const HttpRequest& request);
  HttpResponse inbound(const HttpRequest& request);
  HttpResponse conversation(const HttpRequest& request, const std::string& id, bool messages);
  HttpResponse agent_reply(const HttpRequest& request, const std::string& id);
  HttpResponse meta_webhook(const HttpRequest& request);
  // Marks WhatsApp messages to a phone_number_id that is not configured as not to be routed
  // (InboundMessage::automated), with a warning and a count.
  void hold_unconfigured_numbers(const std::string& request_id, std::vector<InboundEvent>& events);
  HttpResponse twilio_webhook(const HttpRequest& request);
  // One message through the pipeline with the active rules; counted in /metrics and logged.
  Result<storage::IngestOutcome> ingest(const std::string& request_id, const InboundMessage& message);
  // A verified webhook's events: opt-outs first (a STOP gets no auto-reply), then messages,
  // statuses and echoes. Returns an error only when the database is unavailable (the caller
  // answers 503 or spools, and the platform's redelivery or the replay repeats the lot, which
  // the idempotent writes absorb); events that can never be stored are logged and dropped.
  // Stores a batch of events. An error only when the database is unavailable (nothing after the
  // failing event is applied; everything is safe to apply again). Events that can never be
  // stored are logged, unless `report` asks for them (the caller then decides).
  Status apply(const std::string& request_id, const std::vector<InboundEvent>& events,
               ApplyReport* report = nullptr);
  // Replays spooled requests whenever the database is ready; runs on its own thread.
  void replay_spool();
  Status require_admin(const HttpRequest& request) const;
  std::shared_ptr<const routing::RuleSet> rules() const;
  void migrate_until_ready();

  Config config_;
  SystemClock clock_;
  Metrics metrics_;
  mutable std::mutex rules_mu_;
  std::shared_ptr<const routing::RuleSet> rules_;
  storage::Pool pool_;
  storage::Pipeline pipeline_;
  channels::Registry registry_;
  channels::BearerTokens admin_tokens_;
  channels::meta::MetaAdapter* meta_ = nullptr;  // owned by registry_; null when not configured
  channels::twilio::TwilioAdapter* twilio_ = nullptr;  // the same
  channels::email::EmailAdapter* email_ = nullptr;  // the same
  std::vector<std::unique_ptr<EmailPoller>> pollers_;  // one per mailbox, started with the outbox
  std::unique_ptr<Spool> spool_;  // with the Twilio channel: it does not redeliver
  std::mutex spool_mu_;
  std::condition_variable spool_cv_;
  std::thread replayer_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<OutboxWorker> outbox_;
  std::atomic<bool> schema_ready_{false};
  std::mutex lifecycle_mu_;  // orders outbox start (after migrating) against stop
  std::atomic<bool> stopping_{false};
  std::thread migrator_;
};

}  // namespace switchboard::daemon
