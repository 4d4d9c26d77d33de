// Rebuilding a run's state from its timeline, for `runbook resume`: which steps succeeded
// (with their outputs), what is pending (a transition, a retry, rollbacks), and which
// step was interrupted mid-attempt. Pure: events in, a description out.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "journal/store.h"
#include "model/runbook.h"

namespace rb::exec {

struct Replay {
  bool ended = false;                 ///< run.ended is recorded
  ResumePoint point;                  ///< where to continue (mode Enter/After/Rollbacks)
  bool interrupted = false;           ///< `point.step` had started an attempt that has no outcome
  int interrupted_attempt = 0;
  std::string error;                  ///< the timeline does not fit the runbook
};

Replay replay(const model::Runbook& rb, const std::vector<journal::Event>& events);

}  // namespace rb::exec
