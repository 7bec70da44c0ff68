// The running daemon: wires config, rules, the database pool, the pipeline, the channel
// adapters and the HTTP routes together. Everything here is glue; logic lives below.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "channels/host.hpp"
#include "channels/http.hpp"
#include "channels/registry.hpp"
#include "channels/routes.hpp"
#include "channels/tokens.hpp"
#include "daemon/metrics.hpp"
#include "daemon/outbox_worker.hpp"
#include "daemon/api/rest_api.hpp"
#include "daemon/config.hpp"
#include "daemon/event_bus.hpp"
#include "daemon/search_indexer.hpp"
#include "daemon/spool.hpp"
#include "daemon/web/static_site.hpp"
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

// App is the channels' Host (routes, intake, spool, counters: channels/host.hpp): each adapter
// in the registry attaches itself; App knows no channel's endpoints.
class App final : private channels::Host,
                  private channels::Intake,
                  private channels::Spooler,
                  private channels::Sources {
 public:
  App(Config config, std::shared_ptr<const routing::RuleSet> rules, const std::string& version = "dev",
      const std::string& commit = "unknown");
  ~App() override;

  // Binds the listener and starts migrating the database in the background. Errors: config
  // (an adapter's routes clash, the spool directory cannot be used), or the listener's.
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
  // One message through the pipeline with the active rules; counted in /metrics and logged.
  Result<storage::IngestOutcome> ingest(const std::string& request_id, const InboundMessage& message);
  // The daemon's own routes (health, metrics, the REST API), then each adapter's.
  Status add_routes();
  Status add_console();
  static std::unique_ptr<search::Stemmer> open_stemmer();

  // channels::Host
  Status route(std::string method, std::string_view pattern, channels::RouteHandler handler) override;
  channels::Intake& intake() override { return *this; }
  channels::Spooler& spooler() override;
  HttpResponse reject(const HttpRequest& request, std::string_view endpoint, std::string_view event,
                      const Error& error) override;
  void unconfigured_account(std::string_view channel, std::string_view account) override;
  const Clock& clock() const override { return clock_; }
  channels::Sources& sources() override { return *this; }
  // channels::Intake
  bool ready() const override { return schema_ready_; }
  Status accept(const std::string& request_id, const std::vector<InboundEvent>& events,
                channels::IntakeReport* report = nullptr) override;
  // channels::Spooler
  Result<std::string> keep(const channels::SpooledRequest& request, std::string_view reason) override;

  // channels::Sources
  std::unique_ptr<channels::SourceLock> lock(const std::string& source) override;
  Result<std::optional<channels::SourcePosition>> position(const std::string& source, const std::string& part) override;
  Status save_position(const std::string& source, const std::string& part,
                       const channels::SourcePosition& position) override;
  void fetched(const std::string& source, std::string_view result) override;

  // Replays spooled requests whenever the database is ready; runs on its own thread.
  void replay_spool();
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
  channels::RouteTable routes_;
  Auth auth_;
  RestApi rest_;
  std::optional<StaticSite> console_;  // console_dir's build, loaded by add_routes()
  std::string attaching_ = "daemon";  // who is adding routes (add_routes)
  Status setup_ = Ok{};               // the first error of the constructor, reported by start()
  std::unique_ptr<Spool> spool_;  // when an adapter asked for it (Host::spooler)
  std::mutex spool_mu_;
  std::condition_variable spool_cv_;
  std::thread replayer_;
  std::unique_ptr<http::Server> server_;
  // One LISTEN connection for every notification channel (before outbox_: it outlives it).
  EventBus bus_{config_.database_url, {"switchboard_outbox"}};
  // GET /api/v1/stream: polls the events table (before outbox_).
  StreamHub stream_{pool_, clock_, StreamOptions{config_.stream.keep, config_.stream.max_backlog},
                    [this](const std::string& login) { return rest_.viewer_of(login); }};
  std::unique_ptr<OutboxWorker> outbox_;
  // Polish stems for search (hunspell-pl); null when the dictionary is missing (words only).
  std::unique_ptr<search::Stemmer> stemmer_ = open_stemmer();
  SearchIndexer indexer_{pool_, stemmer_.get()};
  std::atomic<bool> schema_ready_{false};
  std::mutex lifecycle_mu_;  // orders outbox start (after migrating) against stop
  std::atomic<bool> stopping_{false};
  std::thread migrator_;
};

}  // namespace switchboard::daemon
