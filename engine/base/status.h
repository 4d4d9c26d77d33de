// Status: the result of a fallible call that returns no value. Errors are values.
#pragma once

#include <string>
#include <utility>

namespace rb {

class Status {
 public:
  static Status OK() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }
  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  explicit Status(std::string m) : failed_(true), message_(std::move(m)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace rb
