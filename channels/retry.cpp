// Backoff arithmetic in whole microseconds, saturating at the cap instead of overflowing.
#include "channels/retry.hpp"

#include <algorithm>

namespace switchboard::channels {

Duration backoff(const RetryPolicy& policy, int attempt, double unit_random) {
  using Rep = Duration::rep;
  const Rep base = std::max<Rep>(policy.base.count(), 0);
  const Rep cap = std::max<Rep>(policy.cap.count(), 0);
  const int doublings = std::max(attempt, 1) - 1;

  // base * 2^doublings, or the cap as soon as the product would pass it (or overflow).
  Rep delay = std::min(base, cap);
  for (int i = 0; i < doublings && delay > 0 && delay < cap; ++i) delay = delay > cap / 2 ? cap : delay * 2;

  // NaN fails the comparison and counts as 0: the shortest delay, never a garbage one.
  const double u = unit_random > 0.0 ? std::min(unit_random, 1.0) : 0.0;
  const Rep half = delay / 2;
  const Rep span = delay - half;
  // The product can round up to span itself in double; never let it pass span.
  const double extra = static_cast<double>(span) * u;
  const Rep jitter = extra >= static_cast<double>(span) ? span : static_cast<Rep>(extra);
  return Duration{half + jitter};
}

bool should_retry(const RetryPolicy& policy, int attempts_made) { return attempts_made < policy.max_attempts; }

SendFailure classify(const Error& error) {
  return error.kind == ErrorKind::unavailable ? SendFailure::retryable : SendFailure::permanent;
}

Error send_error(SendFailure failure, std::string code, std::string message) {
  return make_error(failure == SendFailure::retryable ? ErrorKind::unavailable : ErrorKind::invalid, std::move(code),
                    std::move(message));
}

}  // namespace switchboard::channels
