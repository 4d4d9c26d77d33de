#include "exec/attempt.h"

#include "base/events.h"

#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

namespace rb::exec {

namespace {

// Test hook (crash tests): RUNBOOK_TEST_KILL_AFTER_ACTION=N kills the engine with SIGKILL
// right after its N-th action finished, before the outcome is journaled.
void test_kill_after_action() {
  static long countdown = [] {
    const char* v = std::getenv("RUNBOOK_TEST_KILL_AFTER_ACTION");
    return v ? std::atol(v) : -1;
  }();
  if (countdown > 0 && --countdown == 0) ::kill(::getpid(), SIGKILL);
}

}  // namespace

Attempt::Attempt(RunContext& rc, const model::Step& s, int n)
    : rc_(rc), s_(s), n_(n), action_(rc), parallel_(rc), until_(rc), gates_(rc), deadline_(rc.env.timer()) {}

void Attempt::arm_deadline() {
  if (!s_.timeout) return;
  // A fleet step's `timeout` is per host (contract §8): the fleet runner stops each
  // host's command at it (ActionRun passes it on), so the attempt gets no deadline.
  if (s_.kind == model::StepKind::Action && !s_.wait_until && s_.action.targets) return;
  deadline_->arm(*s_.timeout, [this] {
    if (!done_ || cancelled_) return;
    timed_out_ = true;
    stop_phase();
  });
}

void Attempt::start(std::function<void(AttemptOutcome)> done) {
  done_ = std::move(done);
  arm_deadline();
  if (s_.kind == model::StepKind::Parallel) {
    parallel_.start(s_, n_, [this](ParallelRun::Outcome o) {
      if (timed_out_ || cancelled_ || !o.ok) return finish(StepOutcome::Failed, std::move(o.result), o.why);
      gates(std::move(o.result));
    });
    return;
  }
  if (s_.wait_until) {
    until_.start(*s_.wait_until, s_, n_, PollMode::Forever, s_.wait_interval, [this](CheckResult r) {
      until_event(r);
      if (timed_out_ || cancelled_ || !r.ok) return finish(StepOutcome::Failed, std::move(r.result), r.why);
      gates(std::move(r.result));
    });
    return;
  }
  action_.start(s_.action, s_, n_, s_.timeout,
                [this](ActionResult r) { action_done(std::move(r.out), r.timed_out); });
}

void Attempt::start_verify_only(std::function<void(AttemptOutcome)> done) {
  done_ = std::move(done);
  arm_deadline();
  in_gates_ = true;
  gates_.start(s_, n_, /*verify_first=*/true, [this](VerifyGates::Outcome g) {
    finish(g.ok ? StepOutcome::Succeeded : StepOutcome::Failed, Value::object(), g.why);
  });
}

void Attempt::action_done(plugin::Outcome out, bool timed_out) {
  test_kill_after_action();
  if (timed_out) timed_out_ = true;
  // The action's own limit (http `timeout`) is a timeout too (contract §1: on_timeout).
  if (out.timed_out && !timed_out && !out.cancelled) timed_out_ = own_timeout_ = true;
  std::string why;
  bool ok = rc_.judge(s_.expect, out, &why);
  if (!ok && out.rejected && !out.cancelled)
    return finish(out.unanswered ? StepOutcome::Unanswered : StepOutcome::Rejected, std::move(out.result), why);
  if (!ok) return finish(StepOutcome::Failed, std::move(out.result), why);
  gates(std::move(out.result));
}

void Attempt::until_event(const CheckResult& r) {
  if (cancelled_) return;
  Value data = {{"check", s_.wait_until->name}, {"until", true}, {"elapsed_ms", r.took.count()}, {"polls", r.polls}};
  if (!r.result.empty()) data["result"] = summarize(r.result);
  if (r.ok && !timed_out_) return rc_.emit(ev::kCheckPassed, s_.id, n_, data);
  data["error"] = timed_out_ ? fmt::format("did not hold within {}", format_duration(s_.timeout.value_or(Millis(0))))
                             : (r.why.empty() ? std::string("did not hold") : r.why);
  rc_.emit(ev::kCheckFailed, s_.id, n_, data);
}

void Attempt::gates(Value result) {
  if (timed_out_ || cancelled_) return finish(StepOutcome::Failed, std::move(result), "");
  in_gates_ = true;
  gates_.start(s_, n_, /*verify_first=*/false, [this, result = std::move(result)](VerifyGates::Outcome g) mutable {
    finish(g.ok ? StepOutcome::Succeeded : StepOutcome::Failed, std::move(result), g.why);
  });
}

// The one place an attempt's verdict is made: the deadline and a cancel win over
// whatever the phase reported (it was stopped for them).
void Attempt::finish(StepOutcome kind, Value result, std::string why) {
  if (!done_) return;
  deadline_->cancel();
  if (cancelled_) {
    kind = StepOutcome::Cancelled;
    why = cancel_reason_;
  } else if (timed_out_) {
    kind = StepOutcome::TimedOut;
    if (!own_timeout_ || in_gates_)
      why = fmt::format("timed out after {}{}", format_duration(s_.timeout.value_or(Millis(0))),
                        in_gates_ ? " in its verify gates" : "");
    else if (why.empty())
      why = "timed out";
  } else if (kind == StepOutcome::Succeeded) {
    why.clear();
  }
  std::exchange(done_, nullptr)(AttemptOutcome{kind, std::move(result), std::move(why)});
}

void Attempt::stop_phase() {
  action_.cancel();
  parallel_.cancel();
  until_.cancel();
  gates_.cancel();
}

void Attempt::cancel(const std::string& reason) {
  if (!done_ || cancelled_) return;
  cancelled_ = true;
  cancel_reason_ = reason;
  stop_phase();
}

}  // namespace rb::exec
