// Fleet targets before a run starts (contract §8): the inventory must be readable and
// well-formed and every host pattern must select hosts, or the run is refused with exit 2
// at FILE:LINE:COL and nothing runs. Also the host lists `--dry-run` prints. Targets that
// depend on other steps' outputs can only be resolved at run time (the shell plugin
// checks them again then, and fails the step).
#pragma once

#include <functional>
#include <set>
#include <string>

#include "base/masker.h"
#include "base/value.h"
#include "exec/state.h"
#include "model/runbook.h"

namespace rb::cli {

/// Calls `f` for every action of `rb` that has targets (steps, waits, parallel branches,
/// checks, rollbacks).
void each_fleet_action(const model::Runbook& rb, const std::function<void(const model::Action&)>& f);

/// Checks every fleet action of `rb` whose targets render from the inputs alone. Prints
/// FILE:LINE:COL errors (masked) to stderr; false when any.
bool check_fleet_targets(const model::Runbook& rb, const Value& inputs, const std::set<std::string>& secrets,
                         Masker& masker);

/// For --dry-run: "on N hosts (…): a, b, c" for an action with targets (empty without).
std::string fleet_hosts_text(const model::Action& a, exec::StateRenderer& r);

}  // namespace rb::cli
