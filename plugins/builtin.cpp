// The one explicit list of built-in plugins. A new built-in is a folder under plugins/
// and one line here.
#include "builtin.h"

#include <climits>
#include <cstdlib>
#include <unistd.h>

#ifndef RUNBOOK_LIBEXEC_FROM_BIN  // set by the build (cmake/version.cmake) from GNUInstallDirs
#define RUNBOOK_LIBEXEC_FROM_BIN "../libexec/runbook"
#endif

#include "approval/approval.h"
#include "external/external.h"
#include "http/http.h"
#include "shell/shell.h"
#include "sql/sql.h"
#include "wait/wait.h"

namespace rb::plugins {

void register_builtins(plugin::Registry& reg, std::vector<std::string> plugin_path) {
  reg.add(make_shell_plugin());
  reg.add(make_sql_plugin());
  reg.add(make_http_plugin());
  reg.add(make_wait_plugin());
  reg.add(make_approval_plugin());
  reg.add(make_manual_plugin());
  reg.set_resolver([path = std::move(plugin_path)](const std::string& name) { return find_external_plugin(name, path); });
}

std::vector<std::string> default_plugin_path(const std::vector<std::string>& from_flags) {
  std::vector<std::string> out = from_flags;
  if (const char* env = std::getenv("RUNBOOK_PLUGIN_PATH")) {
    std::string s = env;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) out.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = 0;
    std::string dir(buf);
    dir = dir.substr(0, dir.rfind('/'));
    out.push_back(dir + "/plugins");  // a build tree: the build copies plugins/bin/* there
    std::string libexec = RUNBOOK_LIBEXEC_FROM_BIN;  // installed: ../libexec/runbook
    out.push_back(libexec.starts_with("/") ? libexec : dir + "/" + libexec);
  }
  return out;
}

}  // namespace rb::plugins
