// Runs an Executor to its end: the loop and its Env, the journal, the console, signals,
// lease renewal, queued notes, the subreaper. The one place a run's engine is assembled,
// shared by `run`, `resume` and `drill run` (its setup and teardown too).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cli/common.h"
#include "exec/answers.h"
#include "exec/executor.h"
#include "journal/store.h"
#include "report/console.h"

namespace rb::cli {

struct DriveOptions {
  report::ConsoleMode mode = report::ConsoleMode::Plain;
  std::string tz = "UTC";
  journal::Store* store = nullptr;   ///< null for dry runs and drill setup/teardown
  journal::Lease lease;              ///< held; renewed while running (epoch 0: none)
  std::string lease_key;             ///< the incident id
  long long lease_ttl_ms = 10'000;
  /// A new run: its row, created with the first commit.
  std::optional<journal::RunInfo> new_run;
  /// A resumed run: where its timeline ends, where it continues, and run.resumed's data.
  long long resumed_last_seq = 0;
  WallTime resumed_started;          ///< the run's start (event times `t` count from it)
  std::optional<exec::ResumePoint> resume;
  Value resumed_event;
  std::map<std::string, exec::GivenAnswer> answers;
  bool yes = false;
  bool ignore_signals = false;       ///< teardown: SIGINT/SIGTERM do not stop it
  Millis tick{1000};                 ///< live-view refresh and queued-note polling
};

/// The console mode and time zone for `g` (--json, a terminal or not).
DriveOptions drive_options(const Global& g, const std::string& tz, journal::Store* store);

/// Runs to the end; returns the exit code.
int drive(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker,
          const DriveOptions& d, exec::RunResult* result_out = nullptr);

/// Median duration of each step over the last drills of runbook `runbook_id` (at most 10,
/// recovered ones): these beat declared budgets in the projected finish (contract §6).
std::map<std::string, Millis> drill_medians(journal::Store& store, const std::string& runbook_id);

/// "user@host pid N"
std::string lease_holder();
long long lease_ttl_ms();
long long now_ms();

/// Parses --answer STEP=ANSWER flags against the runbook; reports problems (exit 2).
bool parse_answers(const model::Runbook& rb, const std::vector<std::string>& flags,
                   std::map<std::string, exec::GivenAnswer>* out, bool any_step = false);

/// Every action kind used must resolve to a plugin; reports FILE:LINE:COL otherwise.
bool check_plugins(const model::Runbook& rb, plugin::Registry& reg);

}  // namespace rb::cli
