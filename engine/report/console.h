// What the operator sees while a run goes on.
//   - a TTY: event lines scroll above a live panel (current step and phase, attempt,
//     time against budget, RTO bar and projected finish, the action's last output lines);
//   - not a TTY: plain timestamped lines (through spdlog), one per event;
//   - --json: every timeline event as one JSON line on stdout, nothing else.
// Events arrive already masked (exec::Journal); output lines are masked by the executor.
#pragma once

#include <memory>
#include <string>

#include "model/live.h"
#include "journal/store.h"

namespace rb::report {

enum class ConsoleMode { Live, Plain, Json };

class Console {
 public:
  Console(ConsoleMode mode, std::string tz = "UTC");
  ~Console();
  void event(const journal::Event& e);
  void tick(const model::LiveState& s);
  void output(const std::string& step, const std::string& line);
  /// Clears the live panel (before the process exits or prints something else).
  void close();
  ConsoleMode mode() const { return mode_; }

  /// One human line for an event (also used by `runbook timeline`).
  static std::string describe(const journal::Event& e);

 private:
  void clear_panel();
  void draw_panel();
  ConsoleMode mode_;
  std::string tz_;
  std::optional<model::LiveState> live_;
  int panel_lines_ = 0;
};

/// A bar like "[██████░░░░░░] 52%".
std::string progress_bar(double percent, int width = 24);

}  // namespace rb::report
