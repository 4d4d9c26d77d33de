// Ansible inventories and host patterns, for fleet steps (contract §8).
//
// Formats (https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html):
//   INI   hosts before any section are ungrouped; `[g]` hosts (`name[:port] k=v …`,
//         `#`/`;` comments, shell-like quoting), `[g:vars]` `k=v` lines, `[g:children]`
//         group names.
//   YAML  top-level groups (usually `all`), each a map of `hosts` (name -> vars or
//         null), `children` (name -> group) and `vars`.
//   Both: host ranges `web[01:20].example.com`, `db-[a:f]`, `[0:10:2]`; the groups `all`
//   (every host) and `ungrouped` always exist.
// A host's variables: `all`'s vars, then the vars of its groups from the shallowest to
// the deepest (ties by name), then its own (Ansible's precedence).
//
// Patterns (Ansible's): terms separated by `:` or `,`; a term is `all`/`*`, a group, a
// host, a wildcard (`web*`, matched against group and host names), `~regex`, or any of
// these with a subscript (`web[0]`, `web[1:3]`, `web[-1]`; end exclusive). A term
// prefixed `&` intersects, `!` excludes; unions are applied first, then intersections,
// then exclusions, whatever their order (a pattern of only `&`/`!` terms starts from
// every host, as in Ansible). Hosts come out in inventory order.
// Departures from Ansible, for safety at 3 a.m.: a term that selects nothing (a typo'd
// group, host or exclusion) is an error rather than a warning, and so is a pattern that
// selects no host — an empty set is never read as "all".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"

namespace rb::plugins::fleet {

struct InventoryHost {
  std::string name;
  std::map<std::string, std::string> vars;  ///< its own (not inherited)
};

struct InventoryGroup {
  std::string name;
  std::vector<std::string> hosts;     ///< direct members, in file order
  std::vector<std::string> children;  ///< child groups
  std::map<std::string, std::string> vars;
};

class Inventory {
 public:
  /// Hosts in order of first appearance.
  const std::vector<std::string>& host_order() const { return order_; }
  bool has_host(const std::string& h) const { return hosts_.count(h) > 0; }
  bool has_group(const std::string& g) const { return groups_.count(g) > 0; }
  std::vector<std::string> group_names() const;
  /// Every host of group `g` and its descendants, in inventory order (all: every host).
  std::vector<std::string> members(const std::string& g) const;
  /// The variables that apply to host `h` (see the precedence above).
  std::map<std::string, std::string> vars_of(const std::string& h) const;

  // Building (the loaders).
  InventoryGroup& group(const std::string& name);
  InventoryHost& host(const std::string& name);
  void add_to_group(const std::string& g, const std::string& h);
  /// Puts hosts that are in no group but `all` into `ungrouped`; call once at the end.
  void finish();

 private:
  void collect(const std::string& g, std::map<std::string, bool>& seen, std::vector<std::string>& out) const;
  std::map<std::string, int> depths() const;

  std::vector<std::string> order_;
  std::map<std::string, InventoryHost> hosts_;
  std::map<std::string, InventoryGroup> groups_;
};

/// Loads an INI or YAML inventory (by extension .yml/.yaml/.json, else by its first line).
/// A file that cannot be read: false with `*unreadable` set (no diagnostics). A malformed
/// one: false with errors in `diag` at the inventory's FILE:LINE:COL (diag.file() is
/// set to `path`).
bool load_inventory(const std::string& path, Inventory* out, Diagnostics& diag, std::string* unreadable);

/// Expands host ranges: "web[01:03]" -> web01 web02 web03. False (and *err) on a bad range.
bool expand_host_range(const std::string& name, std::vector<std::string>* out, std::string* err);

/// Splits like POSIX sh words (quotes, backslashes); `#` starts a comment where a word could
/// start when `comments`. False on an unterminated quote.
bool split_words(const std::string& s, bool comments, std::vector<std::string>* out);

struct PatternError {
  std::string message;
  size_t item = 0;    ///< which pattern of the list
  size_t offset = 0;  ///< byte offset of the faulty term in that pattern
};

/// The hosts `patterns` select, in inventory order: the terms of every pattern of the
/// list taken together, as above (so ["web", "&eu"] is "web:&eu"). nullopt and *err when
/// a term selects nothing or the whole set is empty.
std::optional<std::vector<std::string>> select_hosts(const Inventory& inv, const std::vector<std::string>& patterns,
                                                     PatternError* err);

}  // namespace rb::plugins::fleet
