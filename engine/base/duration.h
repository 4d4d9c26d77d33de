// Durations as written in runbooks: `250ms`, `30s`, `5m`, `2h`, `1h30m`, `1d`.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rb {

using Millis = std::chrono::milliseconds;

/// Parses a duration. On failure returns nullopt and sets *why to a human reason.
/// A bare number (no unit) is rejected: "30" is ambiguous at 3 a.m.
std::optional<Millis> parse_duration(std::string_view text, std::string* why = nullptr);

/// Formats as the shortest exact form: 90000ms -> "1m30s", 250ms -> "250ms", 0 -> "0s".
std::string format_duration(Millis d);

/// Human form for live display, e.g. "1h02m", "4m05s", "12.3s".
std::string format_duration_short(Millis d);

}  // namespace rb
