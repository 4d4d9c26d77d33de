// The executor: walks a runbook's state machine from `start` to an end step, on the
// loop of its sys::Env. This file is the short driver loop over the pure decide layer
// (exec/decide.h); the doing is split by responsibility:
//   attempt.h     one attempt of a step under the step's deadline
//   action_run.h  every action the engine starts: its deadline, its cancel, the kill grace
//   gates.h       verify gates and polling (within/interval, wait.until)
//   parallel.h    parallel branches, max_concurrency, cancel on first failure
//   rollbacks.h   rollbacks newest-first when a run ends failed or aborted
//   rto_clock.h   rto.warning / rto.breached / step.over_budget and the live RTO state
// It journals every event before acting on the next one: the outcome of step k, its
// transition and the start of step k+1 are committed together, in one transaction,
// before step k+1's action starts (exec/journal.h).
//
// Lifecycle: construct, start() or resume(); run the Env's loop; `on_end` is called once
// with the result. abort() gives the run up (rollbacks, `aborted`); interrupt() pauses it
// (no rollback, `interrupted`, resumable).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "exec/decide.h"
#include "exec/run_context.h"
#include "model/live.h"

namespace rb::exec {

struct RunResult {
  model::EndState state = model::EndState::Failed;
  std::string reason;
  bool engine_error = false;  ///< the store failed: exit 4
  bool interrupted = false;   ///< paused by a signal: resumable, exit 3
  std::string error;
  /// 0 recovered, 1 failed, 3 aborted or interrupted, 4 engine error (contract section 3).
  int exit_code() const;
};

/// State carried over from an earlier engine's timeline (resume). See exec/replay.h.
struct ResumePoint {
  enum class Mode {
    Enter,        ///< run `step` from attempt `attempt` (a fresh step, a pending retry, an interrupted idempotent one)
    VerifyFirst,  ///< run `step`'s verify checks; if they hold it is done, else run it as attempt `attempt`
    Confirmed,    ///< the operator confirmed the interrupted `step` completed: record it and go on
    After,        ///< `step` finished with `outcome` but its transition was not recorded: decide again
    Rollbacks,    ///< the run was ending (`end_state`, `reason`): finish its rollbacks and end it
  };
  Mode mode = Mode::Enter;
  std::string step;
  int attempt = 1;
  StepOutcome outcome = StepOutcome::Succeeded;
  model::EndState end_state = model::EndState::Failed;
  std::string reason;
  std::vector<std::string> rollback_stack;  ///< steps whose rollbacks are pending, oldest first
  std::map<std::string, StepState> steps;
  std::set<std::string> secret_outputs;
  bool rto_warned = false, rto_breached = false;
  /// Enter after a pending retry (step.retrying with no attempt since): the attempt is not
  /// due before this time — the rest of the runbook's retry delay still applies on resume.
  std::optional<WallTime> retry_at;
};

class Executor {
 public:
  Executor(const model::Runbook& rb, ExecOptions opts, Journal& journal, plugin::Registry& registry,
           plugin::Interaction& interaction, Masker& masker, sys::Env& env);
  ~Executor();

  /// A new run: emits run.started and enters `start`.
  void start(std::function<void(RunResult)> on_end);
  /// Continues a run from the timeline's state (run.resumed is emitted by the caller).
  void resume(const ResumePoint& at, std::function<void(RunResult)> on_end);
  /// Gives up (an operator's abort, an RTO breach with on_breach: abort): the current
  /// action is cancelled, rollbacks run newest-first (unless `rollbacks` is false) and
  /// the run ends `aborted`.
  void abort(const std::string& reason, bool rollbacks = true);
  /// Pauses (SIGINT, SIGTERM, SIGHUP): the current action is cancelled (a rollback in
  /// progress too), nothing is rolled back, run.interrupted is recorded (with `extra`
  /// in its data) and the run ends here as `interrupted`, for `resume` to continue.
  void interrupt(const std::string& reason, Value extra = Value::object());

  void set_on_output(std::function<void(const std::string& step, const std::string& line)> f);
  model::LiveState live() const;

  RunState& state() { return state_; }

 private:
  struct Impl;
  RunState state_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rb::exec
