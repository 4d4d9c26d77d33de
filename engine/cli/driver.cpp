#include "cli/driver.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "cli/session.h"

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
    // Known before anything runs, so a usage error (exit 2), not a refusal found when the
    // approval is reached (which then waited for its timeout).
    if (!any_step && a->done && s->action.kind == "approval") {
      error(fmt::format("--answer {}: '{}' is an approval: answer yes or no (done answers a manual step)", step, step));
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

// The CLI's loop: one run, signals, the subreaper. SIGINT, SIGTERM and SIGHUP (the
// terminal went away) pause the run, for resume.
class Drive {
 public:
  Drive(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker, const DriveOptions& d)
      : d_(d), env_(sys::make_posix_env(io_)), reaper_(sys::become_subreaper(io_)), signals_(io_, SIGINT, SIGTERM, SIGHUP),
        session_(rb, std::move(opts), reg, masker, d, *env_) {}

  int run(exec::RunResult* out) {
    wait_signal();
    session_.start([this](const exec::RunResult&) {
      signals_.cancel();
      io_.stop();
    });
    io_.run();
    exec::RunResult r = session_.finish();
    if (out) *out = r;
    return r.exit_code();
  }

 private:
  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      ++signals_seen_;
      const char* name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
      if (d_.ignore_signals) {
        fmt::print(stderr, "runbook: teardown in progress: it always runs to the end\n");
      } else if (signals_seen_ == 1) {
        session_.interrupt(fmt::format("interrupted by {}", name), name);
      } else {
        fmt::print(stderr, "runbook: stopping (the action is being stopped and run.interrupted recorded)…\n");
      }
      wait_signal();
    });
  }

  const DriveOptions& d_;
  asio::io_context io_;
  std::unique_ptr<sys::Env> env_;
  std::shared_ptr<void> reaper_;
  asio::signal_set signals_;
  RunSession session_;
  int signals_seen_ = 0;
};

}  // namespace

int drive(const model::Runbook& rb, exec::ExecOptions opts, plugin::Registry& reg, Masker& masker,
          const DriveOptions& d, exec::RunResult* result_out) {
  Drive drive(rb, std::move(opts), reg, masker, d);
  return drive.run(result_out);
}

}  // namespace rb::cli
