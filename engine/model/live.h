// What a run looks like while it goes on: the RTO clock and the current step, as the
// executor computes them and the console, `status` and the web page show them. Plain
// values, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "base/time.h"

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

/// Whether a run met its RTO: it ended recovered within it. The one definition, used by
/// the executor (run.ended), the reports and `runs`.
inline bool rto_met(std::string_view end_status, Millis elapsed, Millis rto) {
  return end_status == "recovered" && elapsed <= rto;
}

/// What the live operator view shows.
struct LiveState {
  WallTime wall{};  ///< when this state was taken
  std::string step, title, phase;
  int attempt = 0;
  Millis in_step{0};
  std::optional<Millis> budget;
  RtoState rto;
  std::vector<std::string> last_output;
};

}  // namespace rb::model
