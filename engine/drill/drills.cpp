#include "drill/drills.h"

#include <fmt/format.h>
#include <functional>
#include <sys/stat.h>

#include "base/text.h"
#include "yaml/check.h"
#include "parse/runbook_parser.h"

namespace rb::drill {

namespace {

const std::vector<std::string> kKeys = {"name", "runbook", "schedule", "timezone", "inputs", "setup", "teardown",
                                        "answers", "description"};

// setup/teardown: a list of actions, run in order as steps of a small runbook.
std::optional<model::Runbook> actions(const yaml::Node& given, const std::string& drill, const std::string& what,
                                      plugin::Registry& reg, Diagnostics& d) {
  if (given.is_null()) return std::nullopt;
  // A list of actions; one action (a map) or one shell command (a string) also do.
  yaml::Node list = given;
  if (given.is_map() || given.is_scalar()) {
    list = yaml::Node{};
    list.kind = yaml::Node::Kind::Seq;
    list.pos = given.pos;
    if (given.is_map()) {
      list.items.push_back(given);
    } else {
      yaml::Node item, key;
      item.kind = yaml::Node::Kind::Map;
      item.pos = given.pos;
      key.kind = yaml::Node::Kind::Scalar;
      key.scalar = "shell";
      key.pos = given.pos;
      item.entries.push_back({key, given});
      list.items.push_back(item);
    }
  }
  if (!yaml::want_seq(list, fmt::format("'{}' of drill '{}'", what, drill), d)) return std::nullopt;
  yaml::Node root;
  root.kind = yaml::Node::Kind::Map;
  root.pos = list.pos;
  auto scalar = [](const std::string& s, SourcePos pos) {
    yaml::Node n;
    n.kind = yaml::Node::Kind::Scalar;
    n.scalar = s;
    n.pos = pos;
    return n;
  };
  root.entries.push_back({scalar("runbook", list.pos), scalar("drill-" + what, list.pos)});
  root.entries.push_back({scalar("title", list.pos), scalar(fmt::format("{} of drill {}", what, drill), list.pos)});
  yaml::Node steps;
  steps.kind = yaml::Node::Kind::Map;
  steps.pos = list.pos;
  for (size_t i = 0; i < list.items.size(); ++i) {
    yaml::Node item = list.items[i];
    if (!item.is_map()) {
      d.error(item.pos, fmt::format("each '{}' entry of drill '{}' is an action, e.g. shell: …", what, drill));
      continue;
    }
    if (i + 1 < list.items.size())
      item.entries.push_back({scalar("next", item.pos), scalar(fmt::format("{}-{}", what, i + 2), item.pos)});
    steps.entries.push_back({scalar(fmt::format("{}-{}", what, i + 1), item.pos), item});
  }
  if (steps.entries.empty()) return std::nullopt;
  root.entries.push_back({scalar("steps", list.pos), steps});
  model::Runbook rb = parse::parse_runbook(root, reg, d);
  rb.file = d.file();
  return rb;
}

}  // namespace

namespace {

// `runbook:` relative to where runbook runs, else to the drills file's folder.
void read_runbook_path(const yaml::Node& n, const std::string& drills_path, const std::string& label, Drill& dr,
                       Diagnostics& d) {
  auto s = yaml::want_string(n, "'runbook'", d);
  if (!s) return;
  dr.runbook = *s;
  struct stat st {};
  if (::stat(s->c_str(), &st) != 0 && !s->starts_with("/")) {
    std::string dir = drills_path.find('/') == std::string::npos ? "." : drills_path.substr(0, drills_path.rfind('/'));
    std::string alt = dir + "/" + *s;
    if (::stat(alt.c_str(), &st) == 0) dr.runbook = alt;
  }
  if (::stat(dr.runbook.c_str(), &st) != 0)
    d.error(yaml::text_pos(n), fmt::format("runbook '{}' of drill '{}' does not exist (paths are relative to the "
                                           "directory runbook runs in, or to the drills file)",
                                           *s, label));
}

void read_schedule(const yaml::Node& n, Drill& dr, Diagnostics& d) {
  auto s = yaml::want_string(n, "'schedule'", d);
  if (!s) return;
  std::string why;
  size_t off = 0;
  if (auto c = parse_cron(*s, &why, &off)) {
    dr.schedule = *c;
    return;
  }
  SourcePos p = yaml::text_pos(n);
  p.col += static_cast<int>(off);
  d.error(p, fmt::format("schedule '{}': {}", *s, why));
}

// `inputs:` and `answers:`: maps of single values.
void read_values(const yaml::Node* n, const char* what, const char* bad_value, Diagnostics& d,
                 const std::function<void(const std::string&, const std::string&)>& take) {
  if (!n || n->is_null() || !yaml::want_map(*n, fmt::format("'{}'", what), d)) return;
  for (auto& [k, v] : n->entries) {
    if (!v.is_scalar() && !v.is_null()) d.error(v.pos, fmt::format(fmt::runtime(bad_value), k.scalar));
    else take(k.scalar, v.scalar);
  }
}


std::optional<Drill> read_drill(const yaml::Node& item, const std::string& path, std::map<std::string, int>& seen,
                                plugin::Registry& reg, Diagnostics& d) {
  if (!yaml::want_map(item, "a drill", d)) return std::nullopt;
  yaml::check_keys(item, kKeys, "in a drill", d);
  Drill dr;
  dr.pos = item.pos;
  if (auto* n = item.get("name")) {
    if (auto s = yaml::want_string(*n, "'name'", d)) {
      dr.name = *s;
      if (!is_token(*s, "a-z0-9", "a-z0-9-")) d.error(yaml::text_pos(*n), fmt::format("drill name '{}' must match [a-z0-9][a-z0-9-]*", *s));
      if (seen.count(*s)) d.error(yaml::text_pos(*n), fmt::format("drill '{}' is defined twice (first at line {})", *s, seen[*s]));
      seen[*s] = n->pos.line;
    }
  } else {
    d.error(item.pos, "a drill needs a 'name'");
  }
  std::string label = dr.name.empty() ? "?" : dr.name;
  if (auto* n = item.get("runbook")) read_runbook_path(*n, path, label, dr, d);
  else d.error(item.pos, fmt::format("drill '{}' needs a 'runbook'", label));
  if (auto* n = item.get("timezone")) {
    if (auto s = yaml::want_string(*n, "'timezone'", d)) {
      if (!known_time_zone(*s)) d.error(yaml::text_pos(*n), fmt::format("unknown time zone '{}' (e.g. UTC, Europe/Paris)", *s));
      else dr.timezone = *s;
    }
  }
  if (auto* n = item.get("schedule")) read_schedule(*n, dr, d);
  else d.error(item.pos, fmt::format("drill '{}' needs a 'schedule' (5-field cron, e.g. \"0 10 3 * *\")", label));
  read_values(item.get("inputs"), "inputs", "input '{}' must be a single value", d,
              [&](auto& k, auto& v) { dr.inputs.push_back(k + "=" + v); });
  read_values(item.get("answers"), "answers", "answer for '{}' must be yes, no or done", d,
              [&](auto& k, auto& v) { dr.answers[k] = v; });
  if (auto* n = item.get("setup")) dr.setup = actions(*n, label, "setup", reg, d);
  if (auto* n = item.get("teardown")) dr.teardown = actions(*n, label, "teardown", reg, d);
  return dr;
}

}  // namespace

std::optional<std::vector<Drill>> load_drills(const std::string& path, plugin::Registry& reg, Diagnostics& d) {
  d.set_file(path);
  yaml::Node root;
  if (!yaml::load_file(path, root, d)) return std::nullopt;
  const yaml::Node* list = &root;
  if (root.is_map()) {
    yaml::check_keys(root, {"drills"}, "at the top level of a drills file", d);
    list = root.get("drills");
    if (!list) {
      d.error(root.pos, "a drills file holds `drills:`, a list of drills");
      return std::nullopt;
    }
  }
  if (!yaml::want_seq(*list, "'drills'", d)) return std::nullopt;
  std::vector<Drill> out;
  std::map<std::string, int> seen;
  for (auto& item : list->items)
    if (auto dr = read_drill(item, path, seen, reg, d)) out.push_back(std::move(*dr));
  d.sort();
  if (d.has_errors()) return std::nullopt;
  return out;
}

}  // namespace rb::drill
