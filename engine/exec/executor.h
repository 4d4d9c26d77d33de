// The executor: walks a runbook's state machine on one Boost.Asio io_context, from
// `start` to an end step. It decides through exec/decide.h and does through plugins; it
// journals every event before acting on the next one (exec/journal.h).
//
// Lifecycle: construct, start(); the io_context then runs the run; `on_end` is called
// once with the result. abort() (SIGINT/SIGTERM, RTO breach with on_breach: abort)
// cancels the current action, runs rollbacks and ends the run `aborted`.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "exec/decide.h"
#include "exec/journal.h"
#include "exec/state.h"
#include "model/runbook.h"
#include "plugin/interaction.h"
#include "plugin/plugin.h"

namespace boost::asio {
class io_context;
}

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
  bool probes_only = false;        ///< --dry-run=probes: only mutates: false actions and checks
  std::map<std::string, Millis> step_medians;  ///< from drills: beat budgets in projections
  Millis tick{1000};               ///< live-view refresh period
};

struct RunResult {
  model::EndState state = model::EndState::Failed;
  std::string reason;
  bool engine_error = false;  ///< the store failed: exit 4
  std::string error;
  /// 0 recovered, 1 failed, 3 aborted, 4 engine error (contract section 3).
  int exit_code() const;
};


/// State carried over from an earlier engine's timeline (resume). See journal/replay.h.
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
};

class Executor {
 public:
  Executor(const model::Runbook& rb, ExecOptions opts, Journal& journal, plugin::Registry& registry,
           plugin::Interaction& interaction, Masker& masker, boost::asio::io_context& io);
  ~Executor();

  /// A new run: emits run.started and enters `start`.
  void start(std::function<void(RunResult)> on_end);
  /// Continues a run from the timeline's state (run.resumed is emitted by the caller).
  void resume(const ResumePoint& at, std::function<void(RunResult)> on_end);
  void abort(const std::string& reason);

  void set_on_tick(std::function<void(const model::LiveState&)> f) { on_tick_ = std::move(f); }
  void set_on_output(std::function<void(const std::string& step, const std::string& line)> f) {
    on_output_ = std::move(f);
  }
  model::LiveState live() const;

  RunState& state() { return state_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  RunState state_;
  std::function<void(const model::LiveState&)> on_tick_;
  std::function<void(const std::string&, const std::string&)> on_output_;
};

}  // namespace rb::exec
