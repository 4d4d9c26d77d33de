// The runbook parser, steps: actions (plugin keys, parallel, end), checks, timing and
// retries, env, transitions and choose, verify/rollback/outputs/record. See parser.h.
#include <fmt/format.h>

#include <algorithm>

#include "base/text.h"
#include "parse/parser.h"
#include "parse/targets.h"
#include "yaml/check.h"

namespace rb::parse {

using model::Check;
using model::Runbook;
using model::Step;
using yaml::Entry;
using yaml::Node;

// Reads the keys a step may inherit from `defaults` first, then the step's own.
const Node* Parser::pick(const Node& step, const Node* defaults, const char* key) {
  if (auto* n = step.get(key)) return n;
  if (defaults) return defaults->get(key);
  return nullptr;
}

Step Parser::step(const Node& key, const Node& v, const Node* defaults) {
  Step s;
  s.id = key.scalar;
  s.pos = key.pos;
  if (!valid_step_id(s.id))
    d_.error(key.pos, fmt::format("step id '{}' may use letters, digits, '-' and '_' only", ellipsize(s.id, 60)));
  std::string where = fmt::format("in step '{}'", s.id);
  if (!v.is_map()) {
    d_.error(v.pos, fmt::format("step '{}' must be a map, not {}", s.id, v.kind_name()));
    s.kind = model::StepKind::End;
    s.end = model::EndState::Failed;
    return s;
  }
  step_text(v, s);
  // The step's own `stdin` reaches every action of the step: plugins check it too.
  step_stdin_ = v.get("stdin");
  step_action(v, s, where);
  step_timing(v, defaults, s);
  step_env(v, defaults, s);
  step_flow(v, defaults, s);
  step_checks(v, s);
  step_stdin_ = nullptr;
  return s;
}

void Parser::step_text(const Node& v, Step& s) {
  if (auto* n = v.get("title")) if (auto t = want_string(*n, "'title'", d_)) s.title = *t;
  if (auto* n = v.get("phase")) if (auto t = want_string(*n, "'phase'", d_)) s.phase = *t;
  if (auto* n = v.get("description")) if (auto t = want_string(*n, "'description'", d_)) s.description = *t;
}

// The keys of a step that are actions: built-ins, parallel, end, and external plugins
// (any other valid name that is not a near-typo of a known key).
std::vector<const Entry*> Parser::action_keys(const Node& v, const std::string& where) {
  std::vector<const Entry*> actions;
  std::vector<std::string> known = step_keys();
  known.insert(known.end(), kBuiltinActions.begin(), kBuiltinActions.end());
  for (auto& e : v.entries) {
    const std::string& k = e.first.scalar;
    bool builtin = std::find(kBuiltinActions.begin(), kBuiltinActions.end(), k) != kBuiltinActions.end();
    if (k == "parallel" || k == "end" || builtin) {
      actions.push_back(&e);
      continue;
    }
    if (std::find(step_keys().begin(), step_keys().end(), k) != step_keys().end()) continue;
    // Not a step key nor a built-in: a typo of one, or an external plugin (an existing
    // plugin wins over a near-typo: `fail:` is a plugin when runbook-plugin-fail exists).
    if (auto m = did_you_mean(k, known); m && !reg_.find(k)) {
      d_.error(e.first.pos, fmt::format("unknown key '{}' {} (did you mean '{}'?)", k, where, *m));
      continue;
    }
    if (!valid_name_plugin(k)) {
      d_.error(e.first.pos, fmt::format("unknown key '{}' {}", k, where));
      continue;
    }
    actions.push_back(&e);
  }
  return actions;
}

// Finds the step's one action (plugin key, parallel or end) and reports typos.
void Parser::step_action(const Node& v, Step& s, const std::string& where) {
  std::vector<const Entry*> actions = action_keys(v, where);
  if (actions.empty()) {
    d_.error(s.pos, fmt::format("step '{}' has no action: give it one of shell, sql, http, wait, approval, "
                                "manual, an external plugin, parallel or end",
                                s.id));
    s.kind = model::StepKind::End;
    s.end = model::EndState::Failed;
    return;
  }
  if (actions.size() > 1) {
    d_.error(actions[1]->first.pos,
             fmt::format("step '{}' has more than one action ('{}' and '{}'): a step does exactly one thing; "
                         "split it into two steps",
                         s.id, actions[0]->first.scalar, actions[1]->first.scalar));
  }
  const auto& [k, val] = *actions[0];
  if (k.scalar == "end") return end_step(v, val, s);
  if (k.scalar == "parallel") return parallel_step(v, val, s);
  if (v.get("max_concurrency"))
    d_.error(v.entry("max_concurrency")->first.pos, fmt::format("'max_concurrency' applies only to parallel steps (step '{}')", s.id));
  s.kind = model::StepKind::Action;
  s.action = action(k, val, where);
  targets(v, s.action, where);
  if (s.action.kind == "wait" && val.is_map() && val.get("until")) {
    s.wait_until = check(*val.get("until"), fmt::format("'until' of step '{}'", s.id));
    if (auto* iv = val.get("interval")) s.wait_interval = want_duration(*iv, "'interval'", d_);
  }
  if (auto* n = v.get("expect")) s.expect = expression(*n, "'expect'");
}

void Parser::end_step(const Node& v, const Node& val, Step& s) {
  s.kind = model::StepKind::End;
  if (auto t = want_string(val, fmt::format("'end' of step '{}'", s.id), d_)) {
    if (*t == "recovered") s.end = model::EndState::Recovered;
    else if (*t == "failed") s.end = model::EndState::Failed;
    else if (*t == "aborted") s.end = model::EndState::Aborted;
    else
      d_.error(text_pos(val), fmt::format("'end' must be recovered, failed or aborted, not '{}'{}", ellipsize(*t, 40),
                                          did_you_mean_suffix(*t, {"recovered", "failed", "aborted"})));
  }
  static const std::vector<std::string> ok = {"end", "title", "phase", "description"};
  for (auto& e : v.entries) {
    if (std::find(ok.begin(), ok.end(), e.first.scalar) == ok.end() &&
        std::find(step_keys().begin(), step_keys().end(), e.first.scalar) != step_keys().end())
      d_.error(e.first.pos, fmt::format("'{}' has no meaning in an end step ('{}' ends the run)", e.first.scalar, s.id));
  }
}

void Parser::parallel_step(const Node& v, const Node& val, Step& s) {
  s.kind = model::StepKind::Parallel;
  if (want_seq(val, fmt::format("'parallel' of step '{}'", s.id), d_)) {
    if (val.items.empty()) d_.error(val.pos, fmt::format("'parallel' of step '{}' is empty", s.id));
    for (auto& item : val.items)
      if (auto c = check(item, fmt::format("a parallel branch of step '{}'", s.id))) s.parallel.push_back(std::move(*c));
  }
  if (auto* n = v.get("max_concurrency"))
    if (auto i = want_int(*n, "'max_concurrency'", d_, 1, 10000)) s.max_concurrency = static_cast<int>(*i);
  if (auto* e = v.entry("targets"))
    d_.error(e->first.pos, fmt::format("'targets' goes on a branch's shell action, not on the parallel step '{}'", s.id));
}

model::Action Parser::action(const Node& key, const Node& params, const std::string& where) {
  model::Action a;
  a.kind = key.scalar;
  a.pos = key.pos;
  a.params = params;
  plugin::Plugin* p = reg_.is_builtin(a.kind) ? reg_.find(a.kind) : nullptr;
  if (p) p->validate(params, plugin::ValidateContext{d_, where, step_stdin_});
  return a;
}

// `targets:` beside a shell action: the action runs on those hosts (contract §8).
void Parser::targets(const Node& map, model::Action& a, const std::string& where) {
  const Entry* e = map.entry("targets");
  if (!e) return;
  check_targets(e->first, e->second, a.kind, where, d_);
  a.targets = e->second;
}

std::optional<Check> Parser::check(const Node& n, const std::string& what) {
  if (!want_map(n, what, d_)) return std::nullopt;
  Check c;
  c.pos = n.pos;
  const Entry* act = nullptr;
  std::vector<std::string> known = kCheckKeys;
  known.insert(known.end(), kBuiltinActions.begin(), kBuiltinActions.end());
  for (auto& e : n.entries) {
    const std::string& k = e.first.scalar;
    if (std::find(kCheckKeys.begin(), kCheckKeys.end(), k) != kCheckKeys.end()) continue;
    bool builtin = std::find(kBuiltinActions.begin(), kBuiltinActions.end(), k) != kBuiltinActions.end();
    if (!builtin) {
      if (auto m = did_you_mean(k, known); m && !reg_.find(k)) {
        d_.error(e.first.pos, fmt::format("unknown key '{}' in {} (did you mean '{}'?)", k, what, *m));
        continue;
      }
      if (!valid_name_plugin(k)) {
        d_.error(e.first.pos, fmt::format("unknown key '{}' in {}", k, what));
        continue;
      }
    }
    if (act) {
      d_.error(e.first.pos, fmt::format("{} has more than one action ('{}' and '{}')", what, act->first.scalar, k));
      continue;
    }
    act = &e;
  }
  if (!act) {
    d_.error(n.pos, fmt::format("{} has no action (e.g. shell, sql or http)", what));
    return std::nullopt;
  }
  c.action = action(act->first, act->second, "in " + what);
  targets(n, c.action, "in " + what);
  if (auto* x = n.get("name")) if (auto s = want_string(*x, "'name'", d_)) c.name = *s;
  if (auto* x = n.get("expect")) c.expect = expression(*x, "'expect'");
  if (auto* x = n.get("within")) c.within = want_duration(*x, "'within'", d_);
  if (auto* x = n.get("interval")) {
    c.interval = want_duration(*x, "'interval'", d_);
    if (c.interval && c.interval->count() == 0) d_.error(x->pos, "'interval' must be greater than zero");
  }
  if (auto* x = n.get("timeout")) c.timeout = want_duration(*x, "'timeout'", d_);
  if (auto* x = n.get("mutates")) c.mutates = want_bool(*x, "'mutates'", d_);
  if (c.name.empty()) c.name = c.action.kind;
  return c;
}

void Parser::step_timing(const Node& v, const Node* defaults, Step& s) {
  if (s.kind == model::StepKind::End) return;
  // Approvals and manual steps wait on people: their own `timeout` bounds them, not the
  // default meant for commands.
  bool asks = s.kind == model::StepKind::Action && (s.action.kind == "approval" || s.action.kind == "manual");
  if (asks) defaults = nullptr;
  if (auto* n = pick(v, defaults, "budget")) s.budget = want_duration(*n, "'budget'", d_);
  if (auto* n = pick(v, defaults, "timeout")) {
    s.timeout = want_duration(*n, "'timeout'", d_);
    if (s.timeout && s.timeout->count() == 0) d_.error(n->pos, "'timeout' must be greater than zero");
  }
  if (auto* n = pick(v, defaults, "retry")) retry(*n, s.retry);
  // `wait: {until: …, timeout: 2m}`: the wait's own bound is the step's timeout (the
  // smaller one when the step sets both), so `on_timeout` applies to it.
  if (s.kind == model::StepKind::Action && s.action.kind == "wait" && s.action.params.is_map()) {
    if (auto* n = s.action.params.get("timeout")) {
      auto t = parse_duration(n->scalar);
      if (t && t->count() > 0 && (!s.timeout || !v.get("timeout") || *t < *s.timeout)) s.timeout = t;
    }
  }
}

void Parser::retry(const Node& n, model::Retry& r) {
  if (n.is_scalar()) {  // shorthand: retry: 3
    if (auto i = want_int(n, "'retry' attempts", d_, 1, 1000)) r.attempts = static_cast<int>(*i);
    return;
  }
  if (!want_map(n, "'retry'", d_)) return;
  check_keys(n, {"attempts", "delay", "backoff", "max_delay"}, "in retry", d_);
  if (auto* x = n.get("attempts"))
    if (auto i = want_int(*x, "'attempts'", d_, 1, 1000)) r.attempts = static_cast<int>(*i);
  if (auto* x = n.get("delay")) if (auto dd = want_duration(*x, "'delay'", d_)) r.delay = *dd;
  if (auto* x = n.get("backoff")) {
    if (auto f = want_number(*x, "'backoff'", d_, 1.0)) {
      if (*f > 100) d_.error(x->pos, "'backoff' must be at most 100");
      else r.backoff = *f;
    }
  }
  if (auto* x = n.get("max_delay")) r.max_delay = want_duration(*x, "'max_delay'", d_);
}

void Parser::env_map(const Node& n, std::vector<model::EnvVar>& out) {
  if (!want_map(n, "'env'", d_)) return;
  for (auto& [k, val] : n.entries) {
    if (!valid_name(k.scalar)) {
      d_.error(k.pos, fmt::format("environment variable name '{}' must match [A-Za-z_][A-Za-z0-9_]*", ellipsize(k.scalar, 60)));
      continue;
    }
    if (!val.is_scalar() && !val.is_null()) {
      d_.error(val.pos, fmt::format("env '{}' must be a single value, not {}", k.scalar, val.kind_name()));
      continue;
    }
    model::EnvVar ev{k.scalar, val.scalar, text_pos(val)};
    auto it = std::find_if(out.begin(), out.end(), [&](auto& e) { return e.name == ev.name; });
    if (it != out.end()) *it = ev;
    else out.push_back(ev);
  }
}

void Parser::step_env(const Node& v, const Node* defaults, Step& s) {
  if (defaults) if (auto* n = defaults->get("env")) env_map(*n, s.env);
  if (auto* n = v.get("env")) env_map(*n, s.env);
  if (auto* n = pick(v, defaults, "cwd")) if (auto t = want_string(*n, "'cwd'", d_)) s.cwd = *t;
  if (auto* n = v.get("stdin")) if (auto t = want_string(*n, "'stdin'", d_)) s.stdin_text = *t;
}

std::optional<model::Target> Parser::target(const Node& n, const char* what) {
  auto t = want_string(n, what, d_);
  if (!t) return std::nullopt;
  return model::Target{*t, text_pos(n)};
}

void Parser::step_flow(const Node& v, const Node* defaults, Step& s) {
  // `defaults` are for the steps that do something: an end step inherits nothing.
  if (s.kind == model::StepKind::End) defaults = nullptr;
  if (auto* n = v.get("next")) s.next = target(*n, "'next'");
  if (auto* n = v.get("on_failure")) {
    s.on_failure = target(*n, "'on_failure'");
  } else if (auto* d = defaults ? defaults->get("on_failure") : nullptr) {
    // A default `on_failure: escalate` is not the escalate step's own: when it fails, the
    // run ends failed instead of running it again forever.
    if (!(d->is_scalar() && d->scalar == s.id)) s.on_failure = target(*d, "'on_failure'");
  }
  if (auto* n = v.get("on_reject")) {
    s.on_reject = target(*n, "'on_reject'");
    if (s.kind == model::StepKind::Action && s.action.kind != "approval" && s.action.kind != "manual")
      d_.error(v.entry("on_reject")->first.pos,
               fmt::format("'on_reject' applies to approval and manual steps; step '{}' runs '{}'", s.id, s.action.kind));
  }
  if (auto* n = v.get("on_timeout")) s.on_timeout = target(*n, "'on_timeout'");
  if (auto* n = v.get("choose")) choose(*n, s);
  if (s.next && !s.choose.empty())
    d_.error(v.entry("choose")->first.pos, fmt::format("step '{}' has both 'next' and 'choose': use one", s.id));
  if (auto* n = pick(v, defaults, "continue_on_failure"))
    if (auto b = want_bool(*n, "'continue_on_failure'", d_)) s.continue_on_failure = *b;
  if (auto* n = pick(v, defaults, "idempotent")) {
    bool b;
    if (yaml::plain_is_bool(*n, &b)) s.idempotent = b ? model::Idempotent::Yes : model::Idempotent::No;
    else if (n->is_scalar() && n->scalar == "verify-first") s.idempotent = model::Idempotent::VerifyFirst;
    else d_.error(n->pos, "'idempotent' must be true, false or verify-first");
    s.idempotent_from_defaults = !v.get("idempotent");
  }
  if (auto* n = pick(v, defaults, "mutates")) s.mutates = want_bool(*n, "'mutates'", d_);
  if (auto* n = v.get("rollback")) {
    if (auto c = check(*n, fmt::format("'rollback' of step '{}'", s.id))) s.rollback = std::move(c);
  }
}

void Parser::choose(const Node& n, Step& s) {
  if (!want_seq(n, "'choose'", d_)) return;
  if (n.items.empty()) d_.error(n.pos, "'choose' is empty");
  bool seen_default = false;
  for (auto& item : n.items) {
    if (!want_map(item, "a 'choose' entry", d_)) continue;
    check_keys(item, {"when", "next"}, "in choose", d_);
    model::ChooseArm arm;
    arm.pos = item.pos;
    if (seen_default)
      d_.error(item.pos, "this 'choose' entry comes after the default (an entry without 'when') and is never used");
    if (auto* w = item.get("when")) arm.when = expression(*w, "'when'");
    else seen_default = true;
    if (auto* x = item.get("next")) {
      if (auto t = target(*x, "'next'")) arm.next = *t;
    } else {
      d_.error(item.pos, "a 'choose' entry needs 'next'");
      continue;
    }
    s.choose.push_back(std::move(arm));
  }
}

void Parser::step_checks(const Node& v, Step& s) {
  if (auto* n = v.get("verify")) {
    if (want_seq(*n, "'verify'", d_)) {
      int i = 0;
      for (auto& item : n->items) {
        ++i;
        if (auto c = check(item, fmt::format("check {} of step '{}'", i, s.id))) s.verify.push_back(std::move(*c));
      }
    }
  }
  if (auto* n = v.get("outputs")) {
    if (want_map(*n, "'outputs'", d_)) {
      for (auto& [k, val] : n->entries) {
        if (!valid_name(k.scalar)) {
          d_.error(k.pos, fmt::format("output name '{}' must match [A-Za-z_][A-Za-z0-9_]*", ellipsize(k.scalar, 60)));
          continue;
        }
        if (auto e = expression(val, "an output")) s.outputs.push_back({k.scalar, std::move(*e), k.pos});
      }
    }
  }
  if (auto* n = v.get("record")) {
    if (want_map(*n, "'record'", d_)) {
      check_keys(*n, {"rpo"}, "in record", d_);
      if (auto* r = n->get("rpo")) s.record_rpo = expression(*r, "'record.rpo'");
    }
  }
  if (s.idempotent == model::Idempotent::VerifyFirst && s.verify.empty()) {
    // A default `idempotent: verify-first` says "never rerun blindly": a step with nothing
    // to verify asks the operator on resume instead (`false`). Only the step's own
    // verify-first without checks is an error.
    if (s.idempotent_from_defaults) s.idempotent = model::Idempotent::No;
    else d_.error(s.pos, fmt::format("step '{}' is idempotent: verify-first but has no verify checks", s.id));
  }
}

std::optional<expr::Expression> Parser::expression(const Node& n, const char* what) {
  if (!n.is_scalar()) {
    d_.error(n.pos, fmt::format("{} must be an expression (a string), not {}", what, n.kind_name()));
    return std::nullopt;
  }
  std::string text = n.scalar;
  SourcePos base = text_pos(n);
  // Tolerate `${{ … }}` around a whole expression.
  std::string_view t = trim(text);
  if (t.starts_with("${{") && t.ends_with("}}") && t.find("${{", 3) == std::string_view::npos) {
    size_t lead = text.find("${{") + 3;
    base.col += static_cast<int>(lead);
    text = std::string(t.substr(3, t.size() - 5));
    size_t sp = 0;
    while (sp < text.size() && text[sp] == ' ') ++sp;
    base.col += static_cast<int>(sp);
    text = std::string(trim(text));
  }
  if (trim(text).empty()) {
    d_.error(n.pos, fmt::format("{} is empty", what));
    return std::nullopt;
  }
  expr::Error err;
  auto e = expr::parse(text, base, &err);
  if (!e) {
    expr::Expression probe;
    probe.text = text;
    probe.pos = base;
    d_.error(probe.at(err.offset), fmt::format("in expression: {}", err.message));
    return std::nullopt;
  }
  return e;
}

}  // namespace rb::parse
