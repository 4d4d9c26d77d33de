// One action the engine starts — a step's action, a verify or wait.until check, a
// parallel branch, a rollback — under a deadline, with one way to stop it. This is the
// only place that starts plugins, so every kind of action gets the same rules:
//   - `limit` bounds the action: when it passes, the action is cancelled and the result
//     says timed_out, whatever the plugin was doing;
//   - cancel() (an abort, an interrupt, a sibling branch that failed, the step's own
//     deadline) stops it the same way;
//   - a stopped plugin has the kill grace to finish (its process group gets SIGTERM, then
//     SIGKILL after the grace); one that has not called `done` by then plus a margin is
//     abandoned: the result is delivered without it and its late `done` is ignored.
// `done` is called exactly once, on the loop, never from inside start().
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exec/run_context.h"

namespace rb::exec {

struct ActionResult {
  plugin::Outcome out;
  bool timed_out = false;   ///< the limit passed (the action was cancelled for it)
  bool cancelled = false;   ///< stopped by cancel()
  bool abandoned = false;   ///< it did not stop within the grace: given up on
  Millis took{0};
};

/// The shared state of one started action (its plugin handle, its timers). Internal to
/// action_run.cpp; named here so that RunContext can keep abandoned ones.
class ActionSlot;

class ActionRun {
 public:
  explicit ActionRun(RunContext& rc) : rc_(rc) {}
  /// An action still running is cancelled and, if it does not stop, buried.
  ~ActionRun();
  ActionRun(const ActionRun&) = delete;
  ActionRun& operator=(const ActionRun&) = delete;

  /// Starts action `a` of step `s` (attempt `attempt`). `limit`: the longest it may run
  /// (for a fleet action — one with targets — the longest per host). `on_hosts`: run a
  /// fleet action on exactly these hosts (the rollback of a fleet step).
  void start(const model::Action& a, const model::Step& s, int attempt, std::optional<Millis> limit,
             std::function<void(ActionResult)> done, const std::vector<std::string>* on_hosts = nullptr);
  /// Stops it (no effect once done was called).
  void cancel();
  bool running() const;

 private:
  RunContext& rc_;
  std::shared_ptr<ActionSlot> slot_;
};

}  // namespace rb::exec
