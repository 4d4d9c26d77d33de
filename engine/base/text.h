// Small text helpers shared by the loader, validator and reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"

namespace rb {

/// Levenshtein distance, capped: returns cap+1 as soon as the distance exceeds cap.
size_t edit_distance(std::string_view a, std::string_view b, size_t cap = 8);

/// The closest candidate to `word` when it is a plausible typo, else nullopt.
std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// `" (did you mean 'x'?)"` or empty.
std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates);

/// Checks that `bytes` is UTF-8 without NUL bytes. On failure returns the position of the
/// first bad byte and fills *why.
std::optional<SourcePos> find_bad_utf8(std::string_view bytes, std::string* why);

std::string_view trim(std::string_view s);
std::vector<std::string> split_lines(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

/// Quotes a string for a POSIX shell: 'it'\''s'.
std::string shell_quote(std::string_view s);

/// Truncates to at most `max` bytes on a UTF-8 boundary, appending "…" when cut.
std::string ellipsize(std::string_view s, size_t max);

/// Text made safe inside HTML or XML, in element content and quoted attributes: & < > " '
/// become entities, and control characters other than tab and newline (invalid in XML
/// 1.0) become spaces.
std::string markup_escape(std::string_view s);

/// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD, so that a
/// command's raw output can become a JSON value (results, the timeline).
std::string valid_utf8(std::string s);

}  // namespace rb
