// The RTO clock while a run goes on (contract section 2): rto.warning at 80% of the RTO,
// rto.breached at 100% (both recorded once per run, also when they were already due at
// start or resume), step.over_budget when a step runs past its budget, and the live
// state (elapsed, remaining, projected finish). Timers come from the Env, so all of it
// keeps ticking while an action hangs.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/decide.h"
#include "exec/run_context.h"

namespace rb::exec {

class RtoClock {
 public:
  explicit RtoClock(RunContext& rc);

  /// `warned`/`breached`: already recorded by an earlier engine (resume).
  void start(bool warned, bool breached);
  /// Records what is already due (right after run.started / run.resumed, before the
  /// first commit).
  void record_due();
  /// Called when the breach falls due and objectives.on_breach is abort.
  std::function<void()> on_breach_abort;
  /// A step was entered / left: its budget timer.
  void enter_step(const model::Step& s);
  void leave_step();
  void stop();

  bool warned() const { return warned_; }
  bool breached() const { return breached_; }
  /// The clock now, with `s` as the current step (null: between steps).
  model::RtoState now() const;
  Value to_json() const;
  /// The budget a step is planned with: its median from past drills, else its budget.
  Millis budget_of(const model::Step& s) const;
  sys::MonoTime step_started() const { return step_t0_; }

 private:
  void warn();
  void breach();

  RunContext& rc_;
  std::vector<std::optional<Millis>> remaining_;  ///< per step: longest budget sum to a recovered end
  std::unique_ptr<sys::Timer> warn_timer_, breach_timer_, budget_timer_;
  const model::Step* cur_ = nullptr;
  sys::MonoTime step_t0_;
  bool warned_ = false, breached_ = false;
};

}  // namespace rb::exec
