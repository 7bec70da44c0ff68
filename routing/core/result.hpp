// Result<T>: the value of an operation or the Error that explains why it failed.
// Expected failures (bad input, forged signature, database down) travel as values, not exceptions.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace switchboard {

// What kind of failure this is; the daemon maps kinds to HTTP statuses and exit codes.
enum class ErrorKind {
  invalid,       // bad input: 400
  unauthorized,  // missing or unknown credentials: 401
  forbidden,     // valid credentials, wrong scope: 403
  not_found,     // 404
  conflict,      // same key, different content: 409
  unprocessable, // a valid request the current state refuses (a closed reply window): 422
  too_large,     // 413
  unavailable,   // a dependency (the database) is down; retry later: 503
  config,        // invalid configuration or rules
  bug,           // an invariant broke: 500, logged
};

struct Error {
  ErrorKind kind = ErrorKind::bug;
  std::string code;      // snake_case, stable: goes into JSON error bodies and log lines
  std::string message;   // human text, lower-case, no final period
  std::string location;  // file:line:col, field path or component; may be empty
};

inline Error make_error(ErrorKind kind, std::string code, std::string message, std::string location = {}) {
  return Error{kind, std::move(code), std::move(message), std::move(location)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace switchboard
