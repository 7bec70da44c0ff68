// The inbound pipeline: ONE transaction per message. Identity -> customer, open or new
// conversation, idempotent insert, rules, effects (outbox, queue, tags, audit), commit.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "routing/core/decision.hpp"
#include "routing/core/message.hpp"
#include "routing/core/result.hpp"
#include "routing/core/time.hpp"
#include "routing/evaluate.hpp"
#include "storage/pool.hpp"

namespace switchboard::storage {

struct IngestOutcome {
  std::string message_id;
  std::string conversation_id;
  std::string customer_id;
  bool duplicate = false;  // the same (channel, account, external_id) with the same content
  Decision decision;       // empty for a duplicate
  bool opted_out = false;  // the sender opted out of the channel: the rules' replies were held back
  bool capped = false;     // an automatic reply went to the sender recently (auto_reply_interval): held back
  bool unsure = false;     // the message may be a robot's (automatic: unsure): the rules' replies were held back
};

// How the pipeline decides: evaluate() with the active rules, or a stand-in in tests.
struct Router {
  std::string rules_hash;  // recorded in every audit row
  std::function<Decision(const routing::EvaluationInput&)> decide;
};

struct PipelineOptions {
  // Channels where at most one automatic reply goes to a recipient within the time given
  // (e-mail, RFC 3834: a responder should not answer the same sender again soon; two robots
  // answering each other stop here). Each adapter says its own (Adapter::auto_reply_interval).
  std::map<Channel, Duration> auto_reply_interval;
};

class Pipeline {
 public:
  Pipeline(Pool& pool, const Clock& clock, PipelineOptions options = {})
      : pool_(pool), clock_(clock), options_(options) {}

  // Errors: conflict (same key, other content: nothing written), invalid (the message breaks a
  // database constraint), unavailable (database down: nothing written), bug.
  Result<IngestOutcome> ingest(const InboundMessage& message, const Router& router);
  // Before the first ingest.
  void set_options(PipelineOptions options) { options_ = std::move(options); }

 private:
  Pool& pool_;
  const Clock& clock_;
  PipelineOptions options_;
};

}  // namespace switchboard::storage
