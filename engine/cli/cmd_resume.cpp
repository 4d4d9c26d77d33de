// runbook resume RUN_ID: continue a run whose engine died, from its timeline. The policy
// (what happens to an interrupted step) is exec/resume_policy.h; this file checks the
// run, takes its lease and drives it.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/events.h"
#include "base/text.h"
#include "cli/commands.h"
#include "cli/driver.h"
#include "cli/launch.h"
#include "exec/replay.h"
#include "exec/resume_policy.h"
#include "sys/procs.h"
#include "sys/env.h"

namespace rb::cli {

namespace {

// Inputs for the resumed run: stored ones, with what the operator gives again. Secrets
// were never stored: one the run was given (not its default) must be given again —
// falling back to the default would continue against another database than the run
// started with. `secrets_needed` false (abort --no-rollback: nothing runs) skips that.
std::optional<Value> resumed_inputs(const model::Runbook& rb, const journal::RunInfo& run, const ResumeFlags& f,
                                    bool secrets_needed = true) {
  std::set<std::string> given;
  for (auto& p : f.inputs) given.insert(p.substr(0, p.find('=')));
  auto resolved = resolve_inputs(rb, f.inputs_file, f.inputs, /*check_required=*/false);
  if (!resolved) return std::nullopt;
  bool ok = true;
  for (auto& in : rb.inputs) {
    if (given.count(in.name)) continue;
    if (in.secret) {
      const Value& now = (*resolved)[in.name];
      const Value stored = run.inputs.value(in.name, Value(nullptr));
      bool had_own = !stored.is_null() && stored != Value(kSecretAtDefault);
      bool at_default = in.default_value ? now == *in.default_value : now.is_null();
      if (secrets_needed && ((had_own && at_default) || (now.is_null() && in.required))) {
        error(fmt::format("input '{}' is secret and was not stored: give the value run {} started with again "
                          "(--input {}=VALUE, or --inputs FILE){}",
                          in.name, run.id, in.name, in.default_value ? "; its default is not what the run used" : ""));
        ok = false;
      }
      continue;
    }
    if (run.inputs.contains(in.name)) (*resolved)[in.name] = run.inputs[in.name];
  }
  if (!ok) return std::nullopt;
  return resolved;
}

// The run must exist, still be running, and have an intact timeline (a damaged last
// event, a torn write, is dropped and reported; damage before it is refused).
int check_run(const Global& g, journal::Store& store, const std::string& run_id, std::optional<journal::RunInfo>* run,
              const std::string& action) {
  *run = store.run(run_id);
  if (!*run) {
    error(no_run_message(g, store, run_id));
    return kInvalid;
  }
  if ((*run)->status != "running" && (*run)->status != "interrupted") {
    error(fmt::format("run {} has already ended ({}); nothing to {}", run_id, (*run)->status,
                      action == "abort" ? "abort" : "resume"));
    return kInvalid;
  }
  bool tail_only = false;
  if (auto s = store.verify_chain(run_id, &tail_only); !s.ok()) {
    if (!tail_only) {
      error(fmt::format("run {}: the timeline is damaged: {}; refusing to resume", run_id, s.message()));
      return kEngine;
    }
    error(fmt::format("run {}: {} (a torn write at the end of the timeline): dropping it and resuming before it", run_id,
                      s.message()));
    if (auto d = store.drop_last_event(run_id); !d.ok()) {
      error(d.message());
      return kEngine;
    }
    *run = store.run(run_id);
  }
  return kOk;
}

std::string described(const sys::ProcInfo& p) { return fmt::format("pid {} ({})", p.pid, ellipsize(p.cmdline, 80)); }

// The actions a dead engine may have left running, as the environment they carry: the
// attempt of the step that started without an outcome (its checks and parallel branches
// carry the same step and attempt), and a rollback that started without finishing.
// Processes of steps that finished are not survivors: a server or worker a step started
// on purpose (in a session of its own) keeps running — resume once stopped the Redis a
// completed `start-redis` had started.
std::vector<std::vector<std::string>> in_flight(const std::string& run_id, const exec::Replay& rp,
                                                const std::vector<journal::Event>& events) {
  std::vector<std::vector<std::string>> out;
  auto of = [&](const std::string& step, int attempt) {
    out.push_back({"RUNBOOK_RUN_ID=" + run_id, "RUNBOOK_STEP=" + step, fmt::format("RUNBOOK_ATTEMPT={}", attempt)});
  };
  if (rp.interrupted) of(rp.point.step, rp.interrupted_attempt);
  std::map<std::string, bool> rolling;
  for (auto& e : events) {
    if (e.type == ev::kRollbackStarted) rolling[e.step] = true;
    else if (e.type == ev::kRollbackFinished) rolling[e.step] = false;
  }
  for (auto& [step, open] : rolling)
    if (open) of(step, 1);  // rollbacks run as attempt 1 (exec/rollbacks.cpp)
  return out;
}

// Those actions, when a dead engine of this machine left them running (found by their
// environment), are stopped before anything runs again, so that two attempts never
// overlap. *stopped lists them; the result lists any that outlived SIGKILL.
std::vector<std::string> stop_survivors(const std::vector<std::vector<std::string>>& actions, Value* stopped) {
  std::vector<sys::ProcInfo> procs;
  for (auto& vars : actions)
    for (auto& p : sys::processes_with_env(vars))
      if (std::none_of(procs.begin(), procs.end(), [&](const sys::ProcInfo& q) { return q.pid == p.pid; }))
        procs.push_back(p);
  std::erase_if(procs, [](const sys::ProcInfo& p) { return p.pid == ::getpid() || p.pgid == ::getpgrp(); });
  for (auto& p : procs) stopped->push_back(described(p));
  std::vector<std::string> left;
  for (auto& p : sys::stop_groups(procs, std::chrono::milliseconds(3000))) left.push_back(described(p));
  return left;
}


}  // namespace

int prepare_continuation(journal::Store& store, const Global& g, const ResumeFlags& f, Continuation& c) {
  c.store = &store;
  if (int rc = check_run(g, *c.store, f.run_id, &c.run, f.action); rc != kOk) return rc;
  c.reg = make_registry(g);
  if (!(c.rb = load_or_report(c.run->file, *c.reg, true))) return kInvalid;
  if (c.rb->content_hash != c.run->content_hash && !f.allow_changed) {
    error(fmt::format("{} changed since run {} started (sha256 {}… now {}…); resume with --allow-changed to run the "
                      "new version",
                      c.run->file, c.run->id, c.run->content_hash.substr(0, 12), c.rb->content_hash.substr(0, 12)));
    return kInvalid;
  }
  c.inputs = resumed_inputs(*c.rb, *c.run, f, f.secrets_needed);
  if (!c.inputs || !parse_answers(*c.rb, f.answers, &c.answers, true) || !check_plugins(*c.rb, *c.reg)) return kInvalid;
  // One engine per incident: a live holder refuses; an expired one, or a dead engine of
  // this machine, is taken over with a higher epoch.
  if (auto s = take_lease(*c.store, c.run->incident, &c.lease); !s.ok()) {
    error(fmt::format("cannot continue run {}: {}", c.run->id, s.message()));
    return kEngine;
  }
  auto events = c.store->events(c.run->id);
  c.replay = exec::replay(*c.rb, events);
  c.left = stop_survivors(in_flight(c.run->id, c.replay, events), &c.stopped);
  return kOk;
}

void continuation_setup(const Global& g, const ResumeFlags& f, Continuation& c, const exec::ResumePoint& at,
                        const std::string& how, RunSetup* out) {
  const journal::RunInfo& run = *c.run;
  Masker& masker = out->masker;
  exec::ExecOptions& opts = out->opts;
  opts.run_id = run.id;
  opts.incident_id = run.incident;
  opts.operator_name = operator_name(f.operator_name);
  opts.drill = run.drill;
  opts.store = store_in_use(g);
  opts.inputs = *c.inputs;
  opts.secret_inputs = secret_inputs(*c.rb, *c.inputs, masker);
  WallTime started = parse_time(run.started_at).value_or(sys::wall_now());
  opts.run_start = parse_time(run.incident_start).value_or(started);
  opts.cwd = run.cwd;  // where the run started: its relative paths mean the same again

  DriveOptions d = drive_options(g, f.tz, c.store);
  d.resumed_last_seq = run.last_seq;
  d.resumed_started = started;
  d.lease = c.lease;
  d.lease_key = run.incident;
  d.lease_ttl_ms = lease_ttl_ms();
  d.answers = c.answers;
  d.started_by = run.operator_name;
  d.yes = f.yes;
  d.resume_args = secrets_again(*c.rb, *c.inputs, f.inputs_file, f.inputs);
  d.resume = at;
  d.resumed_event = {{"run", run.id},           {"incident", run.incident}, {"operator", opts.operator_name},
                     {"engine", c.lease.holder}, {"epoch", c.lease.epoch},   {"step", at.step},
                     {"attempt", at.attempt},    {"how", how},
                     {"changed_runbook", c.rb->content_hash != run.content_hash}};
  if (!c.stopped.empty()) d.resumed_event["stopped"] = c.stopped;
  out->d = std::move(d);
  out->reg = std::move(c.reg);
  out->rb = std::move(c.rb);
}

namespace {

int continue_run(const Global& g, const ResumeFlags& f, Continuation& c, const exec::ResumePoint& at,
                 const std::string& how) {
  RunSetup s;
  continuation_setup(g, f, c, at, how, &s);
  if (!g.json) fmt::print("run {} incident {} ({}: {} at {})\n", c.run->id, c.run->incident, f.action, how, at.step);
  std::fflush(stdout);
  return drive(*s.rb, std::move(s.opts), *s.reg, s.masker, s.d);
}

int prepare(const Global& g, const ResumeFlags& f, Continuation& c) {
  int code = kEngine;
  if (!(c.own_store = open_existing_store_or_report(g, &code))) return code;
  return prepare_continuation(*c.own_store, g, f, c);
}

// A live engine drives the run: ask it to give up, through the store, and wait for the
// run to end (its rollbacks may take a while; the engine's own limits bound them).
int abort_live(journal::Store& store, const journal::RunInfo& run, const std::string& by, bool no_rollback,
               const std::string& store_arg, bool json) {
  if (auto s = store.post_request(run.id, "abort", {{"by", by}, {"no_rollback", no_rollback}}); !s.ok()) {
    error(s.message());
    return kEngine;
  }
  if (!json) fmt::print("abort of run {} sent to its engine; waiting for it to end…\n", run.id);
  std::fflush(stdout);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = store.run(run.id);
    if (!now) return kEngine;
    if (now->status == "aborted" || now->status == "failed" || now->status == "recovered") {
      if (json)
        fmt::print("{}\n", Value{{"run", run.id}, {"incident", run.incident}, {"status", now->status}, {"by", by},
                                 {"rollback", !no_rollback}, {"via", "engine"}}
                               .dump());
      else fmt::print("run {} ended {}\n", run.id, now->status);
      return now->status == "aborted" ? kAborted : now->status == "failed" ? kFailed : kOk;
    }
    if (now->status != "running" || !engine_alive(store, *now)) {
      error(fmt::format("the engine of run {} stopped before it ended (status {}); run `runbook{} abort {}` again",
                        run.id, now->status, store_arg, run.id));
      return kEngine;
    }
  }
}

}  // namespace

int cmd_resume(const Global& g, const ResumeFlags& f) {
  Continuation c;
  if (int rc = prepare(g, f, c); rc != kOk) return rc;
  auto decision = exec::decide_resume(*c.rb, c.run->id, c.replay, &c.answers, c.left);
  if (!decision.status.ok()) {
    c.store->release_lease(c.run->incident, c.lease);
    error(decision.status.message());
    return decision.status.exit_code();
  }
  return continue_run(g, f, c, decision.at, decision.how);
}

int cmd_abort(const Global& g, const AbortFlags& f) {
  std::string by = operator_name(f.as);
  if (!exec::valid_identity(by)) {
    error(fmt::format("'{}' is not a valid name (letters, digits, . _ @ -)", by));
    return kInvalid;
  }
  {
    int code = kEngine;
    auto store = open_existing_store_or_report(g, &code);
    if (!store) return code;
    auto run = store->run(f.run_id);
    if (run && engine_alive(*store, *run))
      return abort_live(*store, *run, by, f.no_rollback, store_flag(g), g.json);
  }
  ResumeFlags rf;
  rf.run_id = f.run_id;
  rf.operator_name = by;
  rf.allow_changed = true;  // giving up runs only the rollbacks of steps that ran
  rf.action = "abort";
  rf.inputs = f.inputs;
  rf.inputs_file = f.inputs_file;
  rf.secrets_needed = !f.no_rollback;
  Continuation c;
  if (int rc = prepare(g, rf, c); rc != kOk) return rc;
  if (!c.left.empty()) {
    c.store->release_lease(c.run->incident, c.lease);
    error(fmt::format("run {} still has processes that outlived SIGKILL: {}", c.run->id, join(c.left, ", ")));
    return kEngine;
  }
  exec::ResumePoint at = c.replay.point;
  at.mode = exec::ResumePoint::Mode::Rollbacks;
  at.end_state = model::EndState::Aborted;
  at.reason = fmt::format("aborted by {}", by);
  if (f.no_rollback) at.rollback_stack.clear();
  return continue_run(g, rf, c, at, f.no_rollback ? "abort, no rollback" : "abort, rollbacks newest-first");
}

}  // namespace rb::cli
