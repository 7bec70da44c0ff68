#include "daemon/app.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "channels/builtin.hpp"
#include "channels/tokens.hpp"
#include "daemon/http/server.hpp"
#include "routing/core/log.hpp"
#include "storage/conversations.hpp"
#include "storage/mailboxes.hpp"
#include "storage/migrate.hpp"
#include "storage/outbox.hpp"
#include "storage/platform_events.hpp"
#include "storage/system_messages.hpp"

namespace switchboard::daemon {

namespace json = boost::json;

namespace {

}  // namespace

std::shared_ptr<const routing::RuleSet> load_rules(const std::string& path, std::vector<Diagnostic>& diagnostics,
                                                   bool& unreadable) {
  unreadable = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    unreadable = true;
    return nullptr;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  routing::CompileOptions options;
  options.source_name = path;
  options.hash = channels::to_hex(channels::sha256(text));
  auto result = routing::compile_rules(text, options);
  diagnostics = std::move(result.diagnostics);
  return result.rules;
}

App::App(Config config, std::shared_ptr<const routing::RuleSet> rules, const std::string& version,
         const std::string& commit)
    : config_(std::move(config)),
      metrics_(version, commit),
      rules_(std::move(rules)),
      pool_(storage::PoolOptions{.url = config_.database_url,
                                 .size = config_.pool_size,
                                 .acquire_timeout = std::chrono::milliseconds{5000},
                                 .connect_timeout = config_.connect_timeout}),
      pipeline_(pool_, clock_),
      auth_(config_.auth, pool_, clock_, admin_tokens_, [this] { return this->rules(); }),
      rest_(pool_, clock_, auth_, static_cast<channels::Intake&>(*this),
            [this](const HttpRequest& request, std::string_view event, const Error& error) {
              return rejected(request, event, error);
            },
            [this] { return this->rules(); },
            [this](std::string_view channel) -> const channels::Adapter* {
              auto sender = registry_.sender(channel);
              return sender ? *sender : nullptr;
            },
            stream_) {
  if (auto registered = channels::register_configured(registry_, config_.channels, clock_); !registered)
    setup_ = registered;
  // Channels that cap automatic replies per recipient (e-mail: RFC 3834).
  storage::PipelineOptions pipeline;
  for (auto* adapter : registry_.all())
    if (auto interval = adapter->auto_reply_interval())
      for (const auto& name : adapter->sends_for())
        if (auto channel = channel_from_string(name)) pipeline.auto_reply_interval[*channel] = *interval;
  pipeline_.set_options(std::move(pipeline));
  std::string origin = config_.public_url;
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  rest_.set_public_origin(std::move(origin));
  rest_.set_stemmer(stemmer_.get());
  rest_.set_default_region(config_.default_region);
  if (setup_) setup_ = add_routes();
  for (const auto& t : config_.admin_tokens) admin_tokens_.add("admin", t);

  http::ServerOptions options;
  options.address = config_.listen_address;
  options.port = config_.listen_port;
  options.io_threads = config_.io_threads;
  options.worker_threads = config_.workers;
  options.header_timeout = config_.header_timeout;
  options.body_timeout = config_.body_timeout;
  options.idle_timeout = config_.idle_timeout;
  std::size_t api_limit = config_.api_body_limit, webhook_limit = config_.webhook_body_limit;
  options.body_limit = [api_limit, webhook_limit](std::string_view path) {
    return path.rfind("/webhooks/", 0) == 0 ? webhook_limit : api_limit;
  };
  server_ = std::make_unique<http::Server>(options, [this](const HttpRequest& r) { return handle(r); });

  if (config_.outbox.workers > 0) {
    OutboxWorkerOptions o;
    o.threads = config_.outbox.workers;
    o.batch = config_.outbox.batch;
    o.sweep_interval = config_.outbox.sweep_interval;
    o.lease = config_.outbox.lease;
    // Half the shutdown budget: results the database does not take yet, then the rest of stop().
    o.record_grace = config_.shutdown_timeout / 2;
    // Live daemons take their lock again within a sweep of a database restart.
    o.restart_grace = std::max<std::chrono::milliseconds>(10 * o.sweep_interval, std::chrono::seconds{5});
    o.retry = channels::RetryPolicy{.base = config_.outbox.retry_base,
                                    .cap = config_.outbox.retry_cap,
                                    .max_attempts = config_.outbox.max_attempts};
    o.on_result = [this](std::string_view channel, std::string_view result) { metrics_.outbox_send(channel, result); };
    outbox_ = std::make_unique<OutboxWorker>(pool_, config_.database_url, registry_, clock_, bus_, o);
  }
  metrics_.rules_loaded(rules_->hash());
}

App::~App() {
  {
    std::lock_guard lock(lifecycle_mu_);  // the migrator starts adapters under it
    stopping_ = true;
  }
  spool_cv_.notify_all();
  if (migrator_.joinable()) migrator_.join();
  if (replayer_.joinable()) replayer_.join();
  // start() without run() (a test, an early exit): background work ends before what it uses.
  for (auto* adapter : registry_.all()) adapter->stop();
}

Status App::start() {
  if (!setup_) return setup_.error();
  if (spool_) {
    // Without a usable spool an SMS that arrives while the database is down would be lost.
    if (auto opened = spool_->open(); !opened) return opened.error();
    if (spool_->count() > 0)
      log::warn("spool_waiting", {{"requests", std::to_string(spool_->count())}, {"dir", spool_->dir()}});
  }
  auto listened = server_->listen();
  if (!listened) return listened.error();
  if (spool_) replayer_ = std::thread([this] { replay_spool(); });
  bus_.start();
  log::info("database_configured", {{"url", storage::redact_database_url(config_.database_url)},
                                    {"pool_size", std::to_string(config_.pool_size)}});
  migrator_ = std::thread([this] { migrate_until_ready(); });
  return Ok{};
}

void App::migrate_until_ready() {
  // The daemon comes up even while PostgreSQL is down: it answers 503 and /readyz says why,
  // and the schema is brought up to date as soon as the database can be reached.
  auto delay = std::chrono::milliseconds{250};
  while (!stopping_) {
    auto applied = storage::migrate(pool_);
    if (applied) {
      for (int v : *applied) log::info("migration_applied", {{"version", std::to_string(v)}});
      {
        // Sending starts only on a current schema, and not at all once a stop has begun.
        std::lock_guard lock(lifecycle_mu_);
        if (!stopping_ && outbox_) outbox_->start();
        if (!stopping_)
          for (auto* adapter : registry_.all()) adapter->start();
        if (!stopping_) stream_.start();
        if (!stopping_) indexer_.start();
        schema_ready_ = true;
      }
      // Logged once requests are taken: tests and operators wait for this line.
      log::info("schema_ready", {{"version", std::to_string(storage::latest_schema_version())}});
      return;
    }
    log::warn("migration_failed", {{"code", applied.error().code}, {"reason", applied.error().message}});
    if (applied.error().kind == ErrorKind::config) delay = std::chrono::milliseconds{30000};
    for (auto waited = std::chrono::milliseconds{0}; waited < delay && !stopping_; waited += std::chrono::milliseconds{50})
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    delay = std::min(delay * 2, std::chrono::milliseconds{5000});
  }
}

void App::run() {
  server_->run();
  // The HTTP side is done (requests in flight answered); now let sends in progress finish.
  {
    std::lock_guard lock(lifecycle_mu_);
    stopping_ = true;
  }
  spool_cv_.notify_all();
  if (migrator_.joinable()) migrator_.join();
  if (replayer_.joinable()) replayer_.join();
  for (auto* adapter : registry_.all()) adapter->stop();
  stream_.stop();
  indexer_.stop();
  if (outbox_) outbox_->stop();
  bus_.stop();
}

void App::stop() {
  {
    std::lock_guard lock(lifecycle_mu_);
    stopping_ = true;
  }
  server_->stop();
}

std::uint16_t App::port() const { return server_->port(); }

std::shared_ptr<const routing::RuleSet> App::rules() const {
  std::lock_guard lock(rules_mu_);
  return rules_;
}

bool App::reload_rules() {
  std::vector<Diagnostic> diagnostics;
  bool unreadable = false;
  auto fresh = load_rules(config_.rules_path, diagnostics, unreadable);
  if (unreadable) {
    log::error("rules_reload_failed", {{"path", config_.rules_path}, {"reason", "cannot read the rules file"}});
    return false;
  }
  for (const auto& d : diagnostics)
    log::emit(d.severity == Diagnostic::Severity::error ? log::Level::error : log::Level::warn, "rules_diagnostic",
              {{"diagnostic", d.format()}});
  if (!fresh) {
    metrics_.rules_reload_failed();
    log::error("rules_reload_failed", {{"path", config_.rules_path}, {"reason", "errors; the previous rules stay active"}});
    return false;
  }
  std::string hash = fresh->hash();
  // People removed from the file, or no longer admins: their sessions and tokens end now.
  std::vector<std::string> revoked;
  {
    std::lock_guard lock(rules_mu_);
    for (const auto& before : rules_->people()) {
      const routing::Person* after = fresh->person(before.login);
      if (!after || (before.role == routing::Role::admin && after->role != routing::Role::admin))
        revoked.push_back(before.login);
    }
    rules_ = std::move(fresh);
  }
  if (!revoked.empty()) {
    if (auto done = storage::revoke_credentials(pool_, revoked); !done)
      log::error("credentials_revoke_failed", {{"reason", done.error().message}});
    else
      log::info("credentials_revoked", {{"people", std::to_string(revoked.size())}, {"sessions_and_tokens", std::to_string(*done)}});
    stream_.revoke(revoked);
  }
  stream_.rules_changed();
  metrics_.rules_loaded(hash);
  log::info("rules_reloaded", {{"path", config_.rules_path}, {"hash", hash}});
  return true;
}

HttpResponse App::handle(const HttpRequest& request) {
  HttpResponse response = routes_.dispatch(request);
  metrics_.http_response(response.status);
  return response;
}

Status App::add_routes() {
  using channels::PathParams;
  for (auto added :
       {routes_.add("GET", "/healthz", [this](const HttpRequest&, const PathParams&) { return healthz(); }),
        routes_.add("GET", "/readyz", [this](const HttpRequest&, const PathParams&) { return readyz(); }),
        routes_.add("GET", "/metrics", [this](const HttpRequest&, const PathParams&) { return metrics(); }),
        rest_.add_routes(routes_)})
    if (!added) return added;
  if (auto console = add_console(); !console) return console;
  for (auto* adapter : registry_.all()) {
    attaching_ = std::string(adapter->name());
    if (auto attached = adapter->attach(*this); !attached) return attached;
  }
  attaching_ = "daemon";
  return Ok{};
}

std::unique_ptr<search::Stemmer> App::open_stemmer() {
  auto stemmer = search::Stemmer::open();
  if (stemmer) return std::move(*stemmer);
  log::warn("search_without_stems", {{"reason", stemmer.error().message}});
  return nullptr;
}

// /console/: the agent console's build from console.dir, or an answer saying it is not there.
Status App::add_console() {
  using channels::PathParams;
  if (!config_.console_dir.empty()) {
    auto site = StaticSite::load(config_.console_dir, std::string(kConsolePolicy));
    if (!site) return make_error(ErrorKind::config, "console", "console.dir: " + site.error().message);
    console_ = std::move(*site);
    log::info("console_loaded", {{"dir", config_.console_dir}, {"assets", std::to_string(console_->assets())}});
  }
  const auto missing = [] {
    return error_response(404, "console_not_installed",
                          "the agent console is not installed here: build it (console/build.mjs) and set console.dir");
  };
  const auto redirect = [](const HttpRequest&, const PathParams&) {
    HttpResponse r;
    r.status = 308;
    r.set_header("Location", "/console/");
    return r;
  };
  const auto index = [this, missing](const HttpRequest& request, const PathParams&) {
    return console_ ? console_->index(request) : missing();
  };
  const auto asset = [this, missing](const HttpRequest& request, const PathParams& params) {
    return console_ ? console_->asset(request, params.get("file")) : missing();
  };
  for (auto added : {routes_.add("GET", "/console", redirect), routes_.add("GET", "/console/", index),
                     routes_.add("GET", "/console/assets/{file}", asset)})
    if (!added) return added;
  return Ok{};
}

Status App::route(std::string method, std::string_view pattern, channels::RouteHandler handler) {
  return routes_.add(std::move(method), pattern, std::move(handler), attaching_);
}

channels::Spooler& App::spooler() {
  // Asked for by an adapter whose platform does not redeliver, while attaching (start() opens
  // it); asked for later, it is not created and keep() says so.
  if (!spool_ && attaching_ != "daemon")
    spool_ = std::make_unique<Spool>(config_.state_dir + "/spool", config_.spool_max_bytes);
  return *this;
}

HttpResponse App::reject(const HttpRequest& request, std::string_view endpoint, std::string_view event,
                         const Error& error) {
  metrics_.rejected(endpoint, error.code);
  return rejected(request, event, error);
}

void App::unconfigured_account(std::string_view channel, std::string_view account) {
  metrics_.unconfigured_account(channel, account);
}

Result<std::string> App::keep(const channels::SpooledRequest& request, std::string_view reason) {
  if (!spool_)
    return make_error(ErrorKind::unavailable, "spool_unavailable",
                      "no spool: the adapter did not ask for it while attaching");
  auto name = spool_->append(request);
  if (!name) return name.error();
  metrics_.spool("spooled");
  log::warn("webhook_spooled", {{"path", request.path}, {"account", request.account}, {"spool_entry", *name},
                                {"waiting", std::to_string(spool_->count())}, {"reason", std::string(reason)},
                                {"req", request.request_id}});
  spool_cv_.notify_all();
  return name;
}

HttpResponse App::rejected(const HttpRequest& request, std::string_view event, const Error& error) const {
  HttpResponse r = error_response(error);
  // A 5xx is ours to look into; a 4xx is the client's, logged at warn with why.
  log::emit(r.status >= 500 ? log::Level::error : log::Level::warn, event,
            {{"path", request.path}, {"status", std::to_string(r.status)}, {"reason", error.code},
             {"detail", error.message}, {"req", request.request_id}});
  return r;
}

HttpResponse App::healthz() const { return json_response(200, R"({"status":"ok"})"); }

HttpResponse App::readyz() {
  json::object database;
  bool ready = false;
  auto state = storage::schema_state(pool_);
  if (!state) {
    database["state"] = "down";
    database["error"] = state.error().message;
  } else {
    database["schema_version"] = state->current;
    database["schema_expected"] = state->latest;
    ready = schema_ready_ && state->current == state->latest;
    database["state"] = ready ? "up" : "migrating";
  }
  json::object checks;
  checks["database"] = std::move(database);
  auto r = rules();
  json::object rules_check;
  rules_check["state"] = "loaded";
  rules_check["hash"] = r->hash();
  checks["rules"] = std::move(rules_check);
  for (const auto* adapter : registry_.all()) {
    // A source being down does not fail readiness (CONTRACT.md): mail waits on its server.
    json::object group;
    for (const auto& st : adapter->sources()) {
      json::object source{{"state", st.state}};
      for (const auto& [name, count] : st.counts) source[name] = count;
      if (!st.error.empty()) source["error"] = st.error;
      if (st.last_poll) source["last_poll"] = format_rfc3339(*st.last_poll);
      group[st.name] = std::move(source);
    }
    if (!group.empty()) checks[adapter->source_kind()] = std::move(group);
  }
  if (spool_) {
    // Waiting requests do not fail readiness: they are safe on disk and replayed by themselves.
    json::object spool;
    const auto waiting = spool_->count();
    spool["state"] = spool_->bytes() >= spool_->max_bytes() ? "full" : waiting > 0 ? "replaying" : "empty";
    spool["waiting"] = waiting;
    spool["bytes"] = spool_->bytes();
    spool["max_bytes"] = spool_->max_bytes();
    checks["spool"] = std::move(spool);
  }
  json::object body;
  body["status"] = ready ? "ready" : "not_ready";
  body["checks"] = std::move(checks);
  return json_response(ready ? 200 : 503, json::serialize(body));
}

HttpResponse App::metrics() {
  Metrics::Snapshot snapshot;
  snapshot.database_up = storage::schema_state(pool_).ok();
  if (snapshot.database_up) {
    if (auto backlog = storage::outbox_backlog(pool_)) {
      snapshot.outbox_queued = backlog->queued;
      snapshot.outbox_sending = backlog->sending;
    }
  }
  snapshot.http_in_flight = static_cast<long>(server_->in_flight());
  snapshot.outbox_in_flight = outbox_ ? static_cast<long>(outbox_->in_flight()) : 0;
  for (const auto* adapter : registry_.all())
    for (const auto& st : adapter->sources()) snapshot.sources_up.emplace_back(st.name, st.state == "polling");
  if (spool_) {
    snapshot.spool_requests = static_cast<long>(spool_->count());
    snapshot.spool_bytes = static_cast<long>(spool_->bytes());
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.render(snapshot);
  return r;
}

Result<storage::IngestOutcome> App::ingest(const std::string& request_id, const InboundMessage& message) {
  const std::string channel(to_string(message.channel));
  auto active = rules();
  storage::Router router{active->hash(), [&active](const routing::EvaluationInput& in) {
                           return routing::evaluate(*active, in);
                         }};
  auto outcome = pipeline_.ingest(message, router);
  if (!outcome) {
    metrics_.inbound(channel, "rejected");
    return outcome;
  }
  metrics_.inbound(channel, outcome->duplicate ? "duplicate" : "stored");
  log::info("inbound_stored", {{"channel", channel}, {"account", message.account},
                               {"message", outcome->message_id}, {"conversation", outcome->conversation_id},
                               {"duplicate", outcome->duplicate ? "true" : "false"},
                               {"rule", outcome->decision.rule.value_or("")},
                               {"opted_out", outcome->opted_out ? "true" : "false"}, {"req", request_id}});
  return outcome;
}

Status App::accept(const std::string& request_id, const std::vector<InboundEvent>& events,
                   channels::IntakeReport* report) {
  const auto now = clock_.now();
  channels::IntakeReport ignored;
  channels::IntakeReport& counts = report ? *report : ignored;
  for (const auto& event : events) {
    const auto* opt_out = std::get_if<OptOut>(&event);
    if (!opt_out) continue;
    const std::string channel(to_string(opt_out->channel));
    auto recorded = storage::record_opt_out(pool_, *opt_out, opt_out->identity.value, now);
    if (!recorded) {
      if (recorded.error().kind == ErrorKind::unavailable) return recorded.error();
      metrics_.platform_event(channel, "opt_out", "failed");
      log::error("opt_out_dropped", {{"channel", channel}, {"reason", recorded.error().message}, {"req", request_id}});
      continue;
    }
    metrics_.platform_event(channel, "opt_out", opt_out->opted_out ? "opted_out" : "opted_in");
    log::info(opt_out->opted_out ? "customer_opted_out" : "customer_opted_in",
              {{"channel", channel}, {"account", opt_out->account}, {"req", request_id}});
  }
  for (const auto& event : events) {
    if (const auto* message = std::get_if<InboundMessage>(&event)) {
      auto outcome = ingest(request_id, *message);
      if (outcome) {
        ++(outcome->duplicate ? counts.duplicate : counts.stored);
        counts.messages.push_back(
            {outcome->message_id, outcome->conversation_id, outcome->customer_id, outcome->duplicate});
        continue;
      }
      // Platforms retry what is not answered 200: right while the database is down (the
      // messages stored already come back as duplicates), wrong for a message that can never
      // be stored, which would hold up the rest of the batch for days.
      if (outcome.error().kind == ErrorKind::unavailable) return outcome.error();
      counts.failures.push_back(outcome.error());
      if (!report)  // the caller that asked for the counts (the mailbox) logs what it does with it
        log::error("webhook_message_dropped",
                   {{"channel", to_string(message->channel)}, {"account", message->account},
                    {"external_id", message->external_id}, {"reason", outcome.error().code},
                    {"detail", outcome.error().message}, {"req", request_id}});
    } else if (const auto* sys = std::get_if<SystemMessage>(&event)) {
      const std::string channel(to_string(sys->channel));
      auto recorded = storage::record_system_message(pool_, *sys);
      if (!recorded) {
        if (recorded.error().kind == ErrorKind::unavailable) return recorded.error();
        counts.failures.push_back(recorded.error());
        metrics_.platform_event(channel, "system_message", "failed");
        if (!report)
          log::error("system_message_dropped", {{"channel", channel}, {"external_id", sys->external_id},
                                                {"reason", recorded.error().message}, {"req", request_id}});
        continue;
      }
      ++(recorded->duplicate ? counts.duplicate : counts.system);
      std::string status_result;
      const std::string concerns = recorded->concerns_external_id.value_or(sys->concerns_external_id);
      if (!sys->status.empty() && !concerns.empty()) {
        // What the report says of our reply: the same path as a platform's delivery status (for
        // a reply not known here it waits in delivery_statuses, as a platform's would).
        DeliveryStatus status;
        status.channel = sys->channel;
        status.account = sys->account;
        status.external_id = concerns;
        status.status = sys->status;
        status.error = sys->error;
        status.at = sys->at;
        auto applied = storage::record_delivery_status(pool_, status);
        if (!applied) {
          if (applied.error().kind == ErrorKind::unavailable) return applied.error();
          status_result = "failed: " + applied.error().message;
        } else {
          status_result = applied->duplicate ? "duplicate" : applied->applied ? "applied" : "noop";
        }
      }
      metrics_.platform_event(channel, "system_message", recorded->duplicate ? "duplicate" : sys->kind);
      log::info("system_message_stored",
                {{"channel", channel}, {"account", sys->account}, {"kind", sys->kind},
                 {"external_id", sys->external_id}, {"id", recorded->id},
                 {"conversation", recorded->conversation_id.value_or("")},
                 {"concerns_message", recorded->concerns_message_id.value_or("")},
                 {"status", sys->status}, {"status_result", status_result},
                 {"duplicate", recorded->duplicate ? "true" : "false"}, {"req", request_id}});
    } else if (const auto* status = std::get_if<DeliveryStatus>(&event)) {
      const std::string channel(to_string(status->channel));
      auto recorded = storage::record_delivery_status(pool_, *status);
      if (!recorded) {
        if (recorded.error().kind == ErrorKind::unavailable) return recorded.error();
        metrics_.platform_event(channel, "status", "failed");
        log::error("delivery_status_dropped", {{"channel", channel}, {"external_id", status->external_id},
                                               {"reason", recorded.error().message}, {"req", request_id}});
        continue;
      }
      const char* result = recorded->duplicate ? "duplicate"
                           : recorded->applied ? "applied"
                           : recorded->waiting ? "pending"
                                               : "noop";
      metrics_.platform_event(channel, "status", result);
      log::info("delivery_status", {{"channel", channel}, {"account", status->account},
                                    {"external_id", status->external_id}, {"status", status->status},
                                    {"error", status->error}, {"result", result}, {"req", request_id}});
    } else if (const auto* echo = std::get_if<Echo>(&event)) {
      const std::string channel(to_string(echo->message.channel));
      if (echo->ours) {
        // Our own send coming back: its outbound message exists already.
        metrics_.platform_event(channel, "echo", "ignored");
        continue;
      }
      auto recorded = storage::record_echo(pool_, *echo, now);
      if (!recorded) {
        if (recorded.error().kind == ErrorKind::unavailable) return recorded.error();
        metrics_.platform_event(channel, "echo", "failed");
        log::error("echo_dropped", {{"channel", channel}, {"external_id", echo->message.external_id},
                                    {"reason", recorded.error().message}, {"req", request_id}});
        continue;
      }
      const std::string result = recorded->stored ? "stored" : recorded->reason;
      metrics_.platform_event(channel, "echo", result);
      log::info("echo_recorded", {{"channel", channel}, {"account", echo->message.account},
                                  {"external_id", echo->message.external_id}, {"result", result}, {"req", request_id}});
    }
  }
  return Ok{};
}

namespace {

class DatabaseSourceLock final : public channels::SourceLock {
 public:
  DatabaseSourceLock(const std::string& url, const std::string& source) : lock_(url, source) {}
  Result<bool> try_acquire() override { return lock_.try_acquire(); }
  bool held() override { return lock_.held(); }
  void release() override { lock_.release(); }

 private:
  storage::MailboxLock lock_;
};

}  // namespace

std::unique_ptr<channels::SourceLock> App::lock(const std::string& source) {
  return std::make_unique<DatabaseSourceLock>(config_.database_url, source);
}

Result<std::optional<channels::SourcePosition>> App::position(const std::string& source, const std::string& part) {
  auto stored = storage::get_mailbox_position(pool_, source, part);
  if (!stored) return stored.error();
  if (!*stored) return std::optional<channels::SourcePosition>{};
  return std::optional<channels::SourcePosition>{channels::SourcePosition{(*stored)->uidvalidity, (*stored)->last_uid}};
}

Status App::save_position(const std::string& source, const std::string& part, const channels::SourcePosition& position) {
  return storage::save_mailbox_position(pool_, source, part, {position.epoch, position.last});
}

void App::fetched(const std::string& source, std::string_view result) { metrics_.mail(source, result); }

void App::replay_spool() {
  while (!stopping_) {
    {
      std::unique_lock lock(spool_mu_);
      spool_cv_.wait_for(lock, std::chrono::milliseconds{500});
    }
    if (stopping_ || !schema_ready_ || spool_->count() == 0) continue;
    for (const auto& name : spool_->pending()) {
      if (stopping_ || !schema_ready_) break;
      auto spooled = spool_->read(name);
      const log::RequestScope scope(spooled ? spooled->request_id : std::string());
      // Replayed by the adapter that owns the route it came to.
      Result<channels::Adapter*> owner =
          spooled ? registry_.find(routes_.owner("POST", spooled->path)) : Result<channels::Adapter*>(spooled.error());
      Result<std::vector<InboundEvent>> events =
          owner ? (*owner)->parse_spooled(*spooled) : Result<std::vector<InboundEvent>>(owner.error());
      if (!events) {
        // It parsed when it arrived; a file that no longer does is kept aside for a person.
        (void)spool_->reject(name);
        metrics_.spool("rejected");
        log::error("spool_entry_rejected", {{"spool_entry", name}, {"reason", events.error().message},
                                            {"moved_to", spool_->dir() + "/rejected"}});
        continue;
      }
      if (auto applied = accept(spooled->request_id, *events); !applied) {
        log::warn("spool_replay_paused", {{"reason", applied.error().message},
                                          {"waiting", std::to_string(spool_->count())}});
        break;
      }
      if (auto removed = spool_->remove(name); !removed)
        log::error("spool_remove_failed", {{"spool_entry", name}, {"reason", removed.error().message}});
      metrics_.spool("replayed");
      log::info("spool_replayed", {{"spool_entry", name}, {"path", spooled->path},
                                   {"waiting", std::to_string(spool_->count())}, {"req", spooled->request_id}});
    }
  }
}

}  // namespace switchboard::daemon
