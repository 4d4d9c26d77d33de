// From timeline to post-mortem: a Report is built from a run's record and events only
// (the runbook file may have changed since), then rendered as Markdown (the incident
// report the seeds use), JSON (schemas/run-report.schema.json), self-contained HTML with a
// timeline chart, or JUnit XML (a drill as test results). Pure functions: no I/O, the
// clock (`now`, for ongoing runs) and the time zone are arguments.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "base/value.h"
#include "journal/store.h"

namespace rb::report {

struct Span {
  double start = 0, end = 0;  ///< seconds since run start
  std::string kind;           ///< attempt, retry-wait, approval-wait
  bool ok = true;
};

/// One host of a fleet step (its last attempt), from the step's recorded result.
struct HostRow {
  std::string host;
  bool ok = false;
  long long exit_code = 0, duration_ms = 0;
  std::string error;
};

struct StepSummary {
  std::string id, title, phase;
  std::string result;  ///< succeeded, failed, timed_out, skipped, confirmed, running, interrupted
  int attempts = 0;
  double start = 0, end = 0;       ///< seconds since run start
  long long duration_ms = 0;
  std::optional<long long> budget_ms;
  bool over_budget = false;
  std::string error;
  std::vector<Span> spans;
  std::vector<std::pair<std::string, bool>> gates;  ///< name, passed
  std::string gate_failure;                         ///< the failed gate's message
  std::string approved_by;                          ///< who answered an approval/manual step
  /// What the answer said, in the words of its kind: approved / rejected (approval),
  /// confirmed / not done (manual), unanswered; empty: not asked.
  std::string answer;
  bool rolled_back = false;
  std::vector<HostRow> hosts;              ///< a fleet step: each host that ran, in inventory order
  std::vector<std::string> hosts_skipped;  ///< a fleet step: hosts never started (max_errors, canary)
};

struct Note {
  std::string text, tag, by, ts;
};

struct Report {
  journal::RunInfo run;
  std::vector<journal::Event> events;
  std::vector<StepSummary> steps;  ///< executed steps, in order of first start
  std::vector<Note> notes;
  bool ongoing = false;
  std::string status;       ///< recovered, failed, aborted, running
  std::string end_reason;
  double duration = 0;      ///< seconds, run start -> end (or now)
  double rto_actual = 0;    ///< seconds, incident start -> end (or now)
  std::optional<double> rto_target;
  std::optional<bool> rto_met;
  std::optional<double> rpo_target, rpo_measured;
  std::optional<bool> rpo_met;
  std::optional<double> downtime;  ///< incident start -> recovered
  double clock_offset = 0;         ///< seconds from incident start to run start
  std::string version;
  std::string store_flag;  ///< " --store URL" (masked) for the commands a report suggests; "" for the default store
};

Report build_report(const journal::RunInfo& run, const std::vector<journal::Event>& events, WallTime now,
                    const std::string& version);

/// The word for an approval.answered event's data: approved, rejected, confirmed (a
/// manual step done), not done, unanswered.
std::string answer_word(const Value& answered);
/// A step's result for people: what a person answered where it decided the step (a manual
/// step reads confirmed / not done, an approval rejected / unanswered), else its result.
std::string result_word(const StepSummary& s);

std::string to_markdown(const Report& r, const std::string& tz);
std::string to_html(const Report& r, const std::string& tz);
std::string to_junit(const Report& r);
Value to_json(const Report& r);

/// The timeline as (clock time in `tz`, Markdown text) lines, for the reports.
std::vector<std::pair<std::string, std::string>> timeline_lines(const Report& r, const std::string& tz);

/// A fleet step's per-host table as Markdown (empty for other steps).
std::string hosts_markdown(const StepSummary& s);

/// "12m04s" style durations for reports.
std::string human_seconds(double s);

}  // namespace rb::report
