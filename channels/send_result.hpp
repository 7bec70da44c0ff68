// What Adapter::send() answers: the delivery, or a failure with its typed outcome, which tells
// the outbox worker what to do. Each adapter classifies its platform's errors itself (Meta's
// 131047 -> blocked_by_window, Twilio's 21610 -> opted_out, ...); the worker never reads codes.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "routing/core/result.hpp"

namespace switchboard::channels {

struct Delivery {
  std::string external_id;  // the platform's id of the sent message
  std::string status;       // "sent" (accepted by the platform) or "delivered" (by the receiver)
};

enum class SendOutcome {
  sent,
  retry_after,           // may succeed later (timeouts, rate limits, 5xx): retried with backoff
  blocked_by_window,     // the platform's reply window is closed: the row becomes 'blocked'
  opted_out,             // the recipient stopped messages: failed, and the customer is opted out
  credentials_rejected,  // our token or password was refused: failed, logged for the operator
  permanent,             // anything else no retry changes: failed
};

std::string_view to_string(SendOutcome outcome);

// The code of an Error whose request reached the platform without an answer coming back (a
// timeout after sending): the platform may have sent the message (channels/http_client.hpp).
inline constexpr std::string_view kRequestSentNoAnswer = "request_sent_no_answer";

class [[nodiscard]] SendResult {
 public:
  SendResult(Delivery delivery) : v_(std::move(delivery)) {}  // NOLINT: implicit by design
  // A failure classified by its kind alone: unavailable -> retry_after, anything else permanent.
  SendResult(Error error)  // NOLINT
      : v_(std::move(error)),
        outcome_(std::get<Error>(v_).kind == ErrorKind::unavailable ? SendOutcome::retry_after
                                                                    : SendOutcome::permanent) {}
  // A failure the adapter classified.
  SendResult(SendOutcome outcome, Error error) : v_(std::move(error)), outcome_(outcome) {}
  SendResult(Result<Delivery> result)  // NOLINT
      : SendResult(result ? SendResult(std::move(*result)) : SendResult(result.error())) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  SendOutcome outcome() const { return outcome_; }
  // The request reached the platform and its answer never came: the message may have been
  // sent. The outbox marks the attempt in doubt and checks before sending again.
  bool in_doubt() const { return !ok() && std::get<Error>(v_).code == kRequestSentNoAnswer; }

  const Delivery& value() const { return std::get<Delivery>(v_); }
  const Delivery& operator*() const { return value(); }
  const Delivery* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<Delivery, Error> v_;
  SendOutcome outcome_ = SendOutcome::sent;
};

}  // namespace switchboard::channels
