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
  std::string started_by;            ///< a resumed run: who started it (the second-person rule)
  bool yes = false;
  bool ignore_signals = false;       ///< teardown: SIGINT/SIGTERM do not stop it
  bool typed_answers = false;        ///< the operator may type answers (stdin is read)
  std::string store_flag;            ///< " --store URL" (masked) for the commands we suggest
  std::string resume_args;           ///< what `resume` must be given again (secrets_again())
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

/// "user@host pid N since T": T is the process's start time (clock ticks after boot), so
/// that a pid the system reused is never taken for the engine.
std::string lease_holder();
/// Whether the engine holding `l` is alive: its lease has not expired and, when it ran on
/// this machine, its process still exists with the same start time. *why says why not.
bool holder_alive(const journal::Lease& l, long long now_ms, std::string* why = nullptr);
/// Whether an engine drives run `r` now (it is running and the holder of its incident's
/// lease is alive).
bool engine_alive(journal::Store& store, const journal::RunInfo& r);
/// Takes the incident's lease for this engine: at once when it is free, expired, or held
/// by an engine of this machine that is provably gone (its lease is ended first).
Status take_lease(journal::Store& store, const std::string& incident, journal::Lease* got);
long long lease_ttl_ms();
long long now_ms();

/// Parses --answer STEP=ANSWER flags against the runbook; reports problems (exit 2).
bool parse_answers(const model::Runbook& rb, const std::vector<std::string>& flags,
                   std::map<std::string, exec::GivenAnswer>* out, bool any_step = false);

/// Every action kind used must resolve to a plugin; reports FILE:LINE:COL otherwise.
bool check_plugins(const model::Runbook& rb, plugin::Registry& reg);

}  // namespace rb::cli
