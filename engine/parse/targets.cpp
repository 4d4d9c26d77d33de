#include "parse/targets.h"

#include <fmt/format.h>

#include "base/text.h"
#include "expr/template.h"
#include "yaml/check.h"

namespace rb::parse {

namespace {

using yaml::Node;

bool templated(const Node& n) { return n.is_scalar() && expr::has_interpolation(n.scalar); }

// A count (`10`) or a percentage of the hosts (`"25%"`), at least `min`.
void count_or_percent(const Node& n, const char* key, long long min, Diagnostics& d) {
  if (templated(n)) return;
  std::string what = fmt::format("'{}' of targets", key);
  if (!n.is_scalar()) {
    d.error(n.pos, fmt::format("{} must be a number of hosts or a percentage such as \"25%\", not {}", what,
                               n.kind_name()));
    return;
  }
  std::string_view t = trim(n.scalar);
  if (t.ends_with('%')) {
    std::string digits(trim(t.substr(0, t.size() - 1)));
    bool ok = !digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string::npos;
    long pct = ok ? std::stol(digits) : -1;
    if (!ok || pct > 100 || pct < (min > 0 ? 1 : 0))
      d.error(yaml::text_pos(n), fmt::format("{} must be a percentage from {}% to 100%, not '{}'", what,
                                             min > 0 ? 1 : 0, ellipsize(n.scalar, 40)));
    return;
  }
  yaml::want_int(n, what, d, min, 1'000'000);
}

void check_ssh(const Node& n, Diagnostics& d) {
  if (!yaml::want_map(n, "'ssh' of targets", d)) return;
  yaml::check_keys(n, {"config", "known_hosts", "identity", "strict_host_keys"}, "in targets.ssh", d);
  for (const char* k : {"config", "known_hosts", "identity"}) {
    const Node* v = n.get(k);
    if (!v) continue;
    if (auto s = yaml::want_string(*v, fmt::format("'{}' of targets.ssh", k), d); s && trim(*s).empty())
      d.error(v->pos, fmt::format("'{}' of targets.ssh is empty", k));
  }
  if (auto* v = n.get("strict_host_keys"); v && !templated(*v))
    yaml::want_bool(*v, "'strict_host_keys' of targets.ssh", d);
}

void check_hosts(const Node& n, Diagnostics& d) {
  auto one = [&d](const Node& p) {
    if (!p.is_scalar()) {
      d.error(p.pos, fmt::format("a host pattern must be a string, not {}", p.kind_name()));
      return;
    }
    if (trim(p.scalar).empty())
      d.error(p.pos, "empty host pattern: an empty set of hosts is an error, never \"all\" (write 'all' to mean "
                     "every host of the inventory)");
  };
  if (n.is_seq()) {
    if (n.items.empty()) d.error(n.pos, "'hosts' of targets is an empty list: an empty set of hosts is an error");
    for (auto& p : n.items) one(p);
    return;
  }
  one(n);
}

}  // namespace

void check_targets(const Node& key, const Node& t, const std::string& kind, const std::string& where,
                   Diagnostics& d) {
  if (kind != "shell") {
    d.error(key.pos, fmt::format("'targets' applies to shell actions (steps and checks); this one {} runs '{}'",
                                 where, kind));
    return;
  }
  if (!yaml::want_map(t, "'targets'", d)) return;
  yaml::check_keys(t, {"inventory", "hosts", "max_concurrency", "max_errors", "canary", "ssh"},
                   fmt::format("in targets {}", where), d);
  if (auto* n = t.get("inventory")) {
    if (auto s = yaml::want_string(*n, "'inventory' of targets", d); s && trim(*s).empty())
      d.error(n->pos, "'inventory' of targets is empty");
  } else {
    d.error(key.pos, fmt::format("targets {} needs 'inventory' (an Ansible INI or YAML inventory file)", where));
  }
  if (auto* n = t.get("hosts")) check_hosts(*n, d);
  else d.error(key.pos, fmt::format("targets {} needs 'hosts' (a host pattern such as 'web:&eu', or 'all')", where));
  if (auto* n = t.get("max_concurrency")) count_or_percent(*n, "max_concurrency", 1, d);
  if (auto* n = t.get("max_errors")) count_or_percent(*n, "max_errors", 0, d);
  if (auto* n = t.get("canary")) count_or_percent(*n, "canary", 1, d);
  if (auto* n = t.get("ssh")) check_ssh(*n, d);
}

}  // namespace rb::parse
