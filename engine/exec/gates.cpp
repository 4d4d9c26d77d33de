#include "exec/gates.h"

#include <algorithm>
#include <fmt/format.h>

#include "base/events.h"

namespace rb::exec {

// ---- one check, polled -------------------------------------------------------------------

void CheckPoller::start(const model::Check& c, const model::Step& s, int attempt, PollMode mode,
                        std::optional<Millis> interval, std::function<void(CheckResult)> done) {
  c_ = &c;
  s_ = &s;
  attempt_ = attempt;
  mode_ = mode;
  done_ = std::move(done);
  last_ = CheckResult{};
  t0_ = rc_.env.mono();
  Millis within = c.within.value_or(Millis(0));
  until_ = t0_ + within;
  if (interval) every_ = *interval;
  else if (mode == PollMode::Forever) every_ = Millis(5000);
  else every_ = std::min(Millis(2000), std::max(Millis(100), within / 10));
  poll();
}

void CheckPoller::poll() {
  ++last_.polls;
  action_.start(c_->action, *s_, attempt_, c_->timeout, [this](ActionResult r) { polled(std::move(r)); });
}

void CheckPoller::polled(ActionResult r) {
  std::string why;
  bool ok = !r.cancelled && rc_.judge(c_->expect, r.out, &why);
  if (r.timed_out) why = fmt::format("timed out after {}", format_duration(*c_->timeout));
  last_.ok = ok;
  last_.why = ok ? std::string() : why;
  last_.result = std::move(r.out.result);
  last_.took = rc_.env.since(t0_);
  if (r.cancelled) {
    last_.cancelled = true;
    return std::exchange(done_, nullptr)(std::move(last_));
  }
  bool again = !ok && (mode_ == PollMode::Forever || (mode_ == PollMode::Within && rc_.env.mono() < until_));
  if (!again) return std::exchange(done_, nullptr)(std::move(last_));
  wait_->arm(every_, [this] { poll(); });
}

void CheckPoller::cancel() {
  if (!done_) return;
  if (action_.running()) return action_.cancel();
  // Between two polls: nothing runs, so the verdict is "cancelled" at once (on the loop).
  wait_->cancel();
  last_.cancelled = true;
  rc_.env.post([d = std::exchange(done_, nullptr), r = last_]() mutable { d(std::move(r)); });
}

// ---- a step's verify gates ---------------------------------------------------------------

void VerifyGates::start(const model::Step& s, int attempt, bool verify_first, std::function<void(Outcome)> done) {
  s_ = &s;
  attempt_ = attempt;
  verify_first_ = verify_first;
  done_ = std::move(done);
  next(0);
}

void VerifyGates::next(size_t i) {
  const model::Step& s = *s_;
  if (i >= s.verify.size()) return std::exchange(done_, nullptr)(Outcome{true, false, ""});
  const model::Check& c = s.verify[i];
  if (rc_.o.probes_only && rc_.mutates(c)) {
    rc_.emit(ev::kCheckSkipped, s.id, attempt_, {{"check", c.name}, {"index", i}});
    return next(i + 1);
  }
  PollMode mode = verify_first_ || !c.within ? PollMode::Once : PollMode::Within;
  poller_.start(c, s, attempt_, mode, c.interval, [this, i, &c](CheckResult r) {
    if (r.cancelled) return std::exchange(done_, nullptr)(Outcome{false, true, "cancelled"});
    Value data = {{"check", c.name}, {"index", i}, {"elapsed_ms", r.took.count()}, {"polls", r.polls}};
    if (!r.result.empty()) data["result"] = summarize(r.result);
    if (r.ok) {
      rc_.emit(ev::kCheckPassed, s_->id, attempt_, data);
      return next(i + 1);
    }
    data["error"] = r.why;
    if (verify_first_) data["verify_first"] = true;
    rc_.emit(ev::kCheckFailed, s_->id, attempt_, data);
    std::exchange(done_, nullptr)(Outcome{false, false, fmt::format("gate '{}' failed: {}", c.name, r.why)});
  });
}

}  // namespace rb::exec
