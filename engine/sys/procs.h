// Finding processes on this machine by what their environment holds: the actions a dead
// engine left running (each action gets RUNBOOK_RUN_ID and RUNBOOK_STEP in its
// environment). Reads /proc; Linux only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace rb::sys {

struct ProcInfo {
  int pid = 0;
  int pgid = 0;
  std::string cmdline;
};

/// When process `pid` started (clock ticks after boot, /proc/PID/stat field 22); nullopt
/// when there is no such live process.
std::optional<unsigned long long> process_start_time(int pid);

/// Live (non-zombie) processes whose environment holds every one of `vars` ("K=V").
std::vector<ProcInfo> processes_with_env(const std::vector<std::string>& vars);

/// Stops the process groups of `procs`: SIGTERM to each group, SIGKILL to what is left
/// after `grace`, then waits (up to 2 s more) until they are gone. Returns the processes
/// still alive after that (normally none). Blocks the caller: for one-shot commands
/// (resume, abort), never on the engine's loop.
std::vector<ProcInfo> stop_groups(const std::vector<ProcInfo>& procs, std::chrono::milliseconds grace);

}  // namespace rb::sys
