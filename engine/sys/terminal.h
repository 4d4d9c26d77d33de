// The operator's terminal: its width, and what they type. A reader thread reads stdin
// (blocking reads; nothing else touches stdin's flags) and posts to the Env's loop.
// On a terminal, while a question waits (editing(true)), the terminal is put in
// non-canonical, no-echo mode and the reader edits the line itself (printable
// characters, backspace, Ctrl-U), so the live view can draw what is typed inside its
// panel instead of letting the terminal echo it wherever the cursor is; Ctrl-C still
// sends SIGINT. The terminal's settings are restored when editing stops, and at exit.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sys/env.h"

namespace rb::sys {

/// The width of the terminal on stdout (80 when it cannot be read).
int terminal_width();

/// The height of the terminal on stdout (24 when it cannot be read).
int terminal_height();

/// Whether fd is a terminal.
bool is_terminal(int fd);

class TerminalInput {
 public:
  struct Callbacks {
    std::function<void(const std::string& line)> line;  ///< a whole line (Enter)
    std::function<void(const std::string& buffer)> edit;  ///< the line being typed (editing mode)
    std::function<void()> closed;                         ///< stdin reached its end
  };
  /// Starts reading stdin. `env` receives the callbacks on its loop.
  TerminalInput(Env& env, Callbacks cb);
  ~TerminalInput();
  /// A question waits (true) or not: on a terminal, switches character-at-a-time editing.
  void editing(bool on);
  bool terminal() const { return tty_; }

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  bool tty_ = false;
};

}  // namespace rb::sys
