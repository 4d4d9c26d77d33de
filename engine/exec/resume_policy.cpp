#include "exec/resume_policy.h"

#include <fmt/format.h>

#include "base/text.h"

namespace rb::exec {

namespace {

// An interrupted step that is not idempotent: the operator's answer decides.
ResumeDecision by_answer(const std::string& step, int attempt, std::map<std::string, GivenAnswer>* answers,
                         ResumeDecision d) {
  auto a = answers->find(step);
  if (a == answers->end()) {
    d.status = Status::Invalid(fmt::format(
        "step '{}' was interrupted during attempt {} and is not idempotent: say what to do with --answer {}=yes (run "
        "it again), {}=done (it completed) or {}=no (abort the run)",
        step, attempt, step, step, step));
    return d;
  }
  GivenAnswer given = a->second;
  answers->erase(a);
  if (!given.yes) {
    d.at.mode = ResumePoint::Mode::Rollbacks;
    d.at.end_state = model::EndState::Aborted;
    d.at.reason = fmt::format("step '{}' was interrupted and the operator chose not to run it again", step);
    d.how = "abort (operator)";
  } else if (given.done) {
    d.at.mode = ResumePoint::Mode::Confirmed;
    d.how = "confirmed done by the operator";
  } else {
    d.at.mode = ResumePoint::Mode::Enter;
    d.how = "rerun (operator)";
  }
  return d;
}

}  // namespace

ResumeDecision decide_resume(const model::Runbook& rb, const std::string& run_id, const Replay& rp,
                             std::map<std::string, GivenAnswer>* answers, const std::vector<std::string>& survivors) {
  ResumeDecision d;
  d.at = rp.point;
  d.how = "continue";
  if (!rp.error.empty()) {
    d.status = Status::Invalid(fmt::format("cannot resume run {}: {}", run_id, rp.error));
    return d;
  }
  if (!rp.interrupted) return d;
  if (!survivors.empty()) {
    d.status = Status::Error(fmt::format("step '{}' of run {} still has processes of its interrupted attempt running: "
                                         "{}; stop them before resuming",
                                         d.at.step, run_id, join(survivors, ", ")));
    return d;
  }
  const model::Step* s = rb.find(d.at.step);
  switch (s ? s->idempotent : model::Idempotent::Yes) {
    case model::Idempotent::Yes: d.how = "rerun (idempotent)"; return d;
    case model::Idempotent::VerifyFirst:
      d.at.mode = ResumePoint::Mode::VerifyFirst;
      d.how = "verify first";
      return d;
    case model::Idempotent::No: return by_answer(d.at.step, rp.interrupted_attempt, answers, d);
  }
  return d;
}

}  // namespace rb::exec
