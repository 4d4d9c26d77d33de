#include "serve/runs.h"

#include <fmt/format.h>

#include "base/text.h"
#include "cli/fleet_check.h"
#include "cli/session.h"
#include "exec/resume_policy.h"
#include "parse/runbook_parser.h"
#include "sys/env.h"

namespace rb::serve {

struct RunManager::Local {
  cli::RunSetup setup;
  std::unique_ptr<cli::RunSession> session;
  std::string incident;
};

namespace {

void log_line(const std::string& msg) {
  fmt::print(stderr, "runbook serve: {}\n", mask_url_passwords(msg));
  std::fflush(stderr);
}

// What is wrong with inputs given by name (for the API, one line each): unknown names,
// values their type refuses (typed exactly as `runbook run` types them), required ones
// missing.
std::vector<std::string> input_problems(const model::Runbook& rb, const std::map<std::string, std::string>& given) {
  std::vector<std::string> out, names;
  for (auto& in : rb.inputs) names.push_back(in.name);
  for (auto& [k, v] : given) {
    const model::Input* in = rb.input(k);
    if (!in) {
      out.push_back(fmt::format("unknown input '{}'{}", k, did_you_mean_suffix(k, names)));
      continue;
    }
    if (!cli::resolve_inputs(rb, "", {k + "=" + v}, false))  // its own message goes to the log
      out.push_back(fmt::format("input '{}': {} is not a valid {}{}", k,
                                in->secret ? std::string("the value") : "'" + ellipsize(v, 40) + "'",
                                model::to_string(in->type), v.find('\0') != std::string::npos ? " (it holds NUL)" : ""));
  }
  for (auto& in : rb.inputs)
    if (in.required && !given.count(in.name) && (!in.default_value || in.default_value->is_null()))
      out.push_back(fmt::format("input '{}' is required", in.name));
  return out;
}

}  // namespace

RunManager::RunManager(sys::Env& env, journal::Store& store, const cli::Global& g)
    : env_(env), store_(store), g_(g), adopt_timer_(env.timer()) {}

RunManager::~RunManager() = default;

void RunManager::serve_mode(cli::DriveOptions& d) const {
  d.mode = report::ConsoleMode::Plain;  // the server's log: one line per event
  d.typed_answers = false;              // nobody types at a server: answers come through the store
  d.store = &store_;
  d.store_flag = cli::store_flag(g_);
}

bool RunManager::drives_incident(const std::string& incident) const {
  for (auto& [id, l] : runs_)
    if (l->incident == incident) return true;
  return false;
}

std::optional<model::LiveState> RunManager::live(const std::string& run_id) const {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return std::nullopt;
  return it->second->session->live();
}

std::vector<std::string> RunManager::run_ids() const {
  std::vector<std::string> out;
  for (auto& [id, l] : runs_) out.push_back(id);
  return out;
}

StartResult RunManager::start(const StartSpec& sp) {
  StartResult out;
  auto l = std::make_unique<Local>();
  cli::RunSetup& s = l->setup;
  s.reg = cli::make_registry(g_);
  Diagnostics diag(sp.file);
  s.rb = parse::load_runbook(sp.file, *s.reg, diag);
  for (auto& x : diag.list())
    if (x.severity == Severity::Error) out.problems.push_back(x.format());
  auto bad = [&out](int code, std::string why) {
    out.http = code;
    if (!why.empty()) out.problems.push_back(std::move(why));
    return out;
  };
  if (!s.rb) return bad(400, "");
  if (auto problems = input_problems(*s.rb, sp.inputs); !problems.empty()) {
    out.problems = problems;
    return bad(400, "");
  }
  std::vector<std::string> pairs;
  for (auto& [k, v] : sp.inputs) pairs.push_back(k + "=" + v);
  auto inputs = cli::resolve_inputs(*s.rb, "", pairs, true);
  if (!inputs) return bad(400, "the inputs are not valid (the server's log says why)");
  if (!cli::check_plugins(*s.rb, *s.reg)) return bad(400, "a plugin it uses is missing (the server's log says which)");
  exec::ExecOptions& o = s.opts;
  o.run_id = cli::new_run_id();
  o.secret_inputs = cli::secret_inputs(*s.rb, *inputs, s.masker);
  if (!cli::check_fleet_targets(*s.rb, *inputs, o.secret_inputs, s.masker))
    return bad(400, "its fleet targets select no host (the server's log says where)");
  if (!sp.incident.empty() && drives_incident(sp.incident))
    return bad(409, fmt::format("incident {} is being handled by this server", sp.incident));

  WallTime started = env_.wall();
  std::string why;
  out.lease = cli::lease_incident(store_, sp.incident, false, &out.incident, &s.d.lease, &why);
  if (out.lease != cli::LeaseResult::Taken) return bad(out.lease == cli::LeaseResult::Failed ? 500 : 409, why);
  o.incident_id = out.incident;
  o.operator_name = sp.operator_name;
  o.inputs = *inputs;
  o.run_start = started;
  o.step_medians = cli::drill_medians(store_, s.rb->id);

  cli::DriveOptions& d = s.d;
  serve_mode(d);
  d.new_run = cli::run_info(*s.rb, o, started, false, "");
  d.lease_key = out.incident;
  d.lease_ttl_ms = cli::lease_ttl_ms();
  d.answers = sp.answers;
  journal::ServeRun row{o.run_id, out.incident, sp.origin, sp.alert, rfc3339_ms(started)};
  if (auto st = store_.add_serve_run(row); !st.ok()) {
    store_.release_lease(out.incident, d.lease);
    return bad(500, st.message());
  }
  out.run_id = o.run_id;
  l->incident = out.incident;
  log_line(fmt::format("run {} incident {} started: {} by {} ({})", out.run_id, out.incident, s.rb->id,
                       sp.operator_name, sp.origin));
  launch(std::move(l));
  return out;
}

void RunManager::launch(std::unique_ptr<Local> l) {
  Local& x = *l;
  cli::RunSetup& s = x.setup;
  if (x.incident.empty()) x.incident = s.d.lease_key;
  x.session = std::make_unique<cli::RunSession>(*s.rb, std::move(s.opts), *s.reg, s.masker, s.d, env_);
  std::string id = x.session->run_id();
  x.session->observe([this, id](const journal::Event& e) {
    if (on_event) on_event(id, e);
  });
  runs_[id] = std::move(l);
  runs_[id]->session->start([this, id](const exec::RunResult&) { ended(id); });
}

void RunManager::ended(const std::string& run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  exec::RunResult r = it->second->session->finish();  // the lease released, the plugins let go
  log_line(fmt::format("run {} {}", run_id,
                       r.interrupted ? "interrupted (resumable)"
                       : r.engine_error ? "stopped: " + r.error
                                        : "ended " + std::string(model::to_string(r.state))));
  runs_.erase(it);
  if (runs_.empty() && on_idle_) {
    auto cb = std::move(on_idle_);
    on_idle_ = nullptr;
    cb();
  }
}

void RunManager::adopt_orphans() {
  std::vector<journal::ServeRun> open = store_.open_serve_runs();
  for (auto& sr : open) {
    if (runs_.count(sr.run_id) || gave_up_.count(sr.run_id)) continue;
    auto r = store_.run(sr.run_id);
    if (!r || drives_incident(r->incident)) continue;
    if (r->status == "running" && cli::engine_alive(store_, *r)) continue;  // its engine lives
    adopt(*r, sr);
  }
}

void RunManager::adopt_every(Millis every) {
  adopt_orphans();
  adopt_timer_->arm(every, [this, every] { adopt_every(every); });
}

// A serve run whose engine is gone, continued here as `runbook resume` would (its own
// operator, so that the second-person rule still means the person who started it).
void RunManager::adopt(const journal::RunInfo& r, const journal::ServeRun& sr) {
  cli::ResumeFlags f;
  f.run_id = r.id;
  f.operator_name = r.operator_name;
  cli::Continuation c;
  if (int rc = cli::prepare_continuation(store_, g_, f, c); rc != cli::kOk) {
    // A live holder elsewhere (kEngine from the lease) may be retried; anything else is
    // for a person to look at.
    if (rc != cli::kEngine || !c.lease.holder.empty()) gave_up_.insert(r.id);
    log_line(fmt::format("run {}: not taken over (see above)", r.id));
    return;
  }
  auto decision = exec::decide_resume(*c.rb, c.run->id, c.replay, &c.answers, c.left);
  if (!decision.status.ok()) {
    store_.release_lease(c.run->incident, c.lease);
    gave_up_.insert(r.id);
    log_line(fmt::format("run {}: not taken over: {}", r.id, decision.status.message()));
    return;
  }
  auto l = std::make_unique<Local>();
  cli::continuation_setup(g_, f, c, decision.at, decision.how, &l->setup);
  serve_mode(l->setup.d);
  if (answers_for)
    for (auto& [step, a] : answers_for(sr)) l->setup.d.answers.emplace(step, a);
  l->incident = r.incident;
  log_line(fmt::format("run {} incident {} taken over ({} at {})", r.id, r.incident, decision.how, decision.at.step));
  launch(std::move(l));
}

std::pair<int, std::string> RunManager::abort(const journal::RunInfo& r, const std::string& by, bool no_rollback) {
  if (r.status != "running" && r.status != "interrupted")
    return {409, fmt::format("run {} has already ended ({})", r.id, r.status)};
  if (runs_.count(r.id) || (r.status == "running" && cli::engine_alive(store_, r))) {
    auto s = store_.post_request(r.id, "abort", {{"by", by}, {"no_rollback", no_rollback}});
    if (!s.ok()) return {500, s.message()};
    return {202, fmt::format("abort of run {} sent to its engine", r.id)};
  }
  // No engine drives it: take it over to run its rollbacks (as `runbook abort` does).
  cli::ResumeFlags f;
  f.run_id = r.id;
  f.operator_name = r.operator_name;
  f.allow_changed = true;  // giving up runs only the rollbacks of steps that ran
  f.action = "abort";
  cli::Continuation c;
  if (int rc = cli::prepare_continuation(store_, g_, f, c); rc != cli::kOk)
    return {rc == cli::kInvalid ? 409 : 500, fmt::format("run {} cannot be taken over to abort it (the server's log says why)", r.id)};
  if (!c.left.empty()) {
    store_.release_lease(c.run->incident, c.lease);
    return {500, fmt::format("run {} still has processes that outlived SIGKILL: {}", r.id, join(c.left, ", "))};
  }
  exec::ResumePoint at = c.replay.point;
  at.mode = exec::ResumePoint::Mode::Rollbacks;
  at.end_state = model::EndState::Aborted;
  at.reason = fmt::format("aborted by {}", by);
  if (no_rollback) at.rollback_stack.clear();
  auto l = std::make_unique<Local>();
  cli::continuation_setup(g_, f, c, at, no_rollback ? "abort, no rollback" : "abort, rollbacks newest-first", &l->setup);
  serve_mode(l->setup.d);
  l->incident = r.incident;
  launch(std::move(l));
  return {202, fmt::format("run {} is being aborted here{}", r.id, no_rollback ? "" : " (rollbacks newest-first)")};
}

void RunManager::shutdown(std::function<void()> done) {
  adopt_timer_->cancel();
  if (runs_.empty()) return done();
  on_idle_ = std::move(done);
  for (auto& [id, l] : runs_) l->session->interrupt("interrupted: runbook serve is stopping", "SIGTERM");
}

}  // namespace rb::serve
