// Writes a Value as block-style YAML that YAML 1.1 readers (Kubernetes' sigs.k8s.io/yaml,
// PyYAML) and YAML 1.2 readers (yaml-cpp) all read back as the same value. Used for the
// manifests runbook generates (cli/k8s_manifests.h).
//
// Rules, chosen so that no reader can take a string for something else:
//   - a string is written plain only when it starts with a letter or '/', holds only
//     letters, digits and `_ . / -`, and is not one of YAML 1.1's booleans or null
//     (y, n, yes, no, on, off, true, false, null in any case); everything else is quoted;
//   - a string with line breaks is a literal block (`|`, with `-`/`+` chomping for zero or
//     several final newlines and an indentation indicator when it starts with a space or
//     a newline), so a file kept in a ConfigMap reads as itself; unless it holds a
//     character a block cannot carry (a control character, CR, NEL, U+2028/2029, BOM),
//     then it is quoted;
//   - quoted strings are double-quoted with YAML escapes (\n, \t, \", \\, \xXX, \uXXXX);
//     other UTF-8 stays as it is;
//   - numbers, booleans and null as JSON writes them; empty maps `{}`, empty lists `[]`.
#pragma once

#include <string>

#include "base/value.h"

namespace rb {

/// The YAML document for `v` (a map or a list at the top; a scalar also works), ending
/// with a newline. REQUIRES: strings are valid UTF-8 (the caller checks files it embeds).
std::string to_yaml(const Value& v);

/// One scalar as it would appear in to_yaml's output, without line breaks: plain when
/// safe, else double-quoted (a string with newlines is quoted here, never a block).
std::string yaml_scalar(const Value& v);

}  // namespace rb
