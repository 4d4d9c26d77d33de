// Fleet actions: one shell action run on many hosts over SSH (contract §8).
//
// FleetPlan decides (no I/O): which host starts next under max_concurrency, the canary
// hosts first and alone, and the blast-radius limit — once more hosts failed than
// max_errors allows (or a canary failed), no new host starts and the action fails; the
// hosts already running finish. start_fleet does: selects the hosts, runs one ssh per
// host (ssh.h) through ctx.env, enforces the per-host `timeout` (ctx.timeout), reports
// host.succeeded / host.failed per host and a progress line for the live view, and
// stops every running host on cancel().
//
// Result: hosts.NAME {exit_code, stdout, stderr, duration_ms, ok, error?, timed_out?,
// canary?} in inventory order, succeeded / failed / skipped (never started) name lists,
// selected (every selected host), duration_ms. A host succeeds when its command exits 0;
// the action succeeds when every host ran and at most max_errors failed.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "plugin/plugin.h"
#include "shell/ssh.h"

namespace rb::plugins::fleet {

class FleetPlan {
 public:
  /// `concurrency` >= 1; `max_errors` >= 0 failures tolerated; `canary` first hosts (0: none).
  FleetPlan(size_t hosts, long concurrency, long max_errors, long canary);

  /// A host to start now, or nullopt (wait for one to finish, or nothing more starts).
  std::optional<size_t> next();
  /// Host `i` (started) finished.
  void done(size_t i, bool ok);
  /// Starts nothing more (cancel).
  void stop() { stopped_ = true; }

  bool finished() const { return running_ == 0 && (halted_ || stopped_ || next_ == total_); }
  /// Every host ran and the failures stayed within max_errors.
  bool ok() const { return finished() && !halted_ && !stopped_ && next_ == total_ && static_cast<long>(failures_) <= max_errors_; }
  bool halted() const { return halted_; }
  /// Why it halted, for people (empty when it did not).
  const std::string& why() const { return why_; }
  size_t running() const { return running_; }
  size_t started() const { return next_; }
  size_t failures() const { return failures_; }
  bool is_canary(size_t i) const { return i < canary_; }

 private:
  size_t total_, concurrency_, canary_;
  long max_errors_;
  size_t next_ = 0, running_ = 0, canary_done_ = 0, failures_ = 0;
  bool halted_ = false, stopped_ = false;
  std::string why_;
};

/// The private 0700 folder of ControlMaster sockets; made on first use (again if it was
/// removed), removed by remove() and the destructor.
class ControlDir {
 public:
  ~ControlDir() { remove(); }
  /// The folder; empty and *err when it cannot be made.
  std::string path(std::string* err);
  void remove();

 private:
  std::string path_;
};

/// Starts a fleet action: `job` is what every host runs (RUNBOOK_HOST is added per host).
/// Calls `done` once, on the loop, never from inside this call.
std::unique_ptr<plugin::Running> start_fleet(RemoteJob job, const plugin::ActionContext& ctx, plugin::DoneFn done,
                                             ControlDir& dir);

}  // namespace rb::plugins::fleet
