// One human line per timeline event: the live view, plain output and `runbook timeline`.
#include <fmt/format.h>

#include "base/events.h"
#include "base/text.h"
#include "base/time.h"
#include "report/console.h"

namespace rb::report {

namespace {

std::string ms_text(const Value& v) {
  if (!v.is_number()) return "?";
  return format_duration_short(Millis(v.get<long long>()));
}

// The facts a step produced, for the operator: its outputs, the first rows of a query,
// the hosts it touched, the tail of its output.
std::string step_facts(const Value& d) {
  std::string out;
  auto line = [&](const std::string& k, const std::string& v) {
    out += fmt::format("\n      {}: {}", k, ellipsize(v, 200));
  };
  const Value outputs = d.value("outputs", Value::object());
  for (auto& [k, v] : outputs.items()) line(k, to_text(v));
  const Value r = d.value("result", Value::object());
  if (r.is_object() && r.contains("rows") && r["rows"].is_array()) {
    size_t n = r.value("row_count", r["rows"].size());
    for (size_t i = 0; i < r["rows"].size() && i < 3; ++i) line(fmt::format("row {}", i + 1), r["rows"][i].dump());
    if (n > 3) line("rows", fmt::format("{} in all", n));
  }
  if (r.is_object() && r.contains("failed") && r["failed"].is_array() && !r["failed"].empty())
    line("hosts failed", to_text(r["failed"]));
  if (r.is_object() && r.contains("succeeded") && r["succeeded"].is_array())
    line("hosts done", fmt::format("{}", r["succeeded"].size()));
  if (outputs.empty() && r.is_object() && r.contains("stdout")) {
    auto lines = split_lines(std::string(trim(to_text(r["stdout"]))));
    for (size_t i = lines.size() > 2 ? lines.size() - 2 : 0; i < lines.size(); ++i)
      if (!lines[i].empty()) line("out", lines[i]);
  }
  return out;
}

std::string run_ended(const Value& d) {
  auto s = [&](const char* k) { return d.contains(k) ? to_text(d[k]) : std::string(); };
  std::string status = s("status");
  std::string icon = status == "recovered" ? "✅" : (status == "aborted" ? "⛔" : "❌");
  std::string rto;
  if (d.contains("rto") && d["rto"].contains("rto_ms")) {
    std::string of = fmt::format("{} of {}", ms_text(d["rto"]["elapsed_ms"]), ms_text(d["rto"]["rto_ms"]));
    if (status != "recovered") rto = fmt::format(" — not recovered (RTO clock stopped at {})", of);
    else rto = fmt::format(" — RTO {} ({})", of, d["rto"].value("met", false) ? "met" : "missed");
  }
  std::string end;
  if (!s("end_title").empty()) end += "\n   " + s("end_title");
  if (!s("end_description").empty()) end += "\n   " + s("end_description");
  return fmt::format("{} run {}: {}{}{}", icon, status, s("reason"), rto, end);
}

}  // namespace

std::string progress_bar(double percent, int width) {
  int filled = static_cast<int>(std::min(100.0, std::max(0.0, percent)) * width / 100.0 + 0.5);
  std::string bar = "[";
  for (int i = 0; i < width; ++i) bar += i < filled ? "█" : "░";
  return bar + fmt::format("] {:.0f}%", percent);
}

std::string Console::describe(const journal::Event& e) {
  const Value& d = e.data;
  auto s = [&](const char* k) { return d.contains(k) ? to_text(d[k]) : std::string(); };
  const std::string& t = e.type;
  if (t == ev::kRunStarted)
    return fmt::format("run started: {} ({}){}", s("title"), s("runbook"), d.value("drill", false) ? " [drill]" : "");
  if (t == ev::kStepStarted) {
    std::string extra;
    if (d.contains("budget_ms")) extra += ", budget " + ms_text(d["budget_ms"]);
    if (e.attempt > 1) extra = fmt::format(", attempt {}", e.attempt) + extra;
    return fmt::format("▶ {} — {}{}", e.step, s("title"), extra.empty() ? "" : " (" + extra.substr(2) + ")");
  }
  if (t == ev::kStepSucceeded)
    return fmt::format("✔ {} succeeded in {}", e.step, ms_text(d.value("duration_ms", Value(0)))) + step_facts(d);
  if (t == ev::kStepFailed) return fmt::format("✖ {} failed: {}", e.step, s("error"));
  if (t == ev::kStepTimedOut) return fmt::format("⏱ {} timed out", e.step);
  if (t == ev::kStepAttemptFailed) return fmt::format("✖ {} attempt {} failed: {}", e.step, e.attempt, s("error"));
  if (t == ev::kStepRetrying)
    return fmt::format("↻ {} retrying in {} (attempt {})", e.step, ms_text(d["delay_ms"]), s("next_attempt"));
  if (t == ev::kStepOverBudget) return fmt::format("⚠ {} is over its budget of {}", e.step, ms_text(d["budget_ms"]));
  if (t == ev::kStepSkipped) return fmt::format("⤼ {} skipped: {}", e.step, s("reason"));
  const char* kind = d.value("until", false) ? "wait condition" : "gate";
  if (t == ev::kCheckPassed) return fmt::format("  ✔ {} '{}' passed", kind, s("check"));
  if (t == ev::kCheckFailed) return fmt::format("  ✖ {} '{}' failed: {}", kind, s("check"), s("error"));
  if (t == ev::kCheckSkipped) return fmt::format("  ⤼ gate '{}' skipped (mutates)", s("check"));
  if (t == ev::kTransition) return fmt::format("→ {} → {} ({})", s("from"), s("to"), s("via"));
  if (t == ev::kApprovalRequested) {
    // The prompt as written (a YAML block ends with a newline); multi-line facts indented.
    std::string facts;
    const Value show = d.value("show", Value::object());
    for (auto& [k, v] : show.items()) {
      std::string text(trim(to_text(v)));
      for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', nl + 9)) text.replace(nl, 1, "\n        ");
      facts += fmt::format("\n      {}: {}", k, text);
    }
    return fmt::format("? {} waits for {}: {}", e.step, s("kind") == "manual" ? "a person" : "approval",
                       trim(s("prompt"))) +
           facts;
  }
  if (t == ev::kApprovalRefused) return fmt::format("✋ {}: {}", e.step, s("reason"));
  if (t == ev::kApprovalAnswered) {
    if (!d.value("answered", false)) return fmt::format("? {} unanswered: {}", e.step, s("note"));
    bool yes = d.value("approved", false), manual = d.contains("confirmed");
    std::string word = manual ? (yes ? "confirmed" : "not done") : (yes ? "approved" : "rejected");
    return fmt::format("{} {} {} by {} ({}){}", yes ? "✔" : "✖", e.step, word, s("by"), s("via"),
                       d.contains("comment") ? ": " + s("comment") : "");
  }
  if (t == ev::kRunInterrupted) {
    if (d.contains("rolling_back"))  // cut short while the rollbacks ran: resume finishes them
      return fmt::format("⏸ run interrupted ({}) while rolling back {}: that rollback and the ones after it run on `{}`",
                         s("reason"), s("rolling_back"), s("resume"));
    return fmt::format("⏸ run interrupted ({}) at {}: nothing was rolled back; continue with `{}`", s("reason"),
                       s("step").empty() ? "-" : s("step"), s("resume"));
  }
  if (t == ev::kRollbackStarted) return fmt::format("↩ rolling back {}", e.step);
  if (t == ev::kRollbackFinished)
    return d.value("ok", false) ? fmt::format("↩ rollback of {} done", e.step)
                                : fmt::format("↩ rollback of {} failed: {}", e.step, s("error"));
  if (t == ev::kRtoWarning) return fmt::format("⚠ RTO {}% used ({} of {})", d.value("percent", Value(80)).dump(),
                                             ms_text(d.value("elapsed_ms", Value(0))), ms_text(d.value("rto_ms", Value(0))));
  if (t == ev::kRtoBreached) return fmt::format("🔥 RTO breached ({} elapsed)", ms_text(d.value("elapsed_ms", Value(0))));
  if (t == ev::kRpoRecorded) {
    if (d.contains("error")) return fmt::format("RPO not recorded: {}", s("error"));
    std::string verdict = d.contains("met") ? (d["met"].get<bool>() ? " ✅" : " ❌") : "";
    return fmt::format("RPO measured: {} of data lost{}", format_duration_short(Millis(static_cast<long long>(d["rpo_seconds"].get<double>() * 1000))), verdict);
  }
  if (t == ev::kNote) return fmt::format("📝 {}{}", s("text"), d.contains("tag") ? " [" + s("tag") + "]" : "");
  if (t == ev::kRunResumed)
    return fmt::format("run resumed by {} at {} ({}), engine {} epoch {}", s("operator"), s("step"), s("how"), s("engine"),
                       s("epoch"));
  if (t == ev::kStepConfirmed) return fmt::format("✔ {} counted done: {}", e.step, s("reason"));
  if (t == ev::kStepVerifying) return fmt::format("? {} interrupted: checking its gates first", e.step);
  if (t == ev::kRunEnded) return run_ended(d);
  if (t == ev::kHostSucceeded) return fmt::format("  ✔ {} on {} ({})", e.step, s("host"), ms_text(d.value("duration_ms", Value(0))));
  if (t == ev::kHostFailed) return fmt::format("  ✖ {} on {}: {}", e.step, s("host"), s("error"));
  if (t == ev::kHttpInsecure) return fmt::format("⚠ {}: TLS verification disabled for {}", e.step, s("url"));
  return fmt::format("{} {}", t, d.dump());
}

}  // namespace rb::report
