// Graph questions about a runbook's state machine: successors, reachability, ends, and
// the critical path (longest sum of budgets from a step to a `recovered` end).
// Cycles (e.g. a retry loop through on_failure) are broken by ignoring back edges of a
// depth-first search from `start`, so every path is counted once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/duration.h"
#include "model/runbook.h"

namespace rb::plan {

/// Indices of the steps `i` can go to (defined targets only, no duplicates, in order).
std::vector<size_t> successors(const model::Runbook& rb, size_t i);

/// True for a step whose completion ends the run as recovered (an `end: recovered` step, or
/// the implicit end of the last listed step).
bool ends_recovered(const model::Step& s);
bool is_terminal(const model::Step& s);

/// reachable[i]: step i can be reached from `from` (index).
std::vector<bool> reachable_from(const model::Runbook& rb, size_t from);

/// can_end[i]: some end step (any end state) can be reached from step i.
std::vector<bool> can_reach_end(const model::Runbook& rb);

struct CriticalPath {
  bool found = false;              ///< some recovered end is reachable
  Millis total{0};                 ///< sum of budgets along the path
  std::vector<size_t> steps;       ///< the path, from the start step
  size_t steps_without_budget = 0; ///< on the path
};

/// Longest budget path from `from` to a recovered end.
CriticalPath critical_path(const model::Runbook& rb, size_t from);

/// For every step, the longest budget sum from it (its own budget included) to a recovered
/// end, or nullopt when no recovered end is reachable. Used for the projected finish.
std::vector<std::optional<Millis>> remaining_budgets(const model::Runbook& rb);
/// The same with each step's planned duration given by `budget` (e.g. drill medians).
std::vector<std::optional<Millis>> remaining_budgets(const model::Runbook& rb,
                                                     const std::function<Millis(const model::Step&)>& budget);

}  // namespace rb::plan
