// The run's state as expressions see it (inputs, steps.<id>.…, result, run.…) and the
// renderer of action parameters over it. Owned by the executor; rebuilt from the timeline
// on resume.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/masker.h"
#include "base/time.h"
#include "expr/expr.h"
#include "expr/template.h"
#include "model/runbook.h"
#include "plugin/plugin.h"

namespace rb::exec {

struct StepState {
  std::string status = "pending";  ///< pending | running | succeeded | failed | skipped
  Value outputs = Value::object();
  int attempts = 0;
  /// Transitions into this step so far: a `choose` that loops back comes in again, and
  /// each visit's attempts get their own idempotency keys.
  int visits = 0;
  long long duration_ms = 0;
  std::string error;
  /// A fleet step that succeeded: the hosts where it ran (its rollback runs there).
  std::vector<std::string> hosts;
};

/// The hosts a fleet action's result names (`result.hosts`' keys), in order.
std::vector<std::string> fleet_hosts_of(const Value& result);

class RunState : public expr::Scope {
 public:
  RunState(const model::Runbook& rb, Masker& masker) : rb_(rb), masker_(masker) {}

  // Identity and clock inputs of `run.*`.
  std::string run_id, incident_id, operator_name;
  std::string store;  ///< the run store in use (password masked), for the commands a runbook suggests
  bool drill = false;
  WallTime run_start;
  std::optional<Millis> rto;
  std::function<WallTime()> now;

  Value inputs = Value::object();
  std::set<std::string> secret_inputs;
  std::map<std::string, StepState> steps;
  std::set<std::string> secret_outputs;  ///< "steps.x.outputs.y" derived from secrets
  const Value* result = nullptr;         ///< the current action's result, while judged

  // expr::Scope
  const Value* root(const std::string& name) const override;
  std::optional<std::string> env(const std::string& name) const override;
  bool is_secret(const std::string& dotted) const override;

  /// Evaluates with `result` bound; registers secret-derived text with the masker.
  /// Returns nullopt and *err on an evaluation error.
  std::optional<Value> eval(const expr::Expression& e, const Value* result, std::string* err,
                            bool* tainted = nullptr);
  std::optional<bool> test(const expr::Expression& e, const Value* result, std::string* err);

  /// Marks a step's state changed (the `steps` value is rebuilt on next use).
  void touch() { steps_dirty_ = true; }

 private:
  const model::Runbook& rb_;
  Masker& masker_;
  mutable Value steps_value_;
  mutable bool steps_dirty_ = true;
  mutable Value run_value_;
};

/// plugin::Renderer over a RunState (no `result`: parameters render before the action).
class StateRenderer : public plugin::Renderer {
 public:
  StateRenderer(RunState& st, Masker& masker) : st_(st), masker_(masker) {}
  Value render(const yaml::Node& n) override;
  Value eval(const expr::Expression& e) override;
  /// Renders one string template (env values, cwd, stdin).
  std::string render_text(const std::string& text, SourcePos pos);

 private:
  Value render_scalar(const yaml::Node& n);
  RunState& st_;
  Masker& masker_;
};

}  // namespace rb::exec
