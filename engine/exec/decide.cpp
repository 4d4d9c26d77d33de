#include "exec/decide.h"

#include <fmt/format.h>

namespace rb::exec {

const char* to_string(StepOutcome o) {
  switch (o) {
    case StepOutcome::Succeeded: return "succeeded";
    case StepOutcome::Failed: return "failed";
    case StepOutcome::TimedOut: return "timed_out";
    case StepOutcome::Rejected: return "rejected";
    case StepOutcome::Unanswered: return "unanswered";
    case StepOutcome::Cancelled: return "cancelled";
  }
  return "?";
}

namespace {

Decision go(const std::string& next, std::string via) {
  Decision d;
  d.next = next;
  d.via = std::move(via);
  return d;
}

Decision end_with(model::EndState st, std::string via, std::string reason) {
  Decision d;
  d.end = true;
  d.end_state = st;
  d.via = std::move(via);
  d.reason = std::move(reason);
  return d;
}

Decision after_success(const model::Step& s, const WhenFn& when) {
  if (s.kind == model::StepKind::End) return end_with(s.end, "end", fmt::format("reached end step '{}'", s.id));
  if (s.next) return go(s.next->step, "next");
  if (!s.choose.empty()) {
    for (size_t i = 0; i < s.choose.size(); ++i) {
      const auto& arm = s.choose[i];
      if (!arm.when) return go(arm.next.step, fmt::format("choose[{}] (default)", i));
      std::string err;
      auto v = when(*arm.when, &err);
      if (!v) {
        Decision d = end_with(model::EndState::Failed, "choose",
                              fmt::format("cannot evaluate choose[{}] of step '{}': {}", i, s.id, err));
        return d;
      }
      if (*v) return go(arm.next.step, fmt::format("choose[{}]", i));
    }
    return end_with(model::EndState::Failed, "choose", fmt::format("no 'when' of step '{}' holds and there is no default", s.id));
  }
  if (s.implicit_end) return end_with(model::EndState::Recovered, "end", fmt::format("last step '{}' done", s.id));
  return end_with(model::EndState::Failed, "end", fmt::format("step '{}' has no way out", s.id));
}

Decision failure_path(const model::Step& s, StepOutcome o, const WhenFn& when);

Decision rejected(const model::Step& s, const WhenFn& when) {
  if (s.on_reject) return go(s.on_reject->step, "on_reject");
  // A manual task a person did not do fails the step; a rejected approval aborts.
  if (s.kind == model::StepKind::Action && s.action.kind == "manual") return failure_path(s, StepOutcome::Failed, when);
  return end_with(model::EndState::Aborted, "on_reject", fmt::format("step '{}' was rejected and has no on_reject", s.id));
}

}  // namespace

Decision decide_next(const model::Step& s, StepOutcome o, const WhenFn& when) {
  switch (o) {
    case StepOutcome::Succeeded: return after_success(s, when);
    case StepOutcome::Cancelled:
      return end_with(model::EndState::Aborted, "abort", fmt::format("step '{}' was cancelled", s.id));
    case StepOutcome::Unanswered:
      if (s.on_timeout) return go(s.on_timeout->step, "on_timeout");
      return rejected(s, when);
    case StepOutcome::Rejected: return rejected(s, when);
    case StepOutcome::TimedOut:
      if (s.on_timeout) return go(s.on_timeout->step, "on_timeout");
      // An approval or manual step bounded by the step's own `timeout` was not answered
      // in time: unanswered, so `on_reject` (contract §1), as with the action's timeout.
      if (s.kind == model::StepKind::Action && (s.action.kind == "approval" || s.action.kind == "manual"))
        return rejected(s, when);
      return failure_path(s, o, when);
    case StepOutcome::Failed: return failure_path(s, o, when);
  }
  return end_with(model::EndState::Failed, "?", "unknown outcome");
}

namespace {

Decision failure_path(const model::Step& s, StepOutcome o, const WhenFn& when) {
  if (s.continue_on_failure) {
    Decision d = after_success(s, when);
    if (!d.end) d.via = "continue_on_failure";
    return d;
  }
  if (s.on_failure) return go(s.on_failure->step, "on_failure");
  return end_with(model::EndState::Failed, "on_failure",
                  fmt::format("step '{}' {}", s.id, o == StepOutcome::TimedOut ? "timed out" : "failed"));
}

}  // namespace

std::optional<Millis> retry_delay(const model::Step& s, int attempt, StepOutcome o) {
  if (o != StepOutcome::Failed && o != StepOutcome::TimedOut) return std::nullopt;
  if (attempt >= s.retry.attempts) return std::nullopt;
  return s.retry.delay_before(attempt + 1);
}

RtoState rto_state(WallTime start, WallTime now, std::optional<Millis> rto, Millis after_current,
                   Millis current_budget, Millis in_step) {
  RtoState st;
  st.elapsed = std::chrono::duration_cast<Millis>(now - start);
  if (st.elapsed.count() < 0) st.elapsed = Millis(0);
  st.rto = rto;
  Millis left = std::max(Millis(0), current_budget - in_step) + after_current;
  st.projected = st.elapsed + left;
  if (rto) {
    st.remaining = *rto - st.elapsed;
    st.percent = rto->count() > 0 ? 100.0 * static_cast<double>(st.elapsed.count()) / static_cast<double>(rto->count()) : 0;
    st.projected_ok = st.projected <= *rto;
  }
  return st;
}

WallTime rto_warning_at(WallTime start, Millis rto) { return start + Millis(rto.count() * 8 / 10); }
WallTime rto_breach_at(WallTime start, Millis rto) { return start + rto; }

}  // namespace rb::exec
