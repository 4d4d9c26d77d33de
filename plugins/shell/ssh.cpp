#include "shell/ssh.h"

#include <fmt/format.h>

#include <functional>
#include <regex>

#include "base/text.h"

namespace rb::plugins::fleet {

namespace {

// The bootstrap (see ssh.h). No single quote in it: it is given to the remote login shell
// inside '…'. $p is the script's session (= process group) id. The script reaches `sh` as
// a here-document on fd 4 (a pipe, or a private temporary file, made by the shell itself):
// never on a command line, and no file of ours to create and remove when there is no
// stdin. Forks per host: head, setsid+sh and the watcher (mktemp and rm only with stdin).
// Every fork and exec counts: with 50 hosts at once on one machine they are most of a
// fleet step's cost besides ssh itself (tests/bench/fleet_bench.sh).
constexpr const char* kBootstrap =
    "umask 077; "
    // A newline without a fork: a shell starts with IFS = space, tab, newline (POSIX).
    "nl=${IFS#??}; [ ${#nl} -eq 1 ] || { nl=$(printf \"\\nx\"); nl=${nl%x}; }; "
    "short() { echo \"runbook: the command was cut short (connection lost?)\" >&2; exit 125; }; "
    "IFS=\" \" read -r m ns ni g || { echo \"runbook: no command received (connection lost?)\" >&2; exit 125; }; "
    "[ \"$m\" = RB2 ] || { echo \"runbook: unexpected input\" >&2; exit 125; }; "
    "command -v setsid >/dev/null 2>&1 || { echo \"runbook: setsid not found on this host\" >&2; exit 125; }; "
    "s=$(head -c \"$ns\") || short; "
    "i=/dev/null; "
    "if [ \"$ni\" -gt 0 ]; then "
    "d=$(mktemp -d \"${TMPDIR:-/tmp}/runbook.XXXXXX\") || "
    "{ echo \"runbook: cannot create a private folder on this host\" >&2; exit 125; }; "
    "trap \"rm -rf \\\"\\$d\\\"\" EXIT; "
    "i=$d/i; head -c \"$ni\" >\"$i\" || short; "
    "fi; "
    "IFS= read -r e && [ \"$e\" = RB2-END ] || short; "
    "exec 3<&0; "
    // A here-document needs lines; the command line stays one line (any login shell reads it).
    "eval \"setsid sh /dev/fd/4 <\\\"\\$i\\\" 3<&- 4<<RB2-SCRIPT &${nl}exec 4<&-${nl}\\$s${nl}RB2-SCRIPT${nl}p=\\$!\"; "
    "(while IFS= read -r _; do :; done; kill -TERM -$p; sleep \"$g\"; kill -KILL -$p) <&3 >/dev/null 2>&1 & w=$!; "
    "exec 3<&-; "
    "wait $p; rc=$?; "
    "kill $w 2>/dev/null; "
    "if kill -0 -$p 2>/dev/null; then kill -TERM -$p 2>/dev/null; sleep 1; kill -KILL -$p 2>/dev/null; fi; "
    "[ $rc -ne 255 ] || echo \"runbook: the command exited with 255\" >&2; "  // vs ssh's own 255
    "exit $rc";

bool env_name(const std::string& n) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(n, re);
}

}  // namespace

const std::string& remote_command() {
  static const std::string cmd = std::string("exec /bin/sh -c '") + kBootstrap + "'";
  return cmd;
}

std::string payload(const RemoteJob& job) {
  std::string script;
  for (auto& [k, v] : job.env)
    if (env_name(k)) script += fmt::format("export {}={}\n", k, shell_quote(v));
  if (!job.cwd.empty())
    script += fmt::format("cd -- {} || {{ echo \"runbook: no directory {}\" >&2; exit 125; }}\n", shell_quote(job.cwd),
                          shell_quote(job.cwd));
  script += job.script;
  if (script.empty() || script.back() != '\n') script += '\n';
  long grace_s = std::max<long>(1, static_cast<long>((job.grace.count() + 999) / 1000));
  // The trailer proves that nothing was cut short (head -c stops early at EOF).
  return fmt::format("RB2 {} {} {}\n", script.size(), job.stdin_data.size(), grace_s) + script + job.stdin_data +
         "RB2-END\n";
}

std::vector<std::string> ssh_argv(const FleetHost& h, const SshSettings& s, const std::string& control_dir,
                                  const std::string& cwd) {
  std::vector<std::string> a = {"ssh", "-T", "-x", "-a"};
  auto opt = [&a](const std::string& o) {
    a.push_back("-o");
    a.push_back(o);
  };
  opt("BatchMode=yes");
  opt(std::string("StrictHostKeyChecking=") + (s.strict_host_keys ? "yes" : "no"));
  opt("ControlMaster=auto");
  // %C: host, port, user, jump host. The settings that decide how a connection is made and
  // checked (files, host key policy, extra args) are part of the name too, so an action with
  // other settings never rides on a connection another action opened.
  std::string how = s.config + '\n' + s.known_hosts + '\n' + s.identity + '\n' + (s.strict_host_keys ? "y" : "n") + '\n' +
                    h.identity + '\n' + join(h.ssh_args, "\n");
  opt(fmt::format("ControlPath={}/{:08x}-%C", control_dir, std::hash<std::string>{}(how) & 0xffffffffu));
  opt("ControlPersist=30");
  opt("ServerAliveInterval=10");
  opt("ServerAliveCountMax=3");
  opt("ConnectTimeout=15");
  opt("PermitLocalCommand=no");
  opt("LogLevel=ERROR");
  if (!s.config.empty()) {
    a.push_back("-F");
    a.push_back(resolve_path(s.config, cwd));
  }
  // Unchecked keys are not remembered either: with StrictHostKeyChecking=no, ssh adds every
  // new key to the user's known_hosts, and a later run that checks keys would trust a key
  // no one ever checked.
  if (!s.strict_host_keys) opt("UserKnownHostsFile=/dev/null");
  else if (!s.known_hosts.empty()) opt("UserKnownHostsFile=" + resolve_path(s.known_hosts, cwd));
  for (const std::string* id : {&s.identity, &h.identity}) {
    if (id->empty()) continue;
    a.push_back("-i");
    a.push_back(resolve_path(*id, cwd));
    opt("IdentitiesOnly=yes");
  }
  if (!h.port.empty()) {
    a.push_back("-p");
    a.push_back(h.port);
  }
  if (!h.user.empty()) {
    a.push_back("-l");
    a.push_back(h.user);
  }
  a.insert(a.end(), h.ssh_args.begin(), h.ssh_args.end());
  a.push_back("--");
  a.push_back(h.address);
  a.push_back(remote_command());
  return a;
}

std::string ssh_failure(int exit_code, const std::string& err, const std::string& address) {
  auto has = [&err](const char* s) { return err.find(s) != std::string::npos; };
  std::string last;
  for (auto& l : split_lines(err))
    if (!trim(l).empty() && trim(l).find_first_not_of('@') != std::string_view::npos) last = std::string(trim(l));
  if (exit_code == 125 && last.starts_with("runbook:")) return last;
  if (exit_code != 255) return {};
  if (has("REMOTE HOST IDENTIFICATION HAS CHANGED") || has("Host key verification failed"))
    return fmt::format("host key verification failed for {}: {}; nothing was run", address,
                       has("HAS CHANGED") ? "its key does not match known_hosts (a changed or impostor host)"
                                          : "no matching key in known_hosts");
  if (has("Permission denied")) return fmt::format("cannot log in to {}: {}; nothing was run", address, last);
  if (has("Connection refused") || has("Could not resolve") || has("timed out") || has("No route to host") ||
      has("Network is unreachable"))
    return fmt::format("cannot connect to {}: {}; nothing was run", address, last);
  if (last == "runbook: the command exited with 255") return {};  // the script's own exit code
  if (last.empty() || has("closed") || has("Broken pipe") || has("Connection reset") || has("Timeout, server"))
    return fmt::format("connection to {} lost before the command finished{}", address, last.empty() ? "" : ": " + last);
  return fmt::format("ssh to {} failed (exit 255): {}", address, last);
}

}  // namespace rb::plugins::fleet
