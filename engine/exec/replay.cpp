#include "exec/replay.h"
#include "base/events.h"

#include <fmt/format.h>

namespace rb::exec {

Replay replay(const model::Runbook& rb, const std::vector<journal::Event>& events) {
  Replay r;
  ResumePoint& p = r.point;
  p.mode = ResumePoint::Mode::Enter;
  p.step = rb.start;
  p.attempt = 1;
  bool in_flight = false;   // a step.started without outcome
  bool decided = true;      // the last outcome was followed by its transition
  bool ending = false;
  std::string last_to;
  for (const auto& e : events) {
    const std::string& t = e.type;
    if (t == ev::kStepStarted) {
      p.mode = ResumePoint::Mode::Enter;
      p.step = e.step;
      p.attempt = e.attempt;
      in_flight = true;
      decided = true;
      p.steps[e.step].status = "running";
      p.steps[e.step].attempts = e.attempt;
    } else if (t == ev::kStepSucceeded) {
      in_flight = false;
      decided = false;
      p.outcome = StepOutcome::Succeeded;
      auto& ss = p.steps[e.step];
      ss.status = "succeeded";
      ss.outputs = e.data.value("outputs", Value::object());
      ss.duration_ms = e.data.value("duration_ms", 0LL);
      ss.error.clear();
      if (e.data.contains("result")) ss.hosts = fleet_hosts_of(e.data["result"]);
      if (const model::Step* s = rb.find(e.step); s && s->rollback) p.rollback_stack.push_back(e.step);
    } else if (t == ev::kStepFailed) {
      in_flight = false;
      decided = false;
      std::string oc = e.data.value("outcome", std::string("failed"));
      p.outcome = oc == "timed_out" ? StepOutcome::TimedOut
                  : oc == "rejected" ? StepOutcome::Rejected
                  : oc == "cancelled" ? StepOutcome::Cancelled
                                      : StepOutcome::Failed;
      auto& ss = p.steps[e.step];
      ss.status = "failed";
      ss.error = e.data.value("error", std::string());
    } else if (t == ev::kStepSkipped) {
      in_flight = false;
      decided = false;
      p.outcome = StepOutcome::Succeeded;
      p.steps[e.step].status = "skipped";
    } else if (t == ev::kStepRetrying) {
      in_flight = false;
      decided = true;
      p.mode = ResumePoint::Mode::Enter;
      p.step = e.step;
      p.attempt = e.data.value("next_attempt", e.attempt + 1);
    } else if (t == ev::kStepAttemptFailed) {
      in_flight = false;
    } else if (t == ev::kTransition) {
      decided = true;
      p.mode = ResumePoint::Mode::Enter;
      p.step = e.data.value("to", std::string());
      p.attempt = 1;
      last_to = p.step;
    } else if (t == ev::kRollbackStarted) {
      ending = true;
    } else if (t == ev::kRollbackFinished) {
      auto& st = p.rollback_stack;
      auto it = std::find(st.rbegin(), st.rend(), e.step);
      if (it != st.rend()) st.erase(std::next(it).base());
    } else if (t == ev::kRtoWarning) {
      p.rto_warned = true;
    } else if (t == ev::kRtoBreached) {
      p.rto_warned = p.rto_breached = true;
    } else if (t == ev::kRunEnded) {
      r.ended = true;
    }
  }
  if (ending) {
    // Rollbacks had begun: the end state is the one the run was heading to.
    p.mode = ResumePoint::Mode::Rollbacks;
    const model::Step* end = rb.find(last_to);
    if (end && end->kind == model::StepKind::End) p.end_state = end->end;
    else if (p.outcome == StepOutcome::Cancelled || p.outcome == StepOutcome::Rejected) p.end_state = model::EndState::Aborted;
    else p.end_state = model::EndState::Failed;
    if (end) p.step = end->id;
    p.reason = "resumed while rolling back";
    return r;
  }
  if (in_flight) {
    r.interrupted = true;
    r.interrupted_attempt = p.attempt;
  } else if (!decided) {
    p.mode = ResumePoint::Mode::After;
  }
  if (!rb.find(p.step)) r.error = fmt::format("the timeline continues at step '{}', which the runbook does not have", p.step);
  return r;
}

}  // namespace rb::exec
