// Programs that parse one of their arguments as code: `sh -c SCRIPT`, `eval …`, `trap
// ACTION`, `ssh HOST COMMAND…`, `su -c`, `python -c`, `psql -c`, awk and sed programs,
// `watch …` — found wherever they stand among a simple command's words (after sudo,
// xargs, env, timeout, `kubectl exec … --` …). Used by the shell lexer (script.h) on the
// words of each simple command, and on argv lists.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace rb::plugins::shell {

/// A word of a simple command.
struct Word {
  std::optional<std::string> literal;  ///< its value after quote removal, when it expands nothing
  std::vector<size_t> interps;         ///< interps read directly as (part of) this word
  size_t start = 0;                    ///< offset in the command (the raw text starts here)
};

/// A word some program re-parses as code, and that program ("sh -c", "ssh HOST …").
struct Flag {
  size_t word;
  std::string by;
};

/// The words of `words` (the command name at index `command`) that a program parses as
/// code. `raw[k]`: the start of word k's raw text (for `--command=…` with a `${{ }}`).
std::vector<Flag> code_words(const std::vector<Word>& words, const std::vector<std::string>& raw, size_t command);

/// The program of this simple command that reads code from its standard input, if any
/// ("sh", "psql", "ssh HOST" …): a shell with no script (or -s), an interpreter with no
/// program, psql/mysql/sqlite3 with no query, ssh with no remote command — as the command
/// name, or after wrappers (sudo -u x, env A=1, timeout 5, xargs …).
std::optional<std::string> stdin_reader(const std::vector<Word>& words, size_t command);

}  // namespace rb::plugins::shell
