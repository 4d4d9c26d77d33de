// The executor's driver. Decisions come from decide.h; this file does: timers, plugin
// calls, journaling, rollbacks. Every callback carries the attempt's generation number so
// that a late completion of a cancelled attempt is recognised and ignored.
#include "exec/executor.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <deque>
#include <unistd.h>
#include <fmt/format.h>

#include "base/text.h"
#include "plan/graph.h"
#include "sys/process.h"

namespace rb::exec {

namespace asio = boost::asio;
using model::Step;
using SteadyClock = std::chrono::steady_clock;

int RunResult::exit_code() const {
  if (engine_error) return 4;
  switch (state) {
    case model::EndState::Recovered: return 0;
    case model::EndState::Failed: return 1;
    case model::EndState::Aborted: return 3;
  }
  return 1;
}

namespace {

// Keeps timeline events small: long strings and lists are cut (the cut is recorded).
Value summarize(const Value& v, int depth = 0) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > 4000) return ellipsize(s, 4000) + fmt::format(" [{} bytes in all]", s.size());
    return v;
  }
  if (v.is_array()) {
    Value out = Value::array();
    for (size_t i = 0; i < v.size() && i < 50; ++i) out.push_back(summarize(v[i], depth + 1));
    if (v.size() > 50) out.push_back(fmt::format("… {} more", v.size() - 50));
    return out;
  }
  if (v.is_object()) {
    Value out = Value::object();
    for (auto& [k, x] : v.items()) out[k] = depth > 6 ? Value("…") : summarize(x, depth + 1);
    return out;
  }
  return v;
}

long long ms(Millis m) { return m.count(); }

}  // namespace

struct Executor::Impl {
  Impl(Executor& e, const model::Runbook& r, ExecOptions opts, Journal& jr, plugin::Registry& rg,
       plugin::Interaction& in, Masker& m, asio::io_context& i)
      : ex(e), rb(r), o(std::move(opts)), j(jr), reg(rg), ui(in), masker(m), io(i), st(e.state_),
        renderer(e.state_, m), timeout_timer(i), budget_timer(i), wait_timer(i), poll_timer(i),
        rto_warn_timer(i), rto_breach_timer(i), tick_timer(i) {}

  Executor& ex;
  const model::Runbook& rb;
  ExecOptions o;
  Journal& j;
  plugin::Registry& reg;
  plugin::Interaction& ui;
  Masker& masker;
  asio::io_context& io;
  RunState& st;
  StateRenderer renderer;
  std::function<void(RunResult)> on_end;
  std::vector<std::optional<Millis>> remaining;

  const Step* cur = nullptr;
  int attempt = 0;
  unsigned gen = 0;
  SteadyClock::time_point step_t0, attempt_t0;
  std::unique_ptr<plugin::Running> running;
  std::vector<std::unique_ptr<plugin::Running>> branch_runs;
  asio::steady_timer timeout_timer, budget_timer, wait_timer, poll_timer, rto_warn_timer, rto_breach_timer, tick_timer;
  bool timed_out = false, aborting = false, ending = false, finished = false;
  bool rto_warned = false, rto_breached = false;
  std::string abort_reason;
  std::vector<std::string> rollback_stack;
  std::deque<std::string> last_output;
  Value last_result = Value::object();

  // ---- helpers -----------------------------------------------------------------------
  WallTime now() const { return std::chrono::system_clock::now(); }

  bool commit() {
    auto s = j.commit();
    if (s.ok()) return true;
    engine_error(s.message());
    return false;
  }

  void emit(const std::string& type, const std::string& step = {}, int att = 0, Value data = Value::object()) {
    j.emit(type, step, att, std::move(data));
  }

  std::string idem_key(const Step& s, int att) const { return fmt::format("{}/{}/{}", o.run_id, s.id, att); }

  Millis budget_of(const Step& s) const {
    if (auto it = o.step_medians.find(s.id); it != o.step_medians.end()) return it->second;
    return s.budget.value_or(Millis(0));
  }

  RtoState rto_now() const {
    Millis after{0}, own{0}, in_step{0};
    if (cur) {
      own = budget_of(*cur);
      in_step = std::chrono::duration_cast<Millis>(SteadyClock::now() - step_t0);
      if (remaining[cur->index]) after = std::max(Millis(0), *remaining[cur->index] - own);
    }
    return rto_state(o.run_start, now(), rb.objectives.rto, after, own, in_step);
  }

  Value rto_json() const {
    RtoState r = rto_now();
    Value v = {{"elapsed_ms", ms(r.elapsed)}, {"projected_ms", ms(r.projected)}};
    if (r.rto) {
      v["rto_ms"] = ms(*r.rto);
      v["remaining_ms"] = ms(*r.remaining);
      v["percent"] = std::round(r.percent * 10) / 10;
    }
    return v;
  }

  // ---- start ------------------------------------------------------------------------
  void init() {
    remaining = plan::remaining_budgets(rb, [this](const Step& s) { return budget_of(s); });
    st.run_id = o.run_id;
    st.incident_id = o.incident_id;
    st.operator_name = o.operator_name;
    st.drill = o.drill;
    st.run_start = o.run_start;
    st.rto = rb.objectives.rto;
    st.inputs = o.inputs;
    st.secret_inputs = o.secret_inputs;
    for (auto& name : o.secret_inputs)
      if (o.inputs.contains(name) && !o.inputs[name].is_null()) masker.add(to_text(o.inputs[name]));
    st.now = [] { return std::chrono::system_clock::now(); };
    schedule_rto();
    tick();
  }

  void schedule_rto() {
    if (!rb.objectives.rto) return;
    Millis rto = *rb.objectives.rto;
    auto until = [this](WallTime t) {
      auto d = std::chrono::duration_cast<Millis>(t - now());
      return d < Millis(0) ? Millis(0) : d;
    };
    if (!rto_warned && rto_warning_at(o.run_start, rto) > now()) {
      rto_warn_timer.expires_after(until(rto_warning_at(o.run_start, rto)));
      rto_warn_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || finished || rto_warned) return;
        rto_warned = true;
        emit("rto.warning", cur ? cur->id : "", 0, rto_json());
        commit();
      });
    }
    if (!rto_breached && rto_breach_at(o.run_start, rto) > now()) {
      rto_breach_timer.expires_after(until(rto_breach_at(o.run_start, rto)));
      rto_breach_timer.async_wait([this](const boost::system::error_code& ec) {
        if (ec || finished || rto_breached) return;
        rto_breached = true;
        if (!rto_warned) {
          rto_warned = true;
          emit("rto.warning", cur ? cur->id : "", 0, rto_json());
        }
        emit("rto.breached", cur ? cur->id : "", 0, rto_json());
        if (!commit()) return;
        if (rb.objectives.on_breach == model::OnBreach::Abort && !ending)
          abort("RTO breached (objectives.on_breach: abort)");
      });
    }
  }

  // The clock may have run before the engine did (--incident-start, a resume): what is
  // already due is recorded right after run.started / run.resumed. Returns false when the
  // run was aborted for it.
  bool fire_due_rto() {
    if (!rb.objectives.rto) return true;
    Millis rto = *rb.objectives.rto;
    if (!rto_warned && rto_warning_at(o.run_start, rto) <= now()) {
      rto_warned = true;
      emit("rto.warning", "", 0, rto_json());
    }
    if (!rto_breached && rto_breach_at(o.run_start, rto) <= now()) {
      rto_breached = true;
      emit("rto.breached", "", 0, rto_json());
      if (rb.objectives.on_breach == model::OnBreach::Abort) {
        aborting = true;
        abort_reason = "RTO breached (objectives.on_breach: abort)";
      }
    }
    return true;
  }

  void tick() {
    if (finished) return;
    if (ex.on_tick_) ex.on_tick_(ex.live());
    tick_timer.expires_after(o.tick);
    tick_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }

  void begin() {
    init();
    Value data = {{"run", o.run_id},
                  {"runbook", rb.id},
                  {"title", rb.title},
                  {"file", rb.file},
                  {"content_hash", rb.content_hash},
                  {"severity", rb.severity},
                  {"incident", o.incident_id},
                  {"operator", o.operator_name},
                  {"drill", o.drill},
                  {"inputs", o.inputs},
                  {"incident_start", rfc3339_ms(o.run_start)}};
    if (rb.objectives.rto) data["rto_ms"] = ms(*rb.objectives.rto);
    if (rb.objectives.rpo) data["rpo_ms"] = ms(*rb.objectives.rpo);
    if (o.probes_only) data["mode"] = "probes";
    // The projection at the start: the longest path of budgets (or drill medians).
    if (auto it = rb.step_index.find(rb.start); it != rb.step_index.end()) {
      cur = &rb.steps[it->second];
      step_t0 = SteadyClock::now();
      data["projected_ms"] = ms(rto_now().projected);
      data["projection"] = o.step_medians.empty() ? "budgets" : fmt::format("medians of past drills ({} steps)", o.step_medians.size());
      cur = nullptr;
    }
    emit("run.started", "", 0, data);
    fire_due_rto();
    if (!commit()) return;
    enter(*rb.find(rb.start), 1);
  }

  void resume_at(const ResumePoint& at) {
    rto_warned = at.rto_warned;
    rto_breached = at.rto_breached;
    init();
    st.steps = at.steps;
    st.secret_outputs = at.secret_outputs;
    st.touch();
    rollback_stack = at.rollback_stack;
    fire_due_rto();
    const Step* s = rb.find(at.step);
    using M = ResumePoint::Mode;
    if (at.mode == M::Rollbacks) {
      cur = s;
      return end_run(at.end_state, at.reason, at.step);
    }
    if (!s) return end_run(model::EndState::Failed, fmt::format("cannot resume: step '{}' no longer exists", at.step));
    cur = s;
    step_t0 = SteadyClock::now();
    attempt = at.attempt;
    switch (at.mode) {
      case M::Enter: return enter(*s, at.attempt);
      case M::After: return after_step(at.outcome);
      case M::Confirmed:
        emit("step.confirmed", s->id, at.attempt, {{"reason", "interrupted; the operator confirmed it completed"}});
        return succeeded(Value::object(), true);
      case M::VerifyFirst: return verify_first(*s, at.attempt);
      case M::Rollbacks: break;
    }
  }

  // idempotent: verify-first on resume: the step's gates decide whether it is done.
  void verify_first(const Step& s, int att) {
    cur = &s;
    attempt = att;
    ++gen;
    emit("step.verifying", s.id, att, {{"reason", "interrupted; idempotent: verify-first"}});
    if (!commit()) return;
    verify_first_check(0);
  }

  void verify_first_check(size_t i) {
    const Step& s = *cur;
    if (i >= s.verify.size()) {
      emit("step.confirmed", s.id, attempt, {{"reason", "verify-first: every gate holds"}});
      return succeeded(Value::object(), true);
    }
    const model::Check& c = s.verify[i];
    poll_until(c, c.interval, std::nullopt, 0, [this, i, &c](bool ok, Value, std::string err) {
      if (ok) return verify_first_check(i + 1);
      emit("check.failed", cur->id, attempt, {{"check", c.name}, {"index", i}, {"error", err}, {"verify_first", true}});
      enter(*cur, attempt);
    });
  }

  // ---- a step -------------------------------------------------------------------------
  void enter(const Step& s, int first_attempt) {
    if (finished) return;
    if (aborting) return end_run(model::EndState::Aborted, abort_reason);
    cur = &s;
    step_t0 = SteadyClock::now();
    last_output.clear();
    if (s.kind == model::StepKind::End) {
      auto d = decide_next(s, StepOutcome::Succeeded, [](const expr::Expression&, std::string*) { return true; });
      return end_run(d.end_state, d.reason, s.id);
    }
    st.steps[s.id].status = "running";
    st.touch();
    if (auto b = s.budget) {
      budget_timer.expires_after(*b);
      budget_timer.async_wait([this, sid = s.id, b = *b](const boost::system::error_code& ec) {
        if (ec || finished || !cur || cur->id != sid) return;
        emit("step.over_budget", sid, attempt,
             {{"budget_ms", ms(b)}, {"elapsed_ms", ms(std::chrono::duration_cast<Millis>(SteadyClock::now() - step_t0))}});
        commit();
      });
    }
    start_attempt(first_attempt);
  }

  bool step_mutates(const Step& s) {
    if (s.mutates) return *s.mutates;
    if (s.kind == model::StepKind::Parallel) {
      for (auto& b : s.parallel)
        if (check_mutates(b)) return true;
      return false;
    }
    if (s.wait_until) return check_mutates(*s.wait_until);
    plugin::Plugin* p = reg.find(s.action.kind);
    return p ? p->default_mutates(s.action.params) : true;
  }

  bool check_mutates(const model::Check& c) {
    if (c.mutates) return *c.mutates;
    plugin::Plugin* p = reg.find(c.action.kind);
    return p ? p->default_mutates(c.action.params) : true;
  }

  void start_attempt(int n) {
    const Step& s = *cur;
    attempt = n;
    ++gen;
    timed_out = false;
    attempt_t0 = SteadyClock::now();
    st.steps[s.id].attempts = n;
    st.touch();
    Value data = {{"title", s.label()}, {"idempotency_key", idem_key(s, n)}};
    if (!s.phase.empty()) data["phase"] = s.phase;
    if (s.budget) data["budget_ms"] = ms(*s.budget);
    if (s.timeout) data["timeout_ms"] = ms(*s.timeout);
    data["action"] = s.kind == model::StepKind::Parallel ? "parallel" : s.action.kind;
    if (o.probes_only && (step_mutates(s) || s.action.kind == "approval" || s.action.kind == "manual")) {
      emit("step.skipped", s.id, n, {{"reason", "mutates: not run by --dry-run=probes"}});
      st.steps[s.id].status = "skipped";
      st.touch();
      return after_step(StepOutcome::Succeeded);
    }
    emit("step.started", s.id, n, data);
    if (!commit()) return;
    if (s.timeout) {
      unsigned g = gen;
      timeout_timer.expires_after(*s.timeout);
      timeout_timer.async_wait([this, g](const boost::system::error_code& ec) {
        if (ec || g != gen || finished) return;
        timed_out = true;
        cancel_current();
      });
    }
    if (s.kind == model::StepKind::Parallel) return run_parallel();
    if (s.wait_until) return poll_until(*s.wait_until, s.wait_interval, std::nullopt, 0,
                                        [this](bool ok, Value res, std::string err) {
                                          attempt_done_judged(ok, false, std::move(res), std::move(err));
                                        });
    unsigned g = gen;
    running = run_action(s.action, s, n, s.timeout, [this, g](plugin::Outcome out) {
      if (g != gen) return;
      running.reset();
      attempt_done(std::move(out));
    });
  }

  // Starts one action of step `s`. Rendering errors and unknown plugins complete at once
  // (posted) with a failed outcome.
  std::unique_ptr<plugin::Running> run_action(const model::Action& a, const Step& s, int att,
                                              std::optional<Millis> timeout, plugin::DoneFn done) {
    auto fail_now = [this, &done](std::string msg) -> std::unique_ptr<plugin::Running> {
      plugin::Outcome out;
      out.error = std::move(msg);
      asio::post(io, [done, out]() { done(out); });
      return nullptr;
    };
    plugin::Plugin* p = reg.find(a.kind);
    if (!p)
      return fail_now(fmt::format("no plugin '{}': not built in, and no runbook-plugin-{} on the plugin path", a.kind,
                                  a.kind));
    Value params;
    plugin::ActionContext ctx;
    try {
      params = p->render(a.params, renderer);
      ctx.env = sys_env();
      for (auto& ev : s.env) {
        std::string v = renderer.render_text(ev.value, ev.pos);
        set_env(ctx.env, ev.name, v);
      }
      if (s.cwd) ctx.cwd = renderer.render_text(*s.cwd, s.pos);
      if (s.stdin_text) ctx.stdin_text = renderer.render_text(*s.stdin_text, s.pos);
    } catch (const plugin::RenderError& e) {
      return fail_now(masker.mask(e.message));
    }
    if (ctx.cwd.empty()) ctx.cwd = o.cwd;
    ctx.run_id = o.run_id;
    ctx.incident_id = o.incident_id;
    ctx.step_id = s.id;
    ctx.attempt = att;
    ctx.idempotency_key = idem_key(s, att);
    ctx.operator_name = o.operator_name;
    ctx.drill = o.drill;
    ctx.timeout = timeout;
    ctx.io = &io;
    ctx.masker = &masker;
    ctx.interaction = &ui;
    set_env(ctx.env, "RUNBOOK_RUN_ID", o.run_id);
    set_env(ctx.env, "RUNBOOK_INCIDENT_ID", o.incident_id);
    set_env(ctx.env, "RUNBOOK_STEP", s.id);
    set_env(ctx.env, "RUNBOOK_ATTEMPT", std::to_string(att));
    set_env(ctx.env, "RUNBOOK_IDEMPOTENCY_KEY", ctx.idempotency_key);
    set_env(ctx.env, "RUNBOOK_DRILL", o.drill ? "1" : "0");
    set_env(ctx.env, "RUNBOOK_OPERATOR", o.operator_name);
    std::string sid = s.id;
    ctx.emit = [this, sid, att](const std::string& type, Value data) {
      emit(type, sid, att, std::move(data));
      commit();
    };
    ctx.on_output = [this, sid](const std::string& line) {
      std::string m = masker.mask(line);
      last_output.push_back(m);
      while (last_output.size() > 5) last_output.pop_front();
      if (ex.on_output_) ex.on_output_(sid, m);
    };
    return p->start(params, ctx, std::move(done));
  }

  static std::vector<std::pair<std::string, std::string>>& base_env();
  static std::vector<std::pair<std::string, std::string>> sys_env();
  static void set_env(std::vector<std::pair<std::string, std::string>>& env, const std::string& k, const std::string& v) {
    for (auto& kv : env)
      if (kv.first == k) {
        kv.second = v;
        return;
      }
    env.emplace_back(k, v);
  }

  // Applies the step's success rule (`expect`, else the plugin's own).
  bool judge(const std::optional<expr::Expression>& expect, const plugin::Outcome& out, std::string* why) {
    if (out.cancelled) {
      *why = out.error.empty() ? "cancelled" : out.error;
      return false;
    }
    if (expect && out.completed) {
      std::string err;
      auto v = st.test(*expect, &out.result, &err);
      if (!v) {
        *why = fmt::format("cannot evaluate expect '{}': {}", expect->text, err);
        return false;
      }
      if (!*v) *why = fmt::format("expect '{}' does not hold", expect->text);
      return *v;
    }
    if (!out.ok) *why = out.error.empty() ? "failed" : out.error;
    return out.ok;
  }

  // Test hook (crash tests): RUNBOOK_TEST_KILL_AFTER_ACTION=N kills the engine with SIGKILL
  // right after its N-th action finished, before the outcome is journaled.
  void test_kill_after_action() {
    static long countdown = [] {
      const char* v = std::getenv("RUNBOOK_TEST_KILL_AFTER_ACTION");
      return v ? std::atol(v) : -1;
    }();
    if (countdown > 0 && --countdown == 0) ::kill(::getpid(), SIGKILL);
  }

  void attempt_done(plugin::Outcome out) {
    test_kill_after_action();
    std::string why;
    bool ok = judge(cur->expect, out, &why);
    attempt_done_judged(ok, out.rejected && !out.cancelled, std::move(out.result), why);
  }

  void attempt_done_judged(bool ok, bool rejected, Value result, std::string why) {
    last_result = result;
    if (aborting && !ok) return finish_attempt(StepOutcome::Cancelled, abort_reason, result);
    if (timed_out) return finish_attempt(StepOutcome::TimedOut, fmt::format("timed out after {}", format_duration(*cur->timeout)), result);
    if (rejected) return finish_attempt(StepOutcome::Rejected, why, result);
    if (!ok) return finish_attempt(StepOutcome::Failed, why, result);
    run_verify(0, std::move(result));
  }

  // ---- verify gates ---------------------------------------------------------------------
  void run_verify(size_t i, Value result) {
    const Step& s = *cur;
    if (i >= s.verify.size()) return succeeded(std::move(result));
    const model::Check& c = s.verify[i];
    if (o.probes_only && check_mutates(c)) {
      emit("check.skipped", s.id, attempt, {{"check", c.name}, {"index", i}});
      return run_verify(i + 1, std::move(result));
    }
    auto t0 = SteadyClock::now();
    poll_until(c, c.interval, c.within, 0, [this, i, result, t0, &c](bool ok, Value res, std::string err) mutable {
      long long took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
      Value data = {{"check", c.name}, {"index", i}, {"elapsed_ms", took}, {"result", summarize(res)}};
      if (aborting) return finish_attempt(StepOutcome::Cancelled, abort_reason, result);
      if (timed_out)
        return finish_attempt(StepOutcome::TimedOut, fmt::format("timed out after {} in check '{}'",
                                                                 format_duration(*cur->timeout), c.name), result);
      if (ok) {
        emit("check.passed", cur->id, attempt, data);
        return run_verify(i + 1, std::move(result));
      }
      data["error"] = err;
      emit("check.failed", cur->id, attempt, data);
      finish_attempt(StepOutcome::Failed, fmt::format("gate '{}' failed: {}", c.name, err), result);
    });
  }

  // Runs a check until it holds, or `within` passes (then reports the last failure), or
  // the attempt is cancelled. With no `within` it runs once (wait.until: until the step's
  // timeout).
  void poll_until(const model::Check& c, std::optional<Millis> interval, std::optional<Millis> within, int polls,
                  std::function<void(bool, Value, std::string)> cb) {
    unsigned g = gen;
    bool forever = cur->wait_until && &c == &*cur->wait_until;
    auto deadline = SteadyClock::now() + within.value_or(Millis(0));
    if (polls > 0) deadline = poll_deadline;
    else poll_deadline = deadline;
    std::optional<Millis> limit = c.timeout ? c.timeout : cur->timeout;
    running = run_action(c.action, *cur, attempt, limit, [this, g, &c, interval, within, polls, cb, forever](plugin::Outcome out) {
      if (g != gen) return;
      running.reset();
      std::string why;
      bool ok = judge(c.expect, out, &why);
      if (ok || aborting || timed_out) return cb(ok, std::move(out.result), why);
      bool again = forever || (within && SteadyClock::now() < poll_deadline);
      if (!again) return cb(false, std::move(out.result), why);
      Millis every = interval.value_or(forever ? Millis(5000) : std::min(Millis(2000), std::max(Millis(100), *within / 10)));
      wait_timer.expires_after(every);
      wait_timer.async_wait([this, g, &c, interval, within, polls, cb](const boost::system::error_code& ec) {
        if (g != gen) return;
        if (ec) return cb(false, Value::object(), aborting ? abort_reason : "cancelled");
        poll_until(c, interval, within, polls + 1, cb);
      });
    });
  }
  SteadyClock::time_point poll_deadline;

  // ---- parallel -------------------------------------------------------------------------
  struct Par {
    size_t next = 0, active = 0;
    bool failed = false, over = false;
    std::string error;
    Value branches = Value::array();
    Value outcomes = Value::array();
  };
  std::shared_ptr<Par> par;

  void run_parallel() {
    const Step& s = *cur;
    par = std::make_shared<Par>();
    for (size_t i = 0; i < s.parallel.size(); ++i) {
      par->branches.push_back(nullptr);
      par->outcomes.push_back(nullptr);
    }
    branch_runs.clear();
    branch_runs.resize(s.parallel.size());
    pump_parallel();
  }

  // Launches branches up to max_concurrency; when nothing runs and nothing more may
  // start, judges the step. A failed branch cancels the others.
  void pump_parallel() {
    const Step& s = *cur;
    auto p = par;
    size_t limit = s.max_concurrency > 0 ? static_cast<size_t>(s.max_concurrency) : s.parallel.size();
    while (!p->failed && !timed_out && !aborting && p->next < s.parallel.size() && p->active < limit) {
      size_t i = p->next++;
      ++p->active;
      const model::Check& b = s.parallel[i];
      unsigned g = gen;
      branch_runs[i] = run_action(b.action, s, attempt, b.timeout ? b.timeout : s.timeout,
                                  [this, g, i, p, &b](plugin::Outcome out) {
                                    if (g != gen || p->over) return;
                                    --p->active;
                                    std::string why;
                                    bool ok = judge(b.expect, out, &why);
                                    // result.branches[i] is the branch's own result (contract §1);
                                    // result.outcomes[i] says how it went.
                                    p->branches[i] = out.result;
                                    p->outcomes[i] = {{"name", b.name}, {"ok", ok}};
                                    if (!ok) p->outcomes[i]["error"] = why;
                                    if (!ok && !p->failed) {
                                      p->failed = true;
                                      p->error = fmt::format("branch {} ({}) failed: {}", i, b.name, why);
                                      for (auto& r : branch_runs)
                                        if (r) r->cancel();
                                    }
                                    pump_parallel();
                                  });
    }
    bool stopped = p->failed || timed_out || aborting;
    if (p->active > 0 || p->over || (!stopped && p->next < s.parallel.size())) return;
    p->over = true;
    Value result = {{"branches", p->branches}, {"outcomes", p->outcomes}};
    asio::post(io, [this, g = gen, p, result] {
      if (g != gen) return;
      branch_runs.clear();
      if (p->failed) return attempt_done_judged(false, false, result, p->error);
      if (timed_out || aborting) return attempt_done_judged(false, false, result, "cancelled");
      attempt_done_judged(true, false, result, "");
    });
  }

  // ---- attempt and step results --------------------------------------------------------
  void finish_attempt(StepOutcome oc, const std::string& why, const Value& result) {
    const Step& s = *cur;
    timeout_timer.cancel();
    ++gen;
    Value data = {{"error", why}, {"outcome", to_string(oc)},
                  {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - attempt_t0).count()}};
    if (!result.empty()) data["result"] = summarize(result);
    if (oc == StepOutcome::Rejected || oc == StepOutcome::Cancelled) return step_failed(oc, why, data);
    if (aborting) return step_failed(StepOutcome::Cancelled, abort_reason, data);
    if (auto delay = retry_delay(s, attempt, oc)) {
      emit("step.attempt_failed", s.id, attempt, data);
      emit("step.retrying", s.id, attempt, {{"delay_ms", ms(*delay)}, {"next_attempt", attempt + 1}});
      if (!commit()) return;
      unsigned g = gen;
      wait_timer.expires_after(*delay);
      wait_timer.async_wait([this, g](const boost::system::error_code& ec) {
        if (g != gen || finished) return;
        if (ec || aborting) return step_failed(StepOutcome::Cancelled, abort_reason.empty() ? "cancelled" : abort_reason,
                                               Value::object());
        start_attempt(attempt + 1);
      });
      return;
    }
    step_failed(oc, why, data);
  }

  void step_failed(StepOutcome oc, const std::string& why, Value data) {
    const Step& s = *cur;
    budget_timer.cancel();
    long long took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - step_t0).count();
    auto& ss = st.steps[s.id];
    ss.status = "failed";
    ss.error = why;
    ss.duration_ms = took;
    st.touch();
    data["duration_ms"] = took;
    data["attempts"] = attempt;
    if (oc == StepOutcome::TimedOut) emit("step.timed_out", s.id, attempt, data);
    emit("step.failed", s.id, attempt, data);
    if (s.continue_on_failure && oc != StepOutcome::Cancelled && oc != StepOutcome::Rejected) {
      // The failure is recorded; the run goes on as if the step succeeded.
    }
    after_step(oc);
  }

  void succeeded(Value result, bool confirmed = false) {
    const Step& s = *cur;
    timeout_timer.cancel();
    budget_timer.cancel();
    ++gen;
    auto& ss = st.steps[s.id];
    Value outputs = Value::object();
    for (auto& od : s.outputs) {
      if (confirmed) break;  // nothing ran in this engine: there is no result to read
      std::string err;
      bool tainted = false;
      auto v = st.eval(od.expr, &result, &err, &tainted);
      if (!v) {
        Value data = {{"error", fmt::format("output '{}': {}", od.name, err)}, {"result", summarize(result)}};
        return step_failed(StepOutcome::Failed, data["error"].get<std::string>(), data);
      }
      outputs[od.name] = *v;
      std::string path = fmt::format("steps.{}.outputs.{}", s.id, od.name);
      if (tainted) st.secret_outputs.insert(path);
    }
    long long took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - step_t0).count();
    ss.status = "succeeded";
    ss.outputs = outputs;
    ss.duration_ms = took;
    ss.error.clear();
    st.touch();
    Value data = {{"duration_ms", took}, {"attempts", attempt}, {"outputs", outputs}};
    if (!result.empty()) data["result"] = summarize(result);
    if (s.budget) data["budget_ms"] = ms(*s.budget);
    emit("step.succeeded", s.id, attempt, data);
    if (s.record_rpo && !confirmed) {
      std::string err;
      auto v = st.eval(*s.record_rpo, &result, &err);
      if (v && v->is_number()) {
        double secs = v->get<double>();
        Value rd = {{"rpo_seconds", secs}};
        if (rb.objectives.rpo) {
          rd["rpo_target_seconds"] = static_cast<double>(rb.objectives.rpo->count()) / 1000.0;
          rd["met"] = secs * 1000.0 <= static_cast<double>(rb.objectives.rpo->count());
        }
        emit("rpo.recorded", s.id, attempt, rd);
      } else {
        emit("rpo.recorded", s.id, attempt, {{"error", v ? "record.rpo is not a number of seconds" : err}});
      }
    }
    if (s.rollback) rollback_stack.push_back(s.id);
    after_step(StepOutcome::Succeeded);
  }

  void after_step(StepOutcome oc) {
    const Step& s = *cur;
    Decision d = decide_next(s, oc, [this](const expr::Expression& e, std::string* err) {
      return st.test(e, &last_result, err);
    });
    if (o.probes_only && d.end && d.via == "choose") {
      // Probes skip the steps whose outputs a `when` may need: take the default arm.
      for (auto& arm : s.choose)
        if (!arm.when) d = Decision{false, model::EndState::Recovered, arm.next.step, "choose (default)", ""};
    }
    if (d.end) return end_run(d.end_state, d.reason, s.id);
    emit("transition", s.id, 0, {{"from", s.id}, {"to", d.next}, {"via", d.via}});
    const Step* next = rb.find(d.next);
    if (!next) return end_run(model::EndState::Failed, fmt::format("step '{}' does not exist", d.next), s.id);
    enter(*next, 1);
  }

  // ---- cancel, abort, end ---------------------------------------------------------------
  void cancel_current() {
    if (running) running->cancel();
    for (auto& r : branch_runs)
      if (r) r->cancel();
    wait_timer.cancel();
  }

  void abort(const std::string& reason) {
    if (finished || aborting) return;
    aborting = true;
    abort_reason = reason;
    ui.cancel(cur ? cur->id : "");
    if (ending) return;  // rollbacks are running: let them finish
    bool busy = running || std::any_of(branch_runs.begin(), branch_runs.end(), [](auto& r) { return r != nullptr; });
    if (busy) {
      cancel_current();
      return;
    }
    // Waiting between attempts or polls: end now.
    wait_timer.cancel();
  }

  void end_run(model::EndState state, const std::string& reason, const std::string& at_step = {}) {
    if (ending) return;
    ending = true;
    ++gen;
    timeout_timer.cancel();
    budget_timer.cancel();
    wait_timer.cancel();
    cur_end_state = state;
    cur_end_reason = reason;
    cur_end_step = at_step;
    if (state != model::EndState::Recovered && !o.probes_only) return run_rollbacks();
    finish_run();
  }
  model::EndState cur_end_state = model::EndState::Failed;
  std::string cur_end_reason, cur_end_step;

  void run_rollbacks() {
    if (rollback_stack.empty()) return finish_run();
    std::string sid = rollback_stack.back();
    rollback_stack.pop_back();
    const Step* s = rb.find(sid);
    if (!s || !s->rollback) return run_rollbacks();
    cur = s;
    emit("rollback.started", sid, 0, {{"action", s->rollback->action.kind}});
    if (!commit()) return;
    unsigned g = ++gen;
    auto t0 = SteadyClock::now();
    std::optional<Millis> limit = s->rollback->timeout ? s->rollback->timeout : s->timeout;
    if (limit) {
      timeout_timer.expires_after(*limit);
      timeout_timer.async_wait([this, g](const boost::system::error_code& ec) {
        if (ec || g != gen) return;
        timed_out = true;
        if (running) running->cancel();
      });
    }
    timed_out = false;
    running = run_action(s->rollback->action, *s, 1, limit, [this, g, sid, t0](plugin::Outcome out) {
      if (g != gen) return;
      running.reset();
      timeout_timer.cancel();
      std::string why;
      bool ok = judge(rb.find(sid)->rollback->expect, out, &why);
      if (timed_out) why = "timed out";
      Value data = {{"ok", ok && !timed_out},
                    {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count()}};
      if (!ok || timed_out) data["error"] = why;
      if (!out.result.empty()) data["result"] = summarize(out.result);
      emit("rollback.finished", sid, 0, data);
      if (!commit()) return;
      run_rollbacks();
    });
  }

  void finish_run() {
    model::EndState state = cur_end_state;
    Value data = {{"status", model::to_string(state)}, {"reason", cur_end_reason}, {"rto", rto_json()}};
    if (rb.objectives.rto) {
      RtoState r = rto_now();
      data["rto"]["met"] = state == model::EndState::Recovered && r.elapsed <= *rb.objectives.rto;
    }
    if (aborting) {
      state = model::EndState::Aborted;
      data["status"] = "aborted";
      data["reason"] = abort_reason;
    }
    emit("run.ended", cur_end_step, 0, data);
    if (!commit()) return;
    finish_with(RunResult{state, data["reason"].get<std::string>(), false, ""});
  }

  void engine_error(const std::string& msg) {
    if (finished) return;
    cancel_current();
    finish_with(RunResult{model::EndState::Failed, msg, true, msg});
  }

  void finish_with(RunResult r) {
    if (finished) return;
    finished = true;
    for (auto* t : {&timeout_timer, &budget_timer, &wait_timer, &poll_timer, &rto_warn_timer, &rto_breach_timer,
                    &tick_timer})
      t->cancel();
    auto cb = std::move(on_end);
    asio::post(io, [cb, r] {
      if (cb) cb(r);
    });
  }
};

std::vector<std::pair<std::string, std::string>>& Executor::Impl::base_env() {
  static std::vector<std::pair<std::string, std::string>> env = sys::current_environment();
  return env;
}

std::vector<std::pair<std::string, std::string>> Executor::Impl::sys_env() { return base_env(); }

Executor::Executor(const model::Runbook& rb, ExecOptions opts, Journal& journal, plugin::Registry& registry,
                   plugin::Interaction& interaction, Masker& masker, asio::io_context& io)
    : state_(rb, masker) {
  impl_ = std::make_unique<Impl>(*this, rb, std::move(opts), journal, registry, interaction, masker, io);
}

Executor::~Executor() = default;

void Executor::start(std::function<void(RunResult)> on_end) {
  impl_->on_end = std::move(on_end);
  impl_->begin();
}

void Executor::resume(const ResumePoint& at, std::function<void(RunResult)> on_end) {
  impl_->on_end = std::move(on_end);
  impl_->resume_at(at);
}

void Executor::abort(const std::string& reason) { impl_->abort(reason); }

model::LiveState Executor::live() const {
  model::LiveState l;
  const Impl& m = *impl_;
  if (m.cur) {
    l.step = m.cur->id;
    l.title = m.cur->label();
    l.phase = m.cur->phase;
    l.attempt = m.attempt;
    l.in_step = std::chrono::duration_cast<Millis>(SteadyClock::now() - m.step_t0);
    l.budget = m.cur->budget;
  }
  l.rto = m.rto_now();
  l.last_output.assign(m.last_output.begin(), m.last_output.end());
  return l;
}

}  // namespace rb::exec
