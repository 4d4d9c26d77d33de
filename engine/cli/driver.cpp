#include "cli/driver.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <algorithm>
#include <csignal>
#include <fmt/format.h>
#include <unistd.h>

#include "base/events.h"
#include "base/stats.h"
#include "base/text.h"
#include "sys/env.h"
#include "sys/process.h"
#include "sys/procs.h"
#include "sys/terminal.h"

namespace rb::cli {

namespace asio = boost::asio;

namespace {

std::string host_name() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// Parses "user@host pid N since T".
bool parse_holder(const std::string& h, std::string* host, int* pid, unsigned long long* since) {
  size_t at = h.find('@'), p = h.find(" pid ");
  if (at == std::string::npos || p == std::string::npos || p < at) return false;
  *host = h.substr(at + 1, p - at - 1);
  *since = 0;
  return std::sscanf(h.c_str() + p, " pid %d since %llu", pid, since) >= 1;
}

}  // namespace

std::string lease_holder() {
  return fmt::format("{}@{} pid {} since {}", operator_name(""), host_name(), ::getpid(),
                     sys::process_start_time(::getpid()).value_or(0));
}

bool holder_alive(const journal::Lease& l, long long now, std::string* why) {
  if (l.holder.empty() || l.expires_ms <= now) {
    if (why) *why = "its lease has expired";
    return false;
  }
  std::string host;
  int pid = 0;
  unsigned long long since = 0;
  if (!parse_holder(l.holder, &host, &pid, &since) || host != host_name()) return true;  // elsewhere: trust the lease
  auto started = sys::process_start_time(pid);
  if (!started) {
    if (why) *why = fmt::format("process {} on this machine is gone", pid);
    return false;
  }
  if (since != 0 && *started != since) {
    if (why) *why = fmt::format("process {} on this machine is another program now (the pid was reused)", pid);
    return false;
  }
  return true;
}

bool engine_alive(journal::Store& store, const journal::RunInfo& r) {
  if (r.status != "running") return false;
  auto l = store.lease(r.incident);
  return l && holder_alive(*l, now_ms());
}

Status take_lease(journal::Store& store, const std::string& incident, journal::Lease* got) {
  journal::Lease cur;
  auto s = store.acquire_lease(incident, lease_holder(), lease_ttl_ms(), now_ms(), got, &cur);
  if (s.ok() || holder_alive(cur, now_ms())) return s;
  store.release_lease(incident, cur);  // a dead engine of this machine: its lease ends now
  return store.acquire_lease(incident, lease_holder(), lease_ttl_ms(), now_ms(), got, &cur);
}

long long lease_ttl_ms() {
  if (const char* e = std::getenv("RUNBOOK_LEASE_TTL_MS")) {
    long long v = std::atoll(e);
    if (v >= 100) return v;
  }
  return 10'000;
}

std::map<std::string, Millis> drill_medians(journal::Store& store, const std::string& runbook_id) {
  std::map<std::string, std::vector<long long>> seen;
  auto recs = store.drill_records("");
  int used = 0;
  for (auto it = recs.rbegin(); it != recs.rend() && used < 10; ++it) {
    if (it->runbook != runbook_id || it->run_id.empty() || it->status != "recovered") continue;
    ++used;
    for (auto& e : store.events(it->run_id))
      if (e.type == ev::kStepSucceeded) seen[e.step].push_back(e.data.value("duration_ms", 0LL));
  }
  std::map<std::string, Millis> out;
  for (auto& [step, v] : seen) out[step] = Millis(median(v));
  return out;
}

long long now_ms() { return to_unix_ms(sys::wall_now()); }

bool parse_answers(const model::Runbook& rb, const std::vector<std::string>& flags,
                   std::map<std::string, exec::GivenAnswer>* out, bool any_step) {
  bool ok = true;
  std::vector<std::string> ids;
  for (auto& s : rb.steps) ids.push_back(s.id);
  for (auto& f : flags) {
    size_t eq = f.find('=');
    if (eq == std::string::npos) {
      error(fmt::format("--answer '{}': expected STEP=yes|no|done", f));
      ok = false;
      continue;
    }
    std::string step = f.substr(0, eq);
    const model::Step* s = rb.find(step);
    if (!s) {
      error(fmt::format("--answer {}: no step '{}' in {}{}", step, step, rb.file, did_you_mean_suffix(step, ids)));
      ok = false;
      continue;
    }
    if (!any_step && (s->kind != model::StepKind::Action || (s->action.kind != "approval" && s->action.kind != "manual"))) {
      error(fmt::format("--answer {}: step '{}' is not an approval or manual step", step, step));
      ok = false;
      continue;
    }
    auto a = exec::parse_answer(f.substr(eq + 1));
    if (!a) {
      error(fmt::format("--answer {}: '{}' is not yes, no or done (optionally @NAME)", step, f.substr(eq + 1)));
      ok = false;
      continue;
    }
    (*out)[step] = *a;
  }
  return ok;
}

bool check_plugins(const model::Runbook& rb, plugin::Registry& reg) {
  bool ok = true;
  auto check = [&](const model::Action& a) {
    if (!reg.find(a.kind)) {
      fmt::print(stderr, "{}:{}:{}: no plugin '{}': not built in, and no executable runbook-plugin-{} on the plugin "
                         "path (--plugin-path, RUNBOOK_PLUGIN_PATH)\n",
                 rb.file, a.pos.line, a.pos.col, a.kind, a.kind);
      ok = false;
    }
  };
  for (auto& s : rb.steps) {
    if (s.kind == model::StepKind::Action) check(s.action);
    if (s.wait_until) check(s.wait_until->action);
    for (auto& c : s.verify) check(c.action);
    for (auto& b : s.parallel) check(b.action);
    if (s.rollback) check(s.rollback->action);
  }
  return ok;
}

DriveOptions drive_options(const Global& g, const std::string& tz, journal::Store* store) {
  DriveOptions d;
  d.mode = g.json ? report::ConsoleMode::Json : (sys::is_terminal(1) ? report::ConsoleMode::Live : report::ConsoleMode::Plain);
  d.tz = tz.empty() ? "UTC" : tz;
  d.store = store;
  d.store_flag = store_flag(g);
  d.typed_answers = true;
  return d;
}

namespace {

// One run's engine on one loop. Everything that must outlive the executor is declared
// before it, so that it goes first.
class Drive {
 public:
  Drive(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker, const DriveOptions& d)
      : d_(d), reg_(reg), masker_(masker), env_(sys::make_posix_env(io_)), reaper_(sys::become_subreaper(io_)),
        console_(d.mode, d.tz), journal_(d.store, *env_, masker), answers_(*env_, answers_config(opts, d)),
        signals_(io_, SIGINT, SIGTERM, SIGHUP), lease_timer_(env_->timer()), tick_timer_(env_->timer()),
        requests_timer_(env_->timer()) {
    run_id_ = opts.run_id;
    journal_.observe([this](const journal::Event& e) { console_.event(e); });
    journal_.set_lease_epoch(d.lease.epoch);
    if (d.new_run) journal_.start_new(*d.new_run, parse_time(d.new_run->started_at).value_or(env_->wall()));
    else journal_.start_resumed(run_id_, d.resumed_last_seq, d.resumed_started);
    opts.kill_grace = kill_grace();
    if (opts.cwd.empty()) opts.cwd = env_->cwd();
    answers_.on_view = [this](const exec::Answers::View* v) { show_question(v); };
    if (d.typed_answers)
      input_ = std::make_unique<sys::TerminalInput>(*env_, sys::TerminalInput::Callbacks{
                                                                [this](const std::string& l) { answers_.typed_line(l, input_->terminal()); },
                                                                [this](const std::string& b) { console_.typing(b); },
                                                                nullptr});
    ex_ = std::make_unique<exec::Executor>(rb, std::move(opts), journal_, reg, answers_, masker, *env_);
    ex_->set_on_output([this](const std::string& step, const std::string& line) { console_.output(step, line); });
  }

  int run(exec::RunResult* out) {
    wait_signal();
    if (d_.store && d_.lease.epoch > 0) renew_lease();
    tick();
    if (d_.store) poll_requests();
    auto on_end = [this](exec::RunResult r) { end(std::move(r)); };
    if (d_.resume) {
      journal_.emit(ev::kRunResumed, "", 0, d_.resumed_event);
      if (auto s = journal_.commit(); !s.ok()) {
        console_.close();
        error(masker_, s.message());
        return kEngine;
      }
      ex_->resume(*d_.resume, on_end);
    } else {
      ex_->start(on_end);
    }
    io_.run();
    ex_.reset();        // the executor and the actions it holds go first,
    reg_.finish_run();  // then what plugins keep bound to this loop, before the loop goes
    input_.reset();
    console_.close();
    if (result_.engine_error) error(masker_, fmt::format("engine stopped: {}", result_.error));
    // Best effort even after an engine error, so that `resume` need not wait for expiry; a
    // lost lease is not ours to release (holder and epoch no longer match).
    if (d_.store && d_.lease.epoch > 0) d_.store->release_lease(d_.lease_key, d_.lease);
    if (out) *out = result_;
    return result_.exit_code();
  }

 private:
  static Millis kill_grace() {
    const char* e = std::getenv("RUNBOOK_KILL_GRACE_MS");
    return e && std::atoll(e) >= 0 ? Millis(std::atoll(e)) : Millis(3000);
  }

  static exec::Answers::Config answers_config(const exec::ExecOptions& o, const DriveOptions& d) {
    exec::Answers::Config c;
    c.operator_name = o.operator_name;
    c.yes_all = d.yes;
    c.drill = o.drill;
    c.given = d.answers;
    c.typed = d.typed_answers;
    c.approve_cmd = fmt::format("runbook{} approve {}", d.store_flag, o.run_id);
    return c;
  }

  void show_question(const exec::Answers::View* v) {
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

  // SIGINT, SIGTERM, SIGHUP (the terminal went away): the run pauses, for resume.
  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec || ended_) return;
      ++signals_seen_;
      const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
      if (d_.ignore_signals) {
        fmt::print(stderr, "runbook: teardown in progress: it always runs to the end\n");
      } else if (signals_seen_ == 1) {
        Value extra = {{"signal", name}, {"resume", fmt::format("runbook{} resume {}", d_.store_flag, run_id_)},
                       {"abort", fmt::format("runbook{} abort {}", d_.store_flag, run_id_)}};
        ex_->interrupt(fmt::format("interrupted by {}", name), extra);
      } else {
        fmt::print(stderr, "runbook: stopping (the action is being stopped and run.interrupted recorded)…\n");
      }
      wait_signal();
    });
  }

  // The lease: renewed well before it expires; losing it stops the engine without writing.
  void renew_lease() {
    lease_timer_->arm(Millis(std::max(50LL, d_.lease_ttl_ms / 3)), [this] {
      if (ended_) return;
      auto s = d_.store->renew_lease(d_.lease_key, d_.lease, d_.lease_ttl_ms, now_ms());
      if (s.ok()) return renew_lease();
      console_.close();
      error(masker_, s.message());
      end(exec::RunResult{model::EndState::Failed, s.message(), true, false, s.message()});
      ex_->abort("lost the lease");
    });
  }

  // The live view, at the terminal's current size.
  void tick() {
    if (ended_) return;
    report::set_console_size(sys::terminal_width(), sys::terminal_height());
    console_.tick(ex_->live());
    tick_timer_->arm(d_.tick, [this] { tick(); });
  }

  // What other processes asked of this run through the store (runbook note / approve /
  // abort, the web page): taken within kRequestPoll.
  void poll_requests() {
    if (ended_) return;
    for (auto& r : d_.store->take_requests(run_id_)) take(r);
    requests_timer_->arm(kRequestPoll, [this] { poll_requests(); });
  }

  void take(const journal::Request& r) {
    if (r.kind == "note") {
      journal_.emit(ev::kNote, "", 0, r.data);
      journal_.commit();
    } else if (r.kind == "answer") {
      std::string step = r.data.value("step", std::string()), by = r.data.value("by", std::string());
      auto s = answers_.external(step, r.data.value("answer", std::string()), by, r.data.value("via", std::string("approve")),
                                 r.data.value("comment", std::string()));
      if (!s.ok()) {
        journal_.emit(ev::kApprovalRefused, step, 0, {{"reason", fmt::format("answer from {} refused: {}", by, s.message())}});
        journal_.commit();
      }
    } else if (r.kind == "abort") {
      ex_->abort(fmt::format("aborted by {}", r.data.value("by", std::string("an operator"))),
                 !r.data.value("no_rollback", false));
    }
  }

  void end(exec::RunResult r) {
    if (ended_) return;
    ended_ = true;
    result_ = std::move(r);
    lease_timer_->cancel();
    tick_timer_->cancel();
    requests_timer_->cancel();
    signals_.cancel();
    io_.stop();
  }

  static constexpr Millis kRequestPoll{200};

  const DriveOptions& d_;
  plugin::Registry& reg_;
  Masker& masker_;
  asio::io_context io_;
  std::unique_ptr<sys::Env> env_;
  std::shared_ptr<void> reaper_;
  report::Console console_;
  exec::Journal journal_;
  exec::Answers answers_;
  std::unique_ptr<sys::TerminalInput> input_;
  asio::signal_set signals_;
  std::unique_ptr<sys::Timer> lease_timer_, tick_timer_, requests_timer_;
  std::unique_ptr<exec::Executor> ex_;
  std::string run_id_;
  exec::RunResult result_;
  bool ended_ = false;
  int signals_seen_ = 0;
};

}  // namespace

int drive(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker,
          const DriveOptions& d, exec::RunResult* result_out) {
  Drive drive(rb, std::move(opts), reg, masker, d);
  return drive.run(result_out);
}

}  // namespace rb::cli
