// The real Env: Boost.Asio timers and posts on one io_context, the system clocks, and
// POSIX processes (process_posix.cpp).
#include "sys/env.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unistd.h>

namespace rb::sys {

namespace asio = boost::asio;

namespace {

// asio's timer reports cancellation through the callback; this one drops the call
// instead: a generation number tells a stale completion from the current one.
class AsioTimer : public Timer {
 public:
  explicit AsioTimer(asio::io_context& io) : t_(io) {}
  ~AsioTimer() override {
    *alive_ = false;
    t_.cancel();
  }
  AsioTimer(const AsioTimer&) = delete;
  AsioTimer& operator=(const AsioTimer&) = delete;

  void arm(Millis after, std::function<void()> fn) override {
    ++gen_;
    armed_ = true;
    t_.expires_after(after);
    t_.async_wait([this, g = gen_, alive = alive_, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (ec || !*alive || g != gen_) return;
      armed_ = false;
      fn();
    });
  }
  void cancel() override {
    ++gen_;
    armed_ = false;
    t_.cancel();
  }
  bool armed() const override { return armed_; }

 private:
  asio::steady_timer t_;
  unsigned gen_ = 0;
  bool armed_ = false;
  // A completion may run after this timer is gone (already queued, or aborted by the
  // destructor); it reads only this flag then. Shared so that it outlives the timer.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class PosixEnv : public Env {
 public:
  explicit PosixEnv(asio::io_context& io) : io_(io) {}
  WallTime wall() override { return std::chrono::system_clock::now(); }
  MonoTime mono() override { return std::chrono::steady_clock::now(); }
  std::unique_ptr<Timer> timer() override { return std::make_unique<AsioTimer>(io_); }
  void post(std::function<void()> fn) override { asio::post(io_, std::move(fn)); }
  std::shared_ptr<Process> spawn(ProcessSpec spec, Process::OutputFn on_output, Process::ExitFn on_exit) override {
    return spawn_process(io_, std::move(spec), std::move(on_output), std::move(on_exit));
  }
  asio::io_context& io() override { return io_; }
  std::string cwd() override {
    char buf[4096];
    return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string(".");
  }
  std::vector<std::pair<std::string, std::string>> environment() override { return current_environment(); }

 private:
  asio::io_context& io_;
};

}  // namespace

std::unique_ptr<Env> make_posix_env(asio::io_context& io) { return std::make_unique<PosixEnv>(io); }

WallTime wall_now() { return std::chrono::system_clock::now(); }

}  // namespace rb::sys
