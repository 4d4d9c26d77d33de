// Deciding apart from doing: where the run goes after a step, whether an attempt is
// retried and after how long, and the RTO clock's state. Pure functions of the model, the
// outcome and the time given: no I/O, no clock of their own, testable without running
// anything (tests/unit/decide_test.cpp).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "base/time.h"
#include "model/live.h"
#include "model/runbook.h"

namespace rb::exec {

/// How a step finished, after its retries. Rejected: an approval answered no, or a
/// manual step answered "not done"; Unanswered: nobody answered it in time.
enum class StepOutcome { Succeeded, Failed, TimedOut, Rejected, Unanswered, Cancelled };
const char* to_string(StepOutcome o);

struct Decision {
  bool end = false;                               ///< the run ends here
  model::EndState end_state = model::EndState::Recovered;
  std::string next;                               ///< when !end
  std::string via;                                ///< next, choose[i], on_failure, on_timeout, on_reject, continue_on_failure, end
  std::string reason;                             ///< for people
};

/// Evaluates a `when`; nullopt with *err when it cannot be evaluated.
using WhenFn = std::function<std::optional<bool>(const expr::Expression&, std::string* err)>;

/// The transition after step `s` finished with `o` (contract §1, v2): a rejected approval
/// goes to on_reject (else the run is aborted); a manual step answered "not done" fails
/// (on_reject, else on_failure); an unanswered approval or manual step takes on_timeout,
/// else on_reject, else its rejection path.
Decision decide_next(const model::Step& s, StepOutcome o, const WhenFn& when);

/// After attempt `attempt` failed with `o`: the delay before the next attempt, or nullopt
/// when no attempt is left (or the outcome is not retried: rejections, cancellations).
std::optional<Millis> retry_delay(const model::Step& s, int attempt, StepOutcome o);

using model::RtoState;

/// The RTO clock at `now` (contract section 2). `after_current`: the longest budget sum of the steps after the current one to a
/// recovered end; `current_budget`: the current step's budget; `in_step`: time already
/// spent in it (a step over its budget adds nothing more to the projection).
RtoState rto_state(WallTime start, WallTime now, std::optional<Millis> rto, Millis after_current,
                   Millis current_budget, Millis in_step);

/// The moments at which rto.warning (80%) and rto.breached (100%) fall due.
WallTime rto_warning_at(WallTime start, Millis rto);
WallTime rto_breach_at(WallTime start, Millis rto);

}  // namespace rb::exec
