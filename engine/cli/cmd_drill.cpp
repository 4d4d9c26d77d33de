// runbook drill list|due|run NAME|run --due|history [NAME]|install --cron|--systemd|--k8s
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/stats.h"
#include "base/text.h"
#include "cli/commands.h"
#include "model/live.h"
#include "cli/driver.h"
#include "drill/drills.h"
#include "report/report.h"
#include "sys/env.h"
#include "base/events.h"

namespace rb::cli {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }
void guard_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

std::optional<std::vector<drill::Drill>> load(const DrillFlags& f, plugin::Registry& reg) {
  Diagnostics d(f.file);
  if (!std::filesystem::exists(f.file)) {
    error(fmt::format("no drills file '{}': give one with --drills FILE", f.file));
    return std::nullopt;
  }
  auto drills = drill::load_drills(f.file, reg, d);
  for (auto& x : d.list()) fmt::print(stderr, "{}\n", x.format());
  return drills;
}

const drill::Drill* find(const std::vector<drill::Drill>& drills, const std::string& name) {
  for (auto& d : drills)
    if (d.name == name) return &d;
  return nullptr;
}

std::string local_time(WallTime t, const std::string& tz) {
  return fmt::format("{} {} {}", calendar_date(t, tz), clock_time(t, tz), tz);
}

// ---- list, due -------------------------------------------------------------------------

int list(const Global& g, const std::vector<drill::Drill>& drills, WallTime now) {
  Value out = Value::array();
  for (auto& d : drills) {
    std::vector<std::string> next;
    WallTime t = now;
    for (int i = 0; i < 3; ++i) {
      auto n = drill::next_fire(d.schedule, t, d.timezone);
      if (!n) break;
      next.push_back(local_time(*n, d.timezone));
      t = *n;
    }
    if (g.json) {
      out.push_back({{"name", d.name}, {"runbook", d.runbook}, {"schedule", d.schedule.text}, {"timezone", d.timezone},
                     {"next", next}});
      continue;
    }
    fmt::print("{}  {}\n  schedule \"{}\" ({})\n", d.name, d.runbook, d.schedule.text, d.timezone);
    for (auto& n : next) fmt::print("    next: {}\n", n);
  }
  if (g.json) fmt::print("{}\n", out.dump());
  return kOk;
}

struct Due {
  const drill::Drill* drill;
  std::string why;
};

std::vector<Due> due_drills(journal::Store& store, const std::vector<drill::Drill>& drills, WallTime at) {
  std::vector<Due> out;
  for (auto& d : drills) {
    auto recs = store.drill_records(d.name);
    if (recs.empty()) {
      out.push_back({&d, "never run"});
      continue;
    }
    auto last = parse_time(recs.back().started_at);
    if (!last) continue;
    auto next = drill::next_fire(d.schedule, *last, d.timezone);
    if (next && *next <= at)
      out.push_back({&d, fmt::format("scheduled {} since the last drill ({})", local_time(*next, d.timezone),
                                     recs.back().started_at)});
  }
  return out;
}

// ---- run -----------------------------------------------------------------------------

// setup/teardown: a small runbook run without a store (printed, not journaled).
bool run_actions(const Global& g, const model::Runbook& rb, plugin::Registry& reg, bool ignore_signals) {
  Masker masker;
  exec::ExecOptions opts;
  opts.run_id = "drill-" + rb.id;
  opts.incident_id = "-";
  opts.operator_name = operator_name("");
  opts.drill = true;
  opts.run_start = sys::wall_now();
  DriveOptions d = drive_options(g, "UTC", nullptr);
  if (d.mode == report::ConsoleMode::Live) d.mode = report::ConsoleMode::Plain;
  journal::RunInfo info;
  info.id = opts.run_id;
  info.started_at = rfc3339_ms(opts.run_start);
  d.new_run = info;
  d.yes = true;
  d.typed_answers = false;
  d.ignore_signals = ignore_signals;
  int code = drive(rb, std::move(opts), reg, masker, d);
  guard_signals();
  return code == 0;
}

int run_one(const Global& g, const DrillFlags& f, const drill::Drill& d, plugin::Registry& reg) {
  auto store = open_store_or_report(g);
  if (!store) return kEngine;
  journal::DrillRecord rec;
  rec.drill = d.name;
  rec.started_at = rfc3339_ms(sys::wall_now());
  guard_signals();
  if (!g.json) fmt::print("== drill {}: setup\n", d.name);
  rec.setup_ok = !d.setup || run_actions(g, *d.setup, reg, false);
  if (g_interrupted) rec.setup_ok = false;
  std::string run_id;
  if (rec.setup_ok) {
    if (!g.json) fmt::print("== drill {}: {}\n", d.name, d.runbook);
    RunFlags rf;
    rf.file = d.runbook;
    rf.inputs = d.inputs;
    rf.drill = true;
    rf.drill_name = d.name;
    rf.yes = true;
    // A valid identity ("drill:NAME" was refused as one, so every answer of the drills
    // file was dropped and --yes approved instead, even a `no`). Answers without "@WHO"
    // are given by the drill, the identity --yes answers as in a drill.
    rf.operator_name = ("drill-" + d.name).substr(0, 64);
    for (auto& [step, ans] : d.answers)
      rf.answers.push_back(step + "=" + ans + (ans.find('@') == std::string::npos ? "@drill" : ""));
    cmd_run(g, rf, &run_id);
    guard_signals();
  } else {
    rec.status = "setup-failed";
    rec.note = "setup failed or was interrupted: the runbook did not run";
  }
  if (!g.json) fmt::print("== drill {}: teardown\n", d.name);
  rec.teardown_ok = !d.teardown || run_actions(g, *d.teardown, reg, true);
  rec.ended_at = rfc3339_ms(sys::wall_now());
  if (auto run = run_id.empty() ? std::nullopt : store->run(run_id)) {
    rec.run_id = run->id;
    rec.runbook = run->runbook;
    rec.status = run->status;
    rec.rto_ms = run->rto_ms;
    auto a = parse_time(run->incident_start), b = parse_time(run->ended_at);
    if (a && b) rec.measured_ms = to_unix_ms(*b) - to_unix_ms(*a);
    rec.passed = run->rto_ms == 0 ? run->status == "recovered"
                                  : model::rto_met(run->status, Millis(rec.measured_ms), Millis(run->rto_ms));
  } else if (rec.setup_ok) {
    rec.status = "not-started";
    rec.note = "the runbook could not start (see the errors above)";
  }
  if (!rec.teardown_ok) rec.note += (rec.note.empty() ? "" : "; ") + std::string("teardown failed");
  if (auto s = store->record_drill(rec); !s.ok()) {
    error(s.message());
    return kEngine;
  }
  std::string verdict = rec.passed ? "PASSED" : "FAILED";
  if (g.json) {
    fmt::print("{}\n", Value{{"drill", d.name}, {"run", rec.run_id}, {"status", rec.status}, {"passed", rec.passed},
                             {"measured_ms", rec.measured_ms}, {"rto_ms", rec.rto_ms}, {"teardown_ok", rec.teardown_ok}}
                           .dump());
  } else {
    fmt::print("== drill {}: {} — run {} {}{}{}\n", d.name, verdict, rec.run_id.empty() ? "-" : rec.run_id, rec.status,
               rec.rto_ms ? fmt::format(", RTO {} of {}", report::human_seconds(rec.measured_ms / 1000.0),
                                        report::human_seconds(rec.rto_ms / 1000.0))
                          : "",
               rec.teardown_ok ? "" : " (teardown failed)");
  }
  return rec.passed ? kOk : kFailed;
}

// ---- history ---------------------------------------------------------------------------

struct StepStats {
  std::map<std::string, long long> durations;  // step -> ms
  std::vector<std::string> gate_failures;
};

StepStats stats_of(journal::Store& store, const std::string& run_id) {
  StepStats s;
  for (auto& e : store.events(run_id)) {
    if (e.type == ev::kStepSucceeded || e.type == ev::kStepFailed) s.durations[e.step] = e.data.value("duration_ms", 0LL);
    if (e.type == ev::kCheckFailed && !e.data.value("until", false)) s.gate_failures.push_back(e.step + ": " + e.data.value("check", std::string()));
  }
  return s;
}

// Each step's time in the last drills (oldest first) and its median over all of them: the
// scorecard's "each step's time", not only the slowest three of each drill.
void print_step_times(const std::vector<StepStats>& stats) {
  constexpr size_t kShown = 6;
  std::map<std::string, std::vector<long long>> all;
  for (auto& s : stats)
    for (auto& [step, ms] : s.durations) all[step];
  if (all.empty()) return;
  size_t from = stats.size() > kShown ? stats.size() - kShown : 0;
  fmt::print("  step times, last {} drill(s) oldest first, and the median over {}:\n", stats.size() - from, stats.size());
  for (auto& [step, times] : all) {
    std::string row;
    for (size_t i = 0; i < stats.size(); ++i) {
      auto it = stats[i].durations.find(step);
      if (it != stats[i].durations.end()) times.push_back(it->second);
      if (i >= from) row += fmt::format(" {:>8}", it == stats[i].durations.end() ? "-" : report::human_seconds(it->second / 1000.0));
    }
    fmt::print("    {:<28}{}   median {}\n", ellipsize(step, 28), row, report::human_seconds(median(times) / 1000.0));
  }
}

int history(const Global& g, journal::Store& store, const std::vector<drill::Drill>& drills, const std::string& only,
            const std::string& tz) {
  Value out = Value::array();
  bool any = false;
  for (auto& d : drills) {
    if (!only.empty() && d.name != only) continue;
    auto recs = store.drill_records(d.name);
    std::vector<StepStats> stats;
    for (auto& r : recs) stats.push_back(r.run_id.empty() ? StepStats{} : stats_of(store, r.run_id));
    // Trend: the latest drill's steps against their median over the earlier ones.
    Value flags = Value::array();
    if (recs.size() >= 3) {
      for (auto& [step, ms] : stats.back().durations) {
        std::vector<long long> earlier;
        for (size_t i = 0; i + 1 < stats.size(); ++i)
          if (auto it = stats[i].durations.find(step); it != stats[i].durations.end()) earlier.push_back(it->second);
        if (earlier.size() < 2) continue;
        long long med = median(earlier);
        if (med > 0 && static_cast<double>(ms) > 1.5 * static_cast<double>(med))
          flags.push_back({{"step", step}, {"latest_ms", ms}, {"median_ms", med}, {"ratio", static_cast<double>(ms) / med},
                           {"earlier_drills", earlier.size()}});
      }
    }
    if (g.json) {
      Value rs = Value::array();
      for (size_t i = 0; i < recs.size(); ++i) {
        auto& r = recs[i];
        Value steps = Value::object();
        for (auto& [k, v] : stats[i].durations) steps[k] = v;
        rs.push_back({{"started_at", r.started_at}, {"run", r.run_id}, {"status", r.status}, {"passed", r.passed},
                      {"measured_ms", r.measured_ms}, {"rto_ms", r.rto_ms}, {"steps", steps},
                      {"gate_failures", stats[i].gate_failures}, {"teardown_ok", r.teardown_ok}});
      }
      out.push_back({{"drill", d.name}, {"runbook", d.runbook}, {"records", rs}, {"regressions", flags}});
      continue;
    }
    any = true;
    int passed = static_cast<int>(std::count_if(recs.begin(), recs.end(), [](auto& r) { return r.passed; }));
    fmt::print("drill {} — {} ({} drills, {} passed)\n", d.name, d.runbook, recs.size(), passed);
    if (recs.empty()) {
      fmt::print("  never run\n\n");
      continue;
    }
    fmt::print("  {:<11} {:<8} {:<24} {:<44} {}\n", "DATE", "RESULT", "RTO USED", "SLOWEST STEPS", "GATE FAILURES");
    for (size_t i = 0; i < recs.size(); ++i) {
      auto& r = recs[i];
      std::vector<std::pair<long long, std::string>> slow;
      for (auto& [k, v] : stats[i].durations) slow.push_back({v, k});
      std::sort(slow.rbegin(), slow.rend());
      std::vector<std::string> top;
      for (size_t k = 0; k < slow.size() && k < 3; ++k)
        top.push_back(fmt::format("{} {}", slow[k].second, report::human_seconds(slow[k].first / 1000.0)));
      std::string rto = r.rto_ms ? fmt::format("{} / {} ({:.0f}%)", report::human_seconds(r.measured_ms / 1000.0),
                                               report::human_seconds(r.rto_ms / 1000.0), 100.0 * r.measured_ms / r.rto_ms)
                                 : "-";
      auto when = parse_time(r.started_at);
      fmt::print("  {:<11} {:<8} {:<24} {:<44} {}\n", when ? calendar_date(*when, tz) : r.started_at.substr(0, 10),
                 r.passed ? "passed" : "FAILED", rto, ellipsize(join(top, ", "), 44),
                 stats[i].gate_failures.empty() ? (r.status == "recovered" ? "" : r.status) : join(stats[i].gate_failures, "; "));
    }
    print_step_times(stats);
    if (flags.empty()) {
      fmt::print("  trend: no step got markedly slower (> 1.5x its median) in the last drill\n\n");
    } else {
      for (auto& fl : flags)
        fmt::print("  ⚠ REGRESSED: step '{}' took {} in the last drill, {:.1f}x its median of {} over {} earlier drills\n",
                   fl["step"].get<std::string>(), report::human_seconds(fl["latest_ms"].get<long long>() / 1000.0),
                   fl["ratio"].get<double>(), report::human_seconds(fl["median_ms"].get<long long>() / 1000.0),
                   fl["earlier_drills"].get<size_t>());
      fmt::print("\n");
    }
  }
  if (g.json) fmt::print("{}\n", out.dump());
  else if (!any) fmt::print("no drills\n");
  return kOk;
}

// ---- install ---------------------------------------------------------------------------

std::string self_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "runbook";
}

// A value for an environment file that both /bin/sh (`. FILE`) and systemd's
// EnvironmentFile= read the same way: single-quoted, or backslash-escaped when it holds a
// single quote. nullopt for a value no such file can hold (a newline).
std::optional<std::string> env_file_value(const std::string& v) {
  if (v.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) return std::nullopt;
  if (v.find('\'') == std::string::npos) return "'" + v + "'";
  std::string out;
  for (char c : v) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("_./:@%+=,-").find(c) == std::string_view::npos)
      out += '\\';
    out += c;
  }
  return out;
}

// Writes `content` to DIR/name with `mode` from the first byte (never readable by others
// in between).
bool write_file(const std::filesystem::path& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
    return false;
  }
  ::fchmod(fd, mode);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok) error(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  return ok;
}

struct Generated {
  std::string name, content;
  bool secret = false;  ///< holds the store URL: mode 0600, never printed
};

// A crontab line's command: cron turns an unescaped '%' into a line break (the rest becomes
// the command's stdin), so every '%' is written as "\%" (cron removes the backslash).
std::string cron_command(std::string_view cmd) {
  std::string out;
  for (char c : cmd) {
    if (c == '%') out += '\\';
    out += c;
  }
  return out;
}

// A value of a systemd unit setting: '%' starts a specifier ("%%" is one '%').
std::string unit_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    out += c;
    if (c == '%') out += '%';
  }
  return out;
}

// One word of ExecStart= as systemd reads it, not as a shell does: double-quoted with C-style
// escapes for '\' and '"', "%%" for a '%' (specifiers) and "$$" for a '$' (variables).
std::string unit_arg(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '%' || c == '$') out += c;
    out += c;
  }
  return out + "\"";
}

// `v` with control characters written as \xNN, for an error message.
std::string printable(std::string_view v) {
  std::string out;
  for (char c : v)
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7F ? fmt::format("\\x{:02x}", static_cast<unsigned char>(c))
                                                             : std::string(1, c);
  return out;
}

// The first path or name that would end up in a generated line and holds a control
// character (a line break would start a new crontab entry or unit setting).
std::optional<std::string> unwritable(const std::vector<std::string>& values) {
  for (auto& v : values)
    for (char c : v)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return v;
  return std::nullopt;
}

// crontab lines or systemd units (Kubernetes: cmd_k8s.cpp). The store URL (it may hold a
// password) goes only into an environment file of mode 0600; entries reference it and no
// command line carries it.
std::vector<Generated> generate(const DrillFlags& f, const std::vector<drill::Drill>& drills, const std::string& store,
                                const std::string& env_path) {
  std::string exe = self_path();
  std::string dir = std::filesystem::current_path().string();
  std::string file = std::filesystem::absolute(f.file).string();
  std::vector<Generated> files;
  auto cmdline = [&](const drill::Drill& d) {
    return fmt::format("{} drill run {} --drills {}", shell_quote(exe), d.name, shell_quote(file));
  };
  if (f.target == "cron") {
    if (!store.empty()) files.push_back({"runbook-drills.env", "RUNBOOK_STORE=" + *env_file_value(store) + "\n", true});
    std::string source = store.empty() ? "" : fmt::format("set -a && . {} && set +a && ", shell_quote(env_path));
    std::string tab = fmt::format("# runbook drills from {} (runbook drill install --cron)\n", file);
    for (auto& d : drills) {
      tab += fmt::format("CRON_TZ={}\n", d.timezone);
      tab += fmt::format("{} {}\n", d.schedule.text,
                         cron_command(fmt::format("umask 077 && cd {} && mkdir -p .runbook && {}{} >> .runbook/drill-{}.log 2>&1",
                                                  shell_quote(dir), source, cmdline(d), d.name)));
    }
    files.push_back({"runbook-drills.crontab", tab});
  } else {
    if (!store.empty()) files.push_back({"runbook-drills.env", "RUNBOOK_STORE=" + *env_file_value(store) + "\n", true});
    std::string env_line = store.empty() ? "" : "EnvironmentFile=" + unit_value(env_path) + "\n";
    for (auto& d : drills) {
      std::string unit = "runbook-drill-" + d.name;
      std::string exec = fmt::format("{} drill run {} --drills {}", unit_arg(exe), d.name, unit_arg(file));
      files.push_back({unit + ".service", fmt::format("[Unit]\nDescription=runbook drill {} ({})\n\n[Service]\nType=oneshot\nUMask=0077\n"
                                                      "WorkingDirectory={}\n{}ExecStart={}\n",
                                                      d.name, unit_value(d.runbook), unit_value(dir), env_line, exec)});
      std::string timer = fmt::format("[Unit]\nDescription=Schedule of runbook drill {} (cron \"{}\" {})\n\n[Timer]\n", d.name,
                                      unit_value(d.schedule.text), unit_value(d.timezone));
      for (auto& cal : drill::to_oncalendar(d.schedule, d.timezone)) timer += "OnCalendar=" + cal + "\n";
      timer += fmt::format("Persistent=true\nUnit={}.service\n\n[Install]\nWantedBy=timers.target\n", unit);
      files.push_back({unit + ".timer", timer});
    }
  }
  return files;
}

int install(const Global& g, const DrillFlags& f, const std::vector<drill::Drill>& drills, plugin::Registry& reg) {
  if (f.target == "k8s") return k8s_drills(g, f, drills, reg);
  // The store the drills must use: --store, else $RUNBOOK_STORE (else the default path,
  // relative to the working directory, which needs no configuration).
  const char* env_store = std::getenv("RUNBOOK_STORE");
  std::string store = !g.store.empty() ? g.store : (env_store ? env_store : "");
  if (!store.empty() && f.dir.empty()) {
    error(fmt::format("drill install with a store ({}) writes it to an environment file of mode 0600, never into "
                      "printed entries: give --dir DIR",
                      mask_url_passwords(store)));
    return kInvalid;
  }
  if (!store.empty() && !env_file_value(store)) {
    error("the store URL holds a line break");
    return kInvalid;
  }
  std::filesystem::path dir = f.dir.empty() ? std::filesystem::path() : std::filesystem::absolute(f.dir);
  std::vector<std::string> written = {self_path(), std::filesystem::current_path().string(),
                                      std::filesystem::absolute(f.file).string(), (dir / "runbook-drills.env").string()};
  for (auto& d : drills) written.insert(written.end(), {d.runbook, d.timezone});
  if (auto bad = unwritable(written)) {
    error(fmt::format("drill install: the path or name '{}' holds a control character (a line break would start a new "
                      "entry in the generated file): rename it",
                      printable(*bad)));
    return kInvalid;
  }
  auto files = generate(f, drills, store, (dir / "runbook-drills.env").string());
  if (f.dir.empty()) {
    for (auto& gf : files) {
      if (f.target == "systemd") fmt::print("# --- {} ---\n", gf.name);
      fmt::print("{}", gf.content);
    }
    return kOk;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (auto& gf : files) {
    if (!write_file(dir / gf.name, gf.content, gf.secret ? 0600 : 0644)) return kEngine;
    if (!g.json) fmt::print("wrote {}{}\n", (dir / gf.name).string(), gf.secret ? " (mode 0600: it holds the store URL)" : "");
  }
  return kOk;
}

}  // namespace

int cmd_drill(const Global& g, const DrillFlags& f) {
  auto reg = make_registry(g);
  auto drills = load(f, *reg);
  if (!drills) return kInvalid;
  WallTime now = sys::wall_now();
  if (!f.at.empty()) {
    auto t = parse_time(f.at);
    if (!t) {
      error(fmt::format("--at '{}' is not a time (RFC 3339)", f.at));
      return kInvalid;
    }
    now = *t;
  }
  if (f.action == "list") return list(g, *drills, now);
  if (f.action == "install") return install(g, f, *drills, *reg);
  bool named = (f.action == "run" && !f.due) || (f.action == "history" && !f.name.empty());
  if (named && !find(*drills, f.name)) {
    std::vector<std::string> names;
    for (auto& x : *drills) names.push_back(x.name);
    error(fmt::format("no drill '{}' in {}{}", f.name, f.file, did_you_mean_suffix(f.name, names)));
    return kInvalid;
  }
  if (f.action == "run" && !f.due) return run_one(g, f, *find(*drills, f.name), *reg);  // found above
  auto store = open_store_or_report(g);
  if (!store) return kEngine;
  if (f.action == "history") return history(g, *store, *drills, f.name, f.tz);
  auto due = due_drills(*store, *drills, now);
  if (f.action == "due") {
    if (g.json) {
      Value out = Value::array();
      for (auto& x : due) out.push_back({{"name", x.drill->name}, {"why", x.why}});
      fmt::print("{}\n", out.dump());
    } else if (due.empty()) {
      fmt::print("no drill is due\n");
    } else {
      for (auto& x : due) fmt::print("{}  due: {}\n", x.drill->name, x.why);
    }
    return kOk;
  }
  // run --due: one after another, as a scheduler calls it.
  store.reset();
  int code = kOk;
  for (auto& x : due) {
    int c = run_one(g, f, *x.drill, *reg);
    if (c != kOk) code = c == kEngine ? kEngine : (code == kEngine ? kEngine : kFailed);
  }
  if (due.empty() && !g.json) fmt::print("no drill is due\n");
  return code;
}

}  // namespace rb::cli
