// One run's engine, on a loop someone else runs: the journal (events shown once
// committed), the console, the answers (typed, given, or taken from the store), the
// lease kept renewed, the requests other processes post through the store (notes,
// answers, aborts) taken every 200 ms, and the executor. `runbook run`/`resume`/`drill`
// run one session on a loop of their own (cli/driver.h); `runbook serve` runs many on
// its loop.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cli/driver.h"
#include "exec/answers.h"
#include "exec/executor.h"
#include "sys/env.h"
#include "sys/terminal.h"

namespace rb::cli {

class RunSession {
 public:
  /// `d` and `reg` must outlive the session. Builds everything; start() begins.
  RunSession(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker,
             const DriveOptions& d, sys::Env& env);
  ~RunSession();

  /// Starts (or resumes) the run; `on_end` is called once, on the loop, when it ended or
  /// was interrupted (or the store failed).
  void start(std::function<void(const exec::RunResult&)> on_end);
  /// Pauses the run (contract §3): `signal` names what asked (SIGINT, SIGTERM, SIGHUP, a
  /// server shutting down).
  void interrupt(const std::string& reason, const std::string& signal);
  /// After on_end: drops what is bound to the loop, releases the lease, says what went
  /// wrong. Returns the result.
  exec::RunResult finish();

  /// Every committed event of this run (for a server's live clients).
  void observe(exec::Journal::Observer o) { journal_.observe(std::move(o)); }
  const std::string& run_id() const { return run_id_; }
  model::LiveState live() const { return ex_->live(); }
  /// The step waiting for an answer (empty: none).
  std::string waiting() const { return answers_.waiting(); }

 private:
  static exec::Answers::Config answers_config(const exec::ExecOptions& o, const DriveOptions& d);
  void show_question(const exec::Answers::View* v);
  void renew_lease();
  void tick();
  void poll_requests();
  void take(const journal::Request& r);
  void end(exec::RunResult r);

  static constexpr Millis kRequestPoll{200};

  const DriveOptions& d_;
  plugin::Registry& reg_;
  Masker& masker_;
  sys::Env& env_;
  report::Console console_;
  exec::Journal journal_;
  exec::Answers answers_;
  std::unique_ptr<sys::TerminalInput> input_;
  std::unique_ptr<sys::Timer> lease_timer_, tick_timer_, requests_timer_;
  std::unique_ptr<exec::Executor> ex_;
  std::string run_id_;
  exec::RunResult result_;
  std::function<void(const exec::RunResult&)> on_end_;
  bool ended_ = false, finished_ = false;
};

}  // namespace rb::cli
