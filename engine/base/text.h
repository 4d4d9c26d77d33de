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

/// Text from a run (an action's output, an error) made safe to print on a terminal:
/// control characters become visible caret notation (ESC -> "^[", NUL -> "^@", DEL ->
/// "^?"), C1 controls "<U+009B>", tabs two spaces, invalid UTF-8 "\xNN"; so no byte of
/// it can move the cursor or change the terminal.
std::string terminal_safe(std::string_view s);

/// Columns `s` takes on a terminal (wide characters 2; assumes `s` is terminal_safe).
int display_width(std::string_view s);
/// The longest prefix of `s` that fits in `cols` columns ("…" marks a cut).
std::string fit_width(std::string_view s, int cols);
/// Word-wraps `s` (and its own newlines) into lines of at most `cols` columns.
std::vector<std::string> wrap_width(std::string_view s, int cols);
/// Whether `s` is one character of the class `first` followed by any number of the class
/// `rest`; a class is written as in a regex bracket without brackets ("a-z0-9-": ranges,
/// a '-' at the end is literal). Linear time, no regex engine: for identifiers of any size.
bool is_token(std::string_view s, std::string_view first, std::string_view rest);
/// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD, so that a
/// command's raw output can become a JSON value (results, the timeline).
std::string valid_utf8(std::string s);

}  // namespace rb
