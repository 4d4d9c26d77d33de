#include "expr/functions.h"

#include <re2/re2.h>

#include <cmath>
#include <fmt/format.h>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

#include "base/duration.h"
#include "base/text.h"
#include "base/time.h"

namespace rb::expr {

const char* type_name(const Value& v) {
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

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    bool ints = (a.is_number_integer() || a.is_number_unsigned()) && (b.is_number_integer() || b.is_number_unsigned());
    if (ints) return a.get<long long>() == b.get<long long>();
    return a.get<double>() == b.get<double>();
  }
  return a == b;
}

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

}  // namespace

std::string regex_error(const std::string& pattern) { return compile_error(pattern, nullptr); }

namespace fn {

void Call::fail(std::string msg) const { throw Error{node.offset, std::move(msg)}; }

void Call::want(size_t count) const {
  if (args.size() != count)
    fail(fmt::format("{}() takes {} argument{}, got {}", node.name, count, count == 1 ? "" : "s", args.size()));
}

const std::string& Call::str(size_t i) const {
  if (!args[i].is_string())
    throw Error{node.kids[i]->offset, fmt::format("{}() needs a string, got {}", node.name, type_name(args[i]))};
  return args[i].get_ref<const std::string&>();
}

namespace {

Value len(const Call& c) {
  c.want(1);
  const Value& v = c.args[0];
  if (v.is_string()) return static_cast<long long>(v.get_ref<const std::string&>().size());
  if (v.is_array() || v.is_object()) return static_cast<long long>(v.size());
  if (v.is_null()) return 0;
  c.fail(fmt::format("len() needs a string, list or map, got {}", type_name(v)));
}

Value contains(const Call& c) {
  c.want(2);
  const Value& h = c.args[0];
  const Value& x = c.args[1];
  if (h.is_string()) return h.get_ref<const std::string&>().find(to_text(x)) != std::string::npos;
  if (h.is_array()) return std::any_of(h.begin(), h.end(), [&](const Value& e) { return equal(e, x); });
  if (h.is_object()) return x.is_string() && h.contains(x.get<std::string>());
  if (h.is_null()) return false;
  c.fail(fmt::format("contains() needs a string, list or map, got {}", type_name(h)));
}

Value matches(const Call& c) {
  c.want(2);
  const std::string& s = c.str(0);
  const std::string& pattern = c.str(1);
  if (s.size() > kMaxRegexInput) c.fail(fmt::format("matches() input too large (over {} bytes)", kMaxRegexInput));
  std::shared_ptr<const re2::RE2> re;
  std::string why = compile_error(pattern, &re);
  if (!why.empty()) throw Error{c.node.kids[1]->offset, fmt::format("invalid regular expression: {}", why)};
  return re2::RE2::PartialMatch(s, *re);
}

Value starts_with(const Call& c) {
  c.want(2);
  return c.str(0).starts_with(c.str(1));
}

Value ends_with(const Call& c) {
  c.want(2);
  return c.str(0).ends_with(c.str(1));
}

Value to_int(const Call& c) {
  c.want(1);
  const Value& v = c.args[0];
  if (v.is_number_integer() || v.is_number_unsigned()) return v.get<long long>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 9.2e18) c.fail("int(): number out of range");
    return static_cast<long long>(d);
  }
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (!v.is_string()) c.fail(fmt::format("int() cannot convert {}", type_name(v)));
  std::string t(trim(v.get_ref<const std::string&>()));
  try {
    size_t used = 0;
    long long x = std::stoll(t, &used);
    if (used == t.size()) return x;
  } catch (const std::exception&) {
  }
  c.fail(fmt::format("int(): '{}' is not an integer", ellipsize(t, 40)));
}

Value to_number(const Call& c) {
  c.want(1);
  const Value& v = c.args[0];
  if (v.is_number()) return v;
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (!v.is_string()) c.fail(fmt::format("number() cannot convert {}", type_name(v)));
  std::string t(trim(v.get_ref<const std::string&>()));
  try {
    size_t used = 0;
    double x = std::stod(t, &used);
    if (used == t.size() && std::isfinite(x)) {
      if (std::floor(x) == x && std::fabs(x) < 9e15 && t.find_first_of(".eE") == std::string::npos)
        return static_cast<long long>(x);
      return x;
    }
  } catch (const std::exception&) {
  }
  c.fail(fmt::format("number(): '{}' is not a number", ellipsize(t, 40)));
}

Value to_string(const Call& c) {
  c.want(1);
  return to_text(c.args[0]);
}

Value change_case(const Call& c, bool upper) {
  c.want(1);
  std::string s = c.str(0);
  for (auto& ch : s)
    ch = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(ch)) : std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
Value lower(const Call& c) { return change_case(c, false); }
Value upper(const Call& c) { return change_case(c, true); }

Value trimmed(const Call& c) {
  c.want(1);
  return std::string(trim(c.str(0)));
}

// A duration as seconds: "1h30m" -> 5400; numbers pass through.
Value seconds(const Call& c) {
  c.want(1);
  const Value& v = c.args[0];
  if (v.is_number()) return v;
  if (!v.is_string()) c.fail(fmt::format("seconds() needs a duration or a number, got {}", type_name(v)));
  std::string why;
  auto d = parse_duration(v.get_ref<const std::string&>(), &why);
  if (!d) c.fail(fmt::format("seconds(): {}", why));
  if (d->count() % 1000 == 0) return static_cast<long long>(d->count() / 1000);
  return static_cast<double>(d->count()) / 1000.0;
}

// Seconds since 1970 as an RFC 3339 UTC time: 1795410000 -> "2026-11-23T03:00:00Z".
Value iso_time(const Call& c) {
  c.want(1);
  const Value& v = c.args[0];
  if (!v.is_number()) c.fail(fmt::format("iso_time() needs seconds since 1970, got {}", type_name(v)));
  double secs = v.get<double>();
  // The clock counts nanoseconds in 64 bits: up to the year 2262 (found by fuzz_expr).
  if (!std::isfinite(secs) || secs < 0 || secs > 9e9) c.fail("iso_time(): time out of range (1970 to 2255)");
  return rfc3339_ms(from_unix_ms(static_cast<long long>(secs * 1000))).substr(0, 19) + "Z";
}

}  // namespace

Builtin find(const std::string& name) {
  static const std::map<std::string, Builtin> table = {
      {"len", len},         {"contains", contains},   {"matches", matches}, {"starts_with", starts_with},
      {"ends_with", ends_with}, {"int", to_int},      {"number", to_number}, {"string", to_string},
      {"lower", lower},     {"upper", upper},         {"trim", trimmed},    {"seconds", seconds},
      {"iso_time", iso_time}};
  auto it = table.find(name);
  return it == table.end() ? nullptr : it->second;
}

}  // namespace fn
}  // namespace rb::expr
