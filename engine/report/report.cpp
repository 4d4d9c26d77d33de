#include "report/report.h"

#include <cmath>
#include <fmt/format.h>
#include <map>

#include "base/duration.h"
#include "model/live.h"
#include "base/events.h"

namespace rb::report {

std::string human_seconds(double s) {
  if (s < 0) s = 0;
  if (s < 10) return fmt::format("{:.1f}s", s);
  long long t = std::llround(s);
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return t % 60 ? fmt::format("{}m{:02}s", t / 60, t % 60) : fmt::format("{}m", t / 60);
  if (t % 60) return fmt::format("{}h{:02}m{:02}s", t / 3600, (t / 60) % 60, t % 60);
  return (t / 60) % 60 ? fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60) : fmt::format("{}h", t / 3600);
}

std::string answer_word(const Value& answered) {
  if (!answered.value("answered", false)) return "unanswered";
  bool yes = answered.value("approved", false);
  if (answered.contains("confirmed")) return yes ? "confirmed" : "not done";  // a manual step
  return yes ? "approved" : "rejected";
}

std::string result_word(const StepSummary& s) {
  if (s.answer == "confirmed" && s.result == "succeeded") return "confirmed";
  if ((s.answer == "not done" || s.answer == "rejected" || s.answer == "unanswered") && s.result != "succeeded")
    return s.answer;
  return s.result;
}

namespace {

StepSummary& step_of(Report& r, std::map<std::string, size_t>& index, const journal::Event& e) {
  auto it = index.find(e.step);
  if (it != index.end()) return r.steps[it->second];
  index[e.step] = r.steps.size();
  StepSummary s;
  s.id = e.step;
  s.title = e.step;
  s.start = e.t;
  s.end = e.t;
  r.steps.push_back(s);
  return r.steps.back();
}

// A fleet step's recorded result (result.hosts, result.skipped): its per-host rows.
void fleet_rows(StepSummary& s, const Value& result) {
  if (!result.is_object() || !result.contains("hosts") || !result["hosts"].is_object()) return;
  s.hosts.clear();
  s.hosts_skipped.clear();
  for (auto& [name, h] : result["hosts"].items()) {
    if (!h.is_object()) continue;
    HostRow row;
    row.host = name;
    row.ok = h.value("ok", false);
    row.exit_code = h.value("exit_code", 0LL);
    row.duration_ms = h.value("duration_ms", 0LL);
    row.error = h.value("error", std::string());
    s.hosts.push_back(std::move(row));
  }
  if (result.contains("skipped") && result["skipped"].is_array())
    for (auto& n : result["skipped"])
      if (n.is_string()) s.hosts_skipped.push_back(n.get<std::string>());
}

// A step's outcome: its result, its last attempt's span, its duration and hosts.
void step_ended(StepSummary& s, const journal::Event& e, std::map<std::string, double>& open) {
  const Value& d = e.data;
  const std::string& t = e.type;
  s.end = e.t;
  double st = open.count(e.step) ? open[e.step] : e.t;
  if (t == ev::kStepSkipped) {
    s.result = "skipped";
  } else if (t == ev::kStepSucceeded) {
    if (s.result != "confirmed") s.result = "succeeded";
    s.spans.push_back({st, e.t, "attempt", true});
  } else {
    s.result = d.value("outcome", std::string("failed")) == "timed_out" ? "timed_out" : "failed";
    s.error = d.value("error", std::string());
    s.spans.push_back({st, e.t, "attempt", false});
  }
  s.duration_ms = d.value("duration_ms", static_cast<long long>(std::llround((e.t - s.start) * 1000)));
  if (d.contains("attempts")) s.attempts = d["attempts"].get<int>();
  if (d.contains("result")) fleet_rows(s, d["result"]);
  open.erase(e.step);
}

// A step started and never finished before this pause (or before a resume after a
// kill -9): that attempt was cut short. It is "interrupted", with the time it ran —
// never "running" in the report of a paused or ended run, never a passed testcase.
void cut_short(Report& r, const std::map<std::string, size_t>& index, const journal::Event& e,
               std::map<std::string, double>& open) {
  for (auto it = open.begin(); it != open.end();) {
    auto found = index.find(it->first);
    if (it->first.rfind("approval:", 0) == 0 || found == index.end()) {
      ++it;
      continue;
    }
    auto& st = r.steps[found->second];
    st.result = "interrupted";
    st.end = e.t;
    st.duration_ms = std::llround((e.t - it->second) * 1000);
    st.spans.push_back({it->second, e.t, "attempt", false});
    it = open.erase(it);
  }
}

void apply(Report& r, std::map<std::string, size_t>& index, const journal::Event& e, std::map<std::string, double>& open) {
  const Value& d = e.data;
  const std::string& t = e.type;
  if (t == ev::kStepStarted || t == ev::kStepVerifying) {
    auto& s = step_of(r, index, e);
    s.title = d.value("title", s.title);
    s.phase = d.value("phase", s.phase);
    if (d.contains("budget_ms")) s.budget_ms = d["budget_ms"].get<long long>();
    s.attempts = std::max(s.attempts, e.attempt);
    s.result = "running";
    open[e.step] = e.t;
  } else if (t == ev::kStepSucceeded || t == ev::kStepFailed || t == ev::kStepSkipped) {
    step_ended(step_of(r, index, e), e, open);
  } else if (t == ev::kStepConfirmed) {
    step_of(r, index, e).result = "confirmed";
  } else if (t == ev::kStepAttemptFailed) {
    auto& s = step_of(r, index, e);
    if (d.contains("result")) fleet_rows(s, d["result"]);
    double st = open.count(e.step) ? open[e.step] : e.t;
    s.spans.push_back({st, e.t, "attempt", false});
    open.erase(e.step);
  } else if (t == ev::kStepRetrying) {
    auto& s = step_of(r, index, e);
    double delay = static_cast<double>(d.value("delay_ms", 0LL)) / 1000.0;
    s.spans.push_back({e.t, e.t + delay, "retry-wait", true});
  } else if (t == ev::kStepOverBudget) {
    step_of(r, index, e).over_budget = true;
  } else if ((t == ev::kCheckPassed || t == ev::kCheckFailed) && !d.value("until", false)) {
    // A verify gate (a `wait.until` condition is no gate: its step's outcome tells it).
    auto& s = step_of(r, index, e);
    bool ok = t == ev::kCheckPassed;
    s.gates.push_back({d.value("check", std::string("check")), ok});
    if (!ok) s.gate_failure = fmt::format("gate '{}' failed: {}", d.value("check", std::string("check")), d.value("error", std::string()));
  } else if (t == ev::kApprovalRequested) {
    open["approval:" + e.step] = e.t;
  } else if (t == ev::kApprovalAnswered) {
    auto& s = step_of(r, index, e);
    double st = open.count("approval:" + e.step) ? open["approval:" + e.step] : e.t;
    s.spans.push_back({st, e.t, "approval-wait", d.value("approved", false)});
    if (d.value("answered", false)) s.approved_by = d.value("by", std::string());
    s.answer = answer_word(d);
  } else if (t == ev::kRollbackFinished) {
    step_of(r, index, e).rolled_back = true;
  } else if (t == ev::kRunInterrupted || t == ev::kRunResumed) {
    cut_short(r, index, e, open);
  } else if (t == ev::kNote) {
    r.notes.push_back({d.value("text", std::string()), d.value("tag", std::string()), d.value("by", std::string()), e.ts});
  } else if (t == ev::kRpoRecorded && d.contains("rpo_seconds")) {
    r.rpo_measured = d["rpo_seconds"].get<double>();
  } else if (t == ev::kRunEnded) {
    r.status = d.value("status", std::string("failed"));
    r.end_reason = d.value("reason", std::string());
  }
}

}  // namespace

Report build_report(const journal::RunInfo& run, const std::vector<journal::Event>& events, WallTime now,
                    const std::string& version) {
  Report r;
  r.run = run;
  r.events = events;
  r.version = version;
  r.status = run.status;
  std::map<std::string, size_t> index;
  std::map<std::string, double> open;
  for (auto& e : events) apply(r, index, e, open);
  r.ongoing = run.status == "running";
  if (r.ongoing) r.status = "running";
  auto start = parse_time(run.started_at).value_or(now);
  auto clock = parse_time(run.incident_start.empty() ? run.started_at : run.incident_start).value_or(start);
  r.clock_offset = static_cast<double>(to_unix_ms(start) - to_unix_ms(clock)) / 1000.0;
  WallTime end = now;
  if (!r.ongoing) {
    if (auto e = parse_time(run.ended_at)) end = *e;
    else if (!events.empty()) end = parse_time(events.back().ts).value_or(now);
  }
  r.duration = static_cast<double>(to_unix_ms(end) - to_unix_ms(start)) / 1000.0;
  r.rto_actual = static_cast<double>(to_unix_ms(end) - to_unix_ms(clock)) / 1000.0;
  if (r.ongoing)
    for (auto& s : r.steps)
      if (s.result == "running") s.end = r.duration;
  if (run.rto_ms > 0) {
    r.rto_target = static_cast<double>(run.rto_ms) / 1000.0;
    if (!r.ongoing) r.rto_met = model::rto_met(r.status, Millis(std::llround(r.rto_actual * 1000)), Millis(run.rto_ms));
  }
  if (run.rpo_ms > 0) {
    r.rpo_target = static_cast<double>(run.rpo_ms) / 1000.0;
    if (r.rpo_measured) r.rpo_met = *r.rpo_measured <= *r.rpo_target;
  }
  if (r.status == "recovered") r.downtime = r.rto_actual;
  return r;
}

Value to_json(const Report& r) {
  Value steps = Value::array();
  for (auto& s : r.steps) {
    Value v = {{"id", s.id},          {"title", s.title},   {"phase", s.phase},
               {"result", s.result},  {"attempts", s.attempts},
               {"start_s", s.start},  {"end_s", s.end},     {"duration_ms", s.duration_ms},
               {"budget_ms", s.budget_ms ? Value(*s.budget_ms) : Value(nullptr)},
               {"over_budget", s.over_budget}};
    Value gates = Value::array();
    for (auto& [name, ok] : s.gates) gates.push_back({{"name", name}, {"passed", ok}});
    v["gates"] = gates;
    v["error"] = s.error.empty() ? Value(nullptr) : Value(s.error);
    v["approved_by"] = s.approved_by.empty() ? Value(nullptr) : Value(s.approved_by);
    if (!s.answer.empty()) v["answer"] = s.answer;
    v["rolled_back"] = s.rolled_back;
    if (!s.hosts.empty()) {
      Value hosts = Value::array();
      for (auto& h : s.hosts)
        hosts.push_back({{"host", h.host}, {"ok", h.ok}, {"exit_code", h.exit_code}, {"duration_ms", h.duration_ms},
                         {"error", h.error.empty() ? Value(nullptr) : Value(h.error)}});
      v["hosts"] = hosts;
      v["hosts_skipped"] = s.hosts_skipped;
    }
    steps.push_back(v);
  }
  Value notes = Value::array();
  for (auto& n : r.notes)
    notes.push_back({{"text", n.text}, {"tag", n.tag.empty() ? Value(nullptr) : Value(n.tag)}, {"by", n.by}, {"ts", n.ts}});
  Value events = Value::array();
  for (auto& e : r.events) events.push_back(e.to_json());
  auto opt = [](const std::optional<double>& v) { return v ? Value(*v) : Value(nullptr); };
  auto optb = [](const std::optional<bool>& v) { return v ? Value(*v) : Value(nullptr); };
  Value out = {{"format", "runbook-report/1"},
               {"engine", {{"name", "runbook"}, {"version", r.version}}},
               {"run",
                {{"id", r.run.id},
                 {"incident", r.run.incident},
                 {"severity", r.run.severity},
                 {"status", r.status},
                 {"ongoing", r.ongoing},
                 {"reason", r.end_reason},
                 {"drill", r.run.drill},
                 {"operator", r.run.operator_name},
                 {"started_at", r.run.started_at},
                 {"ended_at", r.run.ended_at.empty() ? Value(nullptr) : Value(r.run.ended_at)},
                 {"incident_start", r.run.incident_start},
                 {"duration_s", r.duration}}},
               {"runbook",
                {{"id", r.run.runbook}, {"title", r.run.title}, {"file", r.run.file}, {"content_hash", r.run.content_hash}}},
               {"inputs", r.run.inputs},
               {"rto", {{"target_s", opt(r.rto_target)}, {"actual_s", r.rto_actual}, {"met", optb(r.rto_met)}}},
               {"rpo", {{"target_s", opt(r.rpo_target)}, {"measured_s", opt(r.rpo_measured)}, {"met", optb(r.rpo_met)}}},
               {"downtime_s", opt(r.downtime)},
               {"steps", steps},
               {"notes", notes},
               {"events", events}};
  return out;
}

}  // namespace rb::report
