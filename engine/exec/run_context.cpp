#include "exec/run_context.h"

#include <algorithm>
#include <fmt/format.h>

#include "base/events.h"
#include "base/text.h"
#include "exec/action_run.h"

namespace rb::exec {

Value summarize(const Value& v, int depth) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > 4000) return ellipsize(s, 4000) + fmt::format(" [{} bytes in all]", s.size());
    return v;
  }
  if (v.is_array()) {
    Value out = Value::array();
    for (size_t i = 0; i < v.size() && i < 50; ++i) out.push_back(summarize(v[i], depth + 1));
    if (v.size() > 50) out.push_back(fmt::format("… {} more", v.size() - 50));
    return out;
  }
  if (v.is_object()) {
    Value out = Value::object();
    for (auto& [k, x] : v.items()) out[k] = depth > 6 ? Value("…") : summarize(x, depth + 1);
    return out;
  }
  return v;
}

namespace {

void set_env(std::vector<std::pair<std::string, std::string>>& env, const std::string& k, const std::string& v) {
  for (auto& kv : env)
    if (kv.first == k) {
      kv.second = v;
      return;
    }
  env.emplace_back(k, v);
}

}  // namespace

RunContext::RunContext(const model::Runbook& r, ExecOptions opts, Journal& j, plugin::Registry& g,
                       plugin::Interaction& u, Masker& m, sys::Env& e, RunState& s)
    : rb(r), o(std::move(opts)), journal(j), reg(g), ui(u), masker(m), env(e), st(s), renderer(s, m),
      base_env_(e.environment()) {
  // The store's URL may hold a password: actions never see it.
  std::erase_if(base_env_, [](const auto& kv) { return kv.first == "RUNBOOK_STORE"; });
}

RunContext::~RunContext() = default;

void RunContext::emit(const char* type, const std::string& step, int attempt, Value data) {
  journal.emit(type, step, attempt, std::move(data));
}

bool RunContext::commit() {
  if (broken_) return false;
  auto s = journal.commit();
  if (s.ok()) return true;
  broken_ = true;
  if (on_engine_error) on_engine_error(s.message());
  return false;
}

bool RunContext::judge(const std::optional<expr::Expression>& expect, const plugin::Outcome& out, std::string* why) {
  if (out.cancelled) {
    *why = out.error.empty() ? "cancelled" : out.error;
    return false;
  }
  if (expect && out.completed) {
    std::string err;
    auto v = st.test(*expect, &out.result, &err);
    if (!v) {
      *why = fmt::format("cannot evaluate expect '{}': {}", expect->text, err);
      return false;
    }
    if (!*v) *why = fmt::format("expect '{}' does not hold", expect->text);
    return *v;
  }
  if (!out.ok) *why = out.error.empty() ? "failed" : out.error;
  return out.ok;
}

// RUN/STEP/ATTEMPT on the first visit of a step; RUN/STEP/vN/ATTEMPT when a loop comes
// back to it (N counts the visits), so that a plugin deduplicating on the key does not
// drop the second notification of a retried procedure.
std::string RunContext::idempotency_key(const model::Step& s, int attempt) const {
  auto it = st.steps.find(s.id);
  int visit = (it == st.steps.end() ? 0 : it->second.visits) + (s.id == rb.start ? 1 : 0);
  if (visit <= 1) return fmt::format("{}/{}/{}", o.run_id, s.id, attempt);
  return fmt::format("{}/{}/v{}/{}", o.run_id, s.id, visit, attempt);
}

plugin::ActionContext RunContext::action_context(const model::Step& s, int att, std::optional<Millis> limit,
                                                 const model::Action* a) {
  plugin::ActionContext ctx;
  ctx.env = &env;
  ctx.kill_grace = o.kill_grace;
  ctx.env_vars = base_env_;
  for (auto& ev : s.env) set_env(ctx.step_env, ev.name, renderer.render_text(ev.value, ev.pos));
  if (a && a->targets) ctx.targets = renderer.render(*a->targets);
  if (s.cwd) ctx.cwd = renderer.render_text(*s.cwd, s.pos);
  if (s.stdin_text) ctx.stdin_text = renderer.render_text(*s.stdin_text, s.pos);
  if (ctx.cwd.empty()) ctx.cwd = o.cwd;
  ctx.run_id = o.run_id;
  ctx.incident_id = o.incident_id;
  ctx.step_id = s.id;
  ctx.attempt = att;
  ctx.idempotency_key = idempotency_key(s, att);
  ctx.operator_name = o.operator_name;
  ctx.drill = o.drill;
  ctx.timeout = limit;
  ctx.masker = &masker;
  ctx.interaction = &ui;
  set_env(ctx.step_env, "RUNBOOK_RUN_ID", o.run_id);
  set_env(ctx.step_env, "RUNBOOK_INCIDENT_ID", o.incident_id);
  set_env(ctx.step_env, "RUNBOOK_STEP", s.id);
  set_env(ctx.step_env, "RUNBOOK_ATTEMPT", std::to_string(att));
  set_env(ctx.step_env, "RUNBOOK_IDEMPOTENCY_KEY", ctx.idempotency_key);
  set_env(ctx.step_env, "RUNBOOK_DRILL", o.drill ? "1" : "0");
  set_env(ctx.step_env, "RUNBOOK_OPERATOR", o.operator_name);
  for (auto& [k, v] : ctx.step_env) set_env(ctx.env_vars, k, v);
  std::string sid = s.id;
  ctx.emit = [this, sid, att](const std::string& type, Value data) {
    journal.emit(type, sid, att, std::move(data));
    commit();
  };
  ctx.on_output = [this, sid](const std::string& line) {
    if (on_output) on_output(sid, masker.mask(line));
  };
  return ctx;
}

bool RunContext::mutates(const model::Step& s) {
  if (s.mutates) return *s.mutates;
  if (s.kind == model::StepKind::Parallel)
    return std::any_of(s.parallel.begin(), s.parallel.end(), [this](const model::Check& b) { return mutates(b); });
  if (s.wait_until) return mutates(*s.wait_until);
  plugin::Plugin* p = reg.find(s.action.kind);
  return p ? p->default_mutates(s.action.params) : true;
}

bool RunContext::mutates(const model::Check& c) {
  if (c.mutates) return *c.mutates;
  plugin::Plugin* p = reg.find(c.action.kind);
  return p ? p->default_mutates(c.action.params) : true;
}

void RunContext::bury(std::shared_ptr<ActionSlot> slot) { graveyard_.push_back(std::move(slot)); }

void RunContext::unbury(const ActionSlot* slot) {
  graveyard_.erase(std::remove_if(graveyard_.begin(), graveyard_.end(), [slot](auto& s) { return s.get() == slot; }),
                   graveyard_.end());
}

}  // namespace rb::exec
