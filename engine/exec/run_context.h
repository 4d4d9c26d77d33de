// What every part of the executor shares during one run: the runbook, the options, the
// journal, the plugins, the Env, the run's state; and the few operations they all need
// (emit + commit, judging an outcome, preparing an action's context). Owned by the
// Executor; the attempt, gates, parallel and rollback runners hold a reference.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "exec/journal.h"
#include "exec/state.h"
#include "model/runbook.h"
#include "plugin/interaction.h"
#include "plugin/plugin.h"
#include "sys/env.h"

namespace rb::exec {

struct ExecOptions {
  std::string run_id;
  std::string incident_id;
  std::string operator_name;
  bool drill = false;
  Value inputs = Value::object();  ///< typed, defaults applied
  std::set<std::string> secret_inputs;
  WallTime run_start;              ///< the RTO clock's start (run start or --incident-start)
  std::string cwd;                 ///< where actions run
  std::string store;               ///< the run store in use, password masked (`run.store`)
  bool probes_only = false;        ///< --dry-run=probes: only mutates: false actions and checks
  std::map<std::string, Millis> step_medians;  ///< from drills: beat budgets in projections
  Millis kill_grace{3000};         ///< SIGTERM -> SIGKILL for every action the engine stops
};

class ActionSlot;

class RunContext {
 public:
  RunContext(const model::Runbook& rb, ExecOptions opts, Journal& journal, plugin::Registry& reg,
             plugin::Interaction& ui, Masker& masker, sys::Env& env, RunState& st);
  ~RunContext();

  const model::Runbook& rb;
  ExecOptions o;
  Journal& journal;
  plugin::Registry& reg;
  plugin::Interaction& ui;
  Masker& masker;
  sys::Env& env;
  RunState& st;
  StateRenderer renderer;

  /// Called when a commit fails (the store is gone or full): the run must stop at once.
  std::function<void(const std::string&)> on_engine_error;
  /// Live output lines of actions (masked), for the operator view.
  std::function<void(const std::string& step, const std::string& line)> on_output;

  void emit(const char* type, const std::string& step = {}, int attempt = 0, Value data = Value::object());
  /// Makes the buffered events durable; false (and on_engine_error) when it failed.
  bool commit();
  bool broken() const { return broken_; }

  /// The step's success rule (`expect`, else the plugin's own) applied to an outcome.
  bool judge(const std::optional<expr::Expression>& expect, const plugin::Outcome& out, std::string* why);

  /// The context of one action of step `s` (environment, cwd, RUNBOOK_* variables, the
  /// journal hook; `a`'s targets, rendered, when it has some). Throws plugin::RenderError
  /// when the step's env/cwd/stdin or the targets cannot be rendered.
  plugin::ActionContext action_context(const model::Step& s, int attempt, std::optional<Millis> limit,
                                       const model::Action* a = nullptr);
  std::string idempotency_key(const model::Step& s, int attempt) const;

  /// Whether an action changes the world (for --dry-run=probes).
  bool mutates(const model::Step& s);
  bool mutates(const model::Check& c);

  /// Actions that did not stop within the kill grace after their cancel: kept (so that
  /// their handles stay valid) until their late `done`, or until the run ends.
  void bury(std::shared_ptr<ActionSlot> slot);
  void unbury(const ActionSlot* slot);
  size_t buried() const { return graveyard_.size(); }

 private:
  bool broken_ = false;
  std::vector<std::pair<std::string, std::string>> base_env_;
  std::vector<std::shared_ptr<ActionSlot>> graveyard_;
};

/// For callbacks an object posts to the loop: they check `alive()` first, because the
/// object may be gone by the time they run (timers and ActionRuns need no such check:
/// destroying them drops their pending calls).
class LifeToken {
 public:
  std::weak_ptr<const char> watch() const { return p_; }

 private:
  std::shared_ptr<const char> p_ = std::make_shared<const char>(0);
};

/// Keeps timeline data small: long strings and lists are cut (the cut is recorded).
Value summarize(const Value& v, int depth = 0);

}  // namespace rb::exec
