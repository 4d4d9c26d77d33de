// runbook resume RUN_ID: continue a run whose engine died, from its timeline.
#include <fmt/format.h>
#include <unistd.h>

#include <dirent.h>
#include <fstream>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/driver.h"
#include "exec/replay.h"
#include "parse/runbook_parser.h"

namespace rb::cli {

namespace {

// Processes still running for `run_id`'s step `step` (found by the RUNBOOK_* variables
// every action gets in its environment): pid and command line.
std::vector<std::pair<int, std::string>> survivors(const std::string& run_id, const std::string& step) {
  std::vector<std::pair<int, std::string>> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  std::string want_run = "RUNBOOK_RUN_ID=" + run_id, want_step = "RUNBOOK_STEP=" + step;
  while (dirent* e = ::readdir(d)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    std::string base = std::string("/proc/") + e->d_name;
    std::ifstream env(base + "/environ", std::ios::binary);
    std::string blob((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    bool run = false, st = false;
    size_t i = 0;
    while (i < blob.size()) {
      size_t z = blob.find('\0', i);
      if (z == std::string::npos) z = blob.size();
      std::string_view kv(blob.data() + i, z - i);
      run = run || kv == want_run;
      st = st || kv == want_step;
      i = z + 1;
    }
    if (!run || !st) continue;
    std::ifstream stat(base + "/stat");
    std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t rp = s.rfind(')');
    if (rp != std::string::npos && rp + 2 < s.size() && s[rp + 2] == 'Z') continue;
    std::ifstream cmd(base + "/cmdline", std::ios::binary);
    std::string c((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    for (auto& ch : c)
      if (ch == '\0') ch = ' ';
    out.push_back({std::atoi(e->d_name), std::string(trim(c))});
  }
  ::closedir(d);
  return out;
}

// Inputs for the resumed run: stored ones (secrets were never stored), with what the
// operator gives again.
std::optional<Value> resumed_inputs(const model::Runbook& rb, const journal::RunInfo& run, const ResumeFlags& f) {
  std::vector<std::string> pairs = f.inputs;
  std::set<std::string> given;
  for (auto& p : f.inputs) given.insert(p.substr(0, p.find('=')));
  auto resolved = resolve_inputs(rb, f.inputs_file, pairs, /*check_required=*/false);
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

}  // namespace

int cmd_resume(const Global& g, const ResumeFlags& f) {
  auto store = open_store_or_report(g);
  if (!store) return kEngine;
  auto run = store->run(f.run_id);
  if (!run) {
    error(fmt::format("no run '{}' in {}", f.run_id, store->describe()));
    return kInvalid;
  }
  if (run->status != "running") {
    error(fmt::format("run {} has already ended ({}); nothing to resume", run->id, run->status));
    return kInvalid;
  }
  // Integrity: a damaged last event (a torn write) is dropped and reported; damage before
  // it is refused.
  bool tail_only = false;
  if (auto s = store->verify_chain(run->id, &tail_only); !s.ok()) {
    if (!tail_only) {
      error(fmt::format("run {}: the timeline is damaged: {}; refusing to resume", run->id, s.message()));
      return kEngine;
    }
    error(fmt::format("run {}: {} (a torn write at the end of the timeline): dropping it and resuming before it",
                      run->id, s.message()));
    if (auto d = store->drop_last_event(run->id); !d.ok()) {
      error(d.message());
      return kEngine;
    }
    run = store->run(f.run_id);
  }

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
  if (!inputs) return kInvalid;
  std::map<std::string, exec::GivenAnswer> answers;
  if (!parse_answers(*rb, f.answers, &answers, true)) return kInvalid;
  if (!check_plugins(*rb, *reg)) return kInvalid;

  // One engine per incident: take the lease (a live holder refuses; an expired one is
  // taken over with a higher epoch).
  journal::Lease lease, cur;
  if (auto s = store->acquire_lease(run->incident, lease_holder(), lease_ttl_ms(), now_ms(), &lease, &cur); !s.ok()) {
    error(fmt::format("cannot resume run {}: {}", run->id, s.message()));
    return kEngine;
  }
  auto release = [&] { store->release_lease(run->incident, lease); };

  auto events = store->events(run->id);
  exec::Replay rp = exec::replay(*rb, events);
  if (!rp.error.empty()) {
    release();
    error(fmt::format("cannot resume run {}: {}", run->id, rp.error));
    return kInvalid;
  }
  exec::ResumePoint at = rp.point;
  std::string how = "continue";
  if (rp.interrupted) {
    const model::Step* s = rb->find(at.step);
    auto alive = survivors(run->id, at.step);
    if (!alive.empty()) {
      release();
      std::vector<std::string> ps;
      for (auto& [pid, cmd] : alive) ps.push_back(fmt::format("pid {} ({})", pid, ellipsize(cmd, 80)));
      error(fmt::format("step '{}' of run {} still has processes of its interrupted attempt running: {}; stop them "
                        "before resuming",
                        at.step, run->id, join(ps, ", ")));
      return kEngine;
    }
    if (s->idempotent == model::Idempotent::Yes) {
      how = "rerun (idempotent)";
    } else if (s->idempotent == model::Idempotent::VerifyFirst) {
      at.mode = exec::ResumePoint::Mode::VerifyFirst;
      how = "verify first";
    } else {
      auto a = answers.find(at.step);
      if (a == answers.end()) {
        release();
        error(fmt::format("step '{}' was interrupted during attempt {} and is not idempotent: say what to do with "
                          "--answer {}=yes (run it again), {}=done (it completed) or {}=no (abort the run)",
                          at.step, rp.interrupted_attempt, at.step, at.step, at.step));
        return kInvalid;
      }
      answers.erase(a->first);  // the answer is about the interruption, not an approval
      if (!a->second.yes) {
        at.mode = exec::ResumePoint::Mode::Rollbacks;
        at.end_state = model::EndState::Aborted;
        at.reason = fmt::format("step '{}' was interrupted and the operator chose not to run it again", at.step);
        how = "abort (operator)";
      } else {
        bool done = false;
        for (auto& flag : f.answers)
          if (flag.rfind(at.step + "=", 0) == 0 && (flag.find("=done") != std::string::npos)) done = true;
        at.mode = done ? exec::ResumePoint::Mode::Confirmed : exec::ResumePoint::Mode::Enter;
        how = done ? "confirmed done by the operator" : "rerun (operator)";
      }
    }
  }

  Masker masker;
  std::set<std::string> secrets = secret_inputs(*rb, *inputs, masker);
  exec::SystemClock clock;
  exec::Journal journal(store.get(), clock, masker);
  auto started = parse_time(run->started_at).value_or(std::chrono::system_clock::now());
  auto clock_start = parse_time(run->incident_start).value_or(started);
  journal.start_resumed(run->id, run->last_seq, started);
  journal.set_lease_epoch(lease.epoch);
  std::string op = operator_name(f.operator_name);
  Value resumed = {{"run", run->id},
                   {"incident", run->incident},
                   {"operator", op},
                {"engine", lease.holder},
                {"epoch", lease.epoch},
                {"step", at.step},
                {"attempt", at.attempt},
                {"how", how},
                {"changed_runbook", rb->content_hash != run->content_hash}};

  exec::ExecOptions opts;
  opts.run_id = run->id;
  opts.incident_id = run->incident;
  opts.operator_name = op;
  opts.drill = run->drill;
  opts.inputs = *inputs;
  opts.secret_inputs = secrets;
  opts.run_start = clock_start;
  char cwd[4096];
  opts.cwd = getcwd(cwd, sizeof cwd) ? cwd : ".";

  DriveOptions d;
  d.mode = g.json ? report::ConsoleMode::Json : (isatty(1) ? report::ConsoleMode::Live : report::ConsoleMode::Plain);
  d.tz = f.tz;
  d.store = store.get();
  d.lease = lease;
  d.lease_key = run->incident;
  d.lease_ttl_ms = lease_ttl_ms();
  d.answers = answers;
  d.yes = f.yes;
  d.resume = at;
  d.resumed_event = resumed;
  if (!g.json) fmt::print("run {} incident {} (resumed: {} at {})\n", run->id, run->incident, how, at.step);
  std::fflush(stdout);
  return drive(*rb, opts, journal, *reg, masker, d);
}

}  // namespace rb::cli
