// Rollbacks when a run ends failed or aborted: each succeeded step's `rollback` action,
// newest first, each bounded by its own `timeout` (else the step's), with
// rollback.started / rollback.finished in the timeline (committed before and after each).
// A rollback that fails is recorded and the next one still runs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "exec/action_run.h"

namespace rb::exec {

class Rollbacks {
 public:
  explicit Rollbacks(RunContext& rc) : rc_(rc), action_(rc) {}
  /// Runs the rollbacks of `stack` (oldest first; run from the back). `done` is not
  /// called when a commit fails (the run stops on the engine error). `ending`
  /// ({ending: failed|aborted, reason}) goes into every rollback.started, so that a resume
  /// of rollbacks cut short by an interrupt ends the run the way it was ending (an
  /// operator's abort stays `aborted`, not `failed`).
  void start(std::vector<std::string> stack, Value ending, std::function<void()> done);
  /// Stops: the rollback running now is cancelled and not recorded as finished (a resume
  /// runs it again); `paused` is called instead of `done`.
  void interrupt(std::function<void()> paused);
  /// The step whose rollback runs now (empty when none).
  const std::string& current() const { return current_; }

 private:
  void next();

  RunContext& rc_;
  ActionRun action_;
  std::vector<std::string> stack_;
  std::string current_;
  Value ending_ = Value::object();
  std::function<void()> done_, paused_;
};

}  // namespace rb::exec
