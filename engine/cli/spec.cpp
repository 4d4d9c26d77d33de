// The command line as values (spec.h): the small helpers the man pages and completions share.
#include "cli/spec.h"

namespace rb::cli {

std::string OptSpec::completes() const {
  if (value == "FILE" || value == "PATH" || value == "URL") return "files";  // URL: sqlite:PATH or a path
  if (value == "DIR") return "dirs";
  return "";
}

std::string OptSpec::name_or_value() const { return names.empty() ? value : names.front(); }

const CommandSpec* CommandSpec::find(const std::string& sub) const {
  for (auto& s : subcommands)
    if (s.name == sub) return &s;
  return nullptr;
}

}  // namespace rb::cli
