// Errors as values inside the engine. An Error carries the exit code the CLI
// should end with (SPEC section 4) and one human sentence; the CLI prints it once.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace keyshift {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,      // a migration or verify failed
  kExitUsage = 2,       // usage or configuration error (bad url, unreachable Redis, bad flags)
  kExitLockHeld = 3,    // another runner holds the lock
  kExitPending = 4,     // status --check: only pending migrations remain
};

struct Error {
  int exit_code = kExitFailed;
  std::string message;
};

inline Error Fail(std::string message) { return Error{kExitFailed, std::move(message)}; }
inline Error UsageError(std::string message) { return Error{kExitUsage, std::move(message)}; }

// Result<T>: either a T or an Error. Deliberately tiny: ok(), value(), error().
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status: a Result with no value.
class Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT
  static Status Ok() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace keyshift
