// The one dynamic value type of the engine: inputs, action results, outputs and the
// timeline's `data` are JSON values. Key order is kept (SQL columns, report fields).
#pragma once

#include <nlohmann/json.hpp>

namespace rb {
using Value = nlohmann::ordered_json;

/// Truthiness used by `when`, `expect`, `!`, `&&`, `||`: null, false, 0, "" and empty
/// lists/maps are false; everything else is true.
bool truthy(const Value& v);

/// The text of a value when interpolated into a string: strings as they are, null as "",
/// numbers and booleans in their JSON form, lists and maps as compact JSON.
std::string to_text(const Value& v);
}  // namespace rb
