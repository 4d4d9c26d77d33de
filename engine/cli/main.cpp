// runbook: the command line (contract section 3). Subcommands are one table of
// name, help and handler; parsing is CLI11's, kept to this one translation unit.
#include <CLI/CLI.hpp>

#include <csignal>
#include <fmt/format.h>

#include "cli/commands.h"

using namespace rb::cli;

namespace {

const char* kIntro =
    "runbook — run recovery runbooks against their RTO.\n\n"
    "A runbook is a YAML state machine of timed steps with verification gates.\n"
    "Exit codes: 0 recovered, 1 failed, 2 invalid runbook/inputs/usage (nothing ran),\n"
    "3 aborted (operator, rejection, SIGINT), 4 engine or store error.";

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{kIntro, "runbook"};
  app.set_version_flag("--version", std::string("runbook ") + version());
  app.require_subcommand(1);
  app.fallthrough();
  Global g;
  app.add_option("--store", g.store,
                 "Run store: sqlite:PATH, PATH or postgres://… (default $RUNBOOK_STORE, else .runbook/runbook.db)");
  app.add_option("--plugin-path", g.plugin_path, "Directory searched for runbook-plugin-NAME executables (repeatable)");
  app.add_flag("--json", g.json, "Print JSON (one event per line for run)");

  // validate
  std::vector<std::string> files;
  auto* validate = app.add_subcommand("validate", "Check runbook files; print FILE:LINE:COL: message for each problem");
  validate->add_option("FILE", files, "Runbook files")->required();

  // plan
  std::string plan_file, plan_format = "text";
  auto* plan = app.add_subcommand("plan", "Show the steps, budgets, transitions and the critical path against the RTO");
  plan->add_option("FILE", plan_file, "Runbook file")->required();
  plan->add_option("--format", plan_format, "text, mermaid, dot or json")
      ->check(CLI::IsMember({"text", "mermaid", "dot", "json"}));

  // run
  RunFlags rf;
  auto* run = app.add_subcommand("run", "Run a runbook: steps, gates, approvals, the RTO clock, a durable timeline");
  run->add_option("FILE", rf.file, "Runbook file")->required();
  run->add_option("--input", rf.inputs, "An input as NAME=VALUE (repeatable)");
  run->add_option("--inputs", rf.inputs_file, "A YAML file of inputs (NAME: VALUE)");
  auto* dry = run->add_option("--dry-run", rf.dry_run,
                              "Print the path and each rendered action, execute nothing; "
                              "--dry-run=probes also runs the read-only (mutates: false) actions and checks");
  dry->expected(0, 1)->default_str("plain")->check(CLI::IsMember({"plain", "probes"}));
  run->add_flag("--yes,-y", rf.yes, "Approve every approval and manual step (drills; second-person approvals only with --drill)");
  run->add_option("--answer", rf.answers, "Answer a step ahead: STEP=yes|no|done, optionally @NAME for who answered");
  run->add_option("--operator", rf.operator_name, "Who runs this (default $USER)");
  run->add_option("--incident", rf.incident, "Incident id (default INC-YYYYMMDD-NNN)");
  run->add_option("--incident-start", rf.incident_start, "When the incident began (RFC 3339): the RTO clock starts there");
  run->add_flag("--drill", rf.drill, "Mark the run as a drill (run.drill = true)");
  run->add_option("--tz", rf.tz, "Time zone for the live view's clock (default UTC)");

  // resume
  ResumeFlags sf;
  auto* resume = app.add_subcommand("resume", "Continue a run whose engine died");
  resume->add_option("RUN_ID", sf.run_id, "The run")->required();
  resume->add_option("--input", sf.inputs, "Give an input again (secrets are never stored): NAME=VALUE");
  resume->add_option("--inputs", sf.inputs_file, "A YAML file of inputs");
  resume->add_option("--answer", sf.answers,
                     "Answer a step: STEP=yes|no|done[@NAME]; for an interrupted step that is not idempotent: "
                     "yes runs it again, done counts it completed, no aborts the run");
  resume->add_flag("--yes,-y", sf.yes, "Approve every approval and manual step");
  resume->add_option("--operator", sf.operator_name, "Who resumes (default $USER)");
  resume->add_flag("--allow-changed", sf.allow_changed, "Resume even though the runbook file changed since the run started");
  resume->add_option("--tz", sf.tz, "Time zone for the live view's clock");

  // runs, status, timeline, note
  int limit = 20;
  auto* runs = app.add_subcommand("runs", "List runs: id, incident, runbook, status, started, duration, RTO met");
  runs->add_option("--limit", limit, "How many (newest first)")->check(CLI::PositiveNumber);
  std::string run_id, tz = "UTC";
  auto* status = app.add_subcommand("status", "Where a run is now, and its RTO clock");
  status->add_option("RUN_ID", run_id, "The run")->required();
  auto* timeline = app.add_subcommand("timeline", "A run's timeline, event by event");
  timeline->add_option("RUN_ID", run_id, "The run")->required();
  timeline->add_option("--tz", tz, "Time zone for clock times (default UTC)");
  std::string note_text, note_tag, note_op;
  auto* note = app.add_subcommand("note", "Add a note to a run's timeline (tags feed the incident report)");
  note->add_option("RUN_ID", run_id, "The run")->required();
  note->add_option("TEXT", note_text, "The note")->required();
  note->add_option("--tag", note_tag, "root-cause, impact, action-item or lesson");
  note->add_option("--operator", note_op, "Who writes it (default $USER)");

  std::string export_format = "markdown", export_out;
  auto* exp = app.add_subcommand("export", "Write a run's incident report: markdown, json, html (with a timeline chart) or junit");
  exp->add_option("RUN_ID", run_id, "The run")->required();
  exp->add_option("--format", export_format, "markdown, json, html or junit")
      ->check(CLI::IsMember({"markdown", "json", "html", "junit"}));
  exp->add_option("-o,--output", export_out, "Write to FILE (0600) instead of stdout");
  exp->add_option("--tz", tz, "Time zone for clock times (default UTC)");

  DrillFlags df;
  auto* drill = app.add_subcommand("drill", "Game days: scheduled drills of runbooks, scored against their RTO");
  drill->add_option("--drills", df.file, "The drills file (default drills.yaml)");
  drill->require_subcommand(1);
  auto* d_list = drill->add_subcommand("list", "Each drill and its next three run times");
  d_list->add_option("--at", df.at, "From this time (RFC 3339; default now)");
  auto* d_due = drill->add_subcommand("due", "Drills due since their last run");
  d_due->add_option("--at", df.at, "As of this time (RFC 3339; default now)");
  auto* d_run = drill->add_subcommand("run", "Run a drill: setup, the runbook as a drill, teardown (always); record the result");
  d_run->add_option("NAME", df.name, "The drill");
  d_run->add_flag("--due", df.due, "Run every due drill, one after another (what a scheduler calls)");
  d_run->add_option("--at", df.at, "With --due: as of this time");
  auto* d_hist = drill->add_subcommand("history", "Scorecards over time, and steps that got markedly slower");
  d_hist->add_option("NAME", df.name, "Only this drill");
  d_hist->add_option("--tz", df.tz, "Time zone for dates");
  auto* d_inst = drill->add_subcommand("install", "Write entries for cron, systemd timers or Kubernetes CronJobs");
  bool to_cron = false, to_systemd = false, to_k8s = false;
  d_inst->add_flag("--cron", to_cron, "crontab lines");
  d_inst->add_flag("--systemd", to_systemd, "a .service + .timer pair per drill");
  d_inst->add_flag("--k8s", to_k8s, "a CronJob manifest per drill");
  d_inst->add_option("--dir", df.dir, "Write files into DIR instead of stdout");
  d_inst->add_option("--image", df.image, "Container image for --k8s");
  for (auto* sub : {d_list, d_due, d_run, d_hist, d_inst}) sub->fallthrough();

  for (auto* sub : {validate, plan, run, resume, runs, status, timeline, note, exp, drill}) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kInvalid;
  }

  // A store URL naming no known store is a usage error for every command that opens one
  // (exit 2), found before anything runs and before any file or folder is created.
  if (!*validate && !*plan && !(*drill && (*d_list || *d_inst))) {
    if (auto why = rb::journal::store_url_problem(rb::journal::effective_store_url(g.store))) {
      fmt::print(stderr, "runbook: {}{}\n", g.store.empty() ? "RUNBOOK_STORE: " : "--store: ", *why);
      return kInvalid;
    }
  }

  try {
    if (*validate) return cmd_validate(g, files);
    if (*plan) return cmd_plan(g, plan_file, plan_format);
    if (*run) return cmd_run(g, rf);
    if (*resume) return cmd_resume(g, sf);
    if (*runs) return cmd_runs(g, limit);
    if (*status) return cmd_status(g, run_id);
    if (*timeline) return cmd_timeline(g, run_id, tz);
    if (*note) return cmd_note(g, run_id, note_text, note_tag, note_op);
    if (*exp) return cmd_export(g, run_id, export_format, export_out, tz);
    if (*drill) {
      df.action = *d_list ? "list" : *d_due ? "due" : *d_run ? "run" : *d_hist ? "history" : "install";
      if (df.action == "run" && df.name.empty() && !df.due) {
        fmt::print(stderr, "runbook: drill run needs a NAME or --due\n");
        return kInvalid;
      }
      if (df.action == "install") {
        int n = to_cron + to_systemd + to_k8s;
        if (n != 1) {
          fmt::print(stderr, "runbook: drill install needs exactly one of --cron, --systemd, --k8s\n");
          return kInvalid;
        }
        df.target = to_cron ? "cron" : to_systemd ? "systemd" : "k8s";
      }
      return cmd_drill(g, df);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "runbook: internal error: {}\n", e.what());
    return kEngine;
  }
  return kInvalid;
}
