#include "cli/fleet_check.h"

#include <fmt/format.h>

#include <unistd.h>

#include <functional>

#include "base/text.h"
#include "expr/template.h"
#include "shell/targets.h"
#include "yaml/check.h"

namespace rb::cli {

namespace {

namespace fl = plugins::fleet;

std::string cwd_now() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string();
}

const yaml::Node& node_or(const yaml::Node& t, const std::string& key) {
  std::string top = key.substr(0, key.find('.'));
  const yaml::Node* n = t.get(top);
  if (n && key.size() > top.size()) {
    const yaml::Node* m = n->get(key.substr(top.size() + 1));
    if (m) n = m;
  }
  return n ? *n : t;
}

// Where a pattern error points: the faulty term in the `hosts` text when it is written
// out (no interpolation), else the `hosts` value.
SourcePos pattern_pos(const yaml::Node& t, const fl::PatternError& e) {
  const yaml::Node* h = t.get("hosts");
  if (!h) return t.pos;
  const yaml::Node* item = h->is_seq() && e.item < h->items.size() ? &h->items[e.item] : h;
  if (!item->is_scalar() || expr::has_interpolation(item->scalar) || item->scalar.find('\n') != std::string::npos)
    return item->pos;
  SourcePos p = yaml::text_pos(*item);
  p.col += static_cast<int>(e.offset);
  return p;
}

class Checker {
 public:
  Checker(const model::Runbook& rb, Masker& m) : rb_(rb), m_(m) {}

  // Renders and resolves `a`'s targets. Returns false after printing an error.
  bool check(const model::Action& a, exec::StateRenderer& r) {
    const yaml::Node& t = *a.targets;
    Value v;
    try {
      v = r.render(t);
    } catch (const plugin::RenderError&) {
      return true;  // depends on what runs before it: resolved (and checked) at run time
    }
    std::string err, key;
    auto spec = fl::parse_targets(v, &err, &key);
    if (!spec) return report(node_or(t, key).pos, fmt::format("targets: '{}' {}", key, err));
    std::vector<fl::FleetHost> hosts;
    fl::SelectFailure f;
    if (fl::select_targets(*spec, cwd_now(), &hosts, &f)) return true;
    switch (f.kind) {
      case fl::SelectFailure::Kind::Pattern: return report(pattern_pos(t, f.pattern), f.message);
      case fl::SelectFailure::Kind::Malformed:
        for (auto& d : f.inventory.list()) fmt::print(stderr, "{}\n", m_.mask(d.format()));
        return report(yaml::text_pos(node_or(t, "inventory")),
                      fmt::format("inventory '{}' is malformed ({} error{} above)", spec->inventory,
                                  f.inventory.error_count(), f.inventory.error_count() == 1 ? "" : "s"));
      default: return report(yaml::text_pos(node_or(t, "inventory")), f.message);
    }
  }

 private:
  bool report(SourcePos p, const std::string& msg) {
    fmt::print(stderr, "{}:{}:{}: {}\n", rb_.file, p.line, p.col, m_.mask(msg));
    return false;
  }

  const model::Runbook& rb_;
  Masker& m_;
};

}  // namespace

void each_fleet_action(const model::Runbook& rb, const std::function<void(const model::Action&)>& f) {
  for (auto& s : rb.steps) {
    auto one = [&f](const model::Action& a) {
      if (a.targets) f(a);
    };
    if (s.kind == model::StepKind::Action) one(s.action);
    if (s.wait_until) one(s.wait_until->action);
    for (auto& b : s.parallel) one(b.action);
    for (auto& c : s.verify) one(c.action);
    if (s.rollback) one(s.rollback->action);
  }
}

bool check_fleet_targets(const model::Runbook& rb, const Value& inputs, const std::set<std::string>& secrets,
                         Masker& masker) {
  exec::RunState st(rb, masker);
  st.inputs = inputs;
  st.secret_inputs = secrets;
  exec::StateRenderer r(st, masker);
  Checker c(rb, masker);
  bool ok = true;
  each_fleet_action(rb, [&](const model::Action& a) { ok = c.check(a, r) && ok; });
  return ok;
}

std::string fleet_hosts_text(const model::Action& a, exec::StateRenderer& r) {
  if (!a.targets) return {};
  Value v;
  try {
    v = r.render(*a.targets);
  } catch (const plugin::RenderError& e) {
    return fmt::format("on hosts chosen at run time ({})", e.message);
  }
  std::string err, key;
  auto spec = fl::parse_targets(v, &err, &key);
  if (!spec) return fmt::format("targets: '{}' {}", key, err);
  std::vector<fl::FleetHost> hosts;
  fl::SelectFailure f;
  if (!fl::select_targets(*spec, cwd_now(), &hosts, &f)) return "targets: " + f.message;
  size_t n = hosts.size();
  std::vector<std::string> how;
  how.push_back(fmt::format("{} at a time", spec->max_concurrency ? spec->max_concurrency->of(n, 1) : 10));
  long errs = spec->max_errors ? spec->max_errors->of(n, 0) : 0;
  how.push_back(errs == 0 ? "stop at the first failure" : fmt::format("stop after {} failures", errs + 1));
  if (spec->canary) how.push_back(fmt::format("canary first: {}", std::min<long>(spec->canary->of(n, 1), n)));
  std::vector<std::string> names;
  for (auto& h : hosts) names.push_back(h.name == h.address ? h.name : fmt::format("{} ({})", h.name, h.address));
  return fmt::format("on {} host{} ({}): {}", n, n == 1 ? "" : "s", join(how, ", "), join(names, ", "));
}

}  // namespace rb::cli
