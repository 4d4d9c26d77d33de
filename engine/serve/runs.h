// The runs a server drives: started from the page, the API or an alert, or taken over
// from a server that is gone — each one a RunSession on the server's loop, set up exactly
// as `runbook run` / `runbook resume` would (cli/launch.h): the same journal, incident
// lease, run row, reports and resume. Runs a server starts are recorded in serve_runs,
// so that any server of the store can take one over when its own is gone (killed -9,
// stopped): at start, then every 5 s.
//
// Threading: the loop's thread only. Store calls block the loop (as the engine's own
// commits do).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/launch.h"
#include "exec/answers.h"
#include "model/live.h"
#include "sys/env.h"

namespace rb::serve {

struct StartSpec {
  std::string file;                           ///< the runbook's path
  std::map<std::string, std::string> inputs;  ///< NAME -> text, typed per the runbook
  std::string incident;                       ///< empty: the day's next INC- number
  std::string operator_name;                  ///< who starts it (a token's name)
  std::map<std::string, exec::GivenAnswer> answers;  ///< a trigger's answers
  std::string origin = "api";                 ///< web | api | alert
  Value alert = nullptr;                      ///< the alert that starts it
};

struct StartResult {
  int http = 201;  ///< 201 started; 400 bad runbook or inputs; 409 the incident is taken; 500 store
  cli::LeaseResult lease = cli::LeaseResult::Taken;
  std::string run_id, incident;
  std::vector<std::string> problems;  ///< why not (for people)
};

class RunManager {
 public:
  RunManager(sys::Env& env, journal::Store& store, const cli::Global& g);
  ~RunManager();

  StartResult start(const StartSpec& s);

  /// Takes over the store's serve runs whose engine is gone (as `runbook resume` would,
  /// keeping the run's operator). A run it cannot continue (changed runbook, a step that
  /// needs an answer to resume) is left as it is, said once in the log.
  void adopt_orphans();
  /// adopt_orphans() now and then every `every`.
  void adopt_every(Millis every);

  /// As `runbook abort`: a live engine (here or elsewhere) is asked through the store; a
  /// run no engine drives is taken over to run its rollbacks. Returns the HTTP status
  /// (202 on the way, 409 already ended, 500) and a message.
  std::pair<int, std::string> abort(const journal::RunInfo& r, const std::string& by, bool no_rollback);

  bool drives(const std::string& run_id) const { return runs_.count(run_id) > 0; }
  bool drives_incident(const std::string& incident) const;
  std::optional<model::LiveState> live(const std::string& run_id) const;
  size_t active() const { return runs_.size(); }
  std::vector<std::string> run_ids() const;

  /// Interrupts every run (paused, resumable: run.interrupted), calls `done` once all
  /// ended.
  void shutdown(std::function<void()> done);

  /// Every committed event of the runs driven here, as it commits.
  std::function<void(const std::string& run_id, const journal::Event& e)> on_event;
  /// The answers a taken-over alert run had from its trigger (they are not stored).
  std::function<std::map<std::string, exec::GivenAnswer>(const journal::ServeRun&)> answers_for;

 private:
  struct Local;
  void adopt(const journal::RunInfo& r, const journal::ServeRun& sr);
  void launch(std::unique_ptr<Local> l);
  void ended(const std::string& run_id);
  void serve_mode(cli::DriveOptions& d) const;

  sys::Env& env_;
  journal::Store& store_;
  cli::Global g_;
  std::map<std::string, std::unique_ptr<Local>> runs_;
  std::set<std::string> gave_up_;  ///< runs adoption refused (said once)
  std::unique_ptr<sys::Timer> adopt_timer_;
  std::function<void()> on_idle_;
};

}  // namespace rb::serve
