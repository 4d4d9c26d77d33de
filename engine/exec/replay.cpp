#include "exec/replay.h"

#include <algorithm>
#include <fmt/format.h>

#include "base/events.h"
#include "base/time.h"

namespace rb::exec {

namespace {

// What the events seen so far say.
struct Reading {
  const model::Runbook& rb;
  Replay& r;
  bool in_flight = false;  // a step.started without outcome
  bool decided = true;     // the last outcome was followed by its transition
  bool ending = false;     // rollbacks had begun
  std::string ending_as{}, ending_reason{};  // how the run was ending, from rollback.started
  std::string last_to;

  ResumePoint& p() { return r.point; }

  void started(const journal::Event& e) {
    p().mode = ResumePoint::Mode::Enter;
    p().step = e.step;
    p().attempt = e.attempt;
    p().retry_at.reset();
    in_flight = true;
    decided = true;
    p().steps[e.step].status = "running";
    p().steps[e.step].attempts = e.attempt;
  }

  void succeeded(const journal::Event& e) {
    in_flight = false;
    decided = false;
    p().outcome = StepOutcome::Succeeded;
    auto& ss = p().steps[e.step];
    ss.status = "succeeded";
    ss.outputs = e.data.value("outputs", Value::object());
    ss.duration_ms = e.data.value("duration_ms", 0LL);
    ss.error.clear();
    if (e.data.contains("result")) ss.hosts = fleet_hosts_of(e.data["result"]);
    if (const model::Step* s = rb.find(e.step); s && s->rollback) p().rollback_stack.push_back(e.step);
  }

  void failed(const journal::Event& e) {
    in_flight = false;
    decided = false;
    std::string oc = e.data.value("outcome", std::string("failed"));
    p().outcome = oc == "timed_out"   ? StepOutcome::TimedOut
                  : oc == "rejected"  ? StepOutcome::Rejected
                  : oc == "unanswered" ? StepOutcome::Unanswered
                  : oc == "cancelled" ? StepOutcome::Cancelled
                                      : StepOutcome::Failed;
    auto& ss = p().steps[e.step];
    ss.status = "failed";
    ss.error = e.data.value("error", std::string());
  }

  void skipped(const journal::Event& e) {
    in_flight = false;
    decided = false;
    p().outcome = StepOutcome::Succeeded;
    p().steps[e.step].status = "skipped";
  }

  void retrying(const journal::Event& e) {
    in_flight = false;
    decided = true;
    p().mode = ResumePoint::Mode::Enter;
    p().step = e.step;
    p().attempt = e.data.value("next_attempt", e.attempt + 1);
    if (auto t = parse_time(e.ts)) p().retry_at = *t + Millis(e.data.value("delay_ms", 0LL));
  }

  void transition(const journal::Event& e) {
    decided = true;
    p().mode = ResumePoint::Mode::Enter;
    p().step = e.data.value("to", std::string());
    p().attempt = 1;
    p().retry_at.reset();
    p().steps[p().step].visits++;
    last_to = p().step;
  }

  void rollback_finished(const journal::Event& e) {
    auto& st = p().rollback_stack;
    auto it = std::find(st.rbegin(), st.rend(), e.step);
    if (it != st.rend()) st.erase(std::next(it).base());
  }

  void rollback_started(const journal::Event& e) {
    if (!ending) {
      ending_as = e.data.value("ending", std::string());
      ending_reason = e.data.value("reason", std::string());
    }
    ending = true;
  }

  void read(const journal::Event& e) {
    const std::string& t = e.type;
    if (t == ev::kStepStarted) started(e);
    else if (t == ev::kStepSucceeded) succeeded(e);
    else if (t == ev::kStepFailed) failed(e);
    else if (t == ev::kStepSkipped) skipped(e);
    else if (t == ev::kStepRetrying) retrying(e);
    else if (t == ev::kStepAttemptFailed) in_flight = false;
    else if (t == ev::kTransition) transition(e);
    else if (t == ev::kRollbackStarted) rollback_started(e);
    else if (t == ev::kRollbackFinished) rollback_finished(e);
    else if (t == ev::kRtoWarning) p().rto_warned = true;
    else if (t == ev::kRtoBreached) p().rto_warned = p().rto_breached = true;
    else if (t == ev::kRunEnded) r.ended = true;
  }

  // Rollbacks had begun: the end state is the one the run was heading to.
  void finish_rollbacks() {
    p().mode = ResumePoint::Mode::Rollbacks;
    const model::Step* end = rb.find(last_to);
    // The engine recorded how the run was ending (an abort, a failure): keep it.
    if (ending_as == "aborted" || ending_as == "failed") {
      p().end_state = ending_as == "aborted" ? model::EndState::Aborted : model::EndState::Failed;
    } else if (end && end->kind == model::StepKind::End) p().end_state = end->end;
    else if (p().outcome == StepOutcome::Cancelled || p().outcome == StepOutcome::Rejected ||
             p().outcome == StepOutcome::Unanswered)
      p().end_state = model::EndState::Aborted;
    else p().end_state = model::EndState::Failed;
    if (end) p().step = end->id;
    p().reason = ending_reason.empty() ? "resumed while rolling back" : ending_reason + " (resumed while rolling back)";
  }
};

}  // namespace

Replay replay(const model::Runbook& rb, const std::vector<journal::Event>& events) {
  Replay r;
  r.point.mode = ResumePoint::Mode::Enter;
  r.point.step = rb.start;
  r.point.attempt = 1;
  Reading reading{.rb = rb, .r = r, .last_to = {}};
  for (const auto& e : events) reading.read(e);
  if (reading.ending) {
    reading.finish_rollbacks();
    return r;
  }
  if (reading.in_flight) {
    r.interrupted = true;
    r.interrupted_attempt = r.point.attempt;
  } else if (!reading.decided) {
    r.point.mode = ResumePoint::Mode::After;
  }
  if (!rb.find(r.point.step))
    r.error = fmt::format("the timeline continues at step '{}', which the runbook does not have", r.point.step);
  return r;
}

}  // namespace rb::exec
