// How `runbook resume` continues a run (contract section 4): from the replayed timeline,
// a step with step.succeeded never runs again; a step that had started but not finished
// is handled by its `idempotent` policy:
//   true          run it again;
//   verify-first  run its verify checks first and count it done if they hold;
//   false         not without an operator's answer for that step: yes (run it again),
//                 done (it completed), no (give up: rollbacks, the run ends aborted).
// Pure: the caller finds survivors of the interrupted attempt (processes still running)
// and gives them here; while any lives nothing may run again.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/answers.h"
#include "exec/replay.h"

namespace rb::exec {

struct ResumeDecision {
  Status status = Status::OK();  ///< Invalid: an answer is needed; Error: survivors
  ResumePoint at;
  std::string how;               ///< for people and run.resumed: "continue", "rerun (idempotent)" …
};

/// `answers`: the --answer flags; the one about the interrupted step (if any) is taken
/// out, since it answers the interruption, not an approval. `survivors`: descriptions of
/// processes of the interrupted attempt still alive.
ResumeDecision decide_resume(const model::Runbook& rb, const std::string& run_id, const Replay& rp,
                             std::map<std::string, GivenAnswer>* answers, const std::vector<std::string>& survivors);

}  // namespace rb::exec
