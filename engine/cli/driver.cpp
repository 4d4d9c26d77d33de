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

namespace rb::cli {

namespace asio = boost::asio;

std::string lease_holder() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}@{} pid {}", operator_name(""), host, ::getpid());
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
  d.mode = g.json ? report::ConsoleMode::Json : (isatty(1) ? report::ConsoleMode::Live : report::ConsoleMode::Plain);
  d.tz = tz.empty() ? "UTC" : tz;
  d.store = store;
  return d;
}

namespace {

// One run's engine on one loop. Everything that must outlive the executor is declared
// before it, so that it goes first.
class Drive {
 public:
  Drive(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker, const DriveOptions& d)
      : d_(d), reg_(reg), masker_(masker), env_(sys::make_posix_env(io_)), reaper_(sys::become_subreaper(io_)),
        console_(d.mode, d.tz), journal_(d.store, *env_, masker), answers_(*env_, opts.operator_name, d.yes, opts.drill, d.answers),
        signals_(io_, SIGINT, SIGTERM), lease_timer_(env_->timer()), tick_timer_(env_->timer()) {
    run_id_ = opts.run_id;
    journal_.observe([this](const journal::Event& e) { console_.event(e); });
    journal_.set_lease_epoch(d.lease.epoch);
    if (d.new_run) journal_.start_new(*d.new_run, parse_time(d.new_run->started_at).value_or(env_->wall()));
    else journal_.start_resumed(run_id_, d.resumed_last_seq, d.resumed_started);
    opts.kill_grace = kill_grace();
    if (opts.cwd.empty()) opts.cwd = env_->cwd();
    ex_ = std::make_unique<exec::Executor>(rb, std::move(opts), journal_, reg, answers_, masker, *env_);
    ex_->set_on_output([this](const std::string& step, const std::string& line) { console_.output(step, line); });
  }

  int run(exec::RunResult* out) {
    wait_signal();
    if (d_.store && d_.lease.epoch > 0) renew_lease();
    tick();
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

  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec || ended_) return;
      ++signals_seen_;
      if (d_.ignore_signals) {
        fmt::print(stderr, "runbook: teardown in progress: it always runs to the end\n");
      } else if (signals_seen_ == 1) {
        ex_->abort(fmt::format("interrupted by {}", sig == SIGINT ? "SIGINT" : "SIGTERM"));
      } else {
        fmt::print(stderr, "runbook: stopping (rollbacks and run.ended are being recorded)…\n");
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
      end(exec::RunResult{model::EndState::Failed, s.message(), true, s.message()});
      ex_->abort("lost the lease");
    });
  }

  // The live view and the notes other processes queued for this run's journal.
  void tick() {
    if (ended_) return;
    console_.tick(ex_->live());
    if (d_.store) {
      for (auto& note : d_.store->take_notes(run_id_)) {
        journal_.emit(ev::kNote, "", 0, note);
        journal_.commit();
      }
    }
    tick_timer_->arm(d_.tick, [this] { tick(); });
  }

  void end(exec::RunResult r) {
    if (ended_) return;
    ended_ = true;
    result_ = std::move(r);
    lease_timer_->cancel();
    tick_timer_->cancel();
    signals_.cancel();
    io_.stop();
  }

  const DriveOptions& d_;
  plugin::Registry& reg_;
  Masker& masker_;
  asio::io_context io_;
  std::unique_ptr<sys::Env> env_;
  std::shared_ptr<void> reaper_;
  report::Console console_;
  exec::Journal journal_;
  exec::Answers answers_;
  asio::signal_set signals_;
  std::unique_ptr<sys::Timer> lease_timer_, tick_timer_;
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
