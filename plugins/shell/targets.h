// `targets:` of a fleet action (contract §8), read from its rendered value, and the hosts
// it selects. Shared by the shell plugin (at run time) and the CLI (the pre-run check
// and --dry-run's host lists), so both read a targets block the same way.
//
// Defaults and rules, written down here because the contract is silent on them:
//   max_concurrency  10 (a percentage: of the selected hosts, rounded down, at least 1)
//   max_errors       0: the first failed host stops new starts and fails the step; a
//                    percentage is of the selected hosts, rounded down
//   canary           none; a percentage is rounded down, at least 1
//   relative paths   (inventory, ssh files, ansible_ssh_private_key_file) are relative to
//                    the directory runbook was started in; `~/` is the user's home
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "base/value.h"
#include "shell/inventory.h"

namespace rb::plugins::fleet {

/// A number of hosts or a percentage of them.
struct Count {
  long n = 0;
  bool percent = false;
  /// The count for `total` hosts (percentages rounded down; at least `floor`).
  long of(size_t total, long floor) const;
};

struct SshSettings {
  std::string config;       ///< ssh -F
  std::string known_hosts;  ///< UserKnownHostsFile
  std::string identity;     ///< ssh -i (with IdentitiesOnly)
  bool strict_host_keys = true;
};

struct TargetsSpec {
  std::string inventory;
  std::vector<std::string> patterns;
  std::optional<Count> max_concurrency, max_errors, canary;
  SshSettings ssh;
};

/// Reads a rendered targets value. nullopt, *err and *key (the faulty key) when malformed.
std::optional<TargetsSpec> parse_targets(const Value& v, std::string* err, std::string* key);

/// One selected host and how to reach it (inventory variables applied).
struct FleetHost {
  std::string name;
  std::string address;  ///< ansible_host, else the name
  std::string port;     ///< ansible_port (empty: ssh's default or config)
  std::string user;     ///< ansible_user
  std::string identity; ///< ansible_ssh_private_key_file
  std::vector<std::string> ssh_args;  ///< ansible_ssh_common_args, split like sh words
};

/// Why the hosts could not be selected.
struct SelectFailure {
  enum class Kind { Unreadable, Malformed, Pattern, BadVars } kind = Kind::Unreadable;
  std::string message;      ///< the first problem, for people
  Diagnostics inventory;    ///< Malformed: positioned errors in the inventory file
  PatternError pattern;     ///< Pattern: which pattern and where in it
};

/// Makes a relative path absolute against `cwd`; expands a leading `~/`.
std::string resolve_path(const std::string& p, const std::string& cwd);

/// Loads the inventory and selects the hosts, in inventory order. False and *f on an
/// unreadable or malformed inventory, a pattern selecting nothing, or bad host vars.
bool select_targets(const TargetsSpec& spec, const std::string& cwd, std::vector<FleetHost>* out, SelectFailure* f);

}  // namespace rb::plugins::fleet
