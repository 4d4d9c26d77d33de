// Reading what people write around the structure: durations ("(2 minutes)", "(15-30
// minutes)", "~5 min", "T+1 hr 30 mins"), step and scenario titles, ids, and RTO/RPO
// mentions. Small hand-written scanners over one text node at a time (no regexes): the
// structure itself comes from the Markdown AST (markdown.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/duration.h"

namespace rb::import {

/// Reads a duration at the start of `s`, after optional spaces, '~', '<' or "about":
/// "2 minutes", "15-30 min" (a range gives its upper bound), "1 hr 30 mins", "2.5 hrs",
/// "2h", "15min", "1h30m". *used (when given) receives the bytes consumed.
std::optional<Millis> read_duration(std::string_view s, size_t* used = nullptr);

/// The first duration that starts a word anywhere in `s`.
std::optional<Millis> find_duration(std::string_view s);

/// A heading or list-item title taken apart.
struct Title {
  std::string text;                  ///< cleaned, for people ("Stop the bleeding")
  std::optional<Millis> budget;      ///< from "(2 minutes)", "(15-30 minutes)", "~5 min"
  std::optional<Millis> milestone;   ///< from "(T+45 mins)": an offset from the start
  int number = 0;                    ///< N of "Step N:" or "N." (0: none)
  bool step_word = false;            ///< it said "Step N"
  bool conditional = false;          ///< "(if needed)", "if applicable", "(optional)"
};
Title parse_title(std::string_view raw);

/// "SCENARIO 2: WORKER CRASH" → "WORKER CRASH" (raw case); nullopt when `raw` does not
/// name a numbered scenario.
std::optional<std::string> scenario_name(std::string_view raw);

/// Leading emoji and symbols, markdown leftovers (`**`, backticks) and a trailing ':'
/// removed; an ALL-CAPS title in sentence case (known acronyms kept).
std::string clean_title(std::string_view raw);

/// A readable id: lower-case ASCII words joined by '-', at most `max` bytes, cut at a word
/// boundary; "step" when nothing is left.
std::string slug(std::string_view title, size_t max = 40);

/// The duration given for an objective in `text`: `key` is "RTO" or "RPO"; both the
/// acronym and the long form ("Recovery Time Objective") are found, followed by ':', a
/// parenthesis, '|' or "target" and then a duration ("RTO: 2 hours", "RTO 2h",
/// "RPO (Recovery Point Objective) | 1 hour").
std::optional<Millis> objective_in(std::string_view text, std::string_view key);

/// ASCII lower-case copy.
std::string lower(std::string_view s);

/// True when `word` occurs in `s` with no ASCII letter or digit on either side.
bool has_word(std::string_view s, std::string_view word);

}  // namespace rb::import
