// drills.yaml: the game-day schedule (contract section 6). A list of drills, each with a
// runbook, a 5-field cron `schedule` (optional `timezone`), `inputs`, `setup` / `teardown`
// actions that inject and clear the fault, and `answers` for approvals. Validated like
// runbooks: every problem as FILE:LINE:COL.
//
//   drills:
//     - name: database-restore
//       runbook: runbooks/database-disaster.yaml
//       schedule: "0 10 3 * *"
//       timezone: Europe/Paris
//       inputs: { app_url: "http://127.0.0.1:18080" }
//       setup:
//         - shell: examples/sandbox/faults/database-disaster.sh
//       teardown:
//         - shell: examples/sandbox/sandbox.py down
//       answers: { approve-restore: yes@drill-bot }
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "drill/cron.h"
#include "model/runbook.h"
#include "plugin/plugin.h"
#include "yaml/node.h"

namespace rb::drill {

struct Drill {
  std::string name;
  SourcePos pos;
  std::string runbook;  ///< path, relative to the directory `runbook drill` runs in
  Cron schedule;
  std::string timezone = "UTC";
  std::vector<std::string> inputs;                 ///< NAME=VALUE
  std::map<std::string, std::string> answers;      ///< step -> yes|no|done[@NAME]
  std::optional<model::Runbook> setup, teardown;   ///< the actions, as small runbooks
};

/// Loads and validates a drills file. nullopt when it has errors (in `diag`).
std::optional<std::vector<Drill>> load_drills(const std::string& path, plugin::Registry& reg, Diagnostics& diag);

}  // namespace rb::drill
