// One attempt of a step: its action (or its parallel branches, or its wait.until
// polling), judged, then its verify gates — all under the step's `timeout`, which bounds
// the whole attempt (except for a fleet step, whose `timeout` is per host). A check's or
// branch's own `timeout` bounds that one check or branch. The attempt ends once, with an
// outcome the executor's decide layer reads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "exec/decide.h"
#include "exec/gates.h"
#include "exec/parallel.h"

namespace rb::exec {

struct AttemptOutcome {
  StepOutcome kind = StepOutcome::Failed;
  Value result = Value::object();  ///< the action's result (what `outputs` and `when` read)
  std::string why;                 ///< for people, when not Succeeded
};

class Attempt {
 public:
  Attempt(RunContext& rc, const model::Step& s, int n);
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  /// Runs the attempt; `done` is called once, on the loop.
  void start(std::function<void(AttemptOutcome)> done);
  /// Resume of an interrupted step whose policy is verify-first: only the gates run;
  /// Succeeded means every gate holds.
  void start_verify_only(std::function<void(AttemptOutcome)> done);
  /// Stops it: the outcome is Cancelled with `reason` (unless it already ended).
  void cancel(const std::string& reason);

  const model::Step& step() const { return s_; }
  int number() const { return n_; }

 private:
  void arm_deadline();
  void action_done(plugin::Outcome out, bool timed_out);
  void gates(Value result);
  /// `wait: {until: …}` ended: check.passed, or check.failed when it did not hold in time
  /// (nothing when the attempt was cancelled: abort, interrupt).
  void until_event(const CheckResult& r);
  void finish(StepOutcome kind, Value result, std::string why);
  void stop_phase();

  RunContext& rc_;
  const model::Step& s_;
  int n_;
  ActionRun action_;
  ParallelRun parallel_;
  CheckPoller until_;
  VerifyGates gates_;
  std::unique_ptr<sys::Timer> deadline_;
  bool timed_out_ = false, cancelled_ = false, in_gates_ = false;
  bool own_timeout_ = false;  ///< the action's own limit (http `timeout`) passed, not the step's
  std::string cancel_reason_;
  std::function<void(AttemptOutcome)> done_;
};

}  // namespace rb::exec
