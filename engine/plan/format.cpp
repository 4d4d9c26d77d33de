#include "plan/format.h"

#include <fmt/format.h>

#include "base/text.h"
#include "plan/graph.h"

namespace rb::plan {

std::vector<std::pair<std::string, std::string>> transitions(const model::Step& s) {
  std::vector<std::pair<std::string, std::string>> out;
  if (s.next) out.push_back({s.next->step, "next"});
  for (size_t i = 0; i < s.choose.size(); ++i) {
    const auto& arm = s.choose[i];
    out.push_back({arm.next.step, arm.when ? "when " + arm.when->text : "otherwise"});
  }
  if (s.on_failure) out.push_back({s.on_failure->step, "on_failure"});
  if (s.on_timeout) out.push_back({s.on_timeout->step, "on_timeout"});
  if (s.on_reject) out.push_back({s.on_reject->step, "on_reject"});
  return out;
}

namespace {

std::string action_name(const model::Step& s) {
  switch (s.kind) {
    case model::StepKind::End: return fmt::format("end: {}", model::to_string(s.end));
    case model::StepKind::Parallel: return fmt::format("parallel ×{}", s.parallel.size());
    case model::StepKind::Action: return s.wait_until ? "wait until" : s.action.kind;
  }
  return "?";
}

struct Summary {
  CriticalPath cp;
  std::optional<Millis> rto;
  std::vector<bool> on_path;
};

Summary summarize(const model::Runbook& rb) {
  Summary s;
  s.on_path.assign(rb.steps.size(), false);
  s.rto = rb.objectives.rto;
  auto it = rb.step_index.find(rb.start);
  if (it != rb.step_index.end()) s.cp = critical_path(rb, it->second);
  for (size_t i : s.cp.steps) s.on_path[i] = true;
  return s;
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"') out += "#quot;";
    else if (c == '\n') out += " ";
    else out += c;
  }
  return out;
}

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Value plan_json(const model::Runbook& rb, plugin::Registry& reg) {
  Summary sm = summarize(rb);
  Value steps = Value::array();
  for (auto& s : rb.steps) {
    Value v = {{"id", s.id}, {"title", s.label()}, {"phase", s.phase}, {"action", action_name(s)}};
    v["budget_ms"] = s.budget ? Value(s.budget->count()) : Value(nullptr);
    v["timeout_ms"] = s.timeout ? Value(s.timeout->count()) : Value(nullptr);
    if (s.retry.attempts > 1) v["retry_attempts"] = s.retry.attempts;
    Value tr = Value::array();
    for (auto& [to, via] : transitions(s)) tr.push_back({{"to", to}, {"via", via}});
    v["transitions"] = tr;
    if (s.kind == model::StepKind::End) v["end"] = model::to_string(s.end);
    if (s.implicit_end) v["end"] = "recovered";
    v["verify"] = static_cast<long long>(s.verify.size());
    v["rollback"] = s.rollback.has_value();
    v["on_critical_path"] = static_cast<bool>(sm.on_path[s.index]);
    if (s.kind == model::StepKind::Action) {
      plugin::Plugin* p = reg.find(s.action.kind);
      v["mutates"] = s.mutates.value_or(p ? p->default_mutates(s.action.params) : true);
    }
    steps.push_back(v);
  }
  Value cp = {{"found", sm.cp.found}, {"total_ms", sm.cp.total.count()}};
  Value path = Value::array();
  for (size_t i : sm.cp.steps) path.push_back(rb.steps[i].id);
  cp["steps"] = path;
  cp["steps_without_budget"] = sm.cp.steps_without_budget;
  if (sm.rto) {
    cp["rto_ms"] = sm.rto->count();
    cp["within_rto"] = sm.cp.found && sm.cp.total <= *sm.rto;
  }
  Value out = {{"runbook", rb.id}, {"title", rb.title}, {"severity", rb.severity}, {"start", rb.start}};
  out["objectives"] = {{"rto_ms", rb.objectives.rto ? Value(rb.objectives.rto->count()) : Value(nullptr)},
                       {"rpo_ms", rb.objectives.rpo ? Value(rb.objectives.rpo->count()) : Value(nullptr)},
                       {"on_breach", rb.objectives.on_breach == model::OnBreach::Abort ? "abort" : "continue"}};
  out["steps"] = steps;
  out["critical_path"] = cp;
  return out;
}

std::string plan_text(const model::Runbook& rb, plugin::Registry& reg) {
  Summary sm = summarize(rb);
  std::string out = fmt::format("{} — {} ({})\n", rb.id, rb.title, rb.severity);
  std::vector<std::string> obj;
  if (rb.objectives.rto) obj.push_back("RTO " + format_duration(*rb.objectives.rto));
  if (rb.objectives.rpo) obj.push_back("RPO " + format_duration(*rb.objectives.rpo));
  if (rb.objectives.on_breach == model::OnBreach::Abort) obj.push_back("abort on breach");
  if (!obj.empty()) out += join(obj, " · ") + "\n";
  out += "\n";
  std::string phase = "\x01";
  int n = 0;
  for (auto& s : rb.steps) {
    if (s.phase != phase) {
      phase = s.phase;
      out += fmt::format("{}\n", phase.empty() ? "(no phase)" : phase);
    }
    ++n;
    std::string budget = s.budget ? format_duration(*s.budget) : "—";
    std::string extra;
    if (s.timeout) extra += " timeout " + format_duration(*s.timeout);
    if (s.retry.attempts > 1) extra += fmt::format(" retry ×{}", s.retry.attempts);
    if (!s.verify.empty()) extra += fmt::format(" gates {}", s.verify.size());
    if (s.rollback) extra += " rollback";
    out += fmt::format("  {}{:>3}. {:<24} {:<40} budget {:>6}  {}{}\n", sm.on_path[s.index] ? "*" : " ", n, s.id,
                       ellipsize(s.label(), 40), budget, action_name(s), extra);
    auto tr = transitions(s);
    if (s.implicit_end) out += "         → end: recovered (last step)\n";
    for (auto& [to, via] : tr) out += fmt::format("         → {} ({})\n", to, via);
  }
  out += "\n";
  if (!sm.cp.found) {
    out += "Critical path: no recovered end is reachable from start\n";
  } else {
    std::vector<std::string> ids;
    for (size_t i : sm.cp.steps) ids.push_back(rb.steps[i].id);
    out += fmt::format("Critical path (*): {}", format_duration(sm.cp.total));
    if (sm.rto) {
      double pct = 100.0 * static_cast<double>(sm.cp.total.count()) / static_cast<double>(sm.rto->count());
      out += fmt::format(" of {} RTO ({:.0f}%) {}", format_duration(*sm.rto), pct,
                         sm.cp.total <= *sm.rto ? "✓ within RTO" : "✗ EXCEEDS RTO");
    }
    out += "\n  " + join(ids, " → ") + "\n";
    if (sm.cp.steps_without_budget)
      out += fmt::format("  ({} step{} on the path {} no budget and count as 0)\n", sm.cp.steps_without_budget,
                         sm.cp.steps_without_budget == 1 ? "" : "s", sm.cp.steps_without_budget == 1 ? "has" : "have");
  }
  (void)reg;
  return out;
}

std::string plan_mermaid(const model::Runbook& rb) {
  Summary sm = summarize(rb);
  std::string out = "flowchart TD\n";
  for (auto& s : rb.steps) {
    std::string label = escape_label(s.label());
    if (s.budget) label += "<br/>" + format_duration(*s.budget);
    if (s.kind == model::StepKind::End) out += fmt::format("  n{}([\"{}\"])\n", s.index, label);
    else out += fmt::format("  n{}[\"{}\"]\n", s.index, label);
  }
  for (auto& s : rb.steps) {
    for (auto& [to, via] : transitions(s)) {
      auto it = rb.step_index.find(to);
      if (it == rb.step_index.end()) continue;
      bool crit = sm.on_path[s.index] && sm.on_path[it->second];
      out += fmt::format("  n{} {}|\"{}\"| n{}\n", s.index, crit ? "==>" : "-->", escape_label(via), it->second);
    }
  }
  for (auto& s : rb.steps) {
    if (s.kind == model::StepKind::End)
      out += fmt::format("  class n{} {}\n", s.index, s.end == model::EndState::Recovered ? "recovered" : "failed");
  }
  out += "  classDef recovered fill:#d4f7d4,stroke:#2a7a2a\n  classDef failed fill:#f7d4d4,stroke:#7a2a2a\n";
  return out;
}

std::string plan_dot(const model::Runbook& rb) {
  Summary sm = summarize(rb);
  std::string out = fmt::format("digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, style=rounded];\n", dot_escape(rb.id));
  for (auto& s : rb.steps) {
    std::string label = s.label();
    if (s.budget) label += "\n" + format_duration(*s.budget);
    std::string attrs;
    if (s.kind == model::StepKind::End)
      attrs = s.end == model::EndState::Recovered ? ", shape=doublecircle, color=darkgreen" : ", shape=doublecircle, color=red";
    if (sm.on_path[s.index]) attrs += ", penwidth=2";
    out += fmt::format("  \"{}\" [label=\"{}\"{}];\n", dot_escape(s.id), dot_escape(label), attrs);
  }
  for (auto& s : rb.steps) {
    for (auto& [to, via] : transitions(s)) {
      if (!rb.find(to)) continue;
      auto it = rb.step_index.find(to);
      bool crit = sm.on_path[s.index] && sm.on_path[it->second];
      out += fmt::format("  \"{}\" -> \"{}\" [label=\"{}\"{}];\n", dot_escape(s.id), dot_escape(to), dot_escape(via),
                         crit ? ", penwidth=2" : (via == "next" ? "" : ", style=dashed"));
    }
  }
  out += "}\n";
  return out;
}

}  // namespace rb::plan
