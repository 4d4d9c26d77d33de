// The incident report in the shape of the seeds' INCIDENT LOG TEMPLATE.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

#include "report/report.h"
#include "base/events.h"

namespace rb::report {

namespace {

std::string step_result(const StepSummary& s) {
  std::string w = result_word(s);
  if (w == "succeeded" || w == "confirmed") return "✅ " + w;
  if (w == "interrupted") return "⏸ interrupted";
  if (w == "failed" || w == "timed_out" || w == "not done" || w == "rejected" || w == "unanswered") return "❌ " + w;
  return w;
}

std::string status_word(const Report& r) {
  if (r.ongoing) return "Ongoing";
  if (r.status == "recovered") return "Resolved";
  if (r.status == "aborted") return "Aborted";
  return "Failed";
}

// Markdown-safe inline text: no line breaks, pipes escaped (tables), angle brackets kept.
std::string md(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r') out += ' ';
    else if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

std::string ms_human(const Value& v) { return v.is_number() ? human_seconds(v.get<double>() / 1000.0) : "?"; }

std::optional<std::string> timeline_line(const journal::Event& e, const std::map<std::string, std::string>& titles) {
  const Value& d = e.data;
  auto s = [&](const char* k) { return d.contains(k) ? to_text(d[k]) : std::string(); };
  auto title = [&]() {
    auto it = titles.find(e.step);
    return it == titles.end() ? e.step : it->second;
  };
  const std::string& t = e.type;
  if (t == ev::kRunStarted) return fmt::format("Run started by {} ({}{})", s("operator"), s("incident"), d.value("drill", false) ? ", drill" : "");
  if (t == ev::kRunInterrupted)
    return d.contains("rolling_back")
               ? fmt::format("Run interrupted ({}) while rolling back {}", md(s("reason")), s("rolling_back"))
               : fmt::format("Run interrupted ({}) at step `{}`: paused, nothing rolled back", md(s("reason")), s("step"));
  if (t == ev::kStepVerifying) return fmt::format("{} interrupted earlier: checking its gates first (verify-first)", title());
  if (t == ev::kAlertRepeated) return std::string("Alert fired again");
  if (t == ev::kAlertResolved) return std::string("Alert resolved");
  if (t == ev::kRunResumed) return fmt::format("Run resumed by {} at step `{}` ({})", s("operator"), s("step"), s("how"));
  if (t == ev::kStepStarted)
    return e.attempt > 1 ? fmt::format("{} — attempt {} started", title(), e.attempt)
                         : fmt::format("{} started{}", title(), d.contains("budget_ms") ? " (budget " + ms_human(d["budget_ms"]) + ")" : "");
  if (t == ev::kStepSucceeded) return fmt::format("{} succeeded in {}", title(), ms_human(d.value("duration_ms", Value(0))));
  if (t == ev::kStepFailed) return fmt::format("{} **failed**: {}", title(), md(s("error")));
  if (t == ev::kStepTimedOut) return fmt::format("{} timed out", title());
  if (t == ev::kStepSkipped) return fmt::format("{} skipped ({})", title(), md(s("reason")));
  if (t == ev::kStepConfirmed) return fmt::format("{} counted done: {}", title(), md(s("reason")));
  if (t == ev::kStepAttemptFailed) return fmt::format("{} attempt {} failed: {}", title(), e.attempt, md(s("error")));
  if (t == ev::kStepRetrying) return fmt::format("{} retrying in {}", title(), ms_human(d["delay_ms"]));
  if (t == ev::kStepOverBudget) return fmt::format("{} ran over its budget of {}", title(), ms_human(d["budget_ms"]));
  if (t == ev::kCheckPassed) return fmt::format("Gate \"{}\" passed", md(s("check")));
  if (t == ev::kCheckFailed) return fmt::format("Gate \"{}\" **failed**: {}", md(s("check")), md(s("error")));
  if (t == ev::kApprovalRequested)
    return s("kind") == "manual" ? fmt::format("{} waits for a person: {}", title(), md(std::string(trim(s("prompt")))))
                                 : fmt::format("Approval requested for {}: {}", title(), md(std::string(trim(s("prompt")))));
  if (t == ev::kApprovalRefused) return fmt::format("Answer refused for {}: {}", title(), md(s("reason")));
  if (t == ev::kApprovalAnswered) {
    if (!d.value("answered", false)) return fmt::format("{} unanswered ({})", title(), md(s("note")));
    return fmt::format("{} {} by {} ({}){}", title(), answer_word(d), md(s("by")), s("via"),
                       d.contains("comment") ? ": " + md(s("comment")) : "");
  }
  if (t == ev::kRollbackStarted) return fmt::format("Rollback of {} started", title());
  if (t == ev::kRollbackFinished)
    return d.value("ok", false) ? fmt::format("Rollback of {} done", title())
                                : fmt::format("Rollback of {} **failed**: {}", title(), md(s("error")));
  if (t == ev::kRtoWarning) return fmt::format("⚠️ RTO warning: {}% of the RTO used", d.value("percent", Value(80)).dump());
  if (t == ev::kRtoBreached) return std::string("🔥 RTO breached");
  if (t == ev::kRpoRecorded && d.contains("rpo_seconds"))
    return fmt::format("Restore point recorded: {} of data lost", human_seconds(d["rpo_seconds"].get<double>()));
  if (t == ev::kNote) return fmt::format("Note{} by {}: {}", d.contains("tag") ? " (" + s("tag") + ")" : "", s("by"), md(s("text")));
  if (t == ev::kHttpInsecure) return fmt::format("{}: TLS verification disabled for {}", title(), s("url"));
  if (t == ev::kHostFailed) return fmt::format("{}: host **{}** failed: {}", title(), md(s("host")), md(s("error")));
  if (t == ev::kRunEnded) return fmt::format("Run ended **{}**: {}", s("status"), md(s("reason")));
  return std::nullopt;
}

std::string notes_or(const Report& r, const std::string& tag, const std::string& prefix, const std::string& placeholder) {
  std::string out;
  for (auto& n : r.notes)
    if (n.tag == tag) out += fmt::format("{}{}{}\n", prefix, md(n.text), n.by.empty() ? "" : " — " + n.by);
  return out.empty() ? placeholder + "\n" : out;
}

}  // namespace

std::string hosts_markdown(const StepSummary& s) {
  if (s.hosts.empty() && s.hosts_skipped.empty()) return {};
  size_t failed = 0;
  for (auto& h : s.hosts) failed += h.ok ? 0 : 1;
  std::string out = fmt::format("\n### Hosts of {}\n\n{} ran, {} failed{}.\n\n", md(s.title), s.hosts.size(), failed,
                                s.hosts_skipped.empty() ? "" : fmt::format(", {} not started", s.hosts_skipped.size()));
  out += "| Host | Result | Exit code | Duration | Error |\n|---|---|---|---|---|\n";
  for (auto& h : s.hosts)
    out += fmt::format("| {} | {} | {} | {} | {} |\n", md(h.host), h.ok ? "✅ ok" : "❌ failed", h.exit_code,
                       human_seconds(static_cast<double>(h.duration_ms) / 1000.0), md(h.error));
  if (!s.hosts_skipped.empty()) {
    std::vector<std::string> names;
    for (auto& n : s.hosts_skipped) names.push_back(md(n));
    out += fmt::format("\nNot started: {}.\n", fmt::join(names, ", "));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> timeline_lines(const Report& r, const std::string& tz) {
  std::vector<std::pair<std::string, std::string>> out;
  auto start = parse_time(r.run.started_at).value_or(WallTime{});
  std::map<std::string, std::string> titles;
  for (auto& s : r.steps) titles[s.id] = s.title;
  if (r.clock_offset > 0.5) {
    WallTime incident = parse_time(r.run.incident_start).value_or(start);
    out.push_back({clock_time(incident, tz), "Incident began (RTO clock starts)"});
  }
  for (auto& e : r.events)
    if (auto line = timeline_line(e, titles)) out.push_back({clock_time(parse_time(e.ts).value_or(start), tz), *line});
  if (r.ongoing) out.push_back({"…", "the run is still going"});
  return out;
}

// The Impact section: downtime, RTO and RPO against their targets, steps over budget,
// the impact notes.
static std::string impact_markdown(const Report& r) {
  std::string out;
  out += "## Impact\n\n";
  out += "| Measure | Target | Actual | |\n|---|---|---|---|\n";
  out += fmt::format("| Downtime (incident start → recovered) | — | {} | |\n",
                     r.downtime ? human_seconds(*r.downtime) : (r.ongoing ? "ongoing" : "not recovered"));
  bool stopped = !r.ongoing && r.status != "recovered";
  out += fmt::format("| RTO | {} | {} | {} |\n", r.rto_target ? human_seconds(*r.rto_target) : "—",
                     stopped ? fmt::format("not recovered (clock stopped at {})", human_seconds(r.rto_actual))
                             : human_seconds(r.rto_actual),
                     r.rto_met ? (*r.rto_met ? "✅" : "❌") : "");
  out += fmt::format("| RPO | {} | {} | {} |\n", r.rpo_target ? human_seconds(*r.rpo_target) : "—",
                     r.rpo_measured ? human_seconds(*r.rpo_measured) : "not measured", r.rpo_met ? (*r.rpo_met ? "✅" : "❌") : "");
  std::vector<std::string> over;
  for (auto& s : r.steps)
    if (s.over_budget) over.push_back(fmt::format("{} ({} of {})", s.title, human_seconds(s.duration_ms / 1000.0),
                                                  human_seconds(static_cast<double>(s.budget_ms.value_or(0)) / 1000.0)));
  out += fmt::format("\nSteps over budget: {}.\n\n", over.empty() ? "none" : md(fmt::format("{}", fmt::join(over, "; "))));
  out += notes_or(r, "impact", "- ", fmt::format("_No impact notes yet (users affected, data lost, revenue): add them with `runbook{} note {} \"…\" --tag impact`._", r.store_flag, r.run.id));
  out += "\n";

  return out;
}

// The Resolution section: one row per step, failed gates, per-host results.
static std::string resolution_markdown(const Report& r) {
  std::string out;
  out += "\n## Resolution\n\n";
  out += "| # | Step | Phase | Result | Duration | Budget | Attempts | Answered by |\n|---|---|---|---|---|---|---|---|\n";
  int n = 0;
  for (auto& s : r.steps) {
    std::string result = step_result(s);
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", ++n, md(s.title), md(s.phase), result,
                       human_seconds(s.duration_ms / 1000.0), s.budget_ms ? human_seconds(*s.budget_ms / 1000.0) : "—",
                       s.attempts, s.approved_by.empty() ? "" : fmt::format("{} ({})", md(s.approved_by), s.answer));
  }
  for (auto& s : r.steps)
    if (!s.gate_failure.empty()) out += fmt::format("\nFailed gate in {}: {}\n", md(s.title), md(s.gate_failure));
  for (auto& s : r.steps) out += hosts_markdown(s);
  return out;
}

std::string to_markdown(const Report& r, const std::string& tz) {
  std::string out;
  auto start = parse_time(r.run.started_at).value_or(WallTime{});
  out += fmt::format("# INCIDENT REPORT — {}\n\n", md(r.run.title));
  out += fmt::format("**Date:** {}  \n", calendar_date(start, tz));
  out += fmt::format("**Incident ID:** {}  \n", r.run.incident);
  out += fmt::format("**Severity:** {}  \n", r.run.severity.empty() ? "SEV-2" : r.run.severity);
  out += fmt::format("**Status:** {}  \n", status_word(r));
  out += fmt::format("**Run:** `{}` · **Runbook:** `{}` · **Operator:** {}{}\n\n", r.run.id, r.run.runbook,
                     md(r.run.operator_name), r.run.drill ? " · **Drill**" : "");

  out += "## Summary\n\n";
  std::string verdict;
  if (r.rto_target) {
    double pct = 100.0 * r.rto_actual / *r.rto_target;
    if (r.ongoing) verdict = fmt::format("RTO {}: {:.0f}% used so far", human_seconds(*r.rto_target), pct);
    else if (r.status != "recovered")
      verdict = fmt::format("not recovered (RTO clock stopped at {} of {})", human_seconds(r.rto_actual),
                            human_seconds(*r.rto_target));
    else verdict = fmt::format("RTO {} {} ({:.0f}% used)", human_seconds(*r.rto_target), r.rto_met.value_or(false) ? "met ✅" : "missed ❌", pct);
  } else {
    verdict = "no RTO objective";
  }
  if (r.ongoing) out += fmt::format("{} is **ongoing** ({} so far) — {}.\n\n", md(r.run.title), human_seconds(r.rto_actual), verdict);
  else out += fmt::format("{} ended **{}** after {} — {}.\n\n", md(r.run.title), r.status, human_seconds(r.rto_actual), verdict);

  out += "## Timeline\n\n";
  out += fmt::format("Times are {}.\n\n", tz.empty() || tz == "UTC" ? "UTC" : tz);
  for (auto& [when, what] : timeline_lines(r, tz)) out += fmt::format("- {} — {}\n", when, what);
  out += "\n";

  out += impact_markdown(r);
  out += "## Root Cause\n\n";
  out += notes_or(r, "root-cause", "", fmt::format("_Not recorded yet. Add it with `runbook{} note {} \"…\" --tag root-cause`._", r.store_flag, r.run.id));
  out += resolution_markdown(r);
  out += "\n## Prevention\n\n";
  out += notes_or(r, "action-item", "- [ ] ", fmt::format("- [ ] _No action items yet: add them with `runbook{} note {} \"…\" --tag action-item`._", r.store_flag, r.run.id));
  out += "\n## Lessons Learned\n\n";
  out += notes_or(r, "lesson", "- ", fmt::format("_None recorded yet: add them with `runbook{} note {} \"…\" --tag lesson`._", r.store_flag, r.run.id));
  bool other = false;
  for (auto& nt : r.notes) other = other || nt.tag.empty();
  if (other) {
    out += "\n## Notes\n\n";
    for (auto& nt : r.notes)
      if (nt.tag.empty()) out += fmt::format("- {}{}\n", md(nt.text), nt.by.empty() ? "" : " — " + nt.by);
  }
  out += "\n## Appendix\n\n";
  out += fmt::format("- Runbook: `{}` — {} (`{}`)\n", r.run.runbook, md(r.run.title), md(r.run.file));
  out += fmt::format("- Content hash: `sha256:{}`\n", r.run.content_hash);
  out += fmt::format("- Engine: runbook {}\n", r.version);
  out += fmt::format("- Run `{}`: {} timeline events, started {}{}\n", r.run.id, r.events.size(), r.run.started_at,
                     r.run.ended_at.empty() ? "" : ", ended " + r.run.ended_at);
  return out;
}

}  // namespace rb::report
