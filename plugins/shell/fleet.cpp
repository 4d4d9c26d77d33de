#include "shell/fleet.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/events.h"
#include "base/text.h"

namespace rb::plugins::fleet {

// ---- the plan ------------------------------------------------------------------------------

FleetPlan::FleetPlan(size_t hosts, long concurrency, long max_errors, long canary)
    : total_(hosts),
      concurrency_(static_cast<size_t>(std::max(1L, concurrency))),
      canary_(std::min(hosts, static_cast<size_t>(std::max(0L, canary)))),
      max_errors_(std::max(0L, max_errors)) {}

std::optional<size_t> FleetPlan::next() {
  if (halted_ || stopped_ || next_ >= total_) return std::nullopt;
  if (next_ < canary_) {
    if (running_ >= std::min(concurrency_, canary_)) return std::nullopt;
  } else if (canary_done_ < canary_ || running_ >= concurrency_) {
    return std::nullopt;  // the canaries are still running, or the window is full
  }
  ++running_;
  return next_++;
}

void FleetPlan::done(size_t i, bool ok) {
  if (running_ > 0) --running_;
  if (i < canary_) ++canary_done_;
  if (ok) return;
  ++failures_;
  if (halted_) return;
  if (i < canary_) {
    halted_ = true;
    why_ = "a canary host failed";
  } else if (static_cast<long>(failures_) > max_errors_) {
    halted_ = true;
    why_ = fmt::format("{} host{} failed, more than max_errors ({})", failures_, failures_ == 1 ? "" : "s", max_errors_);
  }
}

// ---- the control folder ----------------------------------------------------------------------

std::string ControlDir::path(std::string* err) {
  std::error_code ec;
  if (!path_.empty() && std::filesystem::is_directory(path_, ec)) return path_;
  const char* base = std::getenv("XDG_RUNTIME_DIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/runbook-ssh.XXXXXX";
  if (tmpl.size() > 60) tmpl = "/tmp/runbook-ssh.XXXXXX";  // unix socket paths are short
  if (!::mkdtemp(tmpl.data())) {  // mkdtemp makes it 0700
    *err = fmt::format("cannot create a private folder for ssh connections: {}", std::strerror(errno));
    return {};
  }
  path_ = tmpl;
  return path_;
}

void ControlDir::remove() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  path_.clear();
}

// ---- the run ---------------------------------------------------------------------------------

namespace {

constexpr size_t kHostOutputCap = 256u << 10;  // bytes kept per stream and host

class Fleet : public std::enable_shared_from_this<Fleet> {
 public:
  Fleet(RemoteJob job, const plugin::ActionContext& ctx, plugin::DoneFn done, std::vector<FleetHost> hosts,
        const TargetsSpec& spec, std::string control_dir)
      : job_(std::move(job)),
        env_(*ctx.env),
        grace_(ctx.kill_grace),
        timeout_(ctx.timeout),
        emit_(ctx.emit),
        on_output_(ctx.on_output),
        done_(std::move(done)),
        hosts_(std::move(hosts)),
        spec_(spec),
        control_dir_(std::move(control_dir)),
        plan_(hosts_.size(), spec.max_concurrency ? spec.max_concurrency->of(hosts_.size(), 1) : 10,
              spec.max_errors ? spec.max_errors->of(hosts_.size(), 0) : 0,
              spec.canary ? spec.canary->of(hosts_.size(), 1) : 0),
        slots_(hosts_.size()),
        results_(hosts_.size()) {
    t0_ = env_.mono();
  }

  void pump() {
    while (auto i = plan_.next()) start_host(*i);
    progress();
    if (plan_.finished()) finish();
  }

  void cancel() {
    if (!done_) return;
    cancelled_ = true;
    plan_.stop();
    for (auto& s : slots_)
      if (s.proc && !s.exited) s.proc->terminate(grace_);
    // `done` follows from the last host's exit; never from inside cancel().
    if (plan_.finished()) {
      std::weak_ptr<Fleet> w = weak_from_this();
      env_.post([w] {
        if (auto f = w.lock()) f->finish();
      });
    }
  }

 private:
  struct Slot {
    std::shared_ptr<sys::Process> proc;
    std::unique_ptr<sys::Timer> timer;
    bool timed_out = false, exited = false;
  };

  void start_host(size_t i) {
    const FleetHost& h = hosts_[i];
    RemoteJob job = job_;
    job.env.emplace_back("RUNBOOK_HOST", h.name);
    sys::ProcessSpec spec;
    spec.argv = ssh_argv(h, spec_.ssh, control_dir_, env_.cwd());
    spec.env = env_.environment();
    spec.cwd = env_.cwd();
    spec.stdin_data = payload(job);
    spec.keep_stdin_open = true;  // EOF tells the host to stop (see ssh.h)
    spec.output_cap = kHostOutputCap;
    Slot& s = slots_[i];
    if (timeout_) {
      s.timer = env_.timer();
      s.timer->arm(*timeout_, [this, i] {
        Slot& sl = slots_[i];
        if (sl.exited || !sl.proc) return;
        sl.timed_out = true;
        sl.proc->terminate(grace_);
      });
    }
    std::weak_ptr<Fleet> w = weak_from_this();
    s.proc = env_.spawn(std::move(spec), nullptr, [w, i](sys::ProcessExit ex) {
      if (auto f = w.lock()) f->host_exit(i, std::move(ex));
    });
  }

  void host_exit(size_t i, sys::ProcessExit ex) {
    Slot& s = slots_[i];
    s.exited = true;
    if (s.timer) s.timer->cancel();
    const FleetHost& h = hosts_[i];
    Value r = Value::object();
    int code = !ex.started ? 127 : ex.term_signal ? 128 + ex.term_signal : ex.exit_code;
    r["exit_code"] = code;
    r["stdout"] = valid_utf8(std::move(ex.out));  // hosts print any bytes; results are JSON
    r["stderr"] = valid_utf8(ex.started ? std::move(ex.err) : ex.spawn_error);
    r["duration_ms"] = ex.duration.count();
    bool ok = ex.started && code == 0 && !s.timed_out && !cancelled_;
    r["ok"] = ok;
    if (ex.out_truncated || ex.err_truncated) r["output_cap"] = kHostOutputCap;
    if (plan_.is_canary(i)) r["canary"] = true;
    std::string error;
    if (!ex.started) error = ex.spawn_error;
    else if (s.timed_out) error = fmt::format("timed out after {}; the remote command was stopped", format_duration(*timeout_));
    else if (cancelled_) error = "cancelled; the remote command was stopped";
    else if (!ok) {
      error = ssh_failure(code, r["stderr"].get<std::string>(), h.address);
      if (error.empty()) {
        error = fmt::format("exit code {}", code);
        auto lines = split_lines(trim(r["stderr"].get<std::string>()));
        if (!lines.empty()) error += ": " + ellipsize(lines.back(), 300);
      }
    }
    if (s.timed_out) r["timed_out"] = true;
    if (!error.empty()) r["error"] = error;
    Value ev = {{"host", h.name}, {"address", h.address}, {"exit_code", code}, {"duration_ms", r["duration_ms"]}};
    if (plan_.is_canary(i)) ev["canary"] = true;
    if (s.timed_out) ev["timed_out"] = true;
    if (!error.empty()) ev["error"] = error;
    results_[i] = std::move(r);
    plan_.done(i, ok);
    if (emit_) emit_(ok ? ev::kHostSucceeded : ev::kHostFailed, std::move(ev));
    pump();
  }

  void progress() {
    if (!on_output_) return;
    size_t done = plan_.started() - plan_.running();
    std::string line = fmt::format("hosts: {}/{} done, {} failed, {} running", done, hosts_.size(), plan_.failures(),
                                   plan_.running());
    if (line != last_progress_) on_output_(last_progress_ = line);
  }

  void finish() {
    if (!done_) return;
    plugin::Outcome o;
    o.completed = true;
    o.cancelled = cancelled_;
    Value hosts = Value::object(), succeeded = Value::array(), failed = Value::array(), skipped = Value::array(),
          selected = Value::array();
    std::vector<std::string> failed_names;
    for (size_t i = 0; i < hosts_.size(); ++i) {
      const std::string& n = hosts_[i].name;
      selected.push_back(n);
      if (results_[i].is_null()) {
        skipped.push_back(n);
        continue;
      }
      bool ok = results_[i]["ok"].get<bool>();
      (ok ? succeeded : failed).push_back(n);
      if (!ok) failed_names.push_back(n);
      hosts[n] = std::move(results_[i]);
    }
    o.ok = plan_.ok() && !cancelled_;
    if (!o.ok && !cancelled_) o.error = verdict(failed_names, skipped.size(), hosts);
    o.result["hosts"] = std::move(hosts);
    o.result["succeeded"] = std::move(succeeded);
    o.result["failed"] = std::move(failed);
    o.result["skipped"] = std::move(skipped);
    o.result["selected"] = std::move(selected);
    o.result["duration_ms"] = env_.since(t0_).count();
    auto d = std::exchange(done_, nullptr);
    d(std::move(o));
  }

  std::string verdict(const std::vector<std::string>& failed, size_t skipped, const Value& hosts) const {
    std::string names;
    for (size_t i = 0; i < failed.size() && i < 10; ++i) names += (i ? ", " : "") + failed[i];
    if (failed.size() > 10) names += fmt::format(" and {} more", failed.size() - 10);
    std::string first;
    if (!failed.empty() && hosts[failed.front()].contains("error"))
      first = fmt::format(" ({}: {})", failed.front(), hosts[failed.front()]["error"].get<std::string>());
    std::string why = plan_.why().empty() ? "hosts failed" : plan_.why();
    std::string rest = skipped ? fmt::format("; {} host{} not started", skipped, skipped == 1 ? "" : "s") : "";
    return fmt::format("{}: {}{}{}", why, names, first, rest);
  }

  RemoteJob job_;
  sys::Env& env_;
  Millis grace_;
  std::optional<Millis> timeout_;
  std::function<void(const std::string&, Value)> emit_;
  std::function<void(const std::string&)> on_output_;
  plugin::DoneFn done_;
  std::vector<FleetHost> hosts_;
  TargetsSpec spec_;
  std::string control_dir_;
  FleetPlan plan_;
  std::vector<Slot> slots_;
  std::vector<Value> results_;
  sys::MonoTime t0_;
  bool cancelled_ = false;
  std::string last_progress_;
};

class FleetRunning : public plugin::Running {
 public:
  explicit FleetRunning(std::shared_ptr<Fleet> f) : f_(std::move(f)) {}
  void cancel() override {
    if (f_) f_->cancel();
  }

 private:
  std::shared_ptr<Fleet> f_;  // destroyed with the handle: processes still running are killed
};

// An action that fails before any host starts (bad targets, no hosts): done on the loop.
class Failed : public plugin::Running {
 public:
  void cancel() override {}
};

std::unique_ptr<plugin::Running> fail(const plugin::ActionContext& ctx, plugin::DoneFn done, std::string why) {
  plugin::Outcome o;
  o.error = std::move(why);
  o.result["error"] = o.error;
  ctx.env->post([done = std::move(done), o = std::move(o)]() mutable { done(std::move(o)); });
  return std::make_unique<Failed>();
}

}  // namespace

std::unique_ptr<plugin::Running> start_fleet(RemoteJob job, const plugin::ActionContext& ctx, plugin::DoneFn done,
                                             ControlDir& dir) {
  std::string err, key;
  auto spec = parse_targets(ctx.targets, &err, &key);
  if (!spec) return fail(ctx, std::move(done), fmt::format("targets: '{}' {}", key, err));
  std::vector<FleetHost> hosts;
  SelectFailure f;
  if (!select_targets(*spec, ctx.env->cwd(), &hosts, &f)) return fail(ctx, std::move(done), "targets: " + f.message);
  std::string cdir = dir.path(&err);
  if (cdir.empty()) return fail(ctx, std::move(done), err);
  job.grace = ctx.kill_grace;
  auto fleet = std::make_shared<Fleet>(std::move(job), ctx, std::move(done), std::move(hosts), *spec, cdir);
  fleet->pump();
  return std::make_unique<FleetRunning>(std::move(fleet));
}

}  // namespace rb::plugins::fleet
