#include "report/console.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/events.h"
#include "base/text.h"

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

constexpr const char* kBold = "\x1b[1m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kReverse = "\x1b[7m";
constexpr const char* kReset = "\x1b[0m";

// The lines of a text written in YAML (a folded or literal block ends with a newline):
// trailing blank lines dropped, each line's trailing spaces too.
std::vector<std::string> text_lines(const std::string& text) {
  std::vector<std::string> out;
  for (auto& l : split_lines(text)) {
    std::string_view v(l);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\r' || v.back() == '\t')) v.remove_suffix(1);
    out.emplace_back(v);
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::string left(std::optional<WallTime> deadline, WallTime now, const std::string& tz) {
  if (!deadline) return "no deadline";
  auto d = std::chrono::duration_cast<Millis>(*deadline - now);
  if (d < Millis(0)) d = Millis(0);
  return fmt::format("{} left (until {} {})", format_duration_short(d), clock_time(*deadline, tz), tz);
}

}  // namespace

namespace {
std::pair<int, int> g_size{80, 24};
}  // namespace

void set_console_size(int cols, int rows) { g_size = {std::max(20, cols), std::max(8, rows)}; }

Console::Console(ConsoleMode mode, std::string tz) : mode_(mode), tz_(std::move(tz)) {}
Console::~Console() { close(); }

void Console::event(const journal::Event& e) {
  if (mode_ == ConsoleMode::Json) {
    fmt::print("{}\n", e.to_json().dump(-1, ' ', false, Value::error_handler_t::replace));
    std::fflush(stdout);
    return;
  }
  // Each line made safe on its own: the facts under an event keep their own lines.
  std::string text;
  for (auto& l : split_lines(describe(e))) {
    if (!text.empty()) text += '\n';
    text += terminal_safe(l);
  }
  // A step that starts owns the output lines from now on (parallel branches share it).
  if (e.type == ev::kStepStarted) output_.clear();
  if (mode_ == ConsoleMode::Plain) {
    plain_logger()->info(text);
    return;
  }
  clear_panel();
  std::string when = clock_time(from_unix_ms(to_unix_ms(parse_time(e.ts).value_or(now_))), tz_);
  frame_ += fmt::format("{}  {}\n", when, text);
  redraw();
}

void Console::tick(const model::LiveState& s) {
  live_ = s;
  now_ = s.wall;
  if (mode_ == ConsoleMode::Live) redraw();
}

void Console::output(const std::string&, const std::string& line) {
  if (mode_ != ConsoleMode::Live) return;
  output_.push_back(terminal_safe(line));
  while (output_.size() > 3) output_.erase(output_.begin());
  // Output shows as it arrives, redrawn at most every kOutputRedraw (a chatty action must
  // not turn the terminal into a redraw loop); the next tick shows the last lines anyway.
  auto now = std::chrono::steady_clock::now();
  if (now - last_output_draw_ < kOutputRedraw) return;
  last_output_draw_ = now;
  redraw();
}

void Console::status(const model::LiveState& s) {
  live_ = s;
  now_ = s.wall;
}

void Console::ask(std::optional<ConsoleQuestion> q) {
  bool fresh = q && (!question_ || question_->step != q->step);
  size_t old_notes = question_ ? question_->notes.size() : 0;
  question_ = std::move(q);
  if (!question_) typed_.clear();
  if (mode_ == ConsoleMode::Live) return redraw();
  if (!question_) return;
  if (fresh) return print_question_plain();
  for (size_t i = fresh ? 0 : old_notes; i < question_->notes.size(); ++i)
    fmt::print(mode_ == ConsoleMode::Json ? stderr : stdout, "    ✋ {}\n", terminal_safe(question_->notes[i]));
  std::fflush(nullptr);
}

void Console::typing(const std::string& buffer) {
  typed_ = buffer;
  if (mode_ == ConsoleMode::Live) redraw();
}

void Console::print_question_plain() const {
  FILE* to = mode_ == ConsoleMode::Json ? stderr : stdout;
  for (auto& l : question_lines(10'000)) fmt::print(to, "{}\n", l);
  std::fflush(to);
}

// The question block: never cut, wrapped to the width.
std::vector<std::string> Console::question_lines(int width) const {
  std::vector<std::string> out;
  if (!question_) return out;
  const ConsoleQuestion& q = *question_;
  int w = std::max(20, width - 2);
  out.push_back(fit_width(terminal_safe(fmt::format(">>> {} — {}{}", q.step, q.kind == "manual" ? "a task for a person" : "approval needed",
                                                    q.second_person ? ", from a second person" : "")),
                          width - 1));
  for (auto& para : text_lines(q.prompt))
    for (auto& l : wrap_width(terminal_safe(para), w)) out.push_back("  " + l);
  for (auto& [k, v] : q.facts) {
    auto lines = text_lines(v);
    if (lines.empty()) lines.push_back("");
    for (size_t i = 0; i < lines.size(); ++i)
      for (auto& l : wrap_width(terminal_safe(i == 0 ? k + ": " + lines[i] : "  " + lines[i]), w - 2))
        out.push_back("    " + l);
  }
  std::string ask = fmt::format("{}Answer {} · {}", q.confirm.empty() ? "" : q.confirm + " ", q.choices,
                                left(q.deadline, now_, tz_));
  for (auto& l : wrap_width(terminal_safe(ask), w)) out.push_back("  " + l);
  for (auto& l : wrap_width(terminal_safe(q.hint), w)) out.push_back("  " + l);
  for (auto& n : q.notes)
    for (auto& l : wrap_width(terminal_safe("✋ " + n), w)) out.push_back("  " + l);
  return out;
}

std::vector<std::string> Console::panel(int width, int height) const {
  std::vector<std::string> head, out, tail;
  if (live_ && !live_->step.empty()) {
    const auto& s = *live_;
    std::string budget = s.budget ? fmt::format(" / budget {}", format_duration_short(*s.budget)) : "";
    bool over = s.budget && s.in_step > *s.budget;
    head.push_back(fit_width(terminal_safe(fmt::format("▶ {} — {}{} · attempt {} · {}{}{}", s.step, s.title,
                                                       s.phase.empty() ? "" : " [" + s.phase + "]", s.attempt,
                                                       format_duration_short(s.in_step), budget, over ? " OVER BUDGET" : "")),
                             width - 1));
    std::string rto = s.rto.rto ? fmt::format("RTO {} · {} elapsed · {} left · projected finish {} {}",
                                              progress_bar(s.rto.percent, std::clamp(width / 6, 8, 24)),
                                              format_duration_short(s.rto.elapsed), format_duration_short(*s.rto.remaining),
                                              format_duration_short(s.rto.projected),
                                              s.rto.projected_ok.value_or(true) ? "✓" : "✗ over the RTO")
                                : fmt::format("elapsed {} · projected finish {}", format_duration_short(s.rto.elapsed),
                                              format_duration_short(s.rto.projected));
    head.push_back(fit_width(rto, width - 1));
  }
  for (auto& l : output_) out.push_back(fit_width("  │ " + l, width - 1));
  tail = question_lines(width);
  if (question_) tail.push_back(fit_width("> " + terminal_safe(typed_) + "▏", width - 1));
  // The question never gives way: output lines first, then the status lines.
  while (!out.empty() && static_cast<int>(head.size() + out.size() + tail.size()) > height - 1) out.erase(out.begin());
  while (!head.empty() && static_cast<int>(head.size() + tail.size()) > height - 1) head.pop_back();
  head.insert(head.end(), out.begin(), out.end());
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

void Console::clear_panel() {
  if (panel_lines_ == 0) return;
  // The cursor is at the end of the panel's last line (no newline after it).
  frame_ += "\r";
  if (panel_lines_ > 1) frame_ += fmt::format("\x1b[{}A", panel_lines_ - 1);
  frame_ += "\x1b[J";
  panel_lines_ = 0;
}

// The terminal gets each frame (erase, event lines, panel) in one write: drawn line by
// line, a terminal (or tmux) could show the panel half erased — the question gone for a
// moment, every time output arrives.
void Console::flush_frame() {
  std::fflush(stdout);  // what others printed goes first
  const char* p = frame_.data();
  size_t n = frame_.size();
  while (n > 0) {
    ssize_t w = ::write(STDOUT_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    p += w;
    n -= static_cast<size_t>(w);
  }
  frame_.clear();
}

void Console::redraw() {
  if (mode_ != ConsoleMode::Live) return;
  clear_panel();
  auto [width, height] = g_size;
  auto lines = panel(width, height);
  size_t asked_from = lines.size() - (question_ ? question_lines(width).size() + 1 : 0);
  for (size_t i = 0; i < lines.size(); ++i) {
    const char* style = i == 0 && live_ && !live_->step.empty() ? kBold : (i >= asked_from ? kYellow : "");
    if (question_ && i + 1 == lines.size()) style = kReverse;
    frame_ += fmt::format("{}{}{}\x1b[K{}", style, lines[i], *style ? kReset : "", i + 1 < lines.size() ? "\n" : "");
  }
  panel_lines_ = static_cast<int>(lines.size());
  flush_frame();
}

void Console::close() {
  if (mode_ == ConsoleMode::Live) {
    clear_panel();
    flush_frame();
  }
  live_.reset();
}

}  // namespace rb::report
