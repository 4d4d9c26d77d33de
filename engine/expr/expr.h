// The expression language of runbooks (contract section 1, "Expressions").
//
//   names     inputs.x  steps.<id>.outputs.x  steps.<id>.status  result.…  env.X
//             run.id  run.incident  run.elapsed  run.rto_remaining  run.drill  run.operator
//   operators == != < <= > >= && || !  + - * /  ( )  a[0]  a.b
//   literals  numbers, 'strings', "strings", true, false, null
//   functions len contains matches starts_with ends_with int number string lower upper trim
//             seconds(duration) iso_time(seconds since 1970)
//
// Identifiers may contain '-' (step ids such as `assess-damage`): write subtraction with
// spaces, `a - b`. Evaluation never executes code: there is no assignment, no call of
// anything but the fixed functions above.
//
// Hostile input stays bounded: an expression is at most kMaxExpressionBytes long and its
// tree at most kMaxDepth levels deep (parse refuses more with a clear error), so every
// walk over a parsed tree (evaluation, name collection, printing, destruction) recurses at
// most kMaxDepth levels. A chain of `&&` or `||` is one node with many operands, so long
// conditions stay flat. `matches()` uses RE2 (linear time, bounded memory, no recursion):
// see regex_error().
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/diag.h"
#include "base/value.h"

namespace rb::expr {

struct Node;
using NodePtr = std::shared_ptr<const Node>;

/// Longest expression text parse() accepts.
constexpr size_t kMaxExpressionBytes = 64 * 1024;
/// Deepest expression tree (and parenthesis nesting) parse() accepts.
constexpr int kMaxDepth = 100;

struct Node {
  enum class Kind { Literal, Name, Member, Index, Call, Unary, Binary };
  Kind kind = Kind::Literal;
  size_t offset = 0;   ///< byte offset of this node in the expression text
  int height = 1;      ///< levels of this subtree (1 for a leaf), at most kMaxDepth
  Value literal;       ///< Literal
  std::string name;    ///< Name, Member (field), Call (function), Unary/Binary (operator)
  /// Operands. Binary `&&` and `||` hold two or more (a chain is one node); other Binary
  /// nodes exactly two.
  std::vector<NodePtr> kids;
};

/// A syntax or evaluation error at a byte offset of the expression text.
struct Error {
  size_t offset = 0;
  std::string message;
};

/// A parsed expression. `text` is what was parsed; `pos` where the text starts in the file
/// (offsets add to its column, which is exact for expressions on one line).
struct Expression {
  std::string text;
  SourcePos pos;
  NodePtr root;

  /// The source position of a byte offset inside `text`.
  SourcePos at(size_t offset) const;
};

/// Parses `text`. Returns nullopt and fills *err on a syntax error.
std::optional<Expression> parse(std::string text, SourcePos pos, Error* err);

/// A name reference found in an expression: `inputs.x` is {"inputs","x"}. Indexing with a
/// literal string counts as a member; other indexing ends the path.
struct NameRef {
  std::vector<std::string> path;
  size_t offset = 0;
};
std::vector<NameRef> name_refs(const Expression& e);

/// Whether RE2 compiles `pattern` (as matches() would). Returns an empty string when it
/// does, else why not ("missing ): …", "pattern too large", …).
std::string regex_error(const std::string& pattern);

/// Function names the language knows, and the names of the roots.
const std::vector<std::string>& function_names();
const std::vector<std::string>& root_names();

// ---- evaluation --------------------------------------------------------------------

/// Where names come from. `root` returns the value of a root name (inputs, steps, result,
/// run) or nullptr if absent; env.X reads the engine's environment through `env`.
class Scope {
 public:
  virtual ~Scope() = default;
  virtual const Value* root(const std::string& name) const = 0;
  virtual std::optional<std::string> env(const std::string& name) const = 0;
  /// Dotted paths whose values are secret (e.g. "inputs.db_password"). Values read from
  /// under them taint the result.
  virtual bool is_secret(const std::string& dotted_path) const { return false; }
};

struct Result {
  Value value;
  bool tainted = false;  ///< derived from a secret
};

/// Evaluates. Throws nothing: an evaluation error returns nullopt and fills *err.
std::optional<Result> evaluate(const Expression& e, const Scope& scope, Error* err);

}  // namespace rb::expr
