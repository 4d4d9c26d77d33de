// Evaluator of the expression language. Pure: reads the scope, never writes anything.
#include <cmath>
#include <fmt/format.h>
#include <re2/re2.h>

#include <list>
#include <mutex>
#include <unordered_map>

#include "base/duration.h"
#include "base/text.h"
#include "base/time.h"
#include "expr/expr.h"

namespace rb::expr {
namespace {

constexpr size_t kMaxRegexInput = 64u << 20;   // RE2 is linear: the cap only bounds memory
constexpr size_t kMaxRegexPattern = 4096;
constexpr int64_t kRegexMaxMem = 8 << 20;        // RE2's budget per compiled pattern
constexpr size_t kRegexCacheSize = 256;

// Compiled patterns, shared and kept (least recently used dropped first): a `matches()`
// polled every second in a `within:` loop compiles its pattern once.
class RegexCache {
 public:
  std::shared_ptr<const re2::RE2> get(const std::string& pattern) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(pattern);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    re2::RE2::Options o;
    o.set_log_errors(false);
    o.set_max_mem(kRegexMaxMem);
    auto re = std::make_shared<const re2::RE2>(pattern, o);
    order_.emplace_front(pattern, re);
    index_[pattern] = order_.begin();
    if (order_.size() > kRegexCacheSize) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return re;
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const re2::RE2>>;
  std::mutex mu_;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

RegexCache& regex_cache() {
  static RegexCache* c = new RegexCache();  // never destroyed: usable until exit
  return *c;
}

std::string compile_error(const std::string& pattern, std::shared_ptr<const re2::RE2>* out) {
  if (pattern.size() > kMaxRegexPattern)
    return fmt::format("regular expression too long ({} bytes; the limit is {})", pattern.size(), kMaxRegexPattern);
  auto re = regex_cache().get(pattern);
  if (!re->ok()) return re->error().empty() ? "invalid regular expression" : re->error();
  if (out) *out = std::move(re);
  return "";
}

struct Eval {
  const Scope& scope;

  [[noreturn]] void fail(const Node& n, std::string msg) { throw Error{n.offset, std::move(msg)}; }

  static const char* type_name(const Value& v) {
    switch (v.type()) {
      case Value::value_t::null: return "null";
      case Value::value_t::boolean: return "a boolean";
      case Value::value_t::number_integer:
      case Value::value_t::number_unsigned:
      case Value::value_t::number_float: return "a number";
      case Value::value_t::string: return "a string";
      case Value::value_t::array: return "a list";
      case Value::value_t::object: return "a map";
      default: return "a value";
    }
  }

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
      if (b.is_null())
        fail(n, fmt::format("cannot read '{}' of null", to_text(key)));
      fail(n, fmt::format("cannot read '{}' of {}", to_text(key), type_name(b)));
    }
    return eval(n);
  }

  static bool is_num(const Value& v) { return v.is_number(); }
  static double num(const Value& v) { return v.get<double>(); }
  static bool both_int(const Value& a, const Value& b) {
    return (a.is_number_integer() || a.is_number_unsigned()) && (b.is_number_integer() || b.is_number_unsigned());
  }

  static bool equal(const Value& a, const Value& b) {
    if (is_num(a) && is_num(b)) {
      if (both_int(a, b)) return a.get<long long>() == b.get<long long>();
      return num(a) == num(b);
    }
    return a == b;
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
    std::vector<Result> args;
    for (auto& k : n.kids) args.push_back(eval(*k));
    bool tainted = false;
    for (auto& a : args) tainted = tainted || a.tainted;
    auto want = [&](size_t count) {
      if (args.size() != count)
        fail(n, fmt::format("{}() takes {} argument{}, got {}", n.name, count, count == 1 ? "" : "s", args.size()));
    };
    auto str_arg = [&](size_t i) -> const std::string& {
      if (!args[i].value.is_string())
        fail(*n.kids[i], fmt::format("{}() needs a string, got {}", n.name, type_name(args[i].value)));
      return args[i].value.get_ref<const std::string&>();
    };
    const std::string& f = n.name;
    Value out;
    if (f == "len") {
      want(1);
      const Value& v = args[0].value;
      if (v.is_string()) out = static_cast<long long>(v.get_ref<const std::string&>().size());
      else if (v.is_array() || v.is_object()) out = static_cast<long long>(v.size());
      else if (v.is_null()) out = 0;
      else fail(n, fmt::format("len() needs a string, list or map, got {}", type_name(v)));
    } else if (f == "contains") {
      want(2);
      const Value& h = args[0].value;
      const Value& x = args[1].value;
      if (h.is_string()) out = h.get_ref<const std::string&>().find(to_text(x)) != std::string::npos;
      else if (h.is_array()) {
        bool found = false;
        for (auto& e : h) found = found || equal(e, x);
        out = found;
      } else if (h.is_object()) out = x.is_string() && h.contains(x.get<std::string>());
      else if (h.is_null()) out = false;
      else fail(n, fmt::format("contains() needs a string, list or map, got {}", type_name(h)));
    } else if (f == "matches") {
      want(2);
      const std::string& s = str_arg(0);
      const std::string& pattern = str_arg(1);
      if (s.size() > kMaxRegexInput) fail(n, fmt::format("matches() input too large (over {} bytes)", kMaxRegexInput));
      std::shared_ptr<const re2::RE2> re;
      std::string why = compile_error(pattern, &re);
      if (!why.empty()) fail(*n.kids[1], fmt::format("invalid regular expression: {}", why));
      out = re2::RE2::PartialMatch(s, *re);
    } else if (f == "starts_with" || f == "ends_with") {
      want(2);
      const std::string& s = str_arg(0);
      const std::string& p = str_arg(1);
      out = f == "starts_with" ? s.starts_with(p) : s.ends_with(p);
    } else if (f == "int") {
      want(1);
      const Value& v = args[0].value;
      if (v.is_number_integer() || v.is_number_unsigned()) out = v.get<long long>();
      else if (v.is_number_float()) {
        double d = v.get<double>();
        if (!std::isfinite(d) || std::fabs(d) > 9.2e18) fail(n, "int(): number out of range");
        out = static_cast<long long>(d);
      } else if (v.is_boolean()) out = v.get<bool>() ? 1 : 0;
      else if (v.is_string()) {
        std::string t(trim(v.get_ref<const std::string&>()));
        try {
          size_t used = 0;
          long long x = std::stoll(t, &used);
          if (used != t.size()) throw std::invalid_argument("x");
          out = x;
        } catch (const std::exception&) {
          fail(n, fmt::format("int(): '{}' is not an integer", ellipsize(t, 40)));
        }
      } else fail(n, fmt::format("int() cannot convert {}", type_name(v)));
    } else if (f == "number") {
      want(1);
      const Value& v = args[0].value;
      if (v.is_number()) out = v;
      else if (v.is_boolean()) out = v.get<bool>() ? 1 : 0;
      else if (v.is_string()) {
        std::string t(trim(v.get_ref<const std::string&>()));
        try {
          size_t used = 0;
          double x = std::stod(t, &used);
          if (used != t.size() || !std::isfinite(x)) throw std::invalid_argument("x");
          if (std::floor(x) == x && std::fabs(x) < 9e15 && t.find_first_of(".eE") == std::string::npos)
            out = static_cast<long long>(x);
          else out = x;
        } catch (const std::exception&) {
          fail(n, fmt::format("number(): '{}' is not a number", ellipsize(t, 40)));
        }
      } else fail(n, fmt::format("number() cannot convert {}", type_name(v)));
    } else if (f == "string") {
      want(1);
      out = to_text(args[0].value);
    } else if (f == "lower" || f == "upper") {
      want(1);
      std::string s = str_arg(0);
      for (auto& c : s) c = static_cast<char>(f == "lower" ? std::tolower(static_cast<unsigned char>(c))
                                                           : std::toupper(static_cast<unsigned char>(c)));
      out = s;
    } else if (f == "seconds") {
      // A duration as seconds: "1h30m" -> 5400; numbers pass through.
      want(1);
      const Value& v = args[0].value;
      if (v.is_number()) out = v;
      else if (v.is_string()) {
        std::string why;
        auto d = parse_duration(v.get_ref<const std::string&>(), &why);
        if (!d) fail(n, fmt::format("seconds(): {}", why));
        double secs = static_cast<double>(d->count()) / 1000.0;
        if (d->count() % 1000 == 0) out = static_cast<long long>(d->count() / 1000);
        else out = secs;
      } else fail(n, fmt::format("seconds() needs a duration or a number, got {}", type_name(v)));
    } else if (f == "iso_time") {
      // Seconds since 1970 as an RFC 3339 UTC time: 1795410000 -> "2026-11-23T03:00:00Z".
      want(1);
      const Value& v = args[0].value;
      if (!v.is_number()) fail(n, fmt::format("iso_time() needs seconds since 1970, got {}", type_name(v)));
      double secs = v.get<double>();
      // The clock counts nanoseconds in 64 bits: up to the year 2262 (found by fuzz_expr).
      if (!std::isfinite(secs) || secs < 0 || secs > 9e9) fail(n, "iso_time(): time out of range (1970 to 2255)");
      std::string t = rfc3339_ms(from_unix_ms(static_cast<long long>(secs * 1000)));
      out = t.substr(0, 19) + "Z";
    } else if (f == "trim") {
      want(1);
      out = std::string(trim(str_arg(0)));
    } else {
      fail(n, fmt::format("unknown function '{}'{}", f, did_you_mean_suffix(f, function_names())));
    }
    return {out, tainted};
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

std::string regex_error(const std::string& pattern) { return compile_error(pattern, nullptr); }

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
