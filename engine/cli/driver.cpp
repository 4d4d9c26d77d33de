#include "cli/driver.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <csignal>
#include <fmt/format.h>
#include <unistd.h>

#include "base/text.h"
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
      if (e.type == "step.succeeded") seen[e.step].push_back(e.data.value("duration_ms", 0LL));
  }
  std::map<std::string, Millis> out;
  for (auto& [step, v] : seen) {
    std::sort(v.begin(), v.end());
    long long m = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    out[step] = Millis(m);
  }
  return out;
}

long long now_ms() { return to_unix_ms(std::chrono::system_clock::now()); }

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

int drive(const model::Runbook& rb, exec::ExecOptions opts, exec::Journal& journal, plugin::Registry& reg,
          Masker& masker, const DriveOptions& d, exec::RunResult* result_out) {
  asio::io_context io;
  auto reaper = sys::become_subreaper(io);
  report::Console console(d.mode, d.tz);
  journal.observe([&console](const journal::Event& e) { console.event(e); });
  journal.set_lease_epoch(d.lease.epoch);

  exec::Answers answers(io, opts.operator_name, d.yes, opts.drill, d.answers);

  std::string run_id = opts.run_id;
  auto exp = std::make_unique<exec::Executor>(rb, std::move(opts), journal, reg, answers, masker, io);
  exec::Executor& ex = *exp;
  ex.set_on_tick([&](const model::LiveState& s) {
    console.tick(s);
    if (d.store) {
      for (auto& note : d.store->take_notes(run_id)) {
        journal.emit("note", "", 0, note);
        journal.commit();
      }
    }
  });
  ex.set_on_output([&console](const std::string& step, const std::string& line) { console.output(step, line); });

  exec::RunResult result;
  bool ended = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signals_seen = 0;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec || ended) return;
      ++signals_seen;
      if (d.ignore_signals) {
        fmt::print(stderr, "runbook: teardown in progress: it always runs to the end\n");
      } else if (signals_seen == 1) {
        ex.abort(fmt::format("interrupted by {}", sig == SIGINT ? "SIGINT" : "SIGTERM"));
      } else {
        fmt::print(stderr, "runbook: stopping (rollbacks and run.ended are being recorded)…\n");
      }
      wait_signal();
    });
  };
  wait_signal();

  // The lease: renewed well before it expires; losing it stops the engine without writing.
  asio::steady_timer lease_timer(io);
  std::function<void()> renew = [&] {
    lease_timer.expires_after(std::chrono::milliseconds(std::max(50LL, d.lease_ttl_ms / 3)));
    lease_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec || ended) return;
      auto s = d.store->renew_lease(d.lease_key, d.lease, d.lease_ttl_ms, now_ms());
      if (!s.ok()) {
        console.close();
        error(masker, s.message());
        ended = true;
        result = exec::RunResult{model::EndState::Failed, s.message(), true, s.message()};
        ex.abort("lost the lease");
        io.stop();
        return;
      }
      renew();
    });
  };
  if (d.store && d.lease.epoch > 0) renew();

  auto on_end = [&](exec::RunResult r) {
    if (ended) return;
    ended = true;
    result = r;
    lease_timer.cancel();
    signals.cancel();
    io.stop();
  };
  if (d.resume) {
    journal.emit("run.resumed", "", 0, d.resumed_event);
    if (auto s = journal.commit(); !s.ok()) {
      console.close();
      error(masker, s.message());
      return kEngine;
    }
    ex.resume(*d.resume, on_end);
  } else {
    ex.start(on_end);
  }
  io.run();
  exp.reset();       // the executor and the actions it holds go first,
  reg.finish_run();  // then what plugins keep bound to this loop, before the loop goes
  console.close();
  if (result.engine_error) error(masker, fmt::format("engine stopped: {}", result.error));
  // Best effort even after an engine error, so that `resume` need not wait for expiry; a
  // lost lease is not ours to release (holder and epoch no longer match).
  if (d.store && d.lease.epoch > 0) d.store->release_lease(d.lease_key, d.lease);
  if (result_out) *result_out = result;
  return result.exit_code();
}

}  // namespace rb::cli
