// Runbook loading: file -> yaml::Node (yaml/loader) -> model::Runbook (parser) -> checks
// (validator). Every problem is reported with FILE:LINE:COL in one pass, sorted.
#pragma once

#include <optional>
#include <string>

#include "base/diag.h"
#include "model/runbook.h"
#include "plugin/plugin.h"
#include "yaml/node.h"

namespace rb::parse {

/// Structure: keys, types, durations, counts, exactly one action per step, expression
/// syntax of when/expect/outputs/record. Returns the model even when errors were found
/// (as far as it could be built) so the validator can report more in the same pass.
model::Runbook parse_runbook(const yaml::Node& root, plugin::Registry& registry, Diagnostics& diag);

/// Semantics: transitions, reachability, ends, names in expressions and templates,
/// interpolation in SQL queries, plan warnings (critical path over RTO).
/// `source` is the file's text (for positions inside multi-line strings).
void validate_runbook(const model::Runbook& rb, const std::string& source, plugin::Registry& registry,
                      Diagnostics& diag);

/// Everything above from a file. Returns the runbook only when there is no error; warnings
/// may be present in `diag` either way. `diag.file()` is set to `path`.
std::optional<model::Runbook> load_runbook(const std::string& path, plugin::Registry& registry, Diagnostics& diag,
                                           const yaml::LoadLimits& limits = {});

/// Step keys other than actions (for did-you-mean and the schema test).
const std::vector<std::string>& step_keys();

}  // namespace rb::parse
