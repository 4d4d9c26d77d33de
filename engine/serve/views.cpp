#include "serve/views.h"

#include <algorithm>
#include <map>

#include "base/events.h"
#include "base/time.h"
#include "cli/answering.h"
#include "cli/views.h"
#include "plan/graph.h"

namespace rb::serve {

namespace {

long long ms_of(const std::string& rfc, long long fallback) {
  auto t = parse_time(rfc);
  return t ? to_unix_ms(*t) : fallback;
}

std::optional<Question> question_of(const std::vector<journal::Event>& events) {
  std::string step;
  cli::waiting_question(events, "", &step);
  if (step.empty()) return std::nullopt;
  auto e = cli::waiting_question(events, step, &step);
  if (!e) return std::nullopt;
  Question q;
  q.step = e->step;
  q.kind = e->data.value("kind", std::string("approval"));
  q.prompt = e->data.value("prompt", std::string());
  q.confirm = e->data.value("confirm", std::string());
  q.second_person = e->data.value("second_person", false);
  q.asked_at = e->ts;
  if (e->data.contains("show") && e->data["show"].is_object())
    for (auto& [k, v] : e->data["show"].items()) q.facts.emplace_back(k, to_text(v));
  if (e->data.contains("timeout_ms")) q.deadline_ms = ms_of(e->ts, 0) + e->data.value("timeout_ms", 0LL);
  for (auto& x : events)
    if (x.type == ev::kApprovalRefused && x.step == q.step && x.seq > e->seq)
      q.refused.push_back(x.data.value("reason", std::string()));
  return q;
}

std::vector<StepRow> steps_of(const std::vector<journal::Event>& events) {
  std::vector<StepRow> rows;
  std::map<std::string, size_t> at;
  auto row = [&](const std::string& id) -> StepRow& {
    auto it = at.find(id);
    if (it != at.end()) return rows[it->second];
    at[id] = rows.size();
    StepRow row;
    row.id = row.title = id;
    row.state = "running";
    rows.push_back(std::move(row));
    return rows.back();
  };
  for (auto& e : events) {
    if (e.step.empty()) continue;
    if (e.type == ev::kStepStarted) {
      StepRow& r = row(e.step);
      r.title = e.data.value("title", e.step);
      r.phase = e.data.value("phase", std::string());
      if (e.data.contains("budget_ms")) r.budget_ms = e.data.value("budget_ms", 0LL);
      r.attempts = e.attempt;
      r.state = "running";
    } else if (!at.count(e.step)) {
      continue;  // a rollback's or a host's event of a step not started here
    } else if (e.type == ev::kApprovalRequested) {
      row(e.step).state = "waiting";
    } else if (e.type == ev::kApprovalAnswered) {
      row(e.step).state = "running";
    } else if (e.type == ev::kStepSucceeded || e.type == ev::kStepFailed || e.type == ev::kStepConfirmed) {
      StepRow& r = row(e.step);
      r.duration_ms = e.data.value("duration_ms", 0LL);
      r.state = e.type == ev::kStepSucceeded ? "succeeded"
                : e.type == ev::kStepConfirmed ? "confirmed"
                : e.data.value("outcome", std::string()) == "timed_out" ? "timed_out"
                                                                         : "failed";
      if (r.budget_ms && r.duration_ms > *r.budget_ms) r.over_budget = true;
    } else if (e.type == ev::kStepOverBudget) {
      row(e.step).over_budget = true;
    }
  }
  return rows;
}

// The steps the plan still has after the current one (its critical path), for a run
// that goes on.
void add_planned(const model::Runbook& rb, const std::string& current, std::vector<StepRow>* rows) {
  auto it = rb.step_index.find(current.empty() ? rb.start : current);
  if (it == rb.step_index.end()) return;
  auto path = plan::critical_path(rb, it->second);
  for (size_t i : path.steps) {
    const model::Step& s = rb.steps[i];
    bool seen = std::any_of(rows->begin(), rows->end(), [&](const StepRow& r) { return r.id == s.id; });
    if (seen || s.kind == model::StepKind::End) continue;
    StepRow r;
    r.id = s.id;
    r.title = s.label();
    r.phase = s.phase;
    r.state = "planned";
    if (s.budget) r.budget_ms = s.budget->count();
    rows->push_back(std::move(r));
  }
}

Clock clock_of(const Room& room, const model::Runbook* rb, const std::optional<model::LiveState>& live, long long now) {
  const journal::RunInfo& r = room.run;
  Clock c;
  c.running = r.status == "running" || r.status == "interrupted";
  c.start_ms = ms_of(r.incident_start.empty() ? r.started_at : r.incident_start, now);
  long long end = r.ended_at.empty() ? now : ms_of(r.ended_at, now);
  c.elapsed_ms = std::max(0LL, end - c.start_ms);
  c.rto_ms = r.rto_ms;
  if (c.rto_ms > 0) {
    c.remaining_ms = c.rto_ms - c.elapsed_ms;
    c.percent = 100.0 * static_cast<double>(c.elapsed_ms) / static_cast<double>(c.rto_ms);
  }
  if (c.running) {
    c.state = c.percent >= 100 ? "breached" : c.percent >= 80 ? "warning" : "ok";
    if (live) {
      c.projected_ms = live->rto.projected.count();
    } else if (rb) {
      auto rem = plan::remaining_budgets(*rb);
      auto it = rb->step_index.find(room.current_step.empty() ? rb->start : room.current_step);
      if (it != rb->step_index.end() && rem[it->second]) c.projected_ms = c.elapsed_ms + rem[it->second]->count();
    }
  } else {
    c.state = c.rto_ms == 0 ? "ended" : model::rto_met(r.status, Millis(c.elapsed_ms), Millis(c.rto_ms)) ? "met" : "missed";
  }
  return c;
}

}  // namespace

Room build_room(journal::Store& store, const journal::RunInfo& run, const model::Runbook* rb,
                const std::optional<model::LiveState>& live, long long now_ms) {
  Room room;
  room.run = run;
  room.events = store.events(run.id);
  auto held = store.lease(run.incident);
  if (run.status == "running" && held && held->expires_ms > now_ms) room.engine = held->holder;
  room.steps = steps_of(room.events);
  for (auto it = room.steps.rbegin(); it != room.steps.rend(); ++it) {
    room.current_step = it->id;
    room.current_state = it->state;
    break;
  }
  if (run.status == "running") room.waiting = question_of(room.events);
  bool going = run.status == "running" || run.status == "interrupted";
  if (going && rb) add_planned(*rb, room.current_step, &room.steps);
  room.clock = clock_of(room, rb, live, now_ms);
  for (auto& e : room.events)
    if (e.type == ev::kNote) {
      Value n = e.data;
      n["ts"] = e.ts;
      room.notes.push_back(std::move(n));
    }
  return room;
}

Value room_json(journal::Store& store, const Room& r) {
  Value v = cli::run_status_json(store, r.run, r.events);
  const Clock& c = r.clock;
  v["clock"] = {{"start_ms", c.start_ms}, {"elapsed_ms", c.elapsed_ms}, {"running", c.running}, {"state", c.state}};
  if (c.rto_ms) {
    v["clock"]["rto_ms"] = c.rto_ms;
    v["clock"]["remaining_ms"] = *c.remaining_ms;
    v["clock"]["percent"] = c.percent;
  }
  if (c.projected_ms) v["clock"]["projected_ms"] = *c.projected_ms;
  if (r.waiting) {
    const Question& q = *r.waiting;
    Value facts = Value::object();
    for (auto& [k, val] : q.facts) facts[k] = val;
    v["waiting"] = {{"step", q.step},         {"kind", q.kind},     {"prompt", q.prompt},
                    {"second_person", q.second_person}, {"show", facts}, {"asked_at", q.asked_at},
                    {"answers", q.kind == "manual" ? Value{"done", "no"} : Value{"yes", "no"}}};
    if (q.deadline_ms) v["waiting"]["deadline"] = rfc3339_ms(from_unix_ms(*q.deadline_ms));
  } else {
    v["waiting"] = nullptr;
  }
  Value steps = Value::array();
  for (auto& s : r.steps) {
    Value x = {{"id", s.id}, {"title", s.title}, {"state", s.state}, {"attempts", s.attempts},
               {"duration_ms", s.duration_ms}, {"over_budget", s.over_budget}};
    if (!s.phase.empty()) x["phase"] = s.phase;
    if (s.budget_ms) x["budget_ms"] = *s.budget_ms;
    steps.push_back(std::move(x));
  }
  v["steps"] = std::move(steps);
  v["notes"] = Value(r.notes);
  return v;
}

}  // namespace rb::serve
