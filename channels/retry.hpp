// The delivery retry policy shared by every adapter's send(): exponential backoff with "equal
// jitter", an attempt limit, and how a failed send says whether another attempt can help.
// Pure functions: the random number and the clock come from the caller (the outbox worker).
#pragma once

#include <string>

#include "routing/core/result.hpp"
#include "routing/core/time.hpp"

namespace switchboard::channels {

struct RetryPolicy {
  Duration base;     // the delay before the second attempt, before jitter
  Duration cap;      // no delay is longer, before jitter
  int max_attempts;  // attempts in all, the first one included
};

// The delay before attempt `attempt + 1`, after `attempt` (1-based) failed:
// d = min(cap, base * 2^(attempt - 1)), then d/2 + (d - d/2) * unit_random, i.e. d scaled by a
// factor in [0.5, 1.0). Half the delay is certain, so retries never bunch up at zero, and half is
// random, so many messages failing together do not retry together. `unit_random` is clamped to
// [0, 1]; `attempt` below 1 counts as 1; negative base or cap count as zero. Never overflows.
Duration backoff(const RetryPolicy& policy, int attempt, double unit_random);

// True when another attempt is allowed after `attempts_made` attempts have failed.
bool should_retry(const RetryPolicy& policy, int attempts_made);

// Whether a failed send() may succeed if tried again. It travels as the Error's kind, so that
// adapters keep returning a plain Result<Delivery>:
//   retryable <-> ErrorKind::unavailable: a timeout, a refused connection, DNS, HTTP 408, 429, 5xx;
//   permanent <-> any other kind; adapters use ErrorKind::invalid (a 4xx other than 408 and 429,
//                 a missing callback URL, a malformed payload) or ErrorKind::forbidden (the
//                 platform refuses this sender or recipient). Retrying cannot change the answer.
enum class SendFailure { retryable, permanent };

SendFailure classify(const Error& error);
// An Error of the kind that carries `failure` (unavailable or invalid).
Error send_error(SendFailure failure, std::string code, std::string message);

}  // namespace switchboard::channels
