// What a fenced code block can become in a draft: a `shell`, `sql` or `http` action, or a
// `manual` step quoting it, with the reason. A block is manual when running it as written
// could not be right: a placeholder (`[PROJECT-REF]`, `<host>`, `YOUR-…`, `...`), an
// instruction for a person ("# Login to the dashboard", "# Edit src/x.ts"), alternatives
// ("# OR via CLI:"), a condition in the middle ("# Restart if needed"), SQL or source
// code inside a shell block, a command that runs until stopped (`--follow`), a language
// the engine does not run, or only comments.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "import/markdown.h"

namespace rb::import {

/// A simple `curl URL` (GET): becomes an `http` action.
struct HttpCall {
  std::string url;
  std::string expect;  ///< an expression over `result`, from "Expected: 200" / "Should show …"; may be empty
  int line = 0;
};

struct BlockAction {
  enum class Kind { Manual, Shell, Sql, Http };
  Kind kind = Kind::Manual;
  std::string text;            ///< Shell: the script; Sql: the statements (comments kept)
  int statements = 0;          ///< Sql: how many
  bool read_only = false;      ///< Sql: every statement only reads
  std::vector<HttpCall> http;  ///< Http: one call, or several run in parallel
  bool conditional = false;    ///< it starts with a condition ("# If users were overcharged:")
  std::string condition;       ///< that comment
  std::string why;             ///< Manual: the reason, for people ("holds the placeholder '[X]' (line 61)")
};

/// Classifies one code block. `first_line` is the source line of the block's first line of
/// content, for the reasons it gives.
BlockAction classify_block(std::string_view lang, std::string_view code, int first_line);

/// The first placeholder in `text` ("[PROJECT-REF]", "<host>", "YOUR-KEY", "...",
/// "CHANGEME"), if any. `code_line` also counts "..." (not in prose or comments).
std::optional<std::string> find_placeholder(std::string_view text, bool code_line = true);

/// The first character of `text` a reader does not see as what runs ("U+202E"): C0 controls
/// but tab/newline/CRLF, DEL, C1 controls, bidi overrides/isolates, zero-width characters.
std::optional<std::string> find_invisible(std::string_view text);

/// True for the fence languages run as `shell` ("bash", "sh", …, and "" when it reads as
/// commands) or `sql`.
bool shell_language(std::string_view lang);
bool sql_language(std::string_view lang);

}  // namespace rb::import
