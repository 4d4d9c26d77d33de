// The subcommands. Each returns the process exit code (contract section 3).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/common.h"

namespace rb::drill {
struct Drill;
}

namespace rb::cli {

int cmd_validate(const Global& g, const std::vector<std::string>& files);
int cmd_plan(const Global& g, const std::string& file, const std::string& format);

struct RunFlags {
  std::string file;
  std::vector<std::string> inputs;
  std::string inputs_file;
  std::string dry_run;  ///< "", "plain" or "probes"
  bool yes = false;
  std::vector<std::string> answers;
  std::string operator_name;
  std::string incident;
  std::string incident_start;
  bool drill = false;
  std::string drill_name;
  std::string tz = "UTC";
};
/// `run_id` (when not null) receives the id of the run it started.
int cmd_run(const Global& g, const RunFlags& f, std::string* run_id = nullptr);

struct ResumeFlags {
  std::string run_id;
  std::vector<std::string> inputs;
  std::string inputs_file;
  std::vector<std::string> answers;
  bool yes = false;
  std::string operator_name;
  bool allow_changed = false;
  std::string tz = "UTC";
  std::string action = "resumed";  ///< for the first line printed: resumed, abort
  bool secrets_needed = true;      ///< false: nothing will run (abort --no-rollback)
};
int cmd_resume(const Global& g, const ResumeFlags& f);

struct AbortFlags {
  std::string run_id;
  bool no_rollback = false;
  std::vector<std::string> inputs;  ///< secrets the rollbacks need, given again
  std::string inputs_file;
  std::string as;  ///< who gives up (default: the operator identity)
};
/// Gives a run up: a live engine is asked (through the store) and waited for; a run no
/// engine drives (interrupted, or its engine died) is ended here. Exit 3 once aborted.
int cmd_abort(const Global& g, const AbortFlags& f);

struct ApproveFlags {
  std::string run_id, step, answer;
  std::string as;  ///< who answers (default: the operator identity)
  std::string comment;
};
/// Answers a waiting approval or manual step from any terminal or machine that reaches the
/// store: exit 0 when recorded, 2 with the reason when it may not be.
int cmd_approve(const Global& g, const ApproveFlags& f);

struct DrillFlags {
  std::string file = "drills.yaml";
  std::string action;  ///< list, due, run, history, install
  std::string name;
  bool due = false;
  std::string at;      ///< --at TIME for due / run --due
  std::string target;  ///< install: cron, systemd, k8s
  std::string dir;     ///< install --dir
  std::string image;         ///< install --k8s: the container image (required, no default)
  std::string store_secret;  ///< install --k8s: NAME[:KEY] of a Secret holding the store URL
  std::string tz = "UTC";
};
int cmd_drill(const Global& g, const DrillFlags& f);

/// `drill install --k8s` (cmd_k8s.cpp): a ConfigMap of the drills file and its runbooks,
/// a CronJob per drill, the store URL from a Secret (PostgreSQL only).
int k8s_drills(const Global& g, const DrillFlags& f, const std::vector<drill::Drill>& drills, plugin::Registry& reg);

struct K8sServeFlags {
  std::string image;                  ///< --image (required, no default)
  std::string dir;                    ///< --dir: write the files there (else stdout)
  std::string store_secret;           ///< --store-secret NAME[:KEY]: a Secret that exists
  std::string runbooks = "runbooks";  ///< --runbooks DIR: its runbooks go in the ConfigMap
  std::string triggers;               ///< --triggers FILE (optional)
  int port = 8088;
  int replicas = 1;
};
/// `runbook k8s serve`: ConfigMap, Deployment and Service for `runbook serve`.
int cmd_k8s_serve(const Global& g, const K8sServeFlags& f);

struct ImportFlags {
  std::string file;  ///< the Markdown runbook
  std::string out;   ///< -o: a .yaml/.yml file, or a directory (one file per runbook); "": stdout
  bool force = false;  ///< replace existing files
};
int cmd_import(const Global& g, const ImportFlags& f);

/// Checks what runs need (store, shipped plugins, ssh, time zone data); 0 all good, 1
/// something to fix (each problem printed with what to do).
int cmd_doctor(const Global& g);

int cmd_runs(const Global& g, int limit);
int cmd_status(const Global& g, const std::string& run_id);
int cmd_timeline(const Global& g, const std::string& run_id, const std::string& tz);
int cmd_export(const Global& g, const std::string& run_id, const std::string& format, const std::string& out,
               const std::string& tz);
int cmd_note(const Global& g, const std::string& run_id, const std::string& text, const std::string& tag,
             const std::string& op);

}  // namespace rb::cli
