// Whether an answer may be given to a run's waiting step, judged from its timeline: the
// rules `runbook approve` and the web page check before they hand an answer to the
// engine that waits (which checks again when it takes it). Contract §3 v2 and §7.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "journal/store.h"

namespace rb::cli {

/// The question step `step` waits on now (its approval.requested, when no answer, end or
/// interruption followed). *waiting_now names the step that does wait, if any.
std::optional<journal::Event> waiting_question(const std::vector<journal::Event>& events, const std::string& step,
                                               std::string* waiting_now);

enum class AnswerVerdict {
  Ok,
  NotRunning,    ///< the run is not running (ended or interrupted)
  NotWaiting,    ///< that step does not wait for an answer
  BadAnswer,     ///< not yes/no/done, or done to an approval
  SecondPerson,  ///< the operator who started the run may not answer a second_person approval
};

struct AnswerCheck {
  AnswerVerdict verdict = AnswerVerdict::Ok;
  std::optional<journal::Event> question;  ///< the approval.requested it answers
  std::string waiting_now;                 ///< the step that waits, when another one
};

/// Judges `answer` (yes, no or done) to `step` of `run` by `by`.
AnswerCheck check_answer(const journal::RunInfo& run, const std::vector<journal::Event>& events,
                         const std::string& step, const std::string& answer, const std::string& by);

}  // namespace rb::cli
