// Where a `${{ }}` stands in a shell command, and the command rewritten so that values
// reach the shell only as data (contract section 1, `shell`, v2).
//
// analyze() runs a small POSIX shell lexer over the command text (quotes, escapes,
// comments, here-documents, $( ), backquotes, $(( )), ${ }, operators, simple commands)
// with every `${{ … }}` kept as an opaque piece of the word it stands in. Each one gets a
// Place:
//   Word          part of a word the top-level shell reads, unquoted   -> "${RB_ARG_n}"
//   DoubleQuoted  inside a top-level "…"                               -> ${RB_ARG_n}
// and every other place is refused (validation error), because there the value would be
// parsed as code again, or mangled: single quotes, a comment, a here-document, $( ),
// backquotes, $(( )), ${ }, right after a backslash or '$', and the code argument of a
// program that re-parses it (sh/bash -c, eval, trap, ssh HOST …, su -c, script -c, flock -c,
// python -c, psql -c, awk/sed programs, watch …, wherever it appears among the words:
// sudo sh -c, xargs sh -c, kubectl exec … -- sh -c). Positional arguments after such a script
// (`sh -c '… "$1"' sh "${{ x }}"`) stay data and are allowed. A value in a command whose
// output is piped into a program that reads code from its input (`echo "${{ x }}" | sh`,
// `… | psql db`, `… | ssh host`) is refused the same way (Place::Code).
//
// The lexer is linear in the text, nests at most kMaxNesting levels (deeper text is
// refused as a whole), and never throws.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rb::plugins::shell {

enum class Place {
  Word,
  DoubleQuoted,
  SingleQuoted,
  Comment,
  Heredoc,
  CommandSubst,
  Backquote,
  Arithmetic,
  Expansion,
  Escaped,
  Code,
  Unparsed,
};

/// One `${{ … }}` of a command.
struct Interp {
  size_t open = 0;         ///< byte offset of `${{`
  size_t end = 0;          ///< byte offset just past `}}`
  std::string expr;        ///< the expression, trimmed
  Place place = Place::Word;
  std::string reparser;    ///< Place::Code: the program that re-parses it, e.g. "sh -c"
};

struct Analysis {
  std::vector<Interp> interps;
  /// A malformed `${{` (no closing `}}`, empty): its offset and the problem.
  std::optional<std::pair<size_t, std::string>> error;
  /// A program of the command that reads the step's standard input as code ("sh",
  /// "psql" …): then a `${{ }}` in the step's `stdin` is refused too.
  std::optional<std::string> stdin_reader;
};

constexpr int kMaxNesting = 64;

/// Classifies every `${{ }}` of a command run by `/bin/sh -c`.
Analysis analyze(std::string_view command);

/// Classifies the `${{ }}` of an argv list (`command: [prog, args…]`): each item holding
/// one is data (Place::Word) unless a program earlier in the list re-parses that item
/// (Place::Code). Result: one Analysis per item, offsets relative to the item.
std::vector<Analysis> analyze_argv(const std::vector<std::string>& argv);

/// Whether values at this place are passed safely (Word, DoubleQuoted).
bool is_safe(Place p);

/// The validation message for a refused `${{ }}`, with the fix.
std::string refusal(const Interp& i);

/// The message for a `${{ }}` of the step's `stdin` fed to `reader` (Analysis::stdin_reader).
std::string stdin_refusal(const Interp& i, const std::string& reader);

/// The command with each `${{ }}` replaced by a reference to the environment variable
/// names[k] (k-th interp), quoted for its place. REQUIRES: every interp is_safe().
std::string rewrite(std::string_view command, const Analysis& a, const std::vector<std::string>& names);

}  // namespace rb::plugins::shell
