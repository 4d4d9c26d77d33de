// runbook doctor: checks what runs need on this machine and says what to fix (contract
// section 10). Each check is independent and reports one line; exit 0 when every check
// holds, 1 when something needs fixing. Nothing here changes the machine: a store that
// does not exist yet is not created (run creates it), and the write probe on an existing
// store leaves nothing behind.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "base/masker.h"
#include "base/time.h"
#include "builtin.h"
#include "cli/commands.h"
#include "runbook_build.h"

namespace rb::cli {

namespace {

namespace fs = std::filesystem;

struct Finding {
  std::string check;
  bool ok = true;
  std::string detail;  ///< what was found (masked)
  std::string fix;     ///< what to do, when !ok
};

Finding good(std::string check, std::string detail) { return {std::move(check), true, std::move(detail), ""}; }

bool executable_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// The first executable `name` on $PATH (or `name` itself when it holds a '/').
std::string on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return executable_file(name) ? name : "";
  const char* env = std::getenv("PATH");
  std::string path = env ? env : "/usr/local/bin:/usr/bin:/bin";
  for (size_t at = 0; at <= path.size();) {
    size_t colon = path.find(':', at);
    if (colon == std::string::npos) colon = path.size();
    std::string dir = path.substr(at, colon - at);
    if (dir.empty()) dir = ".";
    if (executable_file(dir + "/" + name)) return dir + "/" + name;
    at = colon + 1;
  }
  return "";
}

std::string store_url(const Global& g) {
  if (!g.store.empty()) return g.store;
  const char* env = std::getenv("RUNBOOK_STORE");
  return (env && *env) ? env : ".runbook/runbook.db";
}

// A SQLite store that does not exist yet: run creates it, so its nearest existing
// folder must be writable.
Finding sqlite_not_yet(const std::string& shown, const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  while (!dir.empty() && !fs::exists(dir, ec) && dir != dir.parent_path()) dir = dir.parent_path();
  if (dir.empty()) dir = ".";
  if (fs::is_directory(dir, ec) && ::access(dir.c_str(), W_OK | X_OK) == 0)
    return good("store", fmt::format("{}: not created yet; the first run creates it (in {}, writable)", shown, dir.string()));
  return {"store", false, fmt::format("{}: does not exist, and {} is not a writable folder", shown, dir.string()),
          fmt::format("make {} writable for this user, or pass --store (or set RUNBOOK_STORE) to a writable place", dir.string())};
}

Finding check_store(const Global& g) {
  std::string url = store_url(g);
  std::string shown = mask_url_passwords(url);
  bool pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
  if (!pg) {
    std::string path = url.starts_with("sqlite:") ? url.substr(7) : url;
    if (!fs::exists(path)) return sqlite_not_yet(shown, path);
  }
  Status st = Status::OK();
  auto store = journal::open_store(url, &st);
  if (!store)
    return {"store", false, fmt::format("{}: cannot open: {}", shown, mask_url_passwords(st.message())),
            pg ? "check that the server is up, the URL (host, port, database, user) and the password"
               : "check the file's permissions (0600, owned by the user who runs runbook), or pass --store"};
  // Write probe: a request for a run id no run can have, taken back at once.
  std::string probe = fmt::format("doctor-probe-{}", ::getpid());
  Value note = Value::object();
  note["text"] = "runbook doctor write probe";
  Status w = store->post_request(probe, "note", note);
  store->take_requests(probe);
  if (!w.ok())
    return {"store", false, fmt::format("{}: reachable but not writable: {}", shown, mask_url_passwords(w.message())),
            pg ? "grant this user INSERT, UPDATE and DELETE on the runbook tables"
               : "make the store file and its folder writable for this user"};
  return good("store", fmt::format("{}: reachable and writable", shown));
}

// The interpreter a script names on its #! line ("" for a binary or no #! line), with
// `/usr/bin/env NAME` resolved on $PATH.
std::string interpreter_of(const std::string& file, std::string* wanted) {
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line) || !line.starts_with("#!")) return "";
  std::string rest = line.substr(2);
  size_t b = rest.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  rest = rest.substr(b);
  std::string interp = rest.substr(0, rest.find_first_of(" \t"));
  *wanted = interp;
  if (interp == "/usr/bin/env") {
    std::string arg = rest.substr(rest.find_first_of(" \t") == std::string::npos ? rest.size() : rest.find_first_of(" \t"));
    size_t a = arg.find_first_not_of(" \t");
    *wanted = a == std::string::npos ? "" : arg.substr(a, arg.find_first_of(" \t", a) - a);
    return on_path(*wanted);
  }
  return executable_file(interp) ? interp : "";
}

void check_plugins(const Global& g, std::vector<Finding>& out) {
  std::vector<std::string> path = plugins::default_plugin_path(g.plugin_path);
  std::string searched;
  for (auto& d : path) searched += (searched.empty() ? "" : ":") + d;
  for (const std::string name : {RUNBOOK_SHIPPED_PLUGINS}) {
    std::string found;
    for (auto& dir : path)
      if (executable_file(dir + "/runbook-plugin-" + name)) {
        found = fs::weakly_canonical(dir + "/runbook-plugin-" + name).string();
        break;
      }
    std::string check = "plugin " + name;
    if (found.empty()) {
      out.push_back({check, false, fmt::format("runbook-plugin-{} not found (searched {})", name, searched),
                     "reinstall runbook (the shipped plugins live in ../libexec/runbook/ from the binary), or "
                     "pass --plugin-path DIR"});
      continue;
    }
    std::string wanted;
    std::string interp = interpreter_of(found, &wanted);
    if (!wanted.empty() && interp.empty()) {
      std::string base = fs::path(wanted).filename().string();
      out.push_back({check, false, fmt::format("{} needs {}, which is missing", found, wanted),
                     fmt::format("install {} (apt-get install {})", base, base)});
      continue;
    }
    out.push_back(good(check, interp.empty() ? found : fmt::format("{} (runs with {})", found, interp)));
  }
}

Finding check_ssh() {
  std::string ssh = on_path("ssh");
  if (ssh.empty())
    return {"ssh", false, "ssh not found on PATH (fleet steps reach their hosts over ssh)",
            "install the OpenSSH client (apt-get install openssh-client)"};
  return good("ssh", ssh);
}

Finding check_time_zones() {
  const char* tz = std::getenv("TZ");
  if (!known_time_zone("Europe/Paris") || !known_time_zone("America/New_York"))
    return {"time zones", false, "no time zone data in /usr/share/zoneinfo (--tz and drill schedules with a zone need it)",
            "install tzdata (apt-get install tzdata)"};
  if (tz && *tz && *tz != ':' && !known_time_zone(tz))
    return {"time zones", false, fmt::format("TZ={} is not a zone in /usr/share/zoneinfo", tz),
            "set TZ to an IANA zone name (e.g. Europe/Paris) or unset it"};
  return good("time zones", "/usr/share/zoneinfo");
}

}  // namespace

int cmd_doctor(const Global& g) {
  std::vector<Finding> all;
  all.push_back(check_store(g));
  check_plugins(g, all);
  all.push_back(check_ssh());
  all.push_back(check_time_zones());
  int bad = 0;
  Value json = Value::array();
  for (auto& f : all) {
    bad += f.ok ? 0 : 1;
    if (g.json) {
      Value v = Value::object();
      v["check"] = f.check;
      v["ok"] = f.ok;
      v["detail"] = f.detail;
      if (!f.ok) v["fix"] = f.fix;
      json.push_back(v);
      continue;
    }
    fmt::print("{:<4} {:<16} {}\n", f.ok ? "ok" : "FIX", f.check, f.detail);
    if (!f.ok) fmt::print("{:<21} fix: {}\n", "", f.fix);
  }
  if (g.json) fmt::print("{}\n", json.dump());
  else if (bad) fmt::print("runbook doctor: {} to fix\n", bad == 1 ? "1 thing" : fmt::format("{} things", bad));
  else fmt::print("runbook doctor: all good\n");
  return bad ? kFailed : kOk;
}

}  // namespace rb::cli
