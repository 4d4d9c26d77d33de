// The shape of `targets:` (contract §8) as the parser checks it: keys, types and ranges,
// with FILE:LINE:COL errors. What a value means (which hosts a pattern selects, what an
// inventory holds) is the shell plugin's business at run time and the CLI's pre-run
// check (cli/fleet_check.cpp); strings holding `${{ }}` are checked only there.
#pragma once

#include <string>

#include "base/diag.h"
#include "yaml/node.h"

namespace rb::parse {

/// Checks `targets` given beside action `kind` ("in step 'x'" completes messages).
/// `key` is the `targets` key node (for errors about the key itself).
void check_targets(const yaml::Node& key, const yaml::Node& targets, const std::string& kind,
                   const std::string& where, Diagnostics& d);

}  // namespace rb::parse
