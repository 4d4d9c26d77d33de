// Evaluator of the expression language. Pure: reads the scope, never writes anything.
#include <cmath>
#include <fmt/format.h>

#include <list>
#include <mutex>
#include <unordered_map>

#include "base/duration.h"
#include "base/text.h"
#include "base/time.h"
#include "expr/expr.h"
#include "expr/functions.h"

namespace rb::expr {
namespace {

struct Eval {
  const Scope& scope;

  [[noreturn]] void fail(const Node& n, std::string msg) { throw Error{n.offset, std::move(msg)}; }


  // Resolves a Name/Member/Index chain, tracking the dotted path for secret taint.
  Result eval_path(const Node& n, std::string* dotted, bool* path_ok) {
    if (n.kind == Node::Kind::Name) {
      *dotted = n.name;
      *path_ok = true;
      bool secret = scope.is_secret(*dotted);
      if (n.name == "env") return {Value::object(), false};
      const Value* v = scope.root(n.name);
      if (!v) {
        auto known = root_names();
        fail(n, fmt::format("unknown name '{}'{}", n.name, did_you_mean_suffix(n.name, known)));
      }
      return {*v, secret};
    }
    if (n.kind == Node::Kind::Member || n.kind == Node::Kind::Index) {
      const Node& base_node = *n.kids[0];
      Result base;
      bool base_is_env = false;
      if (base_node.kind == Node::Kind::Name || base_node.kind == Node::Kind::Member ||
          base_node.kind == Node::Kind::Index) {
        base = eval_path(base_node, dotted, path_ok);
        base_is_env = *path_ok && *dotted == "env";
      } else {
        base = eval(base_node);
        *path_ok = false;
      }
      Value key;
      if (n.kind == Node::Kind::Member) {
        key = n.name;
      } else {
        Result k = eval(*n.kids[1]);
        base.tainted = base.tainted || k.tainted;
        key = k.value;
      }
      if (*path_ok && key.is_string()) {
        *dotted += "." + key.get<std::string>();
        if (scope.is_secret(*dotted)) base.tainted = true;
      } else {
        *path_ok = false;
      }
      if (base_is_env) {
        if (!key.is_string()) fail(n, "env is indexed by a variable name");
        auto v = scope.env(key.get<std::string>());
        return {v ? Value(*v) : Value(nullptr), base.tainted};
      }
      const Value& b = base.value;
      if (b.is_object()) {
        if (!key.is_string()) fail(n, fmt::format("a map is indexed by a string, not {}", type_name(key)));
        auto it = b.find(key.get<std::string>());
        if (it == b.end()) return {Value(nullptr), base.tainted};
        return {*it, base.tainted};
      }
      if (b.is_array()) {
        if (!key.is_number_integer() && !key.is_number_unsigned())
          fail(n, fmt::format("a list is indexed by an integer, not {}", type_name(key)));
        long long i = key.get<long long>();
        long long size = static_cast<long long>(b.size());
        if (i < 0) i += size;
        if (i < 0 || i >= size)
          fail(n, fmt::format("index {} is out of range (the list has {} item{})", key.get<long long>(), size,
                              size == 1 ? "" : "s"));
        return {b[static_cast<size_t>(i)], base.tainted};
      }
      if (b.is_null()) {
        // steps.ID.outputs of a step that has not run is null (see exec::RunState): its
        // outputs are unknown, a step error, never a silent empty value.
        if (*path_ok && dotted->starts_with("steps.")) {
          std::string_view d(*dotted);
          size_t a = d.find('.', 6);
          if (a != std::string_view::npos && d.substr(a).starts_with(".outputs."))
            fail(n, fmt::format("step '{}' has not run: its output '{}' is not known", d.substr(6, a - 6),
                                to_text(key)));
        }
        fail(n, fmt::format("cannot read '{}' of null", to_text(key)));
      }
      fail(n, fmt::format("cannot read '{}' of {}", to_text(key), type_name(b)));
    }
    return eval(n);
  }

  static bool is_num(const Value& v) { return v.is_number(); }
  static double num(const Value& v) { return v.get<double>(); }
  static bool both_int(const Value& a, const Value& b) {
    return (a.is_number_integer() || a.is_number_unsigned()) && (b.is_number_integer() || b.is_number_unsigned());
  }


  Value arith(const Node& n, const std::string& op, const Value& a, const Value& b) {
    if (op == "+" && (a.is_string() || b.is_string())) {
      if (!(a.is_string() || is_num(a) || a.is_boolean()) || !(b.is_string() || is_num(b) || b.is_boolean()))
        fail(n, fmt::format("cannot add {} and {}", type_name(a), type_name(b)));
      return to_text(a) + to_text(b);
    }
    if (!is_num(a) || !is_num(b))
      fail(n, fmt::format("'{}' needs numbers, got {} and {}", op, type_name(a), type_name(b)));
    if (both_int(a, b) && op != "/") {
      long long x = a.get<long long>(), y = b.get<long long>(), r = 0;
      bool overflow = false;
      if (op == "+") overflow = __builtin_add_overflow(x, y, &r);
      else if (op == "-") overflow = __builtin_sub_overflow(x, y, &r);
      else if (op == "*") overflow = __builtin_mul_overflow(x, y, &r);
      else if (op == "%") {
        if (y == 0) fail(n, "modulo by zero");
        if (x == LLONG_MIN && y == -1) return 0;
        r = x % y;
      }
      if (overflow) fail(n, "integer overflow");
      return r;
    }
    double x = num(a), y = num(b);
    if (op == "/" || op == "%") {
      if (y == 0) fail(n, "division by zero");
      if (op == "%") return std::fmod(x, y);
      double r = x / y;
      if (both_int(a, b) && std::floor(r) == r && std::fabs(r) < 9e15) return static_cast<long long>(r);
      return r;
    }
    if (op == "+") return x + y;
    if (op == "-") return x - y;
    return x * y;
  }

  bool compare(const Node& n, const std::string& op, const Value& a, const Value& b) {
    int c;
    if (is_num(a) && is_num(b)) {
      if (both_int(a, b)) {
        long long x = a.get<long long>(), y = b.get<long long>();
        c = x < y ? -1 : (x > y ? 1 : 0);
      } else {
        double x = num(a), y = num(b);
        c = x < y ? -1 : (x > y ? 1 : 0);
      }
    } else if (a.is_string() && b.is_string()) {
      c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    } else {
      fail(n, fmt::format("cannot compare {} with {}", type_name(a), type_name(b)));
    }
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    return c >= 0;
  }

  Result call(const Node& n) {
    fn::Call c{n, {}};
    bool tainted = false;
    for (auto& k : n.kids) {
      Result r = eval(*k);
      tainted = tainted || r.tainted;
      c.args.push_back(std::move(r.value));
    }
    fn::Builtin f = fn::find(n.name);
    if (!f) fail(n, fmt::format("unknown function '{}'{}", n.name, did_you_mean_suffix(n.name, function_names())));
    return {f(c), tainted};
  }

  Result eval(const Node& n) {
    switch (n.kind) {
      case Node::Kind::Literal: return {n.literal, false};
      case Node::Kind::Name:
      case Node::Kind::Member:
      case Node::Kind::Index: {
        std::string dotted;
        bool ok = false;
        return eval_path(n, &dotted, &ok);
      }
      case Node::Kind::Call: return call(n);
      case Node::Kind::Unary: {
        Result r = eval(*n.kids[0]);
        if (n.name == "!") return {!truthy(r.value), r.tainted};
        if (!is_num(r.value)) fail(n, fmt::format("'-' needs a number, got {}", type_name(r.value)));
        if (r.value.is_number_float()) return {-r.value.get<double>(), r.tainted};
        long long x = r.value.get<long long>();
        if (x == LLONG_MIN) fail(n, "integer overflow");
        return {-x, r.tainted};
      }
      case Node::Kind::Binary: {
        const std::string& op = n.name;
        if (op == "&&" || op == "||") {
          // Short-circuit over the chain's operands, left to right.
          bool want = op == "||";
          bool tainted = false;
          for (auto& k : n.kids) {
            Result r = eval(*k);
            tainted = tainted || r.tainted;
            if (truthy(r.value) == want) return {want, tainted};
          }
          return {!want, tainted};
        }
        Result a = eval(*n.kids[0]);
        Result b = eval(*n.kids[1]);
        bool t = a.tainted || b.tainted;
        if (op == "==") return {equal(a.value, b.value), t};
        if (op == "!=") return {!equal(a.value, b.value), t};
        if (op == "<" || op == "<=" || op == ">" || op == ">=") return {compare(n, op, a.value, b.value), t};
        return {arith(n, op, a.value, b.value), t};
      }
    }
    fail(n, "bad expression");
  }
};

}  // namespace



std::optional<Result> evaluate(const Expression& e, const Scope& scope, Error* err) {
  if (!e.root) {
    if (err) *err = Error{0, "empty expression"};
    return std::nullopt;
  }
  try {
    Eval ev{scope};
    return ev.eval(*e.root);
  } catch (const Error& x) {
    if (err) *err = x;
    return std::nullopt;
  } catch (const std::exception& x) {
    if (err) *err = Error{0, x.what()};
    return std::nullopt;
  }
}

}  // namespace rb::expr
