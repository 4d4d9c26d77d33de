// Runs as values: what `runs --json` and `status --json` print, and what the server's API
// answers with the same fields (contract §7).
#pragma once

#include <vector>

#include "base/value.h"
#include "journal/store.h"

namespace rb::cli {

/// A run as `runs --json` lists it (the row, the RTO measured so far, whether it was met).
Value run_row_json(const journal::RunInfo& r);

/// A run as `status --json` shows it: the row, the current step and its state, the engine
/// that drives it (when alive), the RTO clock.
Value run_status_json(journal::Store& store, const journal::RunInfo& r, const std::vector<journal::Event>& events,
                      const std::string& store_arg = "");

}  // namespace rb::cli
