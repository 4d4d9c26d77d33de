// Checks: polling one check until it holds (`within`/`interval`, or wait.until's "until
// the step's deadline"), and a step's `verify` gates in order. Each poll is an ActionRun
// bounded by the check's own `timeout`; the step's deadline cancels the whole thing.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "exec/action_run.h"

namespace rb::exec {

struct CheckResult {
  bool ok = false;
  bool cancelled = false;  ///< stopped by cancel(): no verdict
  Value result = Value::object();
  std::string why;         ///< why the last poll failed
  int polls = 0;
  Millis took{0};
};

enum class PollMode {
  Once,     ///< one poll
  Within,   ///< until it holds or the check's `within` passed
  Forever,  ///< until it holds or cancel() (wait.until: the step's deadline)
};

class CheckPoller {
 public:
  explicit CheckPoller(RunContext& rc) : rc_(rc), action_(rc), wait_(rc.env.timer()) {}
  void start(const model::Check& c, const model::Step& s, int attempt, PollMode mode, std::optional<Millis> interval,
             std::function<void(CheckResult)> done);
  void cancel();

 private:
  void poll();
  void polled(ActionResult r);

  RunContext& rc_;
  ActionRun action_;
  std::unique_ptr<sys::Timer> wait_;
  const model::Check* c_ = nullptr;
  const model::Step* s_ = nullptr;
  int attempt_ = 0;
  PollMode mode_ = PollMode::Once;
  Millis every_{0};
  sys::MonoTime t0_, until_;
  CheckResult last_;
  std::function<void(CheckResult)> done_;
};

/// A step's `verify` checks, in order: check.passed / check.failed / check.skipped events;
/// the first failing check fails the gate.
class VerifyGates {
 public:
  explicit VerifyGates(RunContext& rc) : rc_(rc), poller_(rc) {}
  struct Outcome {
    bool ok = false;
    bool cancelled = false;
    std::string why;
  };
  /// `verify_first`: each check runs once (resume of a step whose policy is
  /// idempotent: verify-first) and failures are marked as such.
  void start(const model::Step& s, int attempt, bool verify_first, std::function<void(Outcome)> done);
  void cancel() { poller_.cancel(); }

 private:
  void next(size_t i);

  RunContext& rc_;
  CheckPoller poller_;
  const model::Step* s_ = nullptr;
  int attempt_ = 0;
  bool verify_first_ = false;
  std::function<void(Outcome)> done_;
};

}  // namespace rb::exec
