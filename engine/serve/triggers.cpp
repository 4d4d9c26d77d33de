// --triggers FILE (serve/alerts.h): read and checked before the server starts; a bad file
// is exit 2 with FILE:LINE:COL, and the server does not start.
#include <filesystem>
#include <fmt/format.h>
#include <set>

#include "base/text.h"
#include "parse/runbook_parser.h"
#include "serve/alerts.h"
#include "yaml/node.h"

namespace rb::serve {

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTriggerKeys = {"name", "match", "runbook", "inputs", "incident", "answers"};

// A template whose every name is under `alert.` (nothing else exists when an alert comes).
std::optional<expr::Template> alert_template(const yaml::Node& n, const std::string& what, Diagnostics& d) {
  if (!n.is_scalar()) {
    d.error(n.pos, fmt::format("{} must be text (a template over alert.labels / alert.annotations)", what));
    return std::nullopt;
  }
  expr::Error err;
  auto t = expr::parse_template(n.scalar, n.pos, &err);
  if (!t) {
    d.error(n.pos, fmt::format("{}: in '${{{{ }}}}': {}", what, err.message));
    return std::nullopt;
  }
  for (auto& part : t->parts) {
    if (!part.expr) continue;
    for (auto& ref : expr::name_refs(*part.expr)) {
      if (!ref.path.empty() && ref.path[0] == "alert") continue;
      d.error(n.pos, fmt::format("{}: '{}' is not known when an alert comes: use alert.labels.NAME, "
                                 "alert.annotations.NAME or alert.fingerprint",
                                 what, ref.path.empty() ? "?" : join(ref.path, ".")));
      return std::nullopt;
    }
  }
  return t;
}

// The runbook file a trigger names: under the runbooks folder, never outside it.
std::optional<std::string> runbook_path(const yaml::Node& n, const std::string& dir, Diagnostics& d) {
  if (!n.is_scalar() || n.scalar.empty()) {
    d.error(n.pos, "runbook must be a file name under --runbooks");
    return std::nullopt;
  }
  fs::path rel(n.scalar);
  bool escapes = rel.is_absolute();
  for (auto& part : rel)
    if (part == "..") escapes = true;
  if (escapes) {
    d.error(n.pos, fmt::format("runbook '{}' must be a file under --runbooks {} (no absolute path, no '..')", n.scalar, dir));
    return std::nullopt;
  }
  fs::path p = fs::path(dir) / rel;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) {
    d.error(n.pos, fmt::format("runbook '{}': no such file in {}", n.scalar, dir));
    return std::nullopt;
  }
  return p.string();
}

void read_inputs(const yaml::Node& n, const model::Runbook& rb, Trigger& t, Diagnostics& d) {
  if (!n.is_map()) return d.error(n.pos, "inputs must be a map of input name to template");
  std::vector<std::string> names;
  for (auto& in : rb.inputs) names.push_back(in.name);
  for (auto& [k, v] : n.entries) {
    if (!rb.input(k.scalar)) {
      d.error(k.pos, fmt::format("runbook {} has no input '{}'{}", rb.id, k.scalar, did_you_mean_suffix(k.scalar, names)));
      continue;
    }
    if (auto tpl = alert_template(v, "input " + k.scalar, d)) t.inputs.emplace_back(k.scalar, std::move(*tpl));
  }
}

void read_answers(const yaml::Node& n, const model::Runbook& rb, Trigger& t, Diagnostics& d) {
  if (!n.is_map()) return d.error(n.pos, "answers must be a map of step to yes, no or done");
  for (auto& [k, v] : n.entries) {
    const model::Step* s = rb.find(k.scalar);
    if (!s || s->kind != model::StepKind::Action || (s->action.kind != "approval" && s->action.kind != "manual")) {
      d.error(k.pos, fmt::format("'{}' is not an approval or manual step of {}", k.scalar, rb.id));
      continue;
    }
    // The run's operator is the hook token that posted the alert, and so would be the answer
    // a trigger gives: a second-person approval would refuse it and wait, silently.
    const yaml::Node* sp = s->action.kind == "approval" ? s->action.params.get("second_person") : nullptr;
    bool second = false;
    if (sp && yaml::plain_is_bool(*sp, &second) && second) {
      d.error(k.pos, fmt::format("'{}' needs a second person: a trigger's answer would be the alert's own, which that "
                                 "rule refuses; leave it out so that a person answers it",
                                 k.scalar));
      continue;
    }
    auto a = v.is_scalar() ? exec::parse_answer(v.scalar) : std::nullopt;
    if (!a || !a->by.empty()) {
      d.error(v.pos, "an answer is yes, no or done");
      continue;
    }
    t.answers[k.scalar] = *a;
  }
}

std::optional<Trigger> read_trigger(const yaml::Node& n, const std::string& dir, plugin::Registry& reg,
                                    Diagnostics& d) {
  if (!n.is_map()) {
    d.error(n.pos, "a trigger is a map: name, match, runbook, inputs, incident, answers");
    return std::nullopt;
  }
  size_t before = d.error_count();
  for (auto& [k, v] : n.entries)
    if (std::find(kTriggerKeys.begin(), kTriggerKeys.end(), k.scalar) == kTriggerKeys.end())
      d.error(k.pos, fmt::format("unknown key '{}'{}", k.scalar, did_you_mean_suffix(k.scalar, kTriggerKeys)));
  Trigger t;
  const yaml::Node* name = n.get("name");
  if (!name || !name->is_scalar() || name->scalar.empty()) d.error(n.pos, "a trigger needs a name");
  else t.name = name->scalar;
  const yaml::Node* match = n.get("match");
  if (!match || !match->is_map() || match->entries.empty()) {
    d.error(match ? match->pos : n.pos, "match: a map of alert labels to their values (at least one)");
  } else {
    for (auto& [k, v] : match->entries) {
      if (!v.is_scalar()) d.error(v.pos, fmt::format("match {}: a label's value is text", k.scalar));
      else t.match.emplace_back(k.scalar, v.scalar);
    }
  }
  const yaml::Node* book = n.get("runbook");
  std::optional<model::Runbook> rb;
  if (!book) {
    d.error(n.pos, "a trigger needs a runbook (a file under --runbooks)");
  } else if (auto p = runbook_path(*book, dir, d)) {
    t.runbook = book->scalar;
    t.path = *p;
    Diagnostics rd(*p);
    rb = parse::load_runbook(*p, reg, rd);
    if (!rb) {
      for (auto& x : rd.list())
        if (x.severity == Severity::Error) d.error(book->pos, fmt::format("runbook {} is not valid: {}", t.runbook, x.format()));
    }
  }
  if (rb) {
    if (auto* in = n.get("inputs")) read_inputs(*in, *rb, t, d);
    if (auto* an = n.get("answers")) read_answers(*an, *rb, t, d);
  }
  if (auto* inc = n.get("incident")) t.incident = alert_template(*inc, "incident", d);
  if (d.error_count() > before) return std::nullopt;
  return t;
}

}  // namespace

std::optional<std::vector<Trigger>> load_triggers(const std::string& path, const std::string& runbooks_dir,
                                                  plugin::Registry& reg, Diagnostics& d) {
  d.set_file(path);
  yaml::Node root;
  if (!yaml::load_file(path, root, d)) return std::nullopt;
  const yaml::Node* list = root.is_map() ? root.get("triggers") : nullptr;
  if (!list || !list->is_seq()) {
    d.error(root.pos, "a triggers file is a map with `triggers:`, a list of triggers");
    return std::nullopt;
  }
  for (auto& [k, v] : root.entries)
    if (k.scalar != "triggers") d.error(k.pos, fmt::format("unknown key '{}' (a triggers file has `triggers:`)", k.scalar));
  std::vector<Trigger> out;
  std::set<std::string> names;
  for (auto& item : list->items) {
    auto t = read_trigger(item, runbooks_dir, reg, d);
    if (!t) continue;
    if (!names.insert(t->name).second) {
      d.error(item.pos, fmt::format("a second trigger named '{}'", t->name));
      continue;
    }
    out.push_back(std::move(*t));
  }
  if (d.has_errors()) return std::nullopt;
  return out;
}

}  // namespace rb::serve
