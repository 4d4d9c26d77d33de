// Ansible inventories: the model, the INI and YAML loaders, host ranges (see inventory.h).
// Host patterns are in pattern.cpp.
#include "shell/inventory.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/text.h"
#include "yaml/node.h"

namespace rb::plugins::fleet {

// ---- the model -----------------------------------------------------------------------------

InventoryGroup& Inventory::group(const std::string& name) {
  auto [it, fresh] = groups_.try_emplace(name);
  if (fresh) it->second.name = name;
  return it->second;
}

InventoryHost& Inventory::host(const std::string& name) {
  auto [it, fresh] = hosts_.try_emplace(name);
  if (fresh) {
    it->second.name = name;
    order_.push_back(name);
  }
  return it->second;
}

void Inventory::add_to_group(const std::string& g, const std::string& h) {
  host(h);
  auto& members = group(g).hosts;
  if (std::find(members.begin(), members.end(), h) == members.end()) members.push_back(h);
}

void Inventory::finish() {
  group("all");
  group("ungrouped");
  std::map<std::string, bool> grouped;
  for (auto& [name, g] : groups_)
    if (name != "all" && name != "ungrouped")
      for (auto& h : g.hosts) grouped[h] = true;
  auto& ung = group("ungrouped").hosts;
  for (auto& h : order_)
    if (!grouped.count(h) && std::find(ung.begin(), ung.end(), h) == ung.end()) ung.push_back(h);
  // `all` is the parent of every top-level group (for the vars' depth).
  std::map<std::string, bool> is_child;
  for (auto& [name, g] : groups_)
    for (auto& c : g.children) is_child[c] = true;
  std::vector<std::string> top;
  for (auto& [name, g] : groups_)
    if (name != "all" && !is_child.count(name)) top.push_back(name);
  auto& all_children = group("all").children;
  for (auto& t : top)
    if (std::find(all_children.begin(), all_children.end(), t) == all_children.end()) all_children.push_back(t);
}

std::vector<std::string> Inventory::group_names() const {
  std::vector<std::string> out;
  for (auto& [name, g] : groups_) out.push_back(name);
  return out;
}

void Inventory::collect(const std::string& g, std::map<std::string, bool>& seen, std::vector<std::string>& out) const {
  if (seen[g]) return;  // cycles in children are ignored
  seen[g] = true;
  auto it = groups_.find(g);
  if (it == groups_.end()) return;
  out.insert(out.end(), it->second.hosts.begin(), it->second.hosts.end());
  for (auto& c : it->second.children) collect(c, seen, out);
}

std::vector<std::string> Inventory::members(const std::string& g) const {
  if (g == "all") return order_;
  std::vector<std::string> found;
  std::map<std::string, bool> seen;
  collect(g, seen, found);
  std::vector<std::string> out;
  for (auto& h : order_)
    if (std::find(found.begin(), found.end(), h) != found.end()) out.push_back(h);
  return out;
}

std::map<std::string, int> Inventory::depths() const {
  std::map<std::string, int> depth;
  // Longest path from `all`; a bounded relaxation (the graph may have cycles).
  depth["all"] = 0;
  for (size_t round = 0; round <= groups_.size(); ++round) {
    bool changed = false;
    for (auto& [name, g] : groups_) {
      auto it = depth.find(name);
      if (it == depth.end()) continue;
      for (auto& c : g.children) {
        int want = it->second + 1;
        if (c == "all" || want > static_cast<int>(groups_.size())) continue;
        auto& d = depth[c];
        if (d < want) {
          d = want;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return depth;
}

std::map<std::string, std::string> Inventory::vars_of(const std::string& h) const {
  std::map<std::string, int> depth = depths();
  std::vector<std::pair<int, std::string>> mine;
  for (auto& [name, g] : groups_) {
    if (name == "all") continue;
    auto m = members(name);
    if (std::find(m.begin(), m.end(), h) != m.end()) mine.emplace_back(depth.count(name) ? depth[name] : 1, name);
  }
  std::sort(mine.begin(), mine.end());
  std::map<std::string, std::string> out;
  if (auto it = groups_.find("all"); it != groups_.end())
    for (auto& [k, v] : it->second.vars) out[k] = v;
  for (auto& [d, name] : mine)
    for (auto& [k, v] : groups_.at(name).vars) out[k] = v;
  if (auto it = hosts_.find(h); it != hosts_.end())
    for (auto& [k, v] : it->second.vars) out[k] = v;
  return out;
}

// ---- words and ranges ------------------------------------------------------------------------

bool split_words(const std::string& s, bool comments, std::vector<std::string>* out) {
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (quote == '"' && c == '\\' && i + 1 < s.size() && std::strchr("\"\\$`", s[i + 1])) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) out->push_back(std::exchange(cur, {}));
      in_word = false;
      continue;
    }
    if (comments && c == '#' && !in_word) break;
    in_word = true;
    if (c == '\'' || c == '"') quote = c;
    else if (c == '\\' && i + 1 < s.size()) cur += s[++i];
    else cur += c;
  }
  if (quote) return false;
  if (in_word) out->push_back(cur);
  return true;
}

namespace {

bool all_digits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

}  // namespace

bool expand_host_range(const std::string& name, std::vector<std::string>* out, std::string* err) {
  size_t open = name.find('[');
  if (open == std::string::npos) {
    out->push_back(name);
    return true;
  }
  size_t close = name.find(']', open);
  if (close == std::string::npos) {
    *err = fmt::format("host range in '{}' has no closing ']'", name);
    return false;
  }
  std::string body = name.substr(open + 1, close - open - 1);
  std::vector<std::string> parts;
  std::stringstream ss(body);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(std::string(trim(p)));
  if (body.back() == ':') parts.push_back("");
  if (parts.size() < 2 || parts.size() > 3) {
    *err = fmt::format("host range '[{}]' in '{}' must be [start:end] or [start:end:step]", body, name);
    return false;
  }
  long step = 1;
  if (parts.size() == 3) {
    if (!all_digits(parts[2]) || parts[2].size() > 6 || (step = std::stol(parts[2])) < 1) {
      *err = fmt::format("host range step '{}' in '{}' must be a positive number", parts[2], name);
      return false;
    }
  }
  std::string head = name.substr(0, open), rest = name.substr(close + 1);
  std::vector<std::string> items;
  const std::string &a = parts[0], &b = parts[1];
  if (all_digits(a) && all_digits(b) && a.size() <= 9 && b.size() <= 9) {
    long from = std::stol(a), to = std::stol(b);
    if (from > to || (to - from) / step > 100000) {
      *err = fmt::format("host range '[{}]' in '{}' is empty or too large", body, name);
      return false;
    }
    size_t width = a.size() > 1 && a[0] == '0' ? a.size() : 0;
    for (long i = from; i <= to; i += step) items.push_back(fmt::format("{:0{}}", i, width));
  } else if (a.size() == 1 && b.size() == 1 && std::isalpha(static_cast<unsigned char>(a[0])) &&
             std::isalpha(static_cast<unsigned char>(b[0])) && a[0] <= b[0]) {
    for (char c = a[0]; c <= b[0]; c = static_cast<char>(c + step)) items.push_back(std::string(1, c));
  } else {
    *err = fmt::format("host range '[{}]' in '{}' must be numbers (01:20) or letters (a:f)", body, name);
    return false;
  }
  for (auto& it : items)
    if (!expand_host_range(head + it + rest, out, err)) return false;
  return true;
}

namespace {

// ---- INI -----------------------------------------------------------------------------------

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    return std::string(v.substr(1, v.size() - 2));
  return std::string(v);
}

bool valid_group_name(std::string_view g) {
  return !g.empty() && std::all_of(g.begin(), g.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

class IniLoader {
 public:
  IniLoader(Inventory& inv, Diagnostics& d) : inv_(inv), d_(d) {}

  void load(const std::string& text) {
    std::vector<std::string> lines = split_lines(text);
    for (size_t i = 0; i < lines.size(); ++i) {
      line_ = static_cast<int>(i + 1);
      std::string_view raw = lines[i];
      std::string_view t = trim(raw);
      col0_ = static_cast<int>(raw.find_first_not_of(" \t") + 1);
      if (t.empty() || t[0] == '#' || t[0] == ';') continue;
      if (t[0] == '[') section(t);
      else if (kind_ == Kind::Hosts) host_line(std::string(t));
      else if (kind_ == Kind::Vars) var_line(t);
      else child_line(t);
    }
  }

 private:
  enum class Kind { Hosts, Vars, Children };

  void error(int col, std::string msg) { d_.error({line_, col}, std::move(msg)); }

  void section(std::string_view t) {
    size_t close = t.find(']');
    std::string_view after = close == std::string_view::npos ? "" : trim(t.substr(close + 1));
    if (close == std::string_view::npos || (!after.empty() && after[0] != '#' && after[0] != ';')) {
      error(col0_, "a section header must be [group], [group:vars] or [group:children]");
      kind_ = Kind::Hosts;
      group_ = "ungrouped";
      return;
    }
    std::string_view body = t.substr(1, close - 1);
    size_t colon = body.find(':');
    std::string name(body.substr(0, colon));
    std::string kind = colon == std::string_view::npos ? "hosts" : std::string(body.substr(colon + 1));
    if (!valid_group_name(name)) error(col0_ + 1, fmt::format("group name '{}' may use letters, digits, '_', '-' and '.'", name));
    if (kind == "hosts") kind_ = Kind::Hosts;
    else if (kind == "vars") kind_ = Kind::Vars;
    else if (kind == "children") kind_ = Kind::Children;
    else error(col0_ + static_cast<int>(colon) + 2, fmt::format("section kind '{}' must be vars or children", kind));
    group_ = name;
    inv_.group(name);
  }

  void host_line(const std::string& t) {
    std::vector<std::string> w;
    if (!split_words(t, true, &w)) return error(col0_, "unterminated quote");
    if (w.empty()) return;
    std::string name = w[0];
    std::string port;
    // name:port (not an IPv6 address, which has several colons)
    if (size_t c = name.rfind(':'); c != std::string::npos && name.find(':') == c && all_digits(name.substr(c + 1))) {
      port = name.substr(c + 1);
      name = name.substr(0, c);
    }
    std::vector<std::string> names;
    std::string err;
    if (!expand_host_range(name, &names, &err)) return error(col0_, err);
    std::map<std::string, std::string> vars;
    for (size_t i = 1; i < w.size(); ++i) {
      size_t eq = w[i].find('=');
      if (eq == std::string::npos || eq == 0)
        return error(col0_ + static_cast<int>(t.find(w[i])),
                     fmt::format("'{}' after host '{}' must be a variable: name=value", ellipsize(w[i], 40), name));
      vars[w[i].substr(0, eq)] = w[i].substr(eq + 1);
    }
    if (!port.empty()) vars["ansible_port"] = port;
    for (auto& n : names) {
      inv_.add_to_group(group_, n);
      for (auto& [k, v] : vars) inv_.host(n).vars[k] = v;
    }
  }

  void var_line(std::string_view t) {
    size_t eq = t.find('=');
    if (eq == std::string_view::npos || trim(t.substr(0, eq)).empty())
      return error(col0_, fmt::format("a line of [{}:vars] must be name=value", group_));
    inv_.group(group_).vars[std::string(trim(t.substr(0, eq)))] = unquote(t.substr(eq + 1));
  }

  void child_line(std::string_view t) {
    std::vector<std::string> w;
    if (!split_words(std::string(t), true, &w) || w.size() != 1 || !valid_group_name(w[0]))
      return error(col0_, fmt::format("a line of [{}:children] must be one group name", group_));
    if (w[0] == group_) return error(col0_, fmt::format("group '{}' cannot be its own child", group_));
    inv_.group(w[0]);
    auto& ch = inv_.group(group_).children;
    if (std::find(ch.begin(), ch.end(), w[0]) == ch.end()) ch.push_back(w[0]);
  }

  Inventory& inv_;
  Diagnostics& d_;
  Kind kind_ = Kind::Hosts;
  std::string group_ = "ungrouped";
  int line_ = 0, col0_ = 1;
};

// ---- YAML ----------------------------------------------------------------------------------

class YamlLoader {
 public:
  YamlLoader(Inventory& inv, Diagnostics& d) : inv_(inv), d_(d) {}

  void load(const yaml::Node& root) {
    if (root.is_null()) return;
    if (!root.is_map()) return d_.error(root.pos, "a YAML inventory is a map of groups (e.g. all: {hosts: …, children: …})");
    for (auto& [k, v] : root.entries) group(k, v, 0);
  }

 private:
  static std::string text(const yaml::Node& n) { return n.is_scalar() ? n.scalar : std::string(); }

  void vars(const yaml::Node& n, std::map<std::string, std::string>& out) {
    if (n.is_null()) return;
    if (!n.is_map()) return d_.error(n.pos, fmt::format("variables must be a map, not {}", n.kind_name()));
    for (auto& [k, v] : n.entries) out[k.scalar] = text(v);
  }

  void group(const yaml::Node& key, const yaml::Node& v, int depth) {
    const std::string& name = key.scalar;
    if (!valid_group_name(name)) d_.error(key.pos, fmt::format("group name '{}' may use letters, digits, '_', '-' and '.'", name));
    if (depth > 32) return d_.error(key.pos, "groups nested too deeply");
    inv_.group(name);
    if (v.is_null()) return;
    if (!v.is_map()) return d_.error(v.pos, fmt::format("group '{}' must be a map of hosts, children and vars", name));
    for (auto& [k, x] : v.entries) {
      if (k.scalar == "hosts") hosts(name, x);
      else if (k.scalar == "children") children(name, x, depth);
      else if (k.scalar == "vars") vars(x, inv_.group(name).vars);
      else d_.error(k.pos, fmt::format("unknown key '{}' in group '{}' (a group has hosts, children and vars){}",
                                       k.scalar, name, did_you_mean_suffix(k.scalar, {"hosts", "children", "vars"})));
    }
  }

  void hosts(const std::string& g, const yaml::Node& n) {
    if (n.is_null()) return;
    if (!n.is_map()) return d_.error(n.pos, fmt::format("'hosts' of group '{}' must be a map of host names", g));
    for (auto& [k, v] : n.entries) {
      std::vector<std::string> names;
      std::string err;
      if (!expand_host_range(k.scalar, &names, &err)) {
        d_.error(k.pos, err);
        continue;
      }
      std::map<std::string, std::string> hv;
      vars(v, hv);
      for (auto& h : names) {
        inv_.add_to_group(g, h);
        for (auto& [a, b] : hv) inv_.host(h).vars[a] = b;
      }
    }
  }

  void children(const std::string& g, const yaml::Node& n, int depth) {
    if (n.is_null()) return;
    if (!n.is_map()) return d_.error(n.pos, fmt::format("'children' of group '{}' must be a map of groups", g));
    for (auto& [k, v] : n.entries) {
      if (k.scalar == g) {
        d_.error(k.pos, fmt::format("group '{}' cannot be its own child", g));
        continue;
      }
      auto& ch = inv_.group(g).children;
      if (std::find(ch.begin(), ch.end(), k.scalar) == ch.end()) ch.push_back(k.scalar);
      group(k, v, depth + 1);
    }
  }

  Inventory& inv_;
  Diagnostics& d_;
};

bool looks_like_yaml(const std::string& path, const std::string& text) {
  for (const char* ext : {".yml", ".yaml", ".json"})
    if (path.ends_with(ext)) return true;
  for (auto& l : split_lines(text)) {
    std::string_view t = trim(l);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.starts_with("---") || t[0] == '{') return true;
    return t.back() == ':' && t.find(' ') == std::string_view::npos && t.find('=') == std::string_view::npos;
  }
  return false;
}

}  // namespace

bool load_inventory(const std::string& path, Inventory* out, Diagnostics& diag, std::string* unreadable) {
  diag.set_file(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *unreadable = fmt::format("cannot read inventory '{}': {}", path, std::strerror(errno));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *unreadable = fmt::format("cannot read inventory '{}': not a regular file", path);
    return false;
  }
  if (st.st_size > (8 << 20)) {
    *unreadable = fmt::format("inventory '{}' is over 8 MiB", path);
    return false;
  }
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  if (!f) {
    *unreadable = fmt::format("cannot read inventory '{}': {}", path, std::strerror(errno ? errno : EIO));
    return false;
  }
  std::string text = ss.str();
  size_t before = diag.error_count();
  if (looks_like_yaml(path, text)) {
    yaml::Node root;
    if (!yaml::load_string(text, root, diag)) return false;
    YamlLoader(*out, diag).load(root);
  } else {
    std::string why;
    if (auto bad = find_bad_utf8(text, &why)) {
      diag.error(*bad, why);
      return false;
    }
    IniLoader(*out, diag).load(text);
  }
  out->finish();
  return diag.error_count() == before;
}

}  // namespace rb::plugins::fleet
