// runs, status, timeline, note: reading (and annotating) the store.
#include <filesystem>
#include <fmt/format.h>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/views.h"
#include "sys/env.h"
#include "model/live.h"
#include "cli/driver.h"
#include "report/console.h"
#include "parse/runbook_parser.h"
#include "plan/graph.h"
#include "base/events.h"

namespace rb::cli {

namespace {

std::string duration_of(const journal::RunInfo& r) {
  auto a = parse_time(r.started_at);
  bool going = r.ended_at.empty() || r.status == "running" || r.status == "interrupted";
  auto b = going ? std::optional<WallTime>(sys::wall_now()) : parse_time(r.ended_at);
  if (!a || !b) return "?";
  return format_duration_short(std::chrono::duration_cast<Millis>(*b - *a));
}

// The clock of a run still to finish keeps counting: running, or interrupted (paused,
// `resume` continues from the original start; contract §4).
bool clock_running(const journal::RunInfo& r) { return r.status == "running" || r.status == "interrupted"; }

// RTO measured: incident start -> run.ended (or now, while the clock runs).
std::optional<Millis> rto_measured(const journal::RunInfo& r) {
  auto a = parse_time(r.incident_start.empty() ? r.started_at : r.incident_start);
  auto b = r.ended_at.empty() || clock_running(r) ? std::optional<WallTime>(sys::wall_now()) : parse_time(r.ended_at);
  if (!a || !b) return std::nullopt;
  return std::chrono::duration_cast<Millis>(*b - *a);
}

std::string rto_met(const journal::RunInfo& r) {
  if (r.rto_ms == 0) return "-";
  if (clock_running(r)) return "…";
  auto m = rto_measured(r);
  return m && model::rto_met(r.status, *m, Millis(r.rto_ms)) ? "yes" : "no";
}

std::optional<journal::RunInfo> find_run(const Global& g, journal::Store& s, const std::string& id) {
  auto r = s.run(id);
  if (!r) error(no_run_message(g, s, id));
  return r;
}

}  // namespace

Value run_row_json(const journal::RunInfo& r) {
  Value v = r.to_json();
  // The columns of `runs` by their contract names (§3: started, duration, RTO met).
  v["started"] = r.started_at;
  {
    auto a = parse_time(r.started_at);
    auto b = r.ended_at.empty() || clock_running(r) ? std::optional<WallTime>(sys::wall_now()) : parse_time(r.ended_at);
    v["duration_ms"] = a && b ? Value(std::chrono::duration_cast<Millis>(*b - *a).count()) : Value(nullptr);
  }
  auto m = rto_measured(r);
  v["rto_measured_ms"] = m ? Value(m->count()) : Value(nullptr);
  v["rto_met"] = r.rto_ms == 0 || clock_running(r) ? Value(nullptr) : Value(rto_met(r) == "yes");
  return v;
}

namespace {

struct Where {
  std::string step, state = "-";
  int attempt = 0;
  const journal::Event* asked = nullptr;  ///< the approval.requested of a step that waits
  const journal::Event* ended = nullptr;  ///< run.ended: where the run stopped and why
};

Where where_now(const journal::RunInfo& r, const std::vector<journal::Event>& events) {
  Where w;
  for (auto& e : events) {
    if (e.type == ev::kStepStarted) {
      w.step = e.step;
      w.attempt = e.attempt;
      w.state = "running";
    } else if (e.type == ev::kStepSucceeded && e.step == w.step) w.state = "succeeded";
    else if (e.type == ev::kStepFailed && e.step == w.step) w.state = "failed";
    else if (e.type == ev::kRunEnded) w.ended = &e;
    else if (e.type == ev::kApprovalAnswered && e.step == w.step && w.asked) {
      w.state = "running";  // answered (as waiting_question reads it): its gates may run now
      w.asked = nullptr;
    }
    else if (e.type == ev::kApprovalRequested && e.step == w.step) {
      w.state = e.data.value("kind", std::string()) == "manual" ? "waiting for confirmation" : "waiting for approval";
      w.asked = &e;
    }
  }
  if (w.state != "waiting for approval" && w.state != "waiting for confirmation") w.asked = nullptr;
  // A step left without an outcome by a run that stopped: paused (interrupted) or ended.
  if (r.status != "running" && (w.state == "running" || w.asked)) {
    w.state = r.status;
    w.asked = nullptr;
  }
  return w;
}

// What a waiting approval or manual step asks (the fields runbook serve's API shows).
Value waiting_json(const Where& w) {
  if (!w.asked) return nullptr;
  const Value& d = w.asked->data;
  bool manual = d.value("kind", std::string()) == "manual";
  Value v = {{"step", w.step},
             {"kind", manual ? "manual" : "approval"},
             {"prompt", d.value("prompt", std::string())},
             {"second_person", d.value("second_person", false)},
             {"show", d.value("show", Value::object())},
             {"asked_at", w.asked->ts},
             {"answers", manual ? Value{"done", "no"} : Value{"yes", "no"}}};
  auto at = parse_time(w.asked->ts);
  if (at && d.contains("timeout_ms") && d["timeout_ms"].is_number_integer())
    v["deadline"] = rfc3339_ms(*at + Millis(d["timeout_ms"].get<long long>()));
  return v;
}

}  // namespace

Value run_status_json(journal::Store& store, const journal::RunInfo& r, const std::vector<journal::Event>& events,
                      const std::string& store_arg) {
  Where w = where_now(r, events);
  auto held = store.lease(r.incident);
  // The engine: alive only while its lease holds and, when it ran on this machine, its
  // process still exists (a kill -9 leaves a lease that looks fine for seconds).
  std::string gone;
  bool live = r.status == "running" && held && holder_alive(*held, now_ms(), &gone);
  if (r.status == "running" && !held) gone = "no engine holds its incident";
  auto m = rto_measured(r);
  Value v = r.to_json();
  v["current_step"] = w.step.empty() ? Value(nullptr) : Value(w.step);
  v["current_step_state"] = w.state;
  v["attempt"] = w.attempt;
  v["waiting"] = waiting_json(w);
  if (w.ended) {
    v["end_step"] = w.ended->step.empty() ? Value(nullptr) : Value(w.ended->step);
    v["end_reason"] = w.ended->data.value("reason", std::string());
  }
  v["engine"] = live ? Value(held->holder) : Value(nullptr);
  if (r.status == "running" && !live) {
    v["engine_dead"] = gone;
    v["resume"] = fmt::format("runbook{} resume {}", store_arg, r.id);
  }
  v["rto_elapsed_ms"] = m ? Value(m->count()) : Value(nullptr);
  if (r.rto_ms && m) {
    v["rto_remaining_ms"] = r.rto_ms - m->count();
    v["rto_percent"] = 100.0 * static_cast<double>(m->count()) / static_cast<double>(r.rto_ms);
  }
  v["events"] = static_cast<long long>(events.size());
  return v;
}

namespace {

// The projected finish (contract §2): elapsed + the remaining budgets on the planned path
// from where the run is now (drill medians beat budgets, as in the engine). The runbook
// is read again from the path the run recorded; nullopt when it cannot be, or when no
// recovered end can be reached from there.
std::optional<Millis> projected_finish(const Global& g, journal::Store& store, const journal::RunInfo& r,
                                       const std::vector<journal::Event>& events, Millis elapsed) {
  if (!clock_running(r)) return elapsed;
  auto reg = make_registry(g);
  Diagnostics d(r.file);
  auto rb = parse::load_runbook(r.file, *reg, d);
  if (!rb) return std::nullopt;
  auto medians = drill_medians(store, rb->id);
  auto budget = [&](const model::Step& s) {
    auto it = medians.find(s.id);
    return it != medians.end() ? it->second : s.budget.value_or(Millis(0));
  };
  auto remaining = plan::remaining_budgets(*rb, budget);
  std::string step = rb->start;
  std::optional<WallTime> since;
  for (auto& e : events) {
    if (e.type == ev::kStepStarted) {
      step = e.step;
      since = parse_time(e.ts);
    } else if (e.type == ev::kTransition && e.data.contains("to")) {
      step = to_text(e.data["to"]);
      since.reset();
    }
  }
  auto it = rb->step_index.find(step);
  if (it == rb->step_index.end() || !remaining[it->second]) return std::nullopt;
  Millis own = budget(rb->steps[it->second]);
  Millis after = std::max(Millis(0), *remaining[it->second] - own);
  // A paused step runs again on resume: its whole budget is still ahead.
  Millis in_step{0};
  if (since && r.status == "running") in_step = std::chrono::duration_cast<Millis>(sys::wall_now() - *since);
  return elapsed + std::max(Millis(0), own - in_step) + after;
}

}  // namespace

int cmd_runs(const Global& g, int limit) {
  // Listing a store that is not there lists nothing, and does not create it.
  if (std::string path = sqlite_store_path(g); !path.empty() && !std::filesystem::exists(path)) {
    if (g.json) fmt::print("[]\n");
    else fmt::print("no runs: no store at {} yet\n", path);
    return kOk;
  }
  auto store = open_store_or_report(g);
  if (!store) return kEngine;
  auto runs = store->runs(limit);
  if (g.json) {
    Value arr = Value::array();
    for (auto& r : runs) arr.push_back(run_row_json(r));
    fmt::print("{}\n", arr.dump());
    return kOk;
  }
  if (runs.empty()) {
    fmt::print("no runs in {}\n", store->describe());
    return kOk;
  }
  fmt::print("{:<24} {:<18} {:<22} {:<12} {:<20} {:>9} {}\n", "RUN", "INCIDENT", "RUNBOOK", "STATUS", "STARTED",
             "DURATION", "RTO MET");
  for (auto& r : runs)
    fmt::print("{:<24} {:<18} {:<22} {:<12} {:<20} {:>9} {}\n", r.id, r.incident, ellipsize(r.runbook, 22),
               r.status + (r.drill ? "*" : ""), r.started_at.substr(0, 19), duration_of(r), rto_met(r));
  return kOk;
}

int cmd_status(const Global& g, const std::string& run_id) {
  int code = kEngine;
  auto store = open_existing_store_or_report(g, &code);
  if (!store) return code;
  auto r = find_run(g, *store, run_id);
  if (!r) return kInvalid;
  auto events = store->events(run_id);
  auto m = rto_measured(*r);
  std::optional<Millis> proj = m ? projected_finish(g, *store, *r, events, *m) : std::nullopt;
  if (g.json) {
    Value v = run_status_json(*store, *r, events, store_flag(g));
    v["rto_projected_ms"] = proj ? Value(proj->count()) : Value(nullptr);
    if (proj && r->rto_ms) v["rto_projected_met"] = proj->count() <= r->rto_ms;
    fmt::print("{}\n", v.dump());
    return kOk;
  }
  Where w = where_now(*r, events);
  std::string step = w.step, step_state = w.state;
  int attempt = w.attempt;
  auto held = store->lease(r->incident);
  std::string gone;
  bool live = r->status == "running" && held && holder_alive(*held, now_ms(), &gone);
  if (r->status == "running" && !held) gone = "no engine holds its incident";
  fmt::print("run {}  incident {}  {}{}\n", r->id, r->incident, r->status, r->drill ? " (drill)" : "");
  fmt::print("runbook {} — {}\n", r->runbook, r->title);
  fmt::print("started {} by {}\n", r->started_at, r->operator_name);
  if (!step.empty()) fmt::print("step {} (attempt {}): {}\n", step, attempt, step_state);
  if (w.ended) fmt::print("ended {}: {}\n", r->status, w.ended->data.value("reason", std::string()));
  if (w.asked) {
    Value q = waiting_json(w);
    fmt::print("  {}\n  answer from anywhere: runbook{} approve {} {} {}{}\n", to_text(q["prompt"]), store_flag(g),
               r->id, step, q["kind"] == "manual" ? "done|no" : "yes|no",
               q["second_person"].get<bool>() ? " --as NAME (a second person)" : "");
  }
  if (r->status == "running" && live) fmt::print("engine: {}\n", held->holder);
  else if (r->status == "running")
    fmt::print("engine: dead ({}) — continue with `runbook{} resume {}`\n", gone, store_flag(g), r->id);
  else if (r->status == "interrupted")
    fmt::print("paused — continue with `runbook{} resume {}`, or give up with `runbook{} abort {}`\n", store_flag(g),
               r->id, store_flag(g), r->id);
  if (m) {
    bool stopped = r->status != "running" && r->status != "interrupted" && r->status != "recovered";
    if (r->rto_ms && stopped) {
      fmt::print("not recovered (RTO clock stopped at {} of {})\n", format_duration_short(*m),
                 format_duration_short(Millis(r->rto_ms)));
    } else if (r->rto_ms) {
      double pct = 100.0 * static_cast<double>(m->count()) / static_cast<double>(r->rto_ms);
      fmt::print("RTO {} {} of {} ({} {})\n", report::progress_bar(pct), format_duration_short(*m),
                 format_duration_short(Millis(r->rto_ms)),
                 r->rto_ms >= m->count() ? format_duration_short(Millis(r->rto_ms - m->count())) + " left"
                                         : format_duration_short(Millis(m->count() - r->rto_ms)) + " over",
                 clock_running(*r) ? "so far" : "at the end");
    } else {
      fmt::print("elapsed {}\n", format_duration_short(*m));
    }
    if (proj && clock_running(*r))
      fmt::print("projected finish {}{}\n", format_duration_short(*proj),
                 !r->rto_ms ? ""
                 : proj->count() <= r->rto_ms
                     ? fmt::format(" (within the RTO of {})", format_duration_short(Millis(r->rto_ms)))
                     : fmt::format(" (over the RTO of {} by {})", format_duration_short(Millis(r->rto_ms)),
                                   format_duration_short(Millis(proj->count() - r->rto_ms))));
  }
  return kOk;
}

int cmd_timeline(const Global& g, const std::string& run_id, const std::string& tz) {
  int code = kEngine;
  auto store = open_existing_store_or_report(g, &code);
  if (!store) return code;
  auto r = find_run(g, *store, run_id);
  if (!r) return kInvalid;
  for (auto& e : store->events(run_id)) {
    if (g.json) {
      fmt::print("{}\n", e.to_json().dump());
      continue;
    }
    auto t = parse_time(e.ts);
    fmt::print("{:>4}  {}  +{:>8}  {}\n", e.seq, t ? clock_time(*t, tz) : e.ts,
               format_duration_short(Millis(static_cast<long long>(e.t * 1000))), report::Console::describe(e));
  }
  // The events are shown (never an empty answer), but damage is said and is exit 4.
  if (Status s = verify_timeline(*store, run_id); !s.ok()) {
    std::fflush(stdout);
    error(fmt::format("run {}: the timeline is damaged: {}; the events shown may not be what the engine recorded",
                      run_id, s.message()));
    return kEngine;
  }
  return kOk;
}

int cmd_note(const Global& g, const std::string& run_id, const std::string& text, const std::string& tag,
             const std::string& op) {
  static const std::vector<std::string> tags = {"root-cause", "impact", "action-item", "lesson"};
  if (!tag.empty() && std::find(tags.begin(), tags.end(), tag) == tags.end()) {
    error(fmt::format("--tag '{}' must be one of root-cause, impact, action-item, lesson{}", tag,
                      did_you_mean_suffix(tag, tags)));
    return kInvalid;
  }
  if (trim(text).empty()) {
    error("the note is empty");
    return kInvalid;
  }
  int code = kEngine;
  auto store = open_existing_store_or_report(g, &code);
  if (!store) return code;
  auto r = find_run(g, *store, run_id);
  if (!r) return kInvalid;
  Value note = {{"text", text}, {"by", operator_name(op)}};
  if (!tag.empty()) note["tag"] = tag;
  // A live engine journals the note itself (one writer per timeline); otherwise append.
  if (engine_alive(*store, *r)) {
    auto s = store->post_request(run_id, "note", note);
    if (!s.ok()) {
      error(s.message());
      return kEngine;
    }
    if (g.json) fmt::print("{}\n", Value{{"run", run_id}, {"note", note}, {"queued", true}}.dump());
    else fmt::print("note queued for run {} (its engine records it within a second)\n", run_id);
    return kOk;
  }
  journal::Event e;
  auto now = sys::wall_now();
  e.ts = rfc3339_ms(now);
  auto start = parse_time(r->started_at);
  e.t = start ? static_cast<double>(to_unix_ms(now) - to_unix_ms(*start)) / 1000.0 : 0;
  e.type = ev::kNote;
  e.data = note;
  auto s = store->append_next(run_id, e);
  if (!s.ok()) {
    error(s.message());
    return kEngine;
  }
  if (g.json) fmt::print("{}\n", Value{{"run", run_id}, {"note", note}, {"queued", false}}.dump());
  else fmt::print("note added to run {}\n", run_id);
  return kOk;
}

}  // namespace rb::cli
