#include "report/console.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "base/text.h"
#include "base/time.h"
#include "base/events.h"

namespace rb::report {

namespace {

std::shared_ptr<spdlog::logger> plain_logger() {
  static std::shared_ptr<spdlog::logger> log = [] {
    auto l = std::make_shared<spdlog::logger>("runbook", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ  %v", spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::info);
    return l;
  }();
  return log;
}

std::string ms_text(const Value& v) {
  if (!v.is_number()) return "?";
  return format_duration_short(Millis(v.get<long long>()));
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
  if (t == ev::kStepSucceeded) return fmt::format("✔ {} succeeded in {}", e.step, ms_text(d.value("duration_ms", Value(0))));
  if (t == ev::kStepFailed) return fmt::format("✖ {} failed: {}", e.step, s("error"));
  if (t == ev::kStepTimedOut) return fmt::format("⏱ {} timed out", e.step);
  if (t == ev::kStepAttemptFailed) return fmt::format("✖ {} attempt {} failed: {}", e.step, e.attempt, s("error"));
  if (t == ev::kStepRetrying)
    return fmt::format("↻ {} retrying in {} (attempt {})", e.step, ms_text(d["delay_ms"]), s("next_attempt"));
  if (t == ev::kStepOverBudget) return fmt::format("⚠ {} is over its budget of {}", e.step, ms_text(d["budget_ms"]));
  if (t == ev::kStepSkipped) return fmt::format("⤼ {} skipped: {}", e.step, s("reason"));
  if (t == ev::kCheckPassed) return fmt::format("  ✔ gate '{}' passed", s("check"));
  if (t == ev::kCheckFailed) return fmt::format("  ✖ gate '{}' failed: {}", s("check"), s("error"));
  if (t == ev::kCheckSkipped) return fmt::format("  ⤼ gate '{}' skipped (mutates)", s("check"));
  if (t == ev::kTransition) return fmt::format("→ {} → {} ({})", s("from"), s("to"), s("via"));
  if (t == ev::kApprovalRequested) return fmt::format("? {} waits for {}: {}", e.step, s("kind"), s("prompt"));
  if (t == ev::kApprovalRefused) return fmt::format("✋ {}: {}", e.step, s("reason"));
  if (t == ev::kApprovalAnswered) {
    if (!d.value("answered", false)) return fmt::format("? {} unanswered: {}", e.step, s("note"));
    return fmt::format("{} {} {} by {} ({})", d.value("approved", false) ? "✔" : "✖", e.step,
                       d.value("approved", false) ? "approved" : "rejected", s("by"), s("via"));
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
  if (t == ev::kRunEnded) {
    std::string status = s("status");
    std::string icon = status == "recovered" ? "✅" : (status == "aborted" ? "⛔" : "❌");
    std::string rto;
    if (d.contains("rto") && d["rto"].contains("rto_ms"))
      rto = fmt::format(" — RTO {} of {}{}", ms_text(d["rto"]["elapsed_ms"]), ms_text(d["rto"]["rto_ms"]),
                        d["rto"].value("met", false) ? " (met)" : " (missed)");
    return fmt::format("{} run {}: {}{}", icon, status, s("reason"), rto);
  }
  if (t == ev::kHostSucceeded) return fmt::format("  ✔ {} on {} ({})", e.step, s("host"), ms_text(d.value("duration_ms", Value(0))));
  if (t == ev::kHostFailed) return fmt::format("  ✖ {} on {}: {}", e.step, s("host"), s("error"));
  if (t == ev::kHttpInsecure) return fmt::format("⚠ {}: TLS verification disabled for {}", e.step, s("url"));
  return fmt::format("{} {}", t, d.dump());
}

Console::Console(ConsoleMode mode, std::string tz) : mode_(mode), tz_(std::move(tz)) {}
Console::~Console() { close(); }

void Console::event(const journal::Event& e) {
  if (mode_ == ConsoleMode::Json) {
    fmt::print("{}\n", e.to_json().dump(-1, ' ', false, Value::error_handler_t::replace));
    std::fflush(stdout);
    return;
  }
  if (mode_ == ConsoleMode::Plain) {
    plain_logger()->info(describe(e));
    return;
  }
  clear_panel();
  fmt::print("{}  {}\n", clock_time(from_unix_ms(to_unix_ms(*parse_time(e.ts))), tz_), describe(e));
  draw_panel();
}

void Console::tick(const model::LiveState& s) {
  if (mode_ != ConsoleMode::Live) return;
  live_ = s;
  clear_panel();
  draw_panel();
}

void Console::output(const std::string&, const std::string& line) {
  if (mode_ != ConsoleMode::Live || !live_) return;
  live_->last_output.push_back(line);
  while (live_->last_output.size() > 3) live_->last_output.erase(live_->last_output.begin());
}

void Console::clear_panel() {
  if (panel_lines_ == 0) return;
  fmt::print("\x1b[{}F\x1b[J", panel_lines_);
  panel_lines_ = 0;
}

void Console::draw_panel() {
  if (!live_ || live_->step.empty()) return;
  const auto& s = *live_;
  std::vector<std::string> lines;
  std::string budget = s.budget ? fmt::format(" / budget {}", format_duration_short(*s.budget)) : "";
  bool over = s.budget && s.in_step > *s.budget;
  lines.push_back(fmt::format("\x1b[1m{}\x1b[0m{} — attempt {} — {}{}{}", s.title,
                              s.phase.empty() ? "" : " [" + s.phase + "]", s.attempt,
                              format_duration_short(s.in_step), budget, over ? " \x1b[33mOVER BUDGET\x1b[0m" : ""));
  if (s.rto.rto) {
    lines.push_back(fmt::format("RTO {} {} elapsed, {} left, projected finish {} {}", progress_bar(s.rto.percent),
                                format_duration_short(s.rto.elapsed), format_duration_short(*s.rto.remaining),
                                format_duration_short(s.rto.projected),
                                s.rto.projected_ok.value_or(true) ? "✓" : "\x1b[31m✗ over RTO\x1b[0m"));
  } else {
    lines.push_back(fmt::format("elapsed {}, projected finish {}", format_duration_short(s.rto.elapsed),
                                format_duration_short(s.rto.projected)));
  }
  for (auto& l : s.last_output) lines.push_back("  │ " + ellipsize(l, 160));
  for (auto& l : lines) fmt::print("{}\x1b[K\n", l);
  panel_lines_ = static_cast<int>(lines.size());
  std::fflush(stdout);
}

void Console::close() {
  if (mode_ == ConsoleMode::Live) clear_panel();
  live_.reset();
}

}  // namespace rb::report
