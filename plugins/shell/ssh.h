// The transport of fleet actions: the system's OpenSSH client (contract §8).
//
// Local side: one `ssh` per host (started through sys::Env), with
//   BatchMode=yes (never a prompt), StrictHostKeyChecking=yes (unless
//   targets.ssh.strict_host_keys: false — then UserKnownHostsFile=/dev/null, so that the
//   keys accepted unchecked are never written to a known_hosts a later run trusts), ControlMaster=auto + ControlPersist in a private
//   0700 folder (one connection per host, shared by a run's steps, checks and rollbacks),
//   ServerAlive probes (a dead link fails the host within ~30 s), no pty, no agent or X11
//   forwarding; then targets.ssh (-F, UserKnownHostsFile, -i) and the inventory's
//   ansible_port/user/ssh_private_key_file/ssh_common_args. Options given here come
//   first, so a config file or common args cannot turn BatchMode or host key checks off.
// The command line holds nothing but options, the host and a constant bootstrap: the
// script, its environment (interpolated values, `env:`, RUNBOOK_*) and its stdin travel
// on ssh's stdin, so no value — secret or hostile — is ever on a command line, local or
// remote, or parsed as code (values are single-quoted sh words in the payload).
//
// Remote side (the bootstrap, POSIX sh): reads the payload (the script into a variable,
// any stdin into a private folder: mktemp -d, umask 077, removed at exit; a trailer line
// proves nothing was cut short), starts the script with `setsid sh /dev/fd/4`, the script
// given as a here-document (its own session and process group), and watches ssh's stdin: it stays open while the engine's
// ssh lives, so EOF means the engine stopped this host (timeout, cancel) or the connection
// was lost, and the bootstrap kills the script's whole group (SIGTERM, SIGKILL after the
// grace). When the script ends, what it left in its group is stopped too. Exit status:
// the script's; 125 with a "runbook:" message when the bootstrap itself failed; a script's
// own 255 is followed by a "runbook:" line on stderr, so that a bare 255 is ssh's (a
// connection that failed or was lost).
// Needs on the host: /bin/sh, /dev/fd, head -c, setsid (util-linux or busybox); mktemp
// when the step has stdin.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/duration.h"
#include "shell/targets.h"

namespace rb::plugins::fleet {

/// What one host runs.
struct RemoteJob {
  std::string script;  ///< sh code
  std::vector<std::pair<std::string, std::string>> env;  ///< exported before it (names [A-Za-z_][A-Za-z0-9_]*)
  std::string cwd;     ///< remote directory (empty: the login directory)
  std::string stdin_data;
  Millis grace{3000};  ///< SIGTERM -> SIGKILL on the host
};

/// The command ssh runs on every host (constant; no data in it).
const std::string& remote_command();

/// The bytes sent on ssh's stdin for `job`.
std::string payload(const RemoteJob& job);

/// ssh's argv for host `h`. `control_dir`: the private folder of ControlMaster sockets.
std::vector<std::string> ssh_argv(const FleetHost& h, const SshSettings& s, const std::string& control_dir,
                                  const std::string& cwd);

/// A clear reason for a failed host from ssh's exit code and stderr (empty: none).
std::string ssh_failure(int exit_code, const std::string& stderr_text, const std::string& address);

}  // namespace rb::plugins::fleet
