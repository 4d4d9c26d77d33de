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

/// Deepest JSON nesting parse_json_bounded accepts. Every walk over a Value (dump,
/// compare, copy) recurses once per level, so text from outside (a command's output, an
/// HTTP body, a plugin's answer) deeper than this is not parsed at all.
constexpr int kMaxJsonDepth = 256;

/// Parses `text` as JSON when it is well-formed and nested at most kMaxJsonDepth levels;
/// else returns a discarded value (is_discarded()). Never throws.
Value parse_json_bounded(std::string_view text);
}  // namespace rb
