// Child processes: one process group per action, output read concurrently and capped,
// group termination with a grace period, reaping of everything the group leaves behind.
//
// All of it runs on the caller's io_context thread. The only file that touches fork/exec,
// process groups and waitpid is process_posix.cpp; the rest of the engine starts
// processes through sys::Env (env.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/duration.h"

namespace boost::asio {
class io_context;
}

namespace rb::sys {

struct ProcessSpec {
  std::vector<std::string> argv;  ///< argv[0] is looked up in the child's PATH when it has no '/'
  std::vector<std::pair<std::string, std::string>> env;  ///< the child's whole environment
  std::string cwd;                                       ///< empty: the engine's
  std::optional<std::string> stdin_data;                 ///< nullopt: /dev/null
  /// After writing stdin_data, keep the pipe open until the process ends, so that its
  /// reader sees EOF only when the engine stops it or goes away (the liveness signal of
  /// fleet actions' ssh sessions).
  bool keep_stdin_open = false;
  size_t output_cap = 1u << 20;                          ///< bytes kept per stream
  Millis drain_after_exit{200};  ///< how long to keep reading after the leader exited
};

struct ProcessExit {
  bool started = false;
  std::string spawn_error;  ///< when !started: e.g. "cannot run 'x': No such file or directory"
  int exit_code = -1;       ///< when exited normally
  int term_signal = 0;      ///< when killed by a signal
  std::string out, err;     ///< first output_cap bytes of each stream
  uint64_t out_bytes = 0, err_bytes = 0;
  bool out_truncated = false, err_truncated = false;
  bool survivors = false;   ///< after terminate(): processes of the group outlived SIGKILL
  int pid = 0;
  Millis duration{0};
};

class Process {
 public:
  using OutputFn = std::function<void(std::string_view chunk, bool is_stderr)>;
  using ExitFn = std::function<void(ProcessExit)>;

  virtual ~Process() = default;
  /// SIGTERM to the whole group, SIGKILL after `grace`; on_exit follows once the group is
  /// gone (or was given up on, with `survivors`).
  virtual void terminate(Millis grace) = 0;
  virtual int pid() const = 0;
};

/// Starts `spec` on `io`. `on_exit` is called once on the loop thread (also when the
/// spawn fails) after the leader exited and its output was drained. Used by the POSIX Env
/// only: the rest of the engine spawns through sys::Env.
std::shared_ptr<Process> spawn_process(boost::asio::io_context& io, ProcessSpec spec, Process::OutputFn on_output,
                                       Process::ExitFn on_exit);

/// Makes the engine the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER) and
/// reaps those that exit (a timer on `io`), so no zombie outlives an action. Keep the
/// returned handle while the loop runs; the timer keeps the loop busy, so the owner
/// stops the loop itself when its work is done.
std::shared_ptr<void> become_subreaper(boost::asio::io_context& io);

/// True while some process of group `pgid` exists (used at resume to refuse running a
/// step beside a survivor of its previous attempt).
bool process_group_alive(int pgid);

/// The engine's environment as pairs.
std::vector<std::pair<std::string, std::string>> current_environment();

}  // namespace rb::sys
