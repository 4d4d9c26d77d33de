// A fake sys::Env with simulated time, for the executor's unit tests: timers fire in order
// of their due time as the test drives the loop, and time jumps to the next timer when
// nothing else is ready, so a 30 s `sleep` costs nothing. Processes are simulated from
// their command text by a small interpreter (see FakeEnv::spawn), so the real shell
// plugin runs on it unchanged.
//
// Commands understood (one per `;`): `sleep S` (seconds, may be fractional), `exit N`,
// `true`, `false`, `echo TEXT`, `json TEXT` (TEXT on stdout), `stubborn` (ignores SIGTERM),
// `count NAME` (counts the runs of NAME), `fail-until NAME N` (exit 1 until NAME has
// been counted N times, then 0). A process cancelled with SIGTERM ends at once, unless
// stubborn, in which case SIGKILL ends it after the grace.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sys/env.h"

namespace rb::test {

class FakeEnv : public sys::Env {
 public:
  FakeEnv();
  ~FakeEnv() override;

  WallTime wall() override;
  sys::MonoTime mono() override { return now_; }
  std::unique_ptr<sys::Timer> timer() override;
  void post(std::function<void()> fn) override { posted_.push_back(std::move(fn)); }
  std::shared_ptr<sys::Process> spawn(sys::ProcessSpec spec, sys::Process::OutputFn on_output,
                                      sys::Process::ExitFn on_exit) override;
  boost::asio::io_context& io() override { return io_; }
  std::string cwd() override { return "/fake"; }
  std::vector<std::pair<std::string, std::string>> environment() override { return {{"PATH", "/usr/bin:/bin"}}; }

  /// Runs what is posted and due, advancing simulated time, until `stop()` holds or
  /// nothing is left to do or `limit` of simulated time passed. Returns whether stop held.
  bool run_until(const std::function<bool()>& stop, Millis limit = Millis(24 * 3600 * 1000));
  /// Runs everything due up to `d` of simulated time from now, and stops there.
  void run_for(Millis d);
  /// Simulated time since the fake was made.
  Millis elapsed() const;

  // What the simulated processes did.
  int spawned = 0;          ///< processes started
  int running = 0;          ///< alive now
  int max_running = 0;      ///< the most alive at once
  int terminated = 0;       ///< ended by SIGTERM or SIGKILL
  std::map<std::string, int> counts;  ///< `count NAME` / `fail-until NAME N`
  std::vector<std::string> commands;  ///< every command text, in order

  // Internal (the fake timer and process use these).
  struct Entry {
    sys::MonoTime due;
    long long seq;
    std::function<void()> fn;
  };
  long long schedule(Millis after, std::function<void()> fn);
  void unschedule(long long seq);

 private:
  boost::asio::io_context io_;
  sys::MonoTime start_, now_;
  WallTime wall0_;
  std::vector<std::function<void()>> posted_;
  std::map<long long, Entry> timers_;
  long long next_seq_ = 1;
};

}  // namespace rb::test
