// What a run looks like while it goes on: the RTO clock and the current step, as the
// executor computes them and the console, `status` and the web page show them. Plain
// values, no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"

namespace rb::model {

/// The RTO clock at a moment (contract section 2).
struct RtoState {
  Millis elapsed{0};
  std::optional<Millis> rto;
  std::optional<Millis> remaining;   ///< rto - elapsed (negative once breached)
  double percent = 0;                ///< of the RTO used
  Millis projected{0};               ///< elapsed + remaining budgets on the planned path
  std::optional<bool> projected_ok;  ///< projected <= rto
};

/// What the live operator view shows.
struct LiveState {
  std::string step, title, phase;
  int attempt = 0;
  Millis in_step{0};
  std::optional<Millis> budget;
  RtoState rto;
  std::vector<std::string> last_output;
};

}  // namespace rb::model
