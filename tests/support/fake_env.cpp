#include "support/fake_env.h"

#include <algorithm>
#include <csignal>
#include <sstream>

namespace rb::test {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\n"), b = s.find_last_not_of(" \t\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

class FakeTimer : public sys::Timer {
 public:
  explicit FakeTimer(FakeEnv& env) : env_(env) {}
  ~FakeTimer() override { cancel(); }
  void arm(Millis after, std::function<void()> fn) override {
    cancel();
    seq_ = env_.schedule(after, [this, fn = std::move(fn)] {
      seq_ = 0;
      fn();
    });
  }
  void cancel() override {
    if (seq_) env_.unschedule(seq_);
    seq_ = 0;
  }
  bool armed() const override { return seq_ != 0; }

 private:
  FakeEnv& env_;
  long long seq_ = 0;
};

// What a simulated command does, worked out when it starts.
struct Script {
  Millis duration{0};
  int exit_code = 0;
  std::string out;
  bool stubborn = false;
};

Script interpret(const std::string& text, std::map<std::string, int>& counts) {
  Script s;
  std::stringstream all(text);
  std::string cmd;
  while (std::getline(all, cmd, ';')) {
    std::stringstream words(trim(cmd));
    std::string verb, arg;
    words >> verb;
    std::getline(words, arg);
    arg = trim(arg);
    if (verb == "sleep") s.duration += Millis(static_cast<long long>(std::stod(arg) * 1000));
    else if (verb == "exit") s.exit_code = std::stoi(arg);
    else if (verb == "true") s.exit_code = 0;
    else if (verb == "false") s.exit_code = 1;
    else if (verb == "echo" || verb == "json") s.out += arg + "\n";
    else if (verb == "stubborn") s.stubborn = true;
    else if (verb == "count") ++counts[arg];
    else if (verb == "fail-until") {
      std::stringstream a(arg);
      std::string name;
      int n = 0;
      a >> name >> n;
      s.exit_code = ++counts[name] < n ? 1 : 0;
    }
  }
  return s;
}

class FakeProcess : public sys::Process, public std::enable_shared_from_this<FakeProcess> {
 public:
  FakeProcess(FakeEnv& env, Script s, sys::Process::ExitFn on_exit, int pid)
      : env_(env), script_(std::move(s)), on_exit_(std::move(on_exit)), pid_(pid), t0_(env.mono()) {}
  ~FakeProcess() override {
    if (seq_) env_.unschedule(seq_);
    if (!done_) --env_.running;
  }

  void start() {
    auto w = weak_from_this();
    seq_ = env_.schedule(script_.duration, [w] {
      if (auto self = w.lock()) self->exit(0);
    });
  }

  void terminate(Millis grace) override {
    if (done_ || terminating_) return;
    terminating_ = true;
    if (seq_) env_.unschedule(seq_);
    auto w = weak_from_this();
    seq_ = env_.schedule(script_.stubborn ? grace : Millis(0), [w] {
      if (auto self = w.lock()) self->exit(self->script_.stubborn ? SIGKILL : SIGTERM);
    });
  }
  int pid() const override { return pid_; }

 private:
  void exit(int sig) {
    seq_ = 0;
    done_ = true;
    --env_.running;
    if (sig) ++env_.terminated;
    sys::ProcessExit ex;
    ex.started = true;
    ex.pid = pid_;
    ex.term_signal = sig;
    ex.exit_code = sig ? -1 : script_.exit_code;
    ex.out = sig ? "" : script_.out;
    ex.out_bytes = ex.out.size();
    ex.duration = env_.since(t0_);
    env_.post([cb = std::move(on_exit_), ex = std::move(ex), self = shared_from_this()]() mutable { cb(std::move(ex)); });
  }

  FakeEnv& env_;
  Script script_;
  sys::Process::ExitFn on_exit_;
  int pid_;
  sys::MonoTime t0_;
  long long seq_ = 0;
  bool done_ = false, terminating_ = false;
};

}  // namespace

FakeEnv::FakeEnv() : start_(sys::MonoTime{} + std::chrono::hours(1)), now_(start_) {
  wall0_ = from_unix_ms(1'795'000'000'000LL);  // 2026-11-18, a fixed wall clock
}

FakeEnv::~FakeEnv() = default;

WallTime FakeEnv::wall() { return wall0_ + (now_ - start_); }

Millis FakeEnv::elapsed() const { return std::chrono::duration_cast<Millis>(now_ - start_); }

std::unique_ptr<sys::Timer> FakeEnv::timer() { return std::make_unique<FakeTimer>(*this); }

long long FakeEnv::schedule(Millis after, std::function<void()> fn) {
  long long seq = next_seq_++;
  timers_[seq] = Entry{now_ + std::max(after, Millis(0)), seq, std::move(fn)};
  return seq;
}

void FakeEnv::unschedule(long long seq) { timers_.erase(seq); }

std::shared_ptr<sys::Process> FakeEnv::spawn(sys::ProcessSpec spec, sys::Process::OutputFn,
                                             sys::Process::ExitFn on_exit) {
  std::string text;
  if (spec.argv.size() == 3 && spec.argv[0] == "/bin/sh") text = spec.argv[2];
  else
    for (auto& a : spec.argv) text += (text.empty() ? "" : " ") + a;
  commands.push_back(text);
  ++spawned;
  if (text.rfind("nosuch", 0) == 0) {
    sys::ProcessExit ex;
    ex.spawn_error = "cannot run 'nosuch': command not found";
    post([on_exit, ex] { on_exit(ex); });
    return nullptr;
  }
  ++running;
  max_running = std::max(max_running, running);
  auto p = std::make_shared<FakeProcess>(*this, interpret(text, counts), std::move(on_exit), 1000 + spawned);
  p->start();
  return p;
}

void FakeEnv::run_for(Millis d) {
  bool reached = false;
  long long seq = schedule(d, [&reached] { reached = true; });
  run_until([&reached] { return reached; });
  unschedule(seq);
}

bool FakeEnv::run_until(const std::function<bool()>& stop, Millis limit) {
  for (;;) {
    while (!posted_.empty()) {
      std::vector<std::function<void()>> batch;
      batch.swap(posted_);
      for (auto& fn : batch) fn();
      if (stop()) return true;
    }
    if (stop()) return true;
    if (timers_.empty()) return false;
    auto next = std::min_element(timers_.begin(), timers_.end(), [](auto& a, auto& b) {
      return a.second.due != b.second.due ? a.second.due < b.second.due : a.first < b.first;
    });
    if (next->second.due - start_ > limit) return false;
    now_ = std::max(now_, next->second.due);
    auto fn = std::move(next->second.fn);
    timers_.erase(next);
    fn();
  }
}

}  // namespace rb::test
