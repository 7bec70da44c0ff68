// Prometheus metrics of the daemon (text exposition format 0.0.4 at GET /metrics), kept with
// Debian's prometheus-cpp core library; the daemon serves them on its own HTTP server.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::daemon {

class Metrics {
 public:
  Metrics(const std::string& version, const std::string& commit);
  ~Metrics();

  // Messages by the channel they came on (CONTRACT's names: api, webchat, email, messenger,
  // whatsapp, sms). result: stored | duplicate | rejected (refused by the pipeline)
  void inbound(std::string_view channel, std::string_view result);
  // Requests refused before their messages' channel is known, by the endpoint that refused them
  // (meta, twilio_sms, twilio_status, api) and the error code (bad_signature, invalid_json, ...).
  void rejected(std::string_view endpoint, std::string_view reason);
  // A message stored but not routed because the account it came to is not configured (a WhatsApp
  // phone_number_id without an entry in channels.meta.whatsapp_numbers).
  void unconfigured_account(std::string_view channel, std::string_view account);
  void http_response(int status);
  // result: delivered | sent | retry | failed. `channel` is the outbox row's: a CONTRACT channel
  // (kind="reply"), or "notify" (kind="notify", no channel label).
  void outbox_send(std::string_view channel, std::string_view result);
  void rules_loaded(const std::string& hash);
  void rules_reload_failed();
  // event: spooled | replayed | rejected (a spooled request that could never be replayed)
  void spool(std::string_view event);
  // result: stored | set_aside
  void mail(std::string_view mailbox, std::string_view result);
  // kind: status | echo | opt_out; result (status): applied | noop | pending | duplicate | failed,
  // (echo) stored | ignored | duplicate | unknown_customer | failed, (opt_out) opted_out | opted_in | failed
  void platform_event(std::string_view channel, std::string_view kind, std::string_view result);

  // Values read when scraped.
  struct Snapshot {
    bool database_up = false;
    long outbox_queued = -1;  // -1: unknown (database down)
    long outbox_sending = -1;
    long http_in_flight = 0;
    long outbox_in_flight = 0;
    long spool_requests = 0;  // waiting in the durable spool for the database
    long spool_bytes = 0;
    std::vector<std::pair<std::string, bool>> sources_up;  // mailboxes polling normally
  };
  std::string render(const Snapshot& snapshot);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::daemon
