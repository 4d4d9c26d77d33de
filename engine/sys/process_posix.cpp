// POSIX implementation of sys::Process: posix_spawn into a new process group, pipes read
// through Boost.Asio, exit noticed through a pidfd (no SIGCHLD handler, so nothing else's
// waitpid is disturbed), and group-wide termination.
//
// Why posix_spawn and not Boost.Process: v1 forks the whole engine and has no pidfd
// support; v2 (experimental in 1.81) has no process groups. posix_spawn (vfork+exec in
// glibc) is cheaper per step, closes every other descriptor with closefrom, and reports
// exec failures synchronously without leaving a zombie.
#include "sys/process.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <set>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace rb::sys {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Pids spawned and not yet reaped by their owner: the orphan reaper must leave them alone.
std::set<pid_t>& tracked() {
  static std::set<pid_t> s;
  return s;
}

std::string resolve(const std::string& name, const std::vector<std::pair<std::string, std::string>>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (auto& [k, v] : env)
    if (k == "PATH") path = v;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string full = dir + "/" + name;
    struct stat st {};
    if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0) return full;
    start = end + 1;
  }
  return {};
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

class PosixProcess : public Process, public std::enable_shared_from_this<PosixProcess> {
 public:
  PosixProcess(asio::io_context& io, ProcessSpec spec, OutputFn on_output, ExitFn on_exit)
      : io_(io),
        spec_(std::move(spec)),
        on_output_(std::move(on_output)),
        on_exit_(std::move(on_exit)),
        out_(io),
        err_(io),
        in_(io),
        pidfd_(io),
        timer_(io),
        kill_timer_(io) {}

  ~PosixProcess() override {
    if (pid_ > 0 && !reaped_) {
      // Owner dropped us while running: do not leave the group behind.
      ::killpg(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      tracked().erase(pid_);
    }
  }

  void start() {
    started_at_ = Clock::now();
    std::string err;
    if (!launch(&err)) {
      ProcessExit ex;
      ex.spawn_error = err;
      finish_with(std::move(ex));
      return;
    }
    result_.started = true;
    result_.pid = pid_;
    read(out_, buf_out_, false);
    read(err_, buf_err_, true);
    write_stdin();
    watch_exit();
  }

  void terminate(Millis grace) override {
    if (terminating_ || done_) return;
    terminating_ = true;
    grace_ = grace;
    terminate_at_ = Clock::now();
    if (pid_ > 0) ::killpg(pid_, SIGTERM);
    kill_timer_.expires_after(grace);
    auto self = shared_from_this();
    kill_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->done_) return;
      ::killpg(self->pid_, SIGKILL);
    });
    if (exited_) {  // the leader is gone already: wait for the rest of the group
      timer_.cancel();
      wait_group_gone();
    }
  }

  int pid() const override { return pid_; }

 private:
  bool launch(std::string* err) {
    if (spec_.argv.empty()) {
      *err = "empty command";
      return false;
    }
    std::string exe = resolve(spec_.argv[0], spec_.env);
    if (exe.empty()) {
      *err = fmt::format("cannot run '{}': command not found", spec_.argv[0]);
      return false;
    }
    int pin[2] = {-1, -1}, pout[2], perr[2];
    if (spec_.stdin_data) {
      if (::pipe2(pin, O_CLOEXEC) != 0) return sys_fail(err, "pipe");
    } else {
      pin[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (::pipe2(pout, O_CLOEXEC) != 0 || ::pipe2(perr, O_CLOEXEC) != 0) return sys_fail(err, "pipe");

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
    if (!spec_.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, spec_.cwd.c_str());
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2}) sigaddset(&defaults, s);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> envs;
    envs.reserve(spec_.env.size());
    for (auto& [k, v] : spec_.env) envs.push_back(k + "=" + v);
    std::vector<char*> envp, argv;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    for (auto& a : spec_.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, exe.c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(pin[0]);
    ::close(pout[1]);
    ::close(perr[1]);
    if (rc != 0) {
      if (pin[1] >= 0) ::close(pin[1]);
      ::close(pout[0]);
      ::close(perr[0]);
      if (rc == ENOENT && !spec_.cwd.empty() && ::access(spec_.cwd.c_str(), F_OK) != 0)
        *err = fmt::format("cannot run '{}': working directory '{}' does not exist", spec_.argv[0], spec_.cwd);
      else
        *err = fmt::format("cannot run '{}': {}", spec_.argv[0], std::strerror(rc));
      return false;
    }
    pid_ = pid;
    tracked().insert(pid);
    out_.assign(pout[0]);
    err_.assign(perr[0]);
    if (pin[1] >= 0) in_.assign(pin[1]);
    return true;
  }

  bool sys_fail(std::string* err, const char* what) {
    *err = fmt::format("{} failed: {}", what, std::strerror(errno));
    return false;
  }

  void read(asio::posix::stream_descriptor& d, std::array<char, 16384>& buf, bool is_err) {
    auto self = shared_from_this();
    d.async_read_some(asio::buffer(buf), [self, &d, &buf, is_err](const boost::system::error_code& ec, size_t n) {
      if (n > 0) self->take(std::string_view(buf.data(), n), is_err);
      if (ec) {
        boost::system::error_code ignore;
        d.close(ignore);
        (is_err ? self->err_eof_ : self->out_eof_) = true;
        self->maybe_finish();
        return;
      }
      self->read(d, buf, is_err);
    });
  }

  void take(std::string_view chunk, bool is_err) {
    std::string& keep = is_err ? result_.err : result_.out;
    uint64_t& total = is_err ? result_.err_bytes : result_.out_bytes;
    bool& trunc = is_err ? result_.err_truncated : result_.out_truncated;
    total += chunk.size();
    if (keep.size() < spec_.output_cap) {
      size_t room = spec_.output_cap - keep.size();
      keep.append(chunk.substr(0, room));
      if (chunk.size() > room) trunc = true;
    } else {
      trunc = true;
    }
    if (on_output_) on_output_(chunk, is_err);
  }

  void write_stdin() {
    if (!in_.is_open()) return;
    auto self = shared_from_this();
    asio::async_write(in_, asio::buffer(*spec_.stdin_data), [self](const boost::system::error_code&, size_t) {
      if (self->spec_.keep_stdin_open) return;  // closed by stop_reading() or the destructor
      boost::system::error_code ignore;
      self->in_.close(ignore);  // EPIPE (child did not read) is fine
    });
  }

  void watch_exit() {
    int fd = pidfd_open(pid_);
    auto self = shared_from_this();
    if (fd >= 0) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      pidfd_.assign(fd);
      pidfd_.async_wait(asio::posix::stream_descriptor::wait_read, [self](const boost::system::error_code& ec) {
        if (ec == asio::error::operation_aborted) return;
        self->reap_leader(true);
      });
      return;
    }
    poll_exit();  // kernels without pidfd
  }

  void poll_exit() {
    timer_.expires_after(std::chrono::milliseconds(5));
    auto self = shared_from_this();
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec) return;
      self->reap_leader(false);
    });
  }

  void reap_leader(bool from_pidfd) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, from_pidfd ? 0 : WNOHANG);
    if (r == 0) return poll_exit();
    reaped_ = true;
    tracked().erase(pid_);
    boost::system::error_code ignore;
    pidfd_.close(ignore);
    if (r == pid_) {
      if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
      else if (WIFSIGNALED(status)) result_.term_signal = WTERMSIG(status);
    }
    exited_ = true;
    exited_at_ = Clock::now();
    if (terminating_) {
      // The leader is gone; make sure the rest of its group follows.
      return wait_group_gone();
    }
    // Keep reading what is in the pipes, but not forever: a background process of the
    // group may hold them open.
    timer_.expires_after(spec_.drain_after_exit);
    auto self = shared_from_this();
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec) return;
      self->stop_reading();
    });
    maybe_finish();
  }

  void reap_group() {
    siginfo_t info;
    for (;;) {
      std::memset(&info, 0, sizeof info);
      if (::waitid(P_PGID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG) != 0 || info.si_pid == 0) break;
    }
  }

  void wait_group_gone() {
    reap_group();
    bool alive = ::killpg(pid_, 0) == 0;
    auto now = Clock::now();
    if (!alive) {
      stop_reading();
      return;
    }
    if (now - terminate_at_ > grace_) ::killpg(pid_, SIGKILL);
    if (now - terminate_at_ > grace_ + std::chrono::seconds(2)) {
      result_.survivors = true;
      stop_reading();
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(5));
    auto self = shared_from_this();
    timer_.async_wait([self](const boost::system::error_code& ec) {
      if (ec) return;
      self->wait_group_gone();
    });
  }

  void stop_reading() {
    boost::system::error_code ignore;
    out_.close(ignore);
    err_.close(ignore);
    in_.close(ignore);
    out_eof_ = err_eof_ = true;
    maybe_finish();
  }

  void maybe_finish() {
    if (done_ || !exited_ || !out_eof_ || !err_eof_) return;
    if (terminating_ && pid_ > 0 && ::killpg(pid_, 0) == 0 && !result_.survivors) return;  // still emptying
    reap_group();
    ProcessExit ex = std::move(result_);
    finish_with(std::move(ex));
  }

  void finish_with(ProcessExit ex) {
    if (done_) return;
    done_ = true;
    ex.duration = std::chrono::duration_cast<Millis>(Clock::now() - started_at_);
    boost::system::error_code ignore;
    timer_.cancel();
    kill_timer_.cancel();
    auto cb = std::move(on_exit_);
    auto self = shared_from_this();
    asio::post(io_, [self, cb = std::move(cb), ex = std::move(ex)]() mutable {
      if (cb) cb(std::move(ex));
    });
  }

  asio::io_context& io_;
  ProcessSpec spec_;
  OutputFn on_output_;
  ExitFn on_exit_;
  asio::posix::stream_descriptor out_, err_, in_, pidfd_;
  asio::steady_timer timer_, kill_timer_;
  std::array<char, 16384> buf_out_, buf_err_;  // not zeroed: read into only; small keeps the object off mmap
  ProcessExit result_;
  pid_t pid_ = -1;
  bool reaped_ = false, exited_ = false, out_eof_ = false, err_eof_ = false;
  bool terminating_ = false, done_ = false;
  Millis grace_{0};
  Clock::time_point started_at_, exited_at_, terminate_at_;
};

void reap_orphans(asio::steady_timer& t) {
  for (;;) {
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) break;
    if (tracked().count(info.si_pid)) break;  // its owner reaps it
    ::waitpid(info.si_pid, nullptr, WNOHANG);
  }
  t.expires_after(std::chrono::milliseconds(500));
  t.async_wait([&t](const boost::system::error_code& ec) {
    if (!ec) reap_orphans(t);
  });
}

}  // namespace

std::shared_ptr<Process> spawn_process(asio::io_context& io, ProcessSpec spec, Process::OutputFn on_output,
                                       Process::ExitFn on_exit) {
  auto p = std::make_shared<PosixProcess>(io, std::move(spec), std::move(on_output), std::move(on_exit));
  p->start();
  return p;
}

std::shared_ptr<void> become_subreaper(asio::io_context& io) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  auto timer = std::make_shared<asio::steady_timer>(io);
  reap_orphans(*timer);
  return timer;
}

bool process_group_alive(int pgid) { return pgid > 0 && ::killpg(pgid, 0) == 0; }

std::vector<std::pair<std::string, std::string>> current_environment() {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

}  // namespace rb::sys
