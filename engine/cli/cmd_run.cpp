#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

#include "base/text.h"
#include "cli/commands.h"
#include "cli/driver.h"
#include "cli/launch.h"
#include "cli/fleet_check.h"
#include "exec/state.h"
#include "plan/format.h"
#include "plan/graph.h"
#include "sys/env.h"

namespace rb::cli {

namespace {

// --dry-run: the path from start (breadth-first, the order an operator meets the steps
// in), each action rendered (secrets masked), budgets and transitions, as JSON; printed
// as text or, with --json, as one JSON object. Nothing is executed or journaled.
Value dry_run_plan(const model::Runbook& rb, plugin::Registry& reg, const Value& inputs,
                   const std::set<std::string>& secrets, Masker& masker, const std::string& run_id) {
  exec::RunState st(rb, masker);
  st.inputs = inputs;
  st.secret_inputs = secrets;
  st.run_id = run_id;
  st.run_start = sys::wall_now();
  st.rto = rb.objectives.rto;
  exec::StateRenderer r(st, masker);
  auto render = [&](const model::Action& a) -> std::string {
    plugin::Plugin* p = reg.find(a.kind);
    if (!p) return fmt::format("{} (no plugin found)", a.kind);
    try {
      std::string text = p->describe(p->render(a.params, r));
      if (a.targets) text += "\n      " + fleet_hosts_text(a, r);  // the exact hosts it would touch
      return masker.mask(text);
    } catch (const plugin::RenderError& e) {
      return masker.mask(fmt::format("{} (rendered at run time: {})", a.kind, e.message));
    }
  };
  Value steps = Value::array();
  std::vector<bool> seen(rb.steps.size(), false);
  std::vector<size_t> queue;
  if (auto it = rb.step_index.find(rb.start); it != rb.step_index.end()) {
    queue.push_back(it->second);
    seen[it->second] = true;
  }
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    const model::Step& s = rb.steps[queue[qi]];
    Value v = {{"id", s.id}, {"title", s.label()}, {"phase", s.phase},
               {"budget_ms", s.budget ? Value(s.budget->count()) : Value(nullptr)}};
    if (s.kind == model::StepKind::End) v["end"] = model::to_string(s.end);
    if (s.kind == model::StepKind::Action) {
      v["action"] = s.wait_until ? "wait until" : s.action.kind;
      v["rendered"] = render(s.wait_until ? s.wait_until->action : s.action);
    }
    if (s.kind == model::StepKind::Parallel) {
      v["action"] = "parallel";
      v["parallel"] = Value::array();
      for (auto& b : s.parallel) v["parallel"].push_back(render(b.action));
    }
    v["verify"] = Value::array();
    for (auto& c : s.verify)
      v["verify"].push_back({{"name", c.name}, {"rendered", render(c.action)},
                             {"expect", c.expect ? Value(c.expect->text) : Value(nullptr)}});
    if (s.rollback) {
      v["rollback"] = render(s.rollback->action);
      v["rollback_on_hosts"] = s.kind == model::StepKind::Action && s.action.targets &&
                               !s.rollback->action.targets && s.rollback->action.kind == "shell";
    }
    if (s.implicit_end) v["then"] = "end recovered";
    v["transitions"] = Value::array();
    for (auto& [to, via] : plan::transitions(s)) {
      v["transitions"].push_back({{"to", to}, {"via", via}});
      auto it = rb.step_index.find(to);
      if (it != rb.step_index.end() && !seen[it->second]) {
        seen[it->second] = true;
        queue.push_back(it->second);
      }
    }
    steps.push_back(std::move(v));
  }
  return {{"dry_run", true}, {"runbook", rb.id}, {"title", rb.title},
          {"rto_ms", rb.objectives.rto ? Value(rb.objectives.rto->count()) : Value(nullptr)},
          {"steps", std::move(steps)}};
}

void dry_run_text(const Value& plan) {
  fmt::print("DRY RUN of {} — {} (nothing is executed)\n", to_text(plan["runbook"]), to_text(plan["title"]));
  if (!plan["rto_ms"].is_null()) fmt::print("RTO {}\n", format_duration(Millis(plan["rto_ms"].get<long long>())));
  int n = 0;
  for (auto& v : plan["steps"]) {
    std::string phase = to_text(v["phase"]);
    fmt::print("\n{:>2}. {} — {}{}{}\n", ++n, to_text(v["id"]), to_text(v["title"]),
               phase.empty() ? "" : " [" + phase + "]",
               v["budget_ms"].is_null() ? "" : "  budget " + format_duration(Millis(v["budget_ms"].get<long long>())));
    if (v.contains("end")) fmt::print("    end: {}\n", to_text(v["end"]));
    if (v.contains("rendered"))
      fmt::print("    {}{}\n", v["action"] == "wait until" ? "wait until: " : "", to_text(v["rendered"]));
    if (v.contains("parallel"))
      for (auto& b : v["parallel"]) fmt::print("    ∥ {}\n", to_text(b));
    for (auto& c : v["verify"])
      fmt::print("    gate '{}': {}{}\n", to_text(c["name"]), to_text(c["rendered"]),
                 c["expect"].is_null() ? "" : " expect " + to_text(c["expect"]));
    if (v.contains("rollback"))
      fmt::print("    rollback: {}{}\n", to_text(v["rollback"]),
                 v["rollback_on_hosts"].get<bool>() ? "\n      on the hosts where the step ran" : "");
    if (v.contains("then")) fmt::print("    then: {}\n", to_text(v["then"]));
    for (auto& t : v["transitions"]) fmt::print("    → {} ({})\n", to_text(t["to"]), to_text(t["via"]));
  }
}

// --incident-start: when the incident began (the RTO clock's start); nullopt after an
// error was reported.
std::optional<WallTime> clock_start_of(const RunFlags& f, WallTime started) {
  if (f.incident_start.empty()) return started;
  auto t = parse_time(f.incident_start);
  if (!t) {
    error(fmt::format("--incident-start '{}' is not a time (use e.g. 2026-11-23T03:12:00Z)", f.incident_start));
    return std::nullopt;
  }
  if (*t > started) {
    error(fmt::format("--incident-start {} is in the future", f.incident_start));
    return std::nullopt;
  }
  return t;
}

}  // namespace

// Takes the incident's lease: the given incident, or the day's next number, reserved in
// the store (INC-…, or DRILL-… for drills), so two engines starting at once get two.
LeaseResult lease_incident(journal::Store& store, const std::string& given, bool drill, std::string* incident,
                           journal::Lease* lease, std::string* why, const std::string& store_arg) {
  if (given.empty()) {
    std::string day = calendar_date(sys::wall_now(), "UTC");
    std::erase(day, '-');
    *incident = store.allocate_incident(drill ? "DRILL" : "INC", day);
    if (incident->empty()) {
      *why = fmt::format("cannot allocate an incident id in {}", store.describe());
      return LeaseResult::Failed;
    }
  } else {
    *incident = given;
  }
  if (auto s = take_lease(store, *incident, lease); !s.ok()) {
    auto held = store.lease(*incident);
    bool by_other = held && held->expires_ms > now_ms();
    *why = given.empty() ? s.message()
                         : fmt::format("incident {} is being handled by another engine: {}", given, s.message());
    return by_other ? LeaseResult::Held : LeaseResult::Failed;
  }
  // One engine per incident: an incident whose earlier run is unfinished is resumed, not
  // started again.
  for (auto& other : store.runs_of_incident(*incident)) {
    if (other.status != "running") continue;
    store.release_lease(*incident, *lease);
    *why = fmt::format("incident {} has an unfinished run {} whose engine is gone: continue it with `runbook{} resume {}`",
                       *incident, other.id, store_arg, other.id);
    return LeaseResult::Unfinished;
  }
  return LeaseResult::Taken;
}

journal::RunInfo run_info(const model::Runbook& rb, const exec::ExecOptions& o, WallTime started, bool drill,
                          const std::string& drill_name) {
  journal::RunInfo info;
  info.id = o.run_id;
  info.incident = o.incident_id;
  info.runbook = rb.id;
  info.title = rb.title;
  std::error_code ec;
  info.file = std::filesystem::absolute(rb.file, ec).lexically_normal().string();
  info.cwd = std::filesystem::current_path(ec).string();
  info.content_hash = rb.content_hash;
  info.severity = rb.severity;
  info.started_at = rfc3339_ms(started);
  info.incident_start = rfc3339_ms(o.run_start);
  info.drill = drill;
  info.drill_name = drill_name;
  info.operator_name = o.operator_name;
  info.inputs = o.inputs;
  // Secrets are never stored (the journal masks them); one left at its default is marked
  // so, so that `resume` asks only for the secrets the run was given.
  for (auto& in : rb.inputs)
    if (in.secret && in.default_value && o.inputs.contains(in.name) && o.inputs[in.name] == *in.default_value)
      info.inputs[in.name] = kSecretAtDefault;
  info.rto_ms = rb.objectives.rto ? rb.objectives.rto->count() : 0;
  info.rpo_ms = rb.objectives.rpo ? rb.objectives.rpo->count() : 0;
  return info;
}

int cmd_run(const Global& g, const RunFlags& f, std::string* run_id_out) {
  auto reg = make_registry(g);
  auto rb = load_or_report(f.file, *reg);
  if (!rb) return kInvalid;
  auto inputs = resolve_inputs(*rb, f.inputs_file, f.inputs);
  if (!inputs) return kInvalid;
  std::map<std::string, exec::GivenAnswer> answers;
  if (!parse_answers(*rb, f.answers, &answers) || !check_plugins(*rb, *reg)) return kInvalid;
  WallTime started = sys::wall_now();
  auto clock_start = clock_start_of(f, started);
  if (!clock_start) return kInvalid;
  if (!f.tz.empty() && !known_time_zone(f.tz)) {
    error(fmt::format("--tz '{}' is not a known time zone (e.g. UTC, Europe/Paris)", f.tz));
    return kInvalid;
  }

  Masker masker;
  exec::ExecOptions opts;
  opts.run_id = new_run_id();
  opts.secret_inputs = secret_inputs(*rb, *inputs, masker);
  if (run_id_out) *run_id_out = opts.run_id;
  if (!check_fleet_targets(*rb, *inputs, opts.secret_inputs, masker)) return kInvalid;
  if (f.dry_run == "plain") {
    Value plan = dry_run_plan(*rb, *reg, *inputs, opts.secret_inputs, masker, opts.run_id);
    if (g.json) fmt::print("{}\n", plan.dump());
    else dry_run_text(plan);
    return kOk;
  }

  std::unique_ptr<journal::Store> store;
  opts.probes_only = f.dry_run == "probes";
  if (!opts.probes_only && !(store = open_store_or_report(g))) return kEngine;
  std::string incident = f.incident.empty() ? "DRY-RUN" : f.incident;
  journal::Lease lease;
  if (store) {
    std::string why;
    if (lease_incident(*store, f.incident, f.drill, &incident, &lease, &why, store_flag(g)) != LeaseResult::Taken) {
      error(why);
      return kEngine;
    }
  }

  opts.incident_id = incident;
  opts.operator_name = operator_name(f.operator_name);
  opts.drill = f.drill;
  opts.store = store_in_use(g);
  opts.inputs = *inputs;
  opts.run_start = *clock_start;
  if (store) opts.step_medians = drill_medians(*store, rb->id);

  DriveOptions d = drive_options(g, f.tz, store.get());
  d.new_run = run_info(*rb, opts, started, f.drill, f.drill_name);
  d.lease = lease;
  d.lease_key = incident;
  d.lease_ttl_ms = lease_ttl_ms();
  d.answers = answers;
  d.yes = f.yes;
  d.resume_args = secrets_again(*rb, *inputs, f.inputs_file, f.inputs);
  // With --json every line is an event: the first, run.started, carries the ids.
  if (!g.json) fmt::print("run {} incident {}\n", opts.run_id, incident);
  std::fflush(stdout);
  exec::RunResult result;
  std::string run_id = opts.run_id;
  int code = drive(*rb, std::move(opts), *reg, masker, d, &result);
  if (!g.json && !result.engine_error && store)
    fmt::print("\nreport: runbook{} export {} --format markdown\n", store_flag(g), run_id);
  return code;
}

}  // namespace rb::cli
