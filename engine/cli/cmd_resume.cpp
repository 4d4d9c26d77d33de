// runbook resume RUN_ID: continue a run whose engine died, from its timeline. The policy
// (what happens to an interrupted step) is exec/resume_policy.h; this file checks the
// run, takes its lease and drives it.
#include <fmt/format.h>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/driver.h"
#include "exec/replay.h"
#include "exec/resume_policy.h"
#include "sys/procs.h"

namespace rb::cli {

namespace {

// Inputs for the resumed run: stored ones (secrets were never stored), with what the
// operator gives again.
std::optional<Value> resumed_inputs(const model::Runbook& rb, const journal::RunInfo& run, const ResumeFlags& f) {
  std::set<std::string> given;
  for (auto& p : f.inputs) given.insert(p.substr(0, p.find('=')));
  auto resolved = resolve_inputs(rb, f.inputs_file, f.inputs, /*check_required=*/false);
  if (!resolved) return std::nullopt;
  bool ok = true;
  for (auto& in : rb.inputs) {
    if (given.count(in.name)) continue;
    if (in.secret) {
      if ((*resolved)[in.name].is_null() && in.required) {
        error(fmt::format("input '{}' is secret and was not stored: give it again with --input {}=VALUE", in.name,
                          in.name));
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
int check_run(journal::Store& store, const std::string& run_id, std::optional<journal::RunInfo>* run) {
  *run = store.run(run_id);
  if (!*run) {
    error(fmt::format("no run '{}' in {}", run_id, store.describe()));
    return kInvalid;
  }
  if ((*run)->status != "running") {
    error(fmt::format("run {} has already ended ({}); nothing to resume", run_id, (*run)->status));
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

std::vector<std::string> survivors_of(const std::string& run_id, const std::string& step) {
  std::vector<std::string> out;
  for (auto& p : sys::processes_with_env({"RUNBOOK_RUN_ID=" + run_id, "RUNBOOK_STEP=" + step}))
    out.push_back(fmt::format("pid {} ({})", p.pid, ellipsize(p.cmdline, 80)));
  return out;
}

}  // namespace

int cmd_resume(const Global& g, const ResumeFlags& f) {
  auto store = open_store_or_report(g);
  if (!store) return kEngine;
  std::optional<journal::RunInfo> run;
  if (int rc = check_run(*store, f.run_id, &run); rc != kOk) return rc;
  auto reg = make_registry(g);
  auto rb = load_or_report(run->file, *reg, true);
  if (!rb) return kInvalid;
  if (rb->content_hash != run->content_hash && !f.allow_changed) {
    error(fmt::format("{} changed since run {} started (sha256 {}… now {}…); resume with --allow-changed to run the "
                      "new version",
                      run->file, run->id, run->content_hash.substr(0, 12), rb->content_hash.substr(0, 12)));
    return kInvalid;
  }
  auto inputs = resumed_inputs(*rb, *run, f);
  std::map<std::string, exec::GivenAnswer> answers;
  if (!inputs || !parse_answers(*rb, f.answers, &answers, true) || !check_plugins(*rb, *reg)) return kInvalid;

  // One engine per incident: take the lease (a live holder refuses; an expired one is
  // taken over with a higher epoch).
  journal::Lease lease, cur;
  if (auto s = store->acquire_lease(run->incident, lease_holder(), lease_ttl_ms(), now_ms(), &lease, &cur); !s.ok()) {
    error(fmt::format("cannot resume run {}: {}", run->id, s.message()));
    return kEngine;
  }
  exec::Replay rp = exec::replay(*rb, store->events(run->id));
  auto decision = exec::decide_resume(*rb, run->id, rp, &answers,
                                      rp.interrupted ? survivors_of(run->id, rp.point.step) : std::vector<std::string>{});
  if (!decision.status.ok()) {
    store->release_lease(run->incident, lease);
    error(decision.status.message());
    return decision.status.exit_code();
  }

  Masker masker;
  exec::ExecOptions opts;
  opts.run_id = run->id;
  opts.incident_id = run->incident;
  opts.operator_name = operator_name(f.operator_name);
  opts.drill = run->drill;
  opts.inputs = *inputs;
  opts.secret_inputs = secret_inputs(*rb, *inputs, masker);
  WallTime started = parse_time(run->started_at).value_or(sys::wall_now());
  opts.run_start = parse_time(run->incident_start).value_or(started);

  DriveOptions d = drive_options(g, f.tz, store.get());
  d.resumed_last_seq = run->last_seq;
  d.resumed_started = started;
  d.lease = lease;
  d.lease_key = run->incident;
  d.lease_ttl_ms = lease_ttl_ms();
  d.answers = answers;
  d.yes = f.yes;
  d.resume = decision.at;
  d.resumed_event = {{"run", run->id},          {"incident", run->incident},     {"operator", opts.operator_name},
                     {"engine", lease.holder},  {"epoch", lease.epoch},          {"step", decision.at.step},
                     {"attempt", decision.at.attempt}, {"how", decision.how},
                     {"changed_runbook", rb->content_hash != run->content_hash}};
  if (!g.json) fmt::print("run {} incident {} (resumed: {} at {})\n", run->id, run->incident, decision.how, decision.at.step);
  std::fflush(stdout);
  return drive(*rb, std::move(opts), *reg, masker, d);
}

}  // namespace rb::cli
