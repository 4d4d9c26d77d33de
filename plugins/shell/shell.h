// `shell`: runs a command in its own process group.
//   shell: "pg_dump … > \"$OUT\""            # run by /bin/sh -c
//   shell: { command: [pg_dump, -f, out] }   # argv, no shell
//   shell: { command: "…", cwd: dir, stdin: "text" }
// result: exit_code, signal, stdout, stderr (each capped; *_truncated and *_bytes record
// the cap), duration_ms. Success: exit code 0 unless the step's `expect` says otherwise.
// Interpolated values in a command string are passed through the environment, never
// spliced into shell code (see shell.cpp).
#pragma once

#include <memory>

#include "plugin/plugin.h"

namespace rb::plugins {
std::unique_ptr<plugin::Plugin> make_shell_plugin();
}
