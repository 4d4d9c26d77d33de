// The executor's driver loop: enter a step, run an Attempt, decide (decide.h) whether to
// retry, where to go, or how to end; rollbacks and run.ended at the end.
#include "exec/executor.h"

#include <deque>
#include <fmt/format.h>

#include "base/events.h"
#include "exec/attempt.h"
#include "exec/rollbacks.h"
#include "exec/rto_clock.h"

namespace rb::exec {

int RunResult::exit_code() const {
  if (engine_error) return exit_code_of(ErrorKind::Engine);
  if (interrupted) return exit_code_of(ErrorKind::Aborted);
  switch (state) {
    case model::EndState::Recovered: return exit_code_of(ErrorKind::None);
    case model::EndState::Failed: return exit_code_of(ErrorKind::Failed);
    case model::EndState::Aborted: return exit_code_of(ErrorKind::Aborted);
  }
  return exit_code_of(ErrorKind::Failed);
}

using model::Step;

struct Executor::Impl {
  Impl(Executor& e, const model::Runbook& rb, ExecOptions opts, Journal& j, plugin::Registry& reg,
       plugin::Interaction& ui, Masker& m, sys::Env& env)
      : ex(e), rc(rb, std::move(opts), j, reg, ui, m, env, e.state_), rto(rc), rollbacks(rc), retry_timer(env.timer()) {
    rc.on_engine_error = [this](const std::string& msg) { engine_error(msg); };
    rc.on_output = [this](const std::string& step, const std::string& line) {
      last_output.push_back(line);
      while (last_output.size() > 5) last_output.pop_front();
      if (on_output) on_output(step, line);
    };
    rto.on_breach_abort = [this] { abort("RTO breached (objectives.on_breach: abort)", true); };
  }

  Executor& ex;
  RunContext rc;
  RtoClock rto;
  Rollbacks rollbacks;
  std::unique_ptr<sys::Timer> retry_timer;
  std::unique_ptr<Attempt> attempt;
  std::function<void(RunResult)> on_end;
  std::function<void(const std::string&, const std::string&)> on_output;
  std::deque<std::string> last_output;
  LifeToken life;

  const Step* cur = nullptr;
  int attempt_no = 0;
  sys::MonoTime attempt_t0;
  bool aborting = false, ending = false, finished = false, skip_rollbacks = false, interrupting = false;
  std::string abort_reason;
  Value interrupt_data;
  std::vector<std::string> rollback_stack;
  Value last_result = Value::object();
  model::EndState end_state = model::EndState::Failed;
  std::string end_reason, end_step;

  const model::Runbook& rb() const { return rc.rb; }

  // ---- start and resume ------------------------------------------------------------------
  void init_state() {
    RunState& st = rc.st;
    st.run_id = rc.o.run_id;
    st.incident_id = rc.o.incident_id;
    st.operator_name = rc.o.operator_name;
    st.store = rc.o.store;
    st.drill = rc.o.drill;
    st.run_start = rc.o.run_start;
    st.rto = rb().objectives.rto;
    st.inputs = rc.o.inputs;
    st.secret_inputs = rc.o.secret_inputs;
    for (auto& name : rc.o.secret_inputs)
      if (rc.o.inputs.contains(name) && !rc.o.inputs[name].is_null()) rc.masker.add(to_text(rc.o.inputs[name]));
    st.now = [&env = rc.env] { return env.wall(); };
  }

  Value started_data() {
    const ExecOptions& o = rc.o;
    Value data = {{"run", o.run_id},         {"runbook", rb().id},       {"title", rb().title},
                  {"file", rb().file},       {"content_hash", rb().content_hash}, {"severity", rb().severity},
                  {"incident", o.incident_id}, {"operator", o.operator_name}, {"drill", o.drill},
                  {"inputs", o.inputs},      {"incident_start", rfc3339_ms(o.run_start)}};
    if (rb().objectives.rto) data["rto_ms"] = rb().objectives.rto->count();
    if (rb().objectives.rpo) data["rpo_ms"] = rb().objectives.rpo->count();
    if (o.probes_only) data["mode"] = "probes";
    // The projection at the start: the longest path of budgets (or drill medians).
    if (const Step* s = rb().find(rb().start)) {
      rto.enter_step(*s);
      data["projected_ms"] = rto.now().projected.count();
      data["projection"] = o.step_medians.empty() ? "budgets"
                                                  : fmt::format("medians of past drills ({} steps)", o.step_medians.size());
      rto.leave_step();
    }
    return data;
  }

  void begin() {
    init_state();
    rto.start(false, false);
    rc.emit(ev::kRunStarted, "", 0, started_data());
    rto.record_due();
    if (!rc.commit()) return;
    if (due_abort()) return end_run(model::EndState::Aborted, abort_reason);
    enter(*rb().find(rb().start), 1);
  }

  // An RTO already breached at start or resume with on_breach: abort.
  bool due_abort() {
    if (!rto.breached() || rb().objectives.on_breach != model::OnBreach::Abort) return false;
    aborting = true;
    abort_reason = "RTO breached (objectives.on_breach: abort)";
    return true;
  }

  void resume_at(const ResumePoint& at) {
    init_state();
    rc.st.steps = at.steps;
    rc.st.secret_outputs = at.secret_outputs;
    rc.st.touch();
    rollback_stack = at.rollback_stack;
    rto.start(at.rto_warned, at.rto_breached);
    bool was_breached = at.rto_breached;
    rto.record_due();
    const Step* s = rb().find(at.step);
    using M = ResumePoint::Mode;
    if (at.mode == M::Rollbacks) {
      cur = s;
      return end_run(at.end_state, at.reason, at.step);
    }
    if (!s) return end_run(model::EndState::Failed, fmt::format("cannot resume: step '{}' no longer exists", at.step));
    if (!was_breached && due_abort()) return end_run(model::EndState::Aborted, abort_reason);
    cur = s;
    attempt_no = at.attempt;
    rto.enter_step(*s);
    switch (at.mode) {
      case M::Enter:
        if (at.retry_at && *at.retry_at > rc.env.wall()) return wait_retry(*s, at.attempt, *at.retry_at);
        return enter(*s, at.attempt);
      case M::After: return after_step(at.outcome);
      case M::Confirmed:
        rc.emit(ev::kStepConfirmed, s->id, at.attempt, {{"reason", "interrupted; the operator confirmed it completed"}});
        return succeeded(Value::object(), true);
      case M::VerifyFirst: return verify_first(*s, at.attempt);
      case M::Rollbacks: break;
    }
  }

  // Resumed inside a retry's delay (interrupted or killed while waiting): the rest of the
  // delay still applies — the runbook asked for it (a rate limit, a service given time to
  // come back). Recorded as step.retrying with the delay left, so the timeline says why
  // nothing runs yet; abort and interrupt treat it as any retry wait.
  void wait_retry(const Step& s, int n, WallTime due) {
    Millis left = std::chrono::duration_cast<Millis>(due - rc.env.wall());
    attempt_no = n - 1;
    rc.st.steps[s.id].status = "running";
    rc.st.touch();
    rc.emit(ev::kStepRetrying, s.id, attempt_no, {{"delay_ms", left.count()}, {"next_attempt", n}, {"resumed", true}});
    if (!rc.commit()) return;
    retry_timer->arm(left, [this, n] { start_attempt(n); });
  }

  // idempotent: verify-first on resume: the step's gates decide whether it is done.
  void verify_first(const Step& s, int n) {
    rc.emit(ev::kStepVerifying, s.id, n, {{"reason", "interrupted; idempotent: verify-first"}});
    if (!rc.commit()) return;
    attempt = std::make_unique<Attempt>(rc, s, n);
    attempt->start_verify_only([this, &s, n](AttemptOutcome oc) {
      if (oc.kind == StepOutcome::Cancelled) return attempt_done(std::move(oc));
      if (oc.kind != StepOutcome::Succeeded) return enter(s, n);
      rc.emit(ev::kStepConfirmed, s.id, n, {{"reason", "verify-first: every gate holds"}});
      succeeded(Value::object(), true);
    });
  }

  // ---- a step ----------------------------------------------------------------------------
  void enter(const Step& s, int first_attempt) {
    if (finished) return;
    if (aborting) return end_run(model::EndState::Aborted, abort_reason);
    cur = &s;
    last_output.clear();
    rto.enter_step(s);
    if (s.kind == model::StepKind::End) {
      auto d = decide_next(s, StepOutcome::Succeeded, [](const expr::Expression&, std::string*) { return true; });
      return end_run(d.end_state, d.reason, s.id);
    }
    rc.st.steps[s.id].status = "running";
    rc.st.touch();
    start_attempt(first_attempt);
  }

  Value started_event(const Step& s, int n) {
    Value data = {{"title", s.label()}, {"idempotency_key", rc.idempotency_key(s, n)}};
    if (!s.phase.empty()) data["phase"] = s.phase;
    if (s.budget) data["budget_ms"] = s.budget->count();
    if (s.timeout) data["timeout_ms"] = s.timeout->count();
    data["action"] = s.kind == model::StepKind::Parallel ? "parallel" : s.action.kind;
    return data;
  }

  void start_attempt(int n) {
    const Step& s = *cur;
    attempt_no = n;
    attempt_t0 = rc.env.mono();
    rc.st.steps[s.id].attempts = n;
    rc.st.touch();
    if (rc.o.probes_only && (rc.mutates(s) || s.action.kind == "approval" || s.action.kind == "manual")) {
      rc.emit(ev::kStepSkipped, s.id, n, {{"reason", "mutates: not run by --dry-run=probes"}});
      rc.st.steps[s.id].status = "skipped";
      rc.st.touch();
      return after_step(StepOutcome::Succeeded);
    }
    // This commit also makes the previous step's outcome and transition durable: one
    // transaction per step.
    rc.emit(ev::kStepStarted, s.id, n, started_event(s, n));
    if (!rc.commit()) return;
    attempt = std::make_unique<Attempt>(rc, s, n);
    attempt->start([this](AttemptOutcome oc) { attempt_done(std::move(oc)); });
  }

  void attempt_done(AttemptOutcome oc) {
    if (interrupting) return pause();
    const Step& s = *cur;
    last_result = oc.result;
    if (oc.kind == StepOutcome::Succeeded) return succeeded(std::move(oc.result));
    if (aborting && oc.kind != StepOutcome::Cancelled) {
      oc.kind = StepOutcome::Cancelled;
      oc.why = abort_reason;
    }
    Value data = {{"error", oc.why}, {"outcome", to_string(oc.kind)}, {"duration_ms", rc.env.since(attempt_t0).count()}};
    if (!oc.result.empty()) data["result"] = summarize(oc.result);
    auto delay = retry_delay(s, attempt_no, oc.kind);
    if (!delay) return step_failed(oc.kind, oc.why, std::move(data));
    rc.emit(ev::kStepAttemptFailed, s.id, attempt_no, data);
    rc.emit(ev::kStepRetrying, s.id, attempt_no, {{"delay_ms", delay->count()}, {"next_attempt", attempt_no + 1}});
    if (!rc.commit()) return;
    retry_timer->arm(*delay, [this] { start_attempt(attempt_no + 1); });
  }

  // ---- interrupt: pause, for resume -------------------------------------------------------
  void interrupt(const std::string& reason, Value extra) {
    if (finished || interrupting) return;
    interrupting = true;
    interrupt_data = std::move(extra);
    interrupt_data["reason"] = reason;
    rc.ui.cancel(cur ? cur->id : "");
    if (ending) return rollbacks.interrupt([this] { pause(); });
    if (attempt && !retry_timer->armed()) return attempt->cancel(reason);
    retry_timer->cancel();
    rc.env.post([this, w = life.watch()] {
      if (!w.expired()) pause();
    });
  }

  void pause() {
    if (finished) return;
    if (cur) {
      interrupt_data["step"] = cur->id;
      interrupt_data["attempt"] = attempt_no;
    }
    // Interrupted while rolling back: say which rollback was cut short (resume runs it
    // again, then the rest), not "nothing was rolled back".
    if (ending && !rollbacks.current().empty()) interrupt_data["rolling_back"] = rollbacks.current();
    interrupt_data["rto"] = rto.to_json();
    rc.emit(ev::kRunInterrupted, cur ? cur->id : "", attempt_no, interrupt_data);
    if (!rc.commit()) return;
    RunResult r{model::EndState::Aborted, interrupt_data.value("reason", std::string()), false, true, ""};
    finish_with(r);
  }

  void step_failed(StepOutcome oc, const std::string& why, Value data) {
    const Step& s = *cur;
    rto.leave_step();
    long long took = rc.env.since(rto.step_started()).count();
    auto& ss = rc.st.steps[s.id];
    ss.status = "failed";
    ss.error = why;
    ss.duration_ms = took;
    rc.st.touch();
    data["duration_ms"] = took;
    data["attempts"] = attempt_no;
    if (oc == StepOutcome::TimedOut) rc.emit(ev::kStepTimedOut, s.id, attempt_no, data);
    rc.emit(ev::kStepFailed, s.id, attempt_no, data);
    after_step(oc);
  }

  // Evaluates the step's outputs over `result`; false (and the step failed) on an error.
  bool eval_outputs(const Step& s, const Value& result, Value* outputs) {
    for (auto& od : s.outputs) {
      std::string err;
      bool tainted = false;
      auto v = rc.st.eval(od.expr, &result, &err, &tainted);
      if (!v) {
        std::string msg = fmt::format("output '{}': {}", od.name, err);
        step_failed(StepOutcome::Failed, msg, {{"error", msg}, {"result", summarize(result)}});
        return false;
      }
      (*outputs)[od.name] = *v;
      if (tainted) rc.st.secret_outputs.insert(fmt::format("steps.{}.outputs.{}", s.id, od.name));
    }
    return true;
  }

  void record_rpo(const Step& s, const Value& result) {
    std::string err;
    auto v = rc.st.eval(*s.record_rpo, &result, &err);
    if (!v || !v->is_number()) {
      rc.emit(ev::kRpoRecorded, s.id, attempt_no, {{"error", v ? "record.rpo is not a number of seconds" : err}});
      return;
    }
    double secs = v->get<double>();
    Value rd = {{"rpo_seconds", secs}};
    if (auto rpo = rb().objectives.rpo) {
      rd["rpo_target_seconds"] = static_cast<double>(rpo->count()) / 1000.0;
      rd["met"] = secs * 1000.0 <= static_cast<double>(rpo->count());
    }
    rc.emit(ev::kRpoRecorded, s.id, attempt_no, rd);
  }

  // `confirmed`: nothing ran in this engine (resume), so there is no result to read.
  void succeeded(Value result, bool confirmed = false) {
    const Step& s = *cur;
    Value outputs = Value::object();
    if (!confirmed && !eval_outputs(s, result, &outputs)) return;
    rto.leave_step();
    long long took = rc.env.since(rto.step_started()).count();
    auto& ss = rc.st.steps[s.id];
    ss.status = "succeeded";
    ss.outputs = outputs;
    ss.duration_ms = took;
    ss.error.clear();
    if (s.kind == model::StepKind::Action && s.action.targets) ss.hosts = fleet_hosts_of(result);
    rc.st.touch();
    Value data = {{"duration_ms", took}, {"attempts", attempt_no}, {"outputs", outputs}};
    if (!result.empty()) data["result"] = summarize(result);
    if (s.budget) data["budget_ms"] = s.budget->count();
    rc.emit(ev::kStepSucceeded, s.id, attempt_no, data);
    if (s.record_rpo && !confirmed) record_rpo(s, result);
    if (s.rollback) rollback_stack.push_back(s.id);
    after_step(StepOutcome::Succeeded);
  }

  void after_step(StepOutcome oc) {
    const Step& s = *cur;
    Decision d = decide_next(s, oc, [this](const expr::Expression& e, std::string* err) {
      return rc.st.test(e, &last_result, err);
    });
    if (rc.o.probes_only && d.end && d.via == "choose") {
      // Probes skip the steps whose outputs a `when` may need: take the default arm.
      for (auto& arm : s.choose)
        if (!arm.when) d = Decision{false, model::EndState::Recovered, arm.next.step, "choose (default)", ""};
    }
    if (d.end) return end_run(d.end_state, d.reason, s.id);
    rc.emit(ev::kTransition, s.id, 0, {{"from", s.id}, {"to", d.next}, {"via", d.via}});
    rc.st.steps[d.next].visits++;
    const Step* next = rb().find(d.next);
    if (!next) return end_run(model::EndState::Failed, fmt::format("step '{}' does not exist", d.next), s.id);
    enter(*next, 1);
  }

  // ---- abort and the end -------------------------------------------------------------------
  void abort(const std::string& reason, bool with_rollbacks) {
    if (finished || aborting || interrupting) return;
    aborting = true;
    skip_rollbacks = !with_rollbacks;
    abort_reason = reason;
    rc.ui.cancel(cur ? cur->id : "");
    if (ending) return;  // rollbacks are running: let them finish
    if (retry_timer->armed()) {  // also a resumed retry wait, which has no Attempt yet
      // Waiting between attempts: nothing runs, the step ends cancelled now.
      retry_timer->cancel();
      return step_failed(StepOutcome::Cancelled, reason, {{"error", reason}, {"outcome", "cancelled"}});
    }
    if (attempt) attempt->cancel(reason);
  }

  void end_run(model::EndState state, const std::string& reason, const std::string& at_step = {}) {
    if (ending) return;
    ending = true;
    retry_timer->cancel();
    rto.leave_step();
    end_state = state;
    end_reason = reason;
    end_step = at_step;
    if (state == model::EndState::Recovered || rc.o.probes_only || skip_rollbacks) return finish_run();
    // How the run is ending goes into rollback.started: a resume after an interrupt
    // during the rollbacks ends it the same way (an abort stays an abort).
    Value ending = {{"ending", model::to_string(aborting ? model::EndState::Aborted : state)},
                    {"reason", aborting ? abort_reason : reason}};
    rollbacks.start(rollback_stack, std::move(ending), [this] { finish_run(); });
  }

  void finish_run() {
    model::EndState state = end_state;
    Value data = {{"status", model::to_string(state)}, {"reason", end_reason}, {"rto", rto.to_json()}};
    if (rb().objectives.rto)
      data["rto"]["met"] = model::rto_met(model::to_string(state), rto.now().elapsed, *rb().objectives.rto);
    if (aborting) {
      state = model::EndState::Aborted;
      data["status"] = "aborted";
      data["reason"] = abort_reason;
      data["rto"]["met"] = false;
    }
    if (const Step* e = rb().find(end_step); e && e->kind == model::StepKind::End) {
      if (!e->title.empty()) data["end_title"] = e->title;
      if (!e->description.empty()) data["end_description"] = e->description;
    }
    if (skip_rollbacks && !rollback_stack.empty()) data["rollbacks_skipped"] = rollback_stack;
    rc.emit(ev::kRunEnded, end_step, 0, data);
    if (!rc.commit()) return;
    finish_with(RunResult{state, data["reason"].get<std::string>(), false, false, ""});
  }

  void engine_error(const std::string& msg) {
    if (finished) return;
    if (attempt) attempt->cancel(msg);
    finish_with(RunResult{model::EndState::Failed, msg, true, false, msg});
  }

  void finish_with(RunResult r) {
    if (finished) return;
    finished = true;
    rto.stop();
    retry_timer->cancel();
    rc.env.post([cb = std::exchange(on_end, nullptr), r, w = life.watch()] {
      if (cb && !w.expired()) cb(r);
    });
  }
};

Executor::Executor(const model::Runbook& rb, ExecOptions opts, Journal& journal, plugin::Registry& registry,
                   plugin::Interaction& interaction, Masker& masker, sys::Env& env)
    : state_(rb, masker),
      impl_(std::make_unique<Impl>(*this, rb, std::move(opts), journal, registry, interaction, masker, env)) {}

Executor::~Executor() = default;

void Executor::start(std::function<void(RunResult)> on_end) {
  impl_->on_end = std::move(on_end);
  impl_->begin();
}

void Executor::resume(const ResumePoint& at, std::function<void(RunResult)> on_end) {
  impl_->on_end = std::move(on_end);
  impl_->resume_at(at);
}

void Executor::abort(const std::string& reason, bool rollbacks) { impl_->abort(reason, rollbacks); }

void Executor::interrupt(const std::string& reason, Value extra) { impl_->interrupt(reason, std::move(extra)); }

void Executor::set_on_output(std::function<void(const std::string&, const std::string&)> f) {
  impl_->on_output = std::move(f);
}

model::LiveState Executor::live() const {
  model::LiveState l;
  const Impl& m = *impl_;
  l.wall = m.rc.env.wall();
  if (m.cur) {
    l.step = m.cur->id;
    l.title = m.cur->label();
    l.phase = m.cur->phase;
    l.attempt = m.attempt_no;
    l.in_step = m.rc.env.since(m.rto.step_started());
    l.budget = m.cur->budget;
  }
  l.rto = m.rto.now();
  l.last_output.assign(m.last_output.begin(), m.last_output.end());
  return l;
}

}  // namespace rb::exec
