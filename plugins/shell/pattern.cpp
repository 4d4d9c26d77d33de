// Ansible host patterns over an Inventory (see inventory.h for the rules).
#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <regex>
#include <set>

#include "base/text.h"
#include "shell/inventory.h"

namespace rb::plugins::fleet {

namespace {

struct Term {
  char op = 0;  ///< 0 union, '&' intersection, '!' exclusion
  std::string text;
  size_t item = 0, offset = 0;
};

// Splits one pattern on ':' and ',' outside brackets (ranges and subscripts hold ':').
std::vector<Term> split_terms(const std::string& p, size_t item) {
  std::vector<Term> out;
  size_t start = 0;
  int depth = 0;
  auto push = [&](size_t end) {
    std::string_view raw = std::string_view(p).substr(start, end - start);
    size_t lead = raw.find_first_not_of(" \t");
    Term t;
    t.item = item;
    t.offset = start + (lead == std::string_view::npos ? 0 : lead);
    t.text = std::string(trim(raw));
    if (!t.text.empty() && (t.text[0] == '&' || t.text[0] == '!')) {
      t.op = t.text[0];
      t.text = std::string(trim(t.text.substr(1)));
    }
    out.push_back(std::move(t));
  };
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '[') ++depth;
    else if (p[i] == ']' && depth > 0) --depth;
    else if ((p[i] == ':' || p[i] == ',') && depth == 0) {
      push(i);
      start = i + 1;
    }
  }
  push(p.size());
  return out;
}

bool has_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// `name[3]`, `name[1:4]`, `name[-1]`, `name[:2]`: the base name and the subscript text.
bool split_subscript(const std::string& t, std::string* base, std::string* sub) {
  if (t.empty() || t.back() != ']') return false;
  size_t open = t.rfind('[');
  if (open == std::string::npos || open == 0) return false;
  std::string inner = t.substr(open + 1, t.size() - open - 2);
  if (inner.empty() || inner.find_first_not_of("-0123456789:") != std::string::npos) return false;
  *base = t.substr(0, open);
  *sub = inner;
  return true;
}

// Applies a subscript (Python slice rules, end exclusive) to a list.
bool apply_subscript(const std::vector<std::string>& in, const std::string& sub, std::vector<std::string>* out,
                     std::string* err) {
  auto num = [](const std::string& s, long* v) {
    size_t minus = s.rfind('-');
    if (s.empty() || s.size() > 9 || s.find_first_not_of("-0123456789") != std::string::npos ||
        (minus != std::string::npos && minus > 0) || s == "-")
      return false;
    *v = std::stol(s);
    return true;
  };
  long n = static_cast<long>(in.size());
  size_t colon = sub.find(':');
  if (colon == std::string::npos) {
    long i;
    if (!num(sub, &i)) return *err = fmt::format("bad subscript [{}]", sub), false;
    if (i < 0) i += n;
    if (i < 0 || i >= n) return *err = fmt::format("subscript [{}] is out of range ({} hosts)", sub, n), false;
    out->push_back(in[static_cast<size_t>(i)]);
    return true;
  }
  std::string a = sub.substr(0, colon), b = sub.substr(colon + 1);
  long from = 0, to = n;
  if ((!a.empty() && !num(a, &from)) || (!b.empty() && !num(b, &to)))
    return *err = fmt::format("bad subscript [{}]", sub), false;
  if (from < 0) from += n;
  if (to < 0) to += n;
  from = std::clamp(from, 0L, n);
  to = std::clamp(to, 0L, n);
  for (long i = from; i < to; ++i) out->push_back(in[static_cast<size_t>(i)]);
  return true;
}

class Selector {
 public:
  explicit Selector(const Inventory& inv) : inv_(inv) {}

  // The hosts one term stands for (empty when it selects nothing); false on a bad term.
  bool hosts_of(const std::string& t, std::vector<std::string>* out, std::string* err) {
    if (t[0] == '~') return regex(t.substr(1), out, err);  // "~h0[12]": a class, not a subscript
    std::string base, sub;
    if (split_subscript(t, &base, &sub) && !has_glob(base)) {
      std::vector<std::string> all;
      if (!hosts_of(base, &all, err)) return false;
      if (all.empty()) return true;
      return apply_subscript(all, sub, out, err);
    }
    if (t == "all" || t == "*") {
      *out = inv_.host_order();
      return true;
    }
    if (inv_.has_group(t)) {
      *out = inv_.members(t);
      return true;
    }
    if (inv_.has_host(t)) {
      out->push_back(t);
      return true;
    }
    if (!has_glob(t)) return true;
    for (auto& g : inv_.group_names())
      if (::fnmatch(t.c_str(), g.c_str(), 0) == 0)
        for (auto& h : inv_.members(g)) out->push_back(h);
    for (auto& h : inv_.host_order())
      if (::fnmatch(t.c_str(), h.c_str(), 0) == 0) out->push_back(h);
    return true;
  }

 private:
  bool regex(const std::string& re, std::vector<std::string>* out, std::string* err) {
    if (re.size() > 200) return *err = "regular expression longer than 200 characters", false;
    try {
      std::regex r(re, std::regex::ECMAScript);
      for (auto& g : inv_.group_names())
        if (std::regex_search(g, r))
          for (auto& h : inv_.members(g)) out->push_back(h);
      for (auto& h : inv_.host_order())
        if (std::regex_search(h, r)) out->push_back(h);
    } catch (const std::regex_error& e) {
      *err = fmt::format("bad regular expression '{}': {}", re, e.what());
      return false;
    }
    return true;
  }

  const Inventory& inv_;
};

std::string what_it_is(const Term& t) {
  if (t.text.find_first_of("*?~") != std::string::npos) return fmt::format("pattern '{}' matches no host", t.text);
  return fmt::format("'{}' is neither a group nor a host of the inventory", t.text);
}

}  // namespace

std::optional<std::vector<std::string>> select_hosts(const Inventory& inv, const std::vector<std::string>& patterns,
                                                     PatternError* err) {
  std::vector<Term> terms;
  for (size_t i = 0; i < patterns.size(); ++i) {
    auto t = split_terms(patterns[i], i);
    terms.insert(terms.end(), t.begin(), t.end());
  }
  Selector sel(inv);
  std::set<std::string> uni;
  std::optional<std::set<std::string>> inter;
  std::set<std::string> excl;
  bool any_union = false;
  std::vector<std::string> names = inv.group_names();
  names.insert(names.end(), inv.host_order().begin(), inv.host_order().end());
  for (auto& t : terms) {
    if (t.text.empty()) {
      *err = {t.op ? fmt::format("'{}' with no group or host after it", t.op)
                   : "empty term in the host pattern (a stray ':' or ',')",
              t.item, t.offset};
      return std::nullopt;
    }
    std::vector<std::string> hs;
    std::string why;
    if (!sel.hosts_of(t.text, &hs, &why)) {
      *err = {why, t.item, t.offset};
      return std::nullopt;
    }
    if (hs.empty()) {
      *err = {what_it_is(t) + did_you_mean_suffix(t.text, names), t.item, t.offset};
      return std::nullopt;
    }
    std::set<std::string> s(hs.begin(), hs.end());
    if (t.op == '&') {
      if (!inter) inter = s;
      else {
        std::set<std::string> both;
        std::set_intersection(inter->begin(), inter->end(), s.begin(), s.end(), std::inserter(both, both.end()));
        inter = both;
      }
    } else if (t.op == '!') {
      excl.insert(s.begin(), s.end());
    } else {
      any_union = true;
      uni.insert(s.begin(), s.end());
    }
  }
  std::vector<std::string> out;
  for (auto& h : inv.host_order()) {
    // Only intersections and exclusions ("!web-7"): they apply to every host (as in Ansible).
    bool in = any_union ? uni.count(h) > 0 : true;
    if (in && inter && !inter->count(h)) in = false;
    if (in && excl.count(h)) in = false;
    if (in) out.push_back(h);
  }
  if (out.empty()) {
    std::string all;
    for (auto& p : patterns) all += (all.empty() ? "" : ", ") + p;
    *err = {fmt::format("host pattern '{}' selects no host: an empty set is an error, never \"all\"", all), 0, 0};
    return std::nullopt;
  }
  return out;
}

}  // namespace rb::plugins::fleet
