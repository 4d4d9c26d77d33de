#include "sys/procs.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

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

}  // namespace rb::sys
