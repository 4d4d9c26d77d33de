// Setting a run's engine up, shared by `runbook run`, `runbook resume`/`abort` and
// `runbook serve`, so that a run a server starts or takes over is set up exactly as the
// CLI would: the incident and its lease, the run's row, the options, the takeover of a
// run whose engine is gone (survivors stopped, timeline replayed).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/driver.h"
#include "exec/replay.h"

namespace rb::cli {

/// What one run's engine needs besides its loop, owned in one place: a RunSession keeps
/// references into it, so it must not move once a session uses it (hold it by pointer).
struct RunSetup {
  std::unique_ptr<plugin::Registry> reg;  ///< per run: Registry::finish_run is per registry
  std::optional<model::Runbook> rb;
  Masker masker;
  exec::ExecOptions opts;
  DriveOptions d;
};

enum class LeaseResult {
  Taken,       ///< the incident's lease is ours
  Held,        ///< another live engine holds it
  Unfinished,  ///< the incident has an unfinished run (resume it instead); lease released
  Failed,      ///< the store failed
};
/// One engine per incident: the given incident (or the day's next number, INC-… or
/// DRILL-…, reserved in the store), its lease, and no unfinished earlier run. *why says
/// why not (store_arg: " --store URL" for the `resume` command it suggests).
LeaseResult lease_incident(journal::Store& store, const std::string& given, bool drill, std::string* incident,
                           journal::Lease* lease, std::string* why, const std::string& store_arg = "");

/// The run's row as `run` creates it (cwd: this process's working directory).
journal::RunInfo run_info(const model::Runbook& rb, const exec::ExecOptions& o, WallTime started, bool drill,
                          const std::string& drill_name);

/// What `resume` and `abort` (and a server taking a run over) share once the run is
/// checked: the runbook, inputs and answers, the lease, the survivors stopped, the
/// replayed timeline.
struct Continuation {
  std::unique_ptr<journal::Store> own_store;  ///< the CLI's; a server passes its own
  journal::Store* store = nullptr;
  std::optional<journal::RunInfo> run;
  std::unique_ptr<plugin::Registry> reg;
  std::optional<model::Runbook> rb;
  std::optional<Value> inputs;
  std::map<std::string, exec::GivenAnswer> answers;
  journal::Lease lease;
  exec::Replay replay;
  Value stopped = Value::array();
  std::vector<std::string> left;  ///< survivors that outlived SIGKILL
};

/// Checks run `f.run_id` in `store`, loads its runbook, takes its lease (a live holder
/// refuses), stops what a dead engine left running and replays the timeline. Prints what
/// is wrong to stderr; returns kOk or the exit code.
int prepare_continuation(journal::Store& store, const Global& g, const ResumeFlags& f, Continuation& c);

/// The engine's setup to continue `c` at `at` (`how` for run.resumed); moves the
/// runbook, registry and inputs out of `c` into `out`.
void continuation_setup(const Global& g, const ResumeFlags& f, Continuation& c, const exec::ResumePoint& at,
                        const std::string& how, RunSetup* out);

}  // namespace rb::cli
