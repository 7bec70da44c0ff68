// The inbound pipeline: ONE transaction per message. Identity -> customer, open or new
// conversation, idempotent insert, rules, effects (outbox, queue, tags, audit), commit.
#pragma once

#include <functional>
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
};

// How the pipeline decides: evaluate() with the active rules, or a stand-in in tests.
struct Router {
  std::string rules_hash;  // recorded in every audit row
  std::function<Decision(const routing::EvaluationInput&)> decide;
};

class Pipeline {
 public:
  Pipeline(Pool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  // Errors: conflict (same key, other content: nothing written), invalid (the message breaks a
  // database constraint), unavailable (database down: nothing written), bug.
  Result<IngestOutcome> ingest(const InboundMessage& message, const Router& router);

 private:
  Pool& pool_;
  const Clock& clock_;
};

}  // namespace switchboard::storage
