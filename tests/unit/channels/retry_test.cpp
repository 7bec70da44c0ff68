// Tests for channels/retry: equal-jitter backoff bounds, the cap, overflow safety, the attempt
// limit, and the retryable/permanent mapping carried by ErrorKind.
#include "channels/retry.hpp"

#include <catch2/catch.hpp>
#include <climits>
#include <cmath>
#include <limits>

using namespace switchboard;
using namespace switchboard::channels;
using namespace std::chrono_literals;

namespace {

const RetryPolicy kPolicy{1s, 60s, 5};

}  // namespace

TEST_CASE("retry: backoff doubles from base and keeps within [d/2, d]", "[channels][retry]") {
  Duration d = 1s;
  for (int attempt = 1; attempt <= 6; ++attempt, d *= 2) {
    INFO("attempt " << attempt);
    CHECK(backoff(kPolicy, attempt, 0.0) == d / 2);
    const Duration high = backoff(kPolicy, attempt, 0.999);
    CHECK(high > d / 2);
    CHECK(high <= d);
    // d/2 + floor(d/2 * 0.999)
    CHECK(high == d / 2 + Duration{static_cast<Duration::rep>(std::floor((d / 2).count() * 0.999))});
  }
  CHECK(backoff(kPolicy, 1, 0.999) == 999500us);
  CHECK(backoff(kPolicy, 3, 0.5) == 3s);
}

TEST_CASE("retry: backoff never passes the cap", "[channels][retry]") {
  // 2^6 s = 64 s is past the 60 s cap from attempt 7 on.
  for (int attempt : {7, 8, 20}) {
    INFO("attempt " << attempt);
    CHECK(backoff(kPolicy, attempt, 0.0) == 30s);
    CHECK(backoff(kPolicy, attempt, 0.999) == 30s + 29970ms);
    CHECK(backoff(kPolicy, attempt, 1.0) == 60s);
  }
  // A base above the cap is cut to the cap as well.
  CHECK(backoff(RetryPolicy{90s, 60s, 3}, 1, 1.0) == 60s);
}

TEST_CASE("retry: backoff does not overflow at large attempts", "[channels][retry]") {
  CHECK(backoff(kPolicy, 60, 0.0) == 30s);
  CHECK(backoff(kPolicy, 60, 0.999) <= 60s);
  CHECK(backoff(kPolicy, INT_MAX, 0.999) <= 60s);
  const RetryPolicy huge{Duration{Duration::rep{1} << 40}, Duration::max(), 100};
  for (int attempt : {23, 24, 60, INT_MAX}) {
    INFO("attempt " << attempt);
    const Duration low = backoff(huge, attempt, 0.0);
    const Duration high = backoff(huge, attempt, 0.999);
    CHECK(low > Duration::zero());
    CHECK(high >= low);
    CHECK(high <= Duration::max());
  }
  CHECK(backoff(huge, 60, 1.0) == Duration::max());
}

TEST_CASE("retry: out-of-range inputs are clamped", "[channels][retry]") {
  CHECK(backoff(kPolicy, 0, 0.0) == 500ms);
  CHECK(backoff(kPolicy, -5, 0.0) == 500ms);
  CHECK(backoff(kPolicy, 1, -1.0) == 500ms);
  CHECK(backoff(kPolicy, 1, 7.0) == 1s);
  CHECK(backoff(kPolicy, 1, std::numeric_limits<double>::quiet_NaN()) == 500ms);
  CHECK(backoff(RetryPolicy{-1s, 60s, 3}, 4, 0.5) == Duration::zero());
  CHECK(backoff(RetryPolicy{0s, 60s, 3}, INT_MAX, 0.5) == Duration::zero());
  CHECK(backoff(RetryPolicy{1s, -1s, 3}, 4, 0.5) == Duration::zero());
}

TEST_CASE("retry: should_retry allows max_attempts attempts in all", "[channels][retry]") {
  CHECK(should_retry(kPolicy, 0));
  CHECK(should_retry(kPolicy, 1));
  CHECK(should_retry(kPolicy, 4));
  CHECK_FALSE(should_retry(kPolicy, 5));
  CHECK_FALSE(should_retry(kPolicy, 6));
  CHECK_FALSE(should_retry(RetryPolicy{1s, 60s, 1}, 1));
  CHECK_FALSE(should_retry(RetryPolicy{1s, 60s, 0}, 0));
}

TEST_CASE("retry: unavailable is retryable, every other kind permanent", "[channels][retry]") {
  CHECK(classify(make_error(ErrorKind::unavailable, "x", "y")) == SendFailure::retryable);
  for (ErrorKind kind : {ErrorKind::invalid, ErrorKind::forbidden, ErrorKind::unauthorized, ErrorKind::not_found,
                         ErrorKind::config, ErrorKind::bug})
    CHECK(classify(make_error(kind, "x", "y")) == SendFailure::permanent);

  const Error retry = send_error(SendFailure::retryable, "callback_failed", "callback answered 503");
  CHECK(retry.kind == ErrorKind::unavailable);
  CHECK(retry.code == "callback_failed");
  CHECK(retry.message == "callback answered 503");
  CHECK(send_error(SendFailure::permanent, "callback_rejected", "m").kind == ErrorKind::invalid);
}
