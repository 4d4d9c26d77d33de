// The expression language's built-in functions (contract §1): len, contains, matches,
// starts_with, ends_with, int, number, string, lower, upper, trim, seconds, iso_time.
// One small function each, found by name; the evaluator calls them with evaluated
// arguments. Internal to expr/.
#pragma once

#include <string>
#include <vector>

#include "base/value.h"
#include "expr/expr.h"

namespace rb::expr {

/// "null", "a number", "a list"… for messages.
const char* type_name(const Value& v);
/// Equality as `==` sees it: numbers by value (1 == 1.0), everything else exactly.
bool equal(const Value& a, const Value& b);

namespace fn {

/// One call: its node (for error positions) and its evaluated arguments.
struct Call {
  const Node& node;
  std::vector<Value> args;

  [[noreturn]] void fail(std::string msg) const;
  /// Fails unless there are exactly `count` arguments.
  void want(size_t count) const;
  /// Argument i, which must be a string.
  const std::string& str(size_t i) const;
};

using Builtin = Value (*)(const Call&);

/// The function named `name`; nullptr when there is none.
Builtin find(const std::string& name);

}  // namespace fn
}  // namespace rb::expr
