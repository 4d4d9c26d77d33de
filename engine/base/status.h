// Status: the result of a fallible call that returns no value. Errors are values, and each
// carries the kind of failure it is, which decides the process's exit code in one place
// (exit_code_of, contract section 3).
#pragma once

#include <string>
#include <utility>

namespace rb {

enum class ErrorKind {
  None,     ///< success: exit 0
  Failed,   ///< the run ended failed: exit 1
  Invalid,  ///< invalid runbook, inputs or usage; nothing was executed: exit 2
  Aborted,  ///< aborted or interrupted (operator, rejection, signal): exit 3
  Engine,   ///< the engine or its store failed: exit 4
};

/// The exit code of a kind (contract section 3): 0, 1, 2, 3, 4.
constexpr int exit_code_of(ErrorKind k) {
  switch (k) {
    case ErrorKind::None: return 0;
    case ErrorKind::Failed: return 1;
    case ErrorKind::Invalid: return 2;
    case ErrorKind::Aborted: return 3;
    case ErrorKind::Engine: return 4;
  }
  return 4;
}

class Status {
 public:
  static Status OK() { return Status(); }
  /// An engine or store error (exit 4).
  static Status Error(std::string message) { return Status(ErrorKind::Engine, std::move(message)); }
  /// Bad input or usage (exit 2).
  static Status Invalid(std::string message) { return Status(ErrorKind::Invalid, std::move(message)); }
  static Status Failed(std::string message) { return Status(ErrorKind::Failed, std::move(message)); }
  static Status Aborted(std::string message) { return Status(ErrorKind::Aborted, std::move(message)); }

  bool ok() const { return kind_ == ErrorKind::None; }
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return exit_code_of(kind_); }
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  Status(ErrorKind k, std::string m) : kind_(k), message_(std::move(m)) {}
  ErrorKind kind_ = ErrorKind::None;
  std::string message_;
};

}  // namespace rb
