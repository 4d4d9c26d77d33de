#include "sys/terminal.h"

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace rb::sys {

int terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    int n = std::atoi(c);
    if (n >= 20) return n;
  }
  return 80;
}

int terminal_height() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row >= 8) return ws.ws_row;
  if (const char* c = std::getenv("LINES")) {
    int n = std::atoi(c);
    if (n >= 8) return n;
  }
  return 24;
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

namespace {

// The terminal as it was before editing started: restored when editing stops and at exit.
std::mutex g_tty_mu;
bool g_saved = false;
termios g_original{};

void restore_terminal() {
  std::lock_guard<std::mutex> l(g_tty_mu);
  if (g_saved) ::tcsetattr(STDIN_FILENO, TCSANOW, &g_original);
}

}  // namespace

struct TerminalInput::Shared {
  std::mutex mu;
  Env* env = nullptr;  // null once the owner is gone
  Callbacks cb;
  std::atomic<bool> editing{false};
  std::string buffer;  // the reader thread's only

  void post(std::function<void(Callbacks&)> fn, const std::shared_ptr<Shared>& self) {
    std::lock_guard<std::mutex> l(mu);
    if (!env) return;
    env->post([self, fn = std::move(fn)] {
      Callbacks cb;
      {
        std::lock_guard<std::mutex> l2(self->mu);
        if (!self->env) return;
        cb = self->cb;
      }
      fn(cb);
    });
  }

  // One byte at a time while editing; whole chunks of lines otherwise.
  void take(const char* p, size_t n, const std::shared_ptr<Shared>& self) {
    bool ed = editing.load();
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(p[i]);
      if (c == '\n' || c == '\r') {
        if (c == '\r' && !ed) continue;
        std::string line = std::exchange(buffer, "");
        post([line](Callbacks& cb) { if (cb.line) cb.line(line); }, self);
        if (ed) post([](Callbacks& cb) { if (cb.edit) cb.edit(""); }, self);
        continue;
      }
      if (ed && (c == 0x7f || c == 0x08)) {
        while (!buffer.empty() && (static_cast<unsigned char>(buffer.back()) & 0xc0) == 0x80) buffer.pop_back();
        if (!buffer.empty()) buffer.pop_back();
      } else if (ed && c == 0x15) {
        buffer.clear();
      } else if (c >= 0x20 && c != 0x7f && buffer.size() < 512) {
        buffer.push_back(static_cast<char>(c));
      } else {
        continue;  // control characters and escape sequences are not part of an answer
      }
      if (ed) post([b = buffer](Callbacks& cb) { if (cb.edit) cb.edit(b); }, self);
    }
  }
};

TerminalInput::TerminalInput(Env& env, Callbacks cb) : shared_(std::make_shared<Shared>()) {
  shared_->env = &env;
  shared_->cb = std::move(cb);
  tty_ = is_terminal(STDIN_FILENO);
  std::thread([s = shared_] {
    char buf[512];
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      s->take(buf, static_cast<size_t>(n), s);
    }
    s->post([](Callbacks& cb) { if (cb.closed) cb.closed(); }, s);
  }).detach();
}

TerminalInput::~TerminalInput() {
  editing(false);
  std::lock_guard<std::mutex> l(shared_->mu);
  shared_->env = nullptr;
}

void TerminalInput::editing(bool on) {
  if (!tty_ || shared_->editing.load() == on) return;
  shared_->editing = on;
  std::lock_guard<std::mutex> l(g_tty_mu);
  if (!g_saved) {
    if (::tcgetattr(STDIN_FILENO, &g_original) != 0) return;
    g_saved = true;
    std::atexit(restore_terminal);
  }
  termios t = g_original;
  if (on) {
    t.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
  }
  ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

}  // namespace rb::sys
