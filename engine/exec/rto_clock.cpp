#include "exec/rto_clock.h"

#include <cmath>

#include "base/events.h"
#include "plan/graph.h"

namespace rb::exec {

RtoClock::RtoClock(RunContext& rc)
    : rc_(rc), warn_timer_(rc.env.timer()), breach_timer_(rc.env.timer()), budget_timer_(rc.env.timer()) {
  remaining_ = plan::remaining_budgets(rc.rb, [this](const model::Step& s) { return budget_of(s); });
  step_t0_ = rc.env.mono();
}

Millis RtoClock::budget_of(const model::Step& s) const {
  if (auto it = rc_.o.step_medians.find(s.id); it != rc_.o.step_medians.end()) return it->second;
  return s.budget.value_or(Millis(0));
}

model::RtoState RtoClock::now() const {
  Millis after{0}, own{0}, in_step{0};
  if (cur_) {
    own = budget_of(*cur_);
    in_step = sys::Env::between(step_t0_, rc_.env.mono());
    if (remaining_[cur_->index]) after = std::max(Millis(0), *remaining_[cur_->index] - own);
  }
  return rto_state(rc_.o.run_start, rc_.env.wall(), rc_.rb.objectives.rto, after, own, in_step);
}

Value RtoClock::to_json() const {
  model::RtoState r = now();
  Value v = {{"elapsed_ms", r.elapsed.count()}, {"projected_ms", r.projected.count()}};
  if (r.rto) {
    v["rto_ms"] = r.rto->count();
    v["remaining_ms"] = r.remaining->count();
    v["percent"] = std::round(r.percent * 10) / 10;
  }
  return v;
}

void RtoClock::start(bool warned, bool breached) {
  warned_ = warned;
  breached_ = breached;
  if (!rc_.rb.objectives.rto) return;
  Millis rto = *rc_.rb.objectives.rto;
  auto until = [this](WallTime t) {
    auto d = std::chrono::duration_cast<Millis>(t - rc_.env.wall());
    return d < Millis(0) ? Millis(0) : d;
  };
  WallTime warn_at = rto_warning_at(rc_.o.run_start, rto), breach_at = rto_breach_at(rc_.o.run_start, rto);
  if (!warned_ && warn_at > rc_.env.wall()) warn_timer_->arm(until(warn_at), [this] {
      warn();
      rc_.commit();
    });
  if (!breached_ && breach_at > rc_.env.wall()) breach_timer_->arm(until(breach_at), [this] {
      breach();
      if (!rc_.commit()) return;
      if (rc_.rb.objectives.on_breach == model::OnBreach::Abort && on_breach_abort) on_breach_abort();
    });
}

void RtoClock::record_due() {
  if (!rc_.rb.objectives.rto) return;
  Millis rto = *rc_.rb.objectives.rto;
  WallTime now = rc_.env.wall();
  if (!warned_ && rto_warning_at(rc_.o.run_start, rto) <= now) warn();
  if (!breached_ && rto_breach_at(rc_.o.run_start, rto) <= now) breach();
}

void RtoClock::warn() {
  if (warned_) return;
  warned_ = true;
  rc_.emit(ev::kRtoWarning, cur_ ? cur_->id : "", 0, to_json());
}

void RtoClock::breach() {
  if (breached_) return;
  warn();
  breached_ = true;
  rc_.emit(ev::kRtoBreached, cur_ ? cur_->id : "", 0, to_json());
}

void RtoClock::enter_step(const model::Step& s) {
  cur_ = &s;
  step_t0_ = rc_.env.mono();
  budget_timer_->cancel();
  if (!s.budget) return;
  Millis b = *s.budget;
  budget_timer_->arm(b, [this, &s, b] {
    rc_.emit(ev::kStepOverBudget, s.id, 0, {{"budget_ms", b.count()}, {"elapsed_ms", rc_.env.since(step_t0_).count()}});
    rc_.commit();
  });
}

void RtoClock::leave_step() {
  budget_timer_->cancel();
  cur_ = nullptr;
}

void RtoClock::stop() {
  warn_timer_->cancel();
  breach_timer_->cancel();
  budget_timer_->cancel();
}

}  // namespace rb::exec
