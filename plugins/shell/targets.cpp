#include "shell/targets.h"

#include <fmt/format.h>

#include <cstdlib>

#include "base/text.h"

namespace rb::plugins::fleet {

long Count::of(size_t total, long floor) const {
  long v = percent ? static_cast<long>(static_cast<long long>(total) * n / 100) : n;
  return std::max(v, floor);
}

namespace {

std::optional<Count> count(const Value& v, long min, std::string* err) {
  Count c;
  if (v.is_number_integer()) {
    c.n = v.get<long>();
  } else if (v.is_string()) {
    std::string_view t = trim(v.get_ref<const std::string&>());
    if (t.ends_with('%')) {
      c.percent = true;
      t = trim(t.substr(0, t.size() - 1));
    }
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string_view::npos) {
      *err = fmt::format("must be a number of hosts or a percentage such as \"25%\", not '{}'",
                         ellipsize(v.get_ref<const std::string&>(), 40));
      return std::nullopt;
    }
    c.n = std::stol(std::string(t));
  } else {
    *err = fmt::format("must be a number of hosts or a percentage, not {}", v.dump());
    return std::nullopt;
  }
  if (c.percent && (c.n > 100 || c.n < (min > 0 ? 1 : 0))) {
    *err = fmt::format("must be a percentage from {}% to 100%, not {}%", min > 0 ? 1 : 0, c.n);
    return std::nullopt;
  }
  if (!c.percent && c.n < min) {
    *err = fmt::format("must be at least {}, not {}", min, c.n);
    return std::nullopt;
  }
  return c;
}

bool text(const Value& v, std::string* out, std::string* err) {
  if (!v.is_string() || trim(v.get_ref<const std::string&>()).empty()) {
    *err = v.is_string() ? "is empty" : fmt::format("must be a string, not {}", v.dump());
    return false;
  }
  *out = v.get<std::string>();
  return true;
}

bool ssh_settings(const Value& v, SshSettings* s, std::string* err, std::string* key) {
  if (!v.is_object()) return *key = "ssh", *err = "must be a map", false;
  for (auto& [k, x] : v.items()) {
    *key = "ssh." + k;
    if (k == "config" && !text(x, &s->config, err)) return false;
    if (k == "known_hosts" && !text(x, &s->known_hosts, err)) return false;
    if (k == "identity" && !text(x, &s->identity, err)) return false;
    if (k == "strict_host_keys") {
      if (x.is_boolean()) s->strict_host_keys = x.get<bool>();
      else if (x.is_string() && (x == "true" || x == "false")) s->strict_host_keys = x == "true";
      else return *err = "must be true or false", false;
    }
  }
  return true;
}

}  // namespace

std::optional<TargetsSpec> parse_targets(const Value& v, std::string* err, std::string* key) {
  TargetsSpec s;
  if (!v.is_object()) {
    *key = "targets";
    *err = "must be a map (inventory, hosts, …)";
    return std::nullopt;
  }
  for (const char* req : {"inventory", "hosts"})
    if (!v.contains(req)) return *key = req, *err = "is missing", std::nullopt;
  *key = "inventory";
  if (!text(v["inventory"], &s.inventory, err)) return std::nullopt;
  *key = "hosts";
  const Value& h = v["hosts"];
  if (h.is_array()) {
    for (auto& p : h) {
      std::string one;
      if (!text(p, &one, err)) return *err = "holds an empty or non-string pattern: an empty set of hosts is an error", std::nullopt;
      s.patterns.push_back(one);
    }
  } else {
    std::string one;
    if (!text(h, &one, err)) return *err += ": an empty set of hosts is an error, never \"all\"", std::nullopt;
    s.patterns.push_back(one);
  }
  if (s.patterns.empty()) return *err = "is an empty list: an empty set of hosts is an error", std::nullopt;
  struct {
    const char* name;
    long min;
    std::optional<Count>* out;
  } counts[] = {{"max_concurrency", 1, &s.max_concurrency}, {"max_errors", 0, &s.max_errors}, {"canary", 1, &s.canary}};
  for (auto& c : counts) {
    if (!v.contains(c.name) || v[c.name].is_null()) continue;
    *key = c.name;
    *c.out = count(v[c.name], c.min, err);
    if (!*c.out) return std::nullopt;
  }
  if (v.contains("ssh") && !v["ssh"].is_null() && !ssh_settings(v["ssh"], &s.ssh, err, key)) return std::nullopt;
  return s;
}

std::string resolve_path(const std::string& p, const std::string& cwd) {
  if (p.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  if (p.empty() || p[0] == '/' || cwd.empty()) return p;
  return cwd + (cwd.back() == '/' ? "" : "/") + p;
}

bool select_targets(const TargetsSpec& spec, const std::string& cwd, std::vector<FleetHost>* out, SelectFailure* f) {
  Inventory inv;
  std::string unreadable;
  std::string path = resolve_path(spec.inventory, cwd);
  if (!load_inventory(path, &inv, f->inventory, &unreadable)) {
    if (!unreadable.empty()) {
      f->kind = SelectFailure::Kind::Unreadable;
      f->message = unreadable;
    } else {
      f->kind = SelectFailure::Kind::Malformed;
      f->inventory.sort();
      f->message = f->inventory.list().empty() ? "malformed inventory" : f->inventory.list().front().format();
    }
    return false;
  }
  auto names = select_hosts(inv, spec.patterns, &f->pattern);
  if (!names) {
    f->kind = SelectFailure::Kind::Pattern;
    f->message = f->pattern.message;
    return false;
  }
  for (auto& n : *names) {
    auto vars = inv.vars_of(n);
    auto var = [&vars](const char* a, const char* b = nullptr) {
      if (auto it = vars.find(a); it != vars.end()) return it->second;
      if (b)
        if (auto it = vars.find(b); it != vars.end()) return it->second;
      return std::string();
    };
    FleetHost h;
    h.name = n;
    h.address = var("ansible_host", "ansible_ssh_host");
    if (h.address.empty()) h.address = n;
    h.port = var("ansible_port", "ansible_ssh_port");
    h.user = var("ansible_user", "ansible_ssh_user");
    h.identity = var("ansible_ssh_private_key_file", "ansible_private_key_file");
    if (!h.identity.empty()) h.identity = resolve_path(h.identity, cwd);
    bool port_ok = h.port.empty() || (h.port.size() <= 5 && h.port.find_first_not_of("0123456789") == std::string::npos);
    bool bad_start = h.address[0] == '-' || (!h.user.empty() && h.user[0] == '-');
    std::string common = var("ansible_ssh_common_args");
    if (!port_ok || bad_start || !split_words(common, false, &h.ssh_args)) {
      f->kind = SelectFailure::Kind::BadVars;
      f->message = fmt::format("host '{}' in inventory '{}': {}", n, spec.inventory,
                               !port_ok   ? fmt::format("ansible_port '{}' is not a port number", h.port)
                               : bad_start ? std::string("ansible_host and ansible_user must not start with '-'")
                                           : std::string("ansible_ssh_common_args has an unterminated quote"));
      return false;
    }
    out->push_back(std::move(h));
  }
  return true;
}

}  // namespace rb::plugins::fleet
