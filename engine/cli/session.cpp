#include "cli/session.h"

#include <fmt/format.h>

#include "base/events.h"

namespace rb::cli {

namespace {

Millis kill_grace() {
  const char* e = std::getenv("RUNBOOK_KILL_GRACE_MS");
  return e && std::atoll(e) >= 0 ? Millis(std::atoll(e)) : Millis(3000);
}

}  // namespace

RunSession::RunSession(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker,
                       const DriveOptions& d, sys::Env& env)
    : d_(d), reg_(reg), masker_(masker), env_(env), console_(d.mode, d.tz), journal_(d.store, env, masker),
      answers_(env, answers_config(opts, d)), lease_timer_(env.timer()), tick_timer_(env.timer()),
      requests_timer_(env.timer()) {
  run_id_ = opts.run_id;
  journal_.observe([this](const journal::Event& e) {
    if (ex_) console_.status(ex_->live());  // the status line names the step this event is about
    console_.event(e);
  });
  journal_.set_lease_epoch(d.lease.epoch);
  if (d.new_run) journal_.start_new(*d.new_run, parse_time(d.new_run->started_at).value_or(env.wall()));
  else journal_.start_resumed(run_id_, d.resumed_last_seq, d.resumed_started);
  opts.kill_grace = kill_grace();
  if (opts.cwd.empty()) opts.cwd = env.cwd();
  answers_.on_view = [this](const exec::Answers::View* v) { show_question(v); };
  if (d.typed_answers)
    input_ = std::make_unique<sys::TerminalInput>(
        env, sys::TerminalInput::Callbacks{[this](const std::string& l) { answers_.typed_line(l, input_->terminal()); },
                                           [this](const std::string& b) { console_.typing(b); }, nullptr});
  ex_ = std::make_unique<exec::Executor>(rb, std::move(opts), journal_, reg, answers_, masker, env);
  ex_->set_on_output([this](const std::string& step, const std::string& line) { console_.output(step, line); });
}

RunSession::~RunSession() { finish(); }

exec::Answers::Config RunSession::answers_config(const exec::ExecOptions& o, const DriveOptions& d) {
  exec::Answers::Config c;
  c.operator_name = o.operator_name;
  c.started_by = d.started_by;
  c.yes_all = d.yes;
  c.drill = o.drill;
  c.given = d.answers;
  c.typed = d.typed_answers;
  c.approve_cmd = fmt::format("runbook{} approve {}", d.store_flag, o.run_id);
  return c;
}

void RunSession::start(std::function<void(const exec::RunResult&)> on_end) {
  on_end_ = std::move(on_end);
  if (d_.store && d_.lease.epoch > 0) renew_lease();
  tick();
  if (d_.store) poll_requests();
  auto done = [this](exec::RunResult r) { end(std::move(r)); };
  if (!d_.resume) return ex_->start(done);
  journal_.emit(ev::kRunResumed, "", 0, d_.resumed_event);
  if (auto s = journal_.commit(); !s.ok()) return end(exec::RunResult{model::EndState::Failed, s.message(), true, false, s.message()});
  ex_->resume(*d_.resume, done);
}

void RunSession::interrupt(const std::string& reason, const std::string& signal) {
  if (ended_) return;
  Value extra = {{"signal", signal},
                 {"resume", fmt::format("runbook{} resume {}{}", d_.store_flag, run_id_, d_.resume_args)},
                 {"abort", fmt::format("runbook{} abort {}", d_.store_flag, run_id_)}};
  ex_->interrupt(reason, extra);
}

exec::RunResult RunSession::finish() {
  if (finished_) return result_;
  finished_ = true;
  ex_.reset();        // the executor and the actions it holds go first,
  reg_.finish_run();  // then what plugins keep bound to this loop, before the loop goes
  input_.reset();
  console_.close();
  if (result_.engine_error) error(masker_, fmt::format("engine stopped: {}", result_.error));
  // Best effort even after an engine error, so that `resume` need not wait for expiry; a
  // lost lease is not ours to release (holder and epoch no longer match).
  if (d_.store && d_.lease.epoch > 0) d_.store->release_lease(d_.lease_key, d_.lease);
  return result_;
}

void RunSession::show_question(const exec::Answers::View* v) {
  if (input_) input_->editing(v != nullptr && d_.mode == report::ConsoleMode::Live);
  if (!v) return console_.ask(std::nullopt);
  report::ConsoleQuestion q;
  q.step = v->q.step_id;
  q.kind = v->q.kind;
  q.prompt = masker_.mask(v->q.prompt);
  q.confirm = masker_.mask(v->q.confirm);
  q.facts = v->q.facts;
  q.choices = v->choices;
  q.hint = v->hint;
  q.notes = v->notes;
  q.deadline = v->deadline;
  q.second_person = v->q.second_person;
  console_.ask(std::move(q));
}

// The lease: renewed well before it expires; losing it stops the engine without writing.
void RunSession::renew_lease() {
  lease_timer_->arm(Millis(std::max(50LL, d_.lease_ttl_ms / 3)), [this] {
    if (ended_) return;
    auto s = d_.store->renew_lease(d_.lease_key, d_.lease, d_.lease_ttl_ms, now_ms());
    if (s.ok()) return renew_lease();
    console_.close();
    error(masker_, s.message());
    ex_->abort("lost the lease");
    end(exec::RunResult{model::EndState::Failed, s.message(), true, false, s.message()});
  });
}

// The live view, at the terminal's current size.
void RunSession::tick() {
  if (ended_) return;
  if (d_.mode == report::ConsoleMode::Live) report::set_console_size(sys::terminal_width(), sys::terminal_height());
  console_.tick(ex_->live());
  tick_timer_->arm(d_.tick, [this] { tick(); });
}

// What other processes asked of this run through the store (runbook note / approve /
// abort, the web page): taken within kRequestPoll.
void RunSession::poll_requests() {
  if (ended_) return;
  for (auto& r : d_.store->take_requests(run_id_)) take(r);
  requests_timer_->arm(kRequestPoll, [this] { poll_requests(); });
}

void RunSession::take(const journal::Request& r) {
  if (r.kind == "note") {
    journal_.emit(ev::kNote, "", 0, r.data);
    journal_.commit();
  } else if (r.kind == "answer") {
    std::string step = r.data.value("step", std::string()), by = r.data.value("by", std::string());
    auto s = answers_.external(step, r.data.value("answer", std::string()), by, r.data.value("via", std::string("approve")),
                               r.data.value("comment", std::string()), r.data.value("source", std::string()));
    if (!s.ok()) {
      journal_.emit(ev::kApprovalRefused, step, 0, {{"reason", fmt::format("answer from {} refused: {}", by, s.message())}});
      journal_.commit();
    }
  } else if (r.kind == "abort") {
    ex_->abort(fmt::format("aborted by {}", r.data.value("by", std::string("an operator"))),
               !r.data.value("no_rollback", false));
  } else if (r.kind == "alert") {
    // A server saw the run's alert again, or resolved (runbook serve, contract §7).
    bool resolved = r.data.value("resolved", false);
    journal_.emit(resolved ? ev::kAlertResolved : ev::kAlertRepeated, "", 0, r.data.value("alert", Value::object()));
    journal_.commit();
  }
}

void RunSession::end(exec::RunResult r) {
  if (ended_) return;
  ended_ = true;
  result_ = std::move(r);
  lease_timer_->cancel();
  tick_timer_->cancel();
  requests_timer_->cancel();
  if (on_end_) env_.post([cb = on_end_, r = result_] { cb(r); });
}

}  // namespace rb::cli
