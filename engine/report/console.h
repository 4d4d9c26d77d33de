// What the operator sees while a run goes on.
//   - a terminal: event lines scroll above a live panel that always shows the current
//     step, its attempt and time against budget, the RTO clock, the action's last output
//     lines — and, while a person must answer, the question, its facts, the valid answers,
//     the deadline and what is being typed. The panel is drawn to the terminal's width
//     (no line of it ever wraps, so it is erased exactly) and its height (output lines
//     give way first, the question never);
//   - not a terminal: plain timestamped lines, one per event, and a question once;
//   - --json: every timeline event as one JSON line on stdout, nothing else.
// Events arrive masked and committed (exec::Journal). Everything printed that comes from
// a run (output, errors, prompts) goes through terminal_safe(): no escape sequence from
// an action reaches the terminal.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/time.h"
#include "journal/store.h"
#include "model/live.h"

namespace rb::report {

enum class ConsoleMode { Live, Plain, Json };

/// A question waiting for a person, as the console shows it.
struct ConsoleQuestion {
  std::string step, kind, prompt, confirm, choices, hint;
  std::vector<std::pair<std::string, std::string>> facts;
  std::vector<std::string> notes;  ///< refused answers and why
  std::optional<WallTime> deadline;
  bool second_person = false;
};

class Console {
 public:
  Console(ConsoleMode mode, std::string tz = "UTC");
  ~Console();
  void event(const journal::Event& e);
  void tick(const model::LiveState& s);
  /// The run's state now, without drawing (the next event or tick draws it): called before
  /// each event, so that the status line names the step an event is about at once.
  void status(const model::LiveState& s);
  void output(const std::string& step, const std::string& line);
  /// The question now (nullopt: none).
  void ask(std::optional<ConsoleQuestion> q);
  /// What the operator is typing (a terminal in editing mode).
  void typing(const std::string& buffer);
  /// Clears the live panel (before the process exits or prints something else).
  void close();
  ConsoleMode mode() const { return mode_; }

  /// One human line for an event (also used by `runbook timeline`); facts of the step
  /// follow on indented lines.
  static std::string describe(const journal::Event& e);

 private:
  void redraw();
  void clear_panel();
  void flush_frame();
  std::vector<std::string> panel(int width, int height) const;
  std::vector<std::string> question_lines(int width) const;
  void print_question_plain() const;

  ConsoleMode mode_;
  std::string tz_;
  std::optional<model::LiveState> live_;
  std::optional<ConsoleQuestion> question_;
  std::vector<std::string> output_;
  std::string typed_;
  int panel_lines_ = 0;
  std::string frame_;  ///< what the next write to the terminal holds
  WallTime now_{};
  static constexpr std::chrono::milliseconds kOutputRedraw{100};
  std::chrono::steady_clock::time_point last_output_draw_{};
};

/// The terminal's size (columns, rows), set by whoever owns the terminal; 80x24 until then.
void set_console_size(int cols, int rows);

/// A bar like "[██████░░░░░░] 52%".
std::string progress_bar(double percent, int width = 24);

}  // namespace rb::report
