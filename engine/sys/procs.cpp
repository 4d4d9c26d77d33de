#include "sys/procs.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <csignal>
#include <thread>

namespace rb::sys {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

bool holds_all(const std::string& environ_blob, const std::vector<std::string>& vars) {
  size_t found = 0;
  for (size_t i = 0; i < environ_blob.size();) {
    size_t z = environ_blob.find('\0', i);
    if (z == std::string::npos) z = environ_blob.size();
    std::string_view kv(environ_blob.data() + i, z - i);
    found += static_cast<size_t>(std::count(vars.begin(), vars.end(), kv));
    i = z + 1;
  }
  return found >= vars.size();
}

}  // namespace

std::optional<unsigned long long> process_start_time(int pid) {
  if (pid <= 0) return std::nullopt;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t rp = stat.rfind(')');
  if (rp == std::string::npos || rp + 2 >= stat.size() || stat[rp + 2] == 'Z') return std::nullopt;
  // Fields after the command: state is field 3; starttime is field 22.
  std::istringstream rest(stat.substr(rp + 2));
  std::string f;
  for (int i = 3; i <= 22 && rest >> f; ++i)
    if (i == 22) return std::stoull(f);
  return std::nullopt;
}

std::vector<ProcInfo> processes_with_env(const std::vector<std::string>& vars) {
  std::vector<ProcInfo> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    std::string base = std::string("/proc/") + e->d_name;
    if (!holds_all(slurp(base + "/environ"), vars)) continue;
    std::string stat = slurp(base + "/stat");
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 2 >= stat.size() || stat[rp + 2] == 'Z') continue;
    ProcInfo p;
    p.pid = std::atoi(e->d_name);
    p.pgid = ::getpgid(p.pid);
    p.cmdline = slurp(base + "/cmdline");
    std::replace(p.cmdline.begin(), p.cmdline.end(), '\0', ' ');
    while (!p.cmdline.empty() && p.cmdline.back() == ' ') p.cmdline.pop_back();
    out.push_back(std::move(p));
  }
  ::closedir(d);
  return out;
}

std::vector<ProcInfo> stop_groups(const std::vector<ProcInfo>& procs, std::chrono::milliseconds grace) {
  auto alive = [](const ProcInfo& p) { return process_start_time(p.pid).has_value(); };
  auto signal_all = [&](int sig) {
    for (auto& p : procs) {
      if (p.pgid > 1 && p.pgid != ::getpgrp()) ::killpg(p.pgid, sig);
      else ::kill(p.pid, sig);
    }
  };
  auto wait_gone = [&](std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::any_of(procs.begin(), procs.end(), alive) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  signal_all(SIGTERM);
  wait_gone(grace);
  signal_all(SIGKILL);
  wait_gone(std::chrono::milliseconds(2000));
  std::vector<ProcInfo> left;
  for (auto& p : procs)
    if (alive(p)) left.push_back(p);
  return left;
}

}  // namespace rb::sys
