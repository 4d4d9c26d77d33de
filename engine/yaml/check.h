// Helpers to read a yaml::Node with positioned errors; used by the runbook parser and by
// every plugin's parameter validation so that messages read the same everywhere.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "base/duration.h"
#include "yaml/node.h"

namespace rb::yaml {

/// Reports keys of `map` not in `allowed` ("unknown key 'timout' in step 'x' (did you mean
/// 'timeout'?)"). `where` completes the message, e.g. "in step 'restore'".
void check_keys(const Node& map, const std::vector<std::string>& allowed, std::string_view where,
                Diagnostics& d);

/// Each returns nullopt (after an error) when the node has the wrong shape. `what` names
/// the field in messages, e.g. "'timeout' of step 'x'".
std::optional<std::string> want_string(const Node& n, std::string_view what, Diagnostics& d);
std::optional<bool> want_bool(const Node& n, std::string_view what, Diagnostics& d);
std::optional<long long> want_int(const Node& n, std::string_view what, Diagnostics& d,
                                  long long min = 0, long long max = 1'000'000'000);
std::optional<double> want_number(const Node& n, std::string_view what, Diagnostics& d,
                                  double min = 0);
std::optional<Millis> want_duration(const Node& n, std::string_view what, Diagnostics& d);
/// An action's duration parameter: a duration, or a `${{ … }}` (e.g. a duration input)
/// that the plugin checks once rendered (plugin::check_rendered_duration). False after an
/// error.
bool want_duration_param(const Node& n, std::string_view what, Diagnostics& d);
bool want_map(const Node& n, std::string_view what, Diagnostics& d);
bool want_seq(const Node& n, std::string_view what, Diagnostics& d);

/// The position where a scalar's text starts (after an opening quote).
SourcePos text_pos(const Node& n);

/// The file position of the `nth` (0-based) `${{` of a scalar's value, moved `shift`
/// characters right (to point inside the `${{ … }}` on its line). Falls back to
/// text_pos(n) when the loader did not record it (a node built in code).
SourcePos interp_pos(const Node& n, size_t nth, int shift = 0);

}  // namespace rb::yaml
