// External plugins: an action key `foo` that is not built in runs the executable
// `runbook-plugin-foo` found on the plugin path, speaking JSON over stdin/stdout.
// The protocol is documented in plugins/README.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plugin/plugin.h"

namespace rb::plugins {
/// nullptr when no executable `runbook-plugin-<name>` is on `path`.
std::unique_ptr<plugin::Plugin> find_external_plugin(const std::string& name, const std::vector<std::string>& path);
}
