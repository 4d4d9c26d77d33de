// The command line as plain values, taken from CLI11's App tree in main.cpp (the one
// table of subcommands). The man pages (`runbook __man`) and the shell completions
// (`runbook completion bash|zsh|fish`) are generated from it, so they say exactly what
// `--help` says and cannot drift from it. No CLI11 here: these files stay cheap to build.
#pragma once

#include <string>
#include <vector>

namespace rb::cli {

/// One option, flag or positional argument.
struct OptSpec {
  std::vector<std::string> names;     ///< "-o", "--output"; a positional: its name ("FILE")
  std::string value;                  ///< the value's name ("FILE", "TEXT"); empty for a flag
  std::vector<std::string> choices;   ///< the allowed values, when they are a fixed set
  std::string help;
  bool required = false;
  bool repeatable = false;
  bool optional_value = false;        ///< `--dry-run` or `--dry-run=probes`
  bool positional = false;

  bool flag() const { return value.empty(); }
  /// Its first name, else its value's name.
  std::string name_or_value() const;
  /// What completes the value: "files", "dirs" or "" (free text or choices).
  std::string completes() const;
};

/// A command: the root (`runbook`) or a subcommand, with its own visible subcommands.
struct CommandSpec {
  std::string name;  ///< "runbook", "run", "list"
  std::string help;  ///< the root: the intro paragraph; a subcommand: its one line
  std::vector<OptSpec> options;  ///< named options and flags, in declaration order
  std::vector<OptSpec> positionals;
  std::vector<CommandSpec> subcommands;  ///< hidden ones (`__man`) are left out

  const CommandSpec* find(const std::string& sub) const;
};

/// The man page (roff, man(7) macros) of the root command (`sub` null: runbook(1)) or of
/// one of its subcommands (runbook-SUB(1)), with its nested subcommands as sections.
std::string man_page(const CommandSpec& root, const CommandSpec* sub, const std::string& version);

/// The file name of a page: "runbook.1" or "runbook-run.1".
std::string man_file_name(const CommandSpec* sub);

/// `runbook __man [COMMAND] [--dir DIR]`: prints one page, or writes every page into DIR.
int cmd_man(const CommandSpec& root, const std::string& page, const std::string& dir);

/// A completion script for `shell` (bash, zsh or fish); empty for another shell.
std::string completion_script(const CommandSpec& root, const std::string& shell);

}  // namespace rb::cli
