// The Env: the engine's only door to time, timers, processes and the few process-wide
// facts it reads (working directory, environment). In the spirit of leveldb's Env and
// Envoy's TimeSource: the core is written against this interface; the real one is POSIX
// over one Boost.Asio io_context (env_posix.cpp), and tests substitute a fake with
// simulated time (tests/support/fake_env.h), so the executor's logic runs in
// milliseconds with no real sleep and no real process.
//
// Threading: every call and every callback happens on the loop thread, except post(),
// which any thread may call.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/duration.h"
#include "base/time.h"
#include "sys/process.h"

namespace boost::asio {
class io_context;
}

namespace rb::sys {

using MonoTime = std::chrono::steady_clock::time_point;

/// A one-shot timer on the loop. Re-arming replaces the pending call; cancel() drops it.
/// A dropped call is never made (no "operation aborted" callbacks to filter), and
/// destroying the timer cancels it.
class Timer {
 public:
  virtual ~Timer() = default;
  /// Calls `fn` on the loop once `after` has passed (0: as soon as possible).
  virtual void arm(Millis after, std::function<void()> fn) = 0;
  virtual void cancel() = 0;
  virtual bool armed() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  /// Wall-clock time: for timestamps and the RTO clock's start.
  virtual WallTime wall() = 0;
  /// Monotonic time: for every interval (timeouts, durations, budgets).
  virtual MonoTime mono() = 0;
  virtual std::unique_ptr<Timer> timer() = 0;
  /// Runs `fn` on the loop soon, after what is already queued. Thread-safe.
  virtual void post(std::function<void()> fn) = 0;

  /// Starts a child process in its own process group (see sys/process.h). `on_exit` is
  /// called once on the loop, also when the spawn fails.
  virtual std::shared_ptr<Process> spawn(ProcessSpec spec, Process::OutputFn on_output, Process::ExitFn on_exit) = 0;

  /// The loop itself, for plugins that wait on sockets (libcurl, libpq). A fake Env
  /// returns a loop that is never run: code under test there must not need it.
  virtual boost::asio::io_context& io() = 0;

  /// The directory the engine was started in.
  virtual std::string cwd() = 0;
  /// The engine's environment variables.
  virtual std::vector<std::pair<std::string, std::string>> environment() = 0;

  /// Milliseconds between two monotonic times.
  static Millis between(MonoTime a, MonoTime b) { return std::chrono::duration_cast<Millis>(b - a); }
  /// Milliseconds since `t`.
  Millis since(MonoTime t) { return between(t, mono()); }
};

/// The real Env over `io` (which the caller runs).
std::unique_ptr<Env> make_posix_env(boost::asio::io_context& io);

/// Wall time for code with no Env at hand (one-shot commands: `runs`, `export`…). The
/// executor and everything it drives take time from their Env.
WallTime wall_now();

}  // namespace rb::sys
