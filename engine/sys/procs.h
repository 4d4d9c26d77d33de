// Finding processes on this machine by what their environment holds: the actions a dead
// engine left running (each action gets RUNBOOK_RUN_ID and RUNBOOK_STEP in its
// environment). Reads /proc; Linux only.
#pragma once

#include <string>
#include <vector>

namespace rb::sys {

struct ProcInfo {
  int pid = 0;
  int pgid = 0;
  std::string cmdline;
};

/// Live (non-zombie) processes whose environment holds every one of `vars` ("K=V").
std::vector<ProcInfo> processes_with_env(const std::vector<std::string>& vars);

}  // namespace rb::sys
