// The one explicit list of built-in plugins, and the resolver of external plugins.
#pragma once

#include <string>
#include <vector>

#include "plugin/plugin.h"

namespace rb::plugins {

/// Registers shell, wait, approval, manual, sql and http, and resolves any other action
/// key `foo` to the executable `runbook-plugin-foo` on `plugin_path`.
void register_builtins(plugin::Registry& reg, std::vector<std::string> plugin_path);

/// The plugin path: --plugin-path entries, then $RUNBOOK_PLUGIN_PATH (':'-separated),
/// then the shipped plugins: plugins/ next to the binary (a build tree) and
/// ../libexec/runbook from it (installed; GNUInstallDirs' libexecdir), found through
/// /proc/self/exe so that no flag is needed wherever the prefix is.
std::vector<std::string> default_plugin_path(const std::vector<std::string>& from_flags);

}  // namespace rb::plugins
