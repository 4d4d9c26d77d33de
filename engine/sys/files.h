// Writing whole files the way the engine's outputs need: created with a given mode from
// the first byte (reports hold run data: 0600), fsynced, and either refused when the file
// exists or replaced atomically (a temporary beside it, renamed over it) — a reader never
// sees half a file.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

#include "base/status.h"

namespace rb::sys {

enum class Existing { Refuse, Replace };

/// Writes `data` to `path` with `mode`. Refuse: fails (EEXIST) when the file exists.
Status write_file(const std::string& path, std::string_view data, mode_t mode, Existing existing);

}  // namespace rb::sys
