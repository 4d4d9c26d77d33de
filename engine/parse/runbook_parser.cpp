// yaml::Node -> model::Runbook, with structural checks (see runbook_parser.h).
#include "parse/runbook_parser.h"

#include <fmt/format.h>

#include "base/hash.h"
#include "base/text.h"
#include "parse/parser.h"
#include "yaml/check.h"

namespace rb::parse {

using model::Check;
using model::Runbook;
using model::Step;
using yaml::Entry;
using yaml::Node;

const std::vector<std::string>& step_keys() {
  static const std::vector<std::string> keys = {
      "title",   "phase",      "description", "budget",   "timeout",    "retry",     "env",
      "cwd",     "stdin",      "verify",      "outputs",  "record",     "next",      "choose",
      "on_failure", "on_reject", "on_timeout", "rollback", "continue_on_failure", "idempotent",
      "mutates", "parallel",   "max_concurrency", "end",  "expect", "targets"};
  return keys;
}

const std::vector<std::string> kTopKeys = {"runbook", "title",    "description", "severity", "objectives",
                                           "inputs",  "defaults", "start",       "steps"};
const std::vector<std::string> kBuiltinActions = {"shell", "sql", "http", "wait", "approval", "manual"};
const std::vector<std::string> kDefaultsKeys = {"timeout",    "retry",      "budget",
                                                "env",        "cwd",        "idempotent",
                                                "on_failure", "continue_on_failure", "mutates"};
const std::vector<std::string> kCheckKeys = {"name", "expect", "within", "interval", "timeout", "mutates", "targets"};

namespace {

bool valid_id(const std::string& s) { return is_token(s, "a-z0-9", "a-z0-9-"); }
bool valid_step_id(const std::string& s) { return is_token(s, "A-Za-z0-9_", "A-Za-z0-9_-"); }
bool valid_name(const std::string& s) { return is_token(s, "A-Za-z_", "A-Za-z0-9_"); }

}  // namespace

// A drills file or a triggers file given to `validate` (or `run`): one error saying what
// the file is and which command reads it, instead of "unknown key" and three missing keys.
bool Parser::other_kind_of_file(const Node& root) {
  if (root.get("runbook") || root.get("steps")) return false;
  std::string file = d_.file().empty() ? "FILE" : shell_quote(d_.file());
  if (auto* e = root.entry("drills")) {
    d_.error(e->first.pos, fmt::format("this is a drills file, not a runbook: `runbook drill list --drills {}` checks "
                                       "it, and `validate` takes the runbooks it names",
                                       file));
    return true;
  }
  if (auto* e = root.entry("triggers")) {
    d_.error(e->first.pos, fmt::format("this is a triggers file, not a runbook: `runbook serve --triggers {}` checks "
                                       "it when it starts, and `validate` takes the runbooks it names",
                                       file));
    return true;
  }
  return false;
}

Runbook Parser::run(const Node& root) {
  Runbook rb;
  rb.pos = root.pos;
  if (!root.is_map()) {
    d_.error(root.pos, fmt::format("a runbook is a map with runbook, title and steps, not {}", root.kind_name()));
    return rb;
  }
  if (other_kind_of_file(root)) return rb;
  check_keys(root, kTopKeys, "at the top level", d_);
  header(root, rb);
  if (auto* n = root.get("objectives")) objectives(*n, rb.objectives);
  if (auto* n = root.get("inputs")) inputs(*n, rb);
  const Node* defaults = root.get("defaults");
  if (defaults && !defaults->is_null()) {
    if (want_map(*defaults, "'defaults'", d_)) check_keys(*defaults, kDefaultsKeys, "in defaults", d_);
    else defaults = nullptr;
  } else {
    defaults = nullptr;
  }
  const Node* steps = root.get("steps");
  if (!steps) {
    d_.error(root.pos, "missing required key 'steps'");
  } else if (want_map(*steps, "'steps'", d_)) {
    if (steps->entries.empty()) d_.error(steps->pos, "'steps' is empty: a runbook needs at least one step");
    for (auto& [k, v] : steps->entries) {
      Step s = step(k, v, defaults);
      s.index = rb.steps.size();
      rb.step_index.emplace(s.id, s.index);
      rb.steps.push_back(std::move(s));
    }
    if (!rb.steps.empty()) {
      Step& last = rb.steps.back();
      if (last.kind != model::StepKind::End && !last.next && last.choose.empty()) last.implicit_end = true;
    }
  }
  if (auto* e = root.entry("start")) {
    if (auto s = want_string(e->second, "'start'", d_)) {
      rb.start = *s;
      rb.start_pos = text_pos(e->second);
    }
  } else if (!rb.steps.empty()) {
    rb.start = rb.steps.front().id;
    rb.start_pos = rb.steps.front().pos;
  }
  return rb;
}

void Parser::header(const Node& root, Runbook& rb) {
  if (auto* n = root.get("runbook")) {
    if (auto s = want_string(*n, "'runbook'", d_)) {
      rb.id = *s;
      if (!valid_id(*s))
        d_.error(text_pos(*n), fmt::format("runbook id '{}' must match [a-z0-9][a-z0-9-]*", ellipsize(*s, 60)));
    }
  } else {
    d_.error(root.pos, "missing required key 'runbook' (the runbook's id)");
  }
  if (auto* n = root.get("title")) {
    if (auto s = want_string(*n, "'title'", d_)) rb.title = *s;
  } else {
    d_.error(root.pos, "missing required key 'title'");
  }
  if (auto* n = root.get("description"))
    if (auto s = want_string(*n, "'description'", d_)) rb.description = *s;
  if (auto* n = root.get("severity")) {
    if (auto s = want_string(*n, "'severity'", d_)) {
      static const std::vector<std::string> sev = {"SEV-1", "SEV-2", "SEV-3", "SEV-4"};
      if (std::find(sev.begin(), sev.end(), *s) == sev.end())
        d_.error(text_pos(*n), fmt::format("severity '{}' must be one of SEV-1, SEV-2, SEV-3, SEV-4{}",
                                           ellipsize(*s, 40), did_you_mean_suffix(*s, sev)));
      else rb.severity = *s;
    }
  }
}

void Parser::objectives(const Node& n, model::Objectives& o) {
  o.pos = n.pos;
  if (n.is_null()) return;
  if (!want_map(n, "'objectives'", d_)) return;
  check_keys(n, {"rto", "rpo", "on_breach"}, "in objectives", d_);
  if (auto* v = n.get("rto")) o.rto = want_duration(*v, "'rto'", d_);
  if (auto* v = n.get("rpo")) o.rpo = want_duration(*v, "'rpo'", d_);
  if (auto* v = n.get("on_breach")) {
    if (auto s = want_string(*v, "'on_breach'", d_)) {
      if (*s == "abort") o.on_breach = model::OnBreach::Abort;
      else if (*s == "continue") o.on_breach = model::OnBreach::Continue;
      else d_.error(text_pos(*v), fmt::format("on_breach must be 'continue' or 'abort', not '{}'", ellipsize(*s, 40)));
    }
  }
  if (o.rto && o.rto->count() == 0) d_.error(n.get("rto")->pos, "'rto' must be greater than zero");
}

void Parser::inputs(const Node& n, Runbook& rb) {
  if (n.is_null()) return;
  if (!want_map(n, "'inputs'", d_)) return;
  for (auto& [k, v] : n.entries) {
    model::Input in;
    in.name = k.scalar;
    in.pos = k.pos;
    if (!valid_name(in.name))
      d_.error(k.pos, fmt::format("input name '{}' must match [A-Za-z_][A-Za-z0-9_]*", ellipsize(in.name, 60)));
    std::string where = fmt::format("in input '{}'", in.name);
    if (!v.is_null() && !v.is_map()) {
      d_.error(v.pos, fmt::format("input '{}' must be a map (description, default, required, secret, type)", in.name));
      rb.inputs.push_back(std::move(in));
      continue;
    }
    check_keys(v, {"description", "default", "required", "secret", "type"}, where, d_);
    if (auto* x = v.get("description"))
      if (auto s = want_string(*x, "'description'", d_)) in.description = *s;
    if (auto* x = v.get("secret"))
      if (auto b = want_bool(*x, fmt::format("'secret' of input '{}'", in.name), d_)) in.secret = *b;
    if (auto* x = v.get("type")) {
      if (auto s = want_string(*x, "'type'", d_)) {
        static const std::vector<std::string> types = {"string", "int", "number", "bool", "duration"};
        if (*s == "string") in.type = model::InputType::String;
        else if (*s == "int") in.type = model::InputType::Int;
        else if (*s == "number") in.type = model::InputType::Number;
        else if (*s == "bool") in.type = model::InputType::Bool;
        else if (*s == "duration") in.type = model::InputType::Duration;
        else d_.error(text_pos(*x), fmt::format("input type '{}' must be one of string, int, number, bool, duration{}",
                                                 ellipsize(*s, 40), did_you_mean_suffix(*s, types)));
      }
    }
    if (auto* x = v.get("default")) in.default_value = typed_default(*x, in);
    if (auto* x = v.get("required")) {
      if (auto b = want_bool(*x, fmt::format("'required' of input '{}'", in.name), d_)) in.required = *b;
    } else {
      in.required = !v.get("default");
    }
    rb.inputs.push_back(std::move(in));
  }
}

std::optional<Value> Parser::typed_default(const Node& x, const model::Input& in) {
  std::string what = fmt::format("default of input '{}'", in.name);
  if (!x.is_scalar() && !x.is_null()) {
    d_.error(x.pos, fmt::format("{} must be a single value, not {}", what, x.kind_name()));
    return std::nullopt;
  }
  switch (in.type) {
    case model::InputType::String:
      if (yaml::plain_is_null(x)) return Value(nullptr);
      return Value(x.scalar);
    case model::InputType::Int:
      if (auto i = want_int(x, what, d_, LLONG_MIN / 2, LLONG_MAX / 2)) return Value(*i);
      return std::nullopt;
    case model::InputType::Number:
      if (auto f = want_number(x, what, d_, -1e300)) {
        long long iv;
        if (yaml::plain_is_int(x, &iv)) return Value(iv);
        return Value(*f);
      }
      return std::nullopt;
    case model::InputType::Bool:
      if (auto b = want_bool(x, what, d_)) return Value(*b);
      return std::nullopt;
    case model::InputType::Duration:
      if (want_duration(x, what, d_)) return Value(x.scalar);
      return std::nullopt;
  }
  return std::nullopt;
}

model::Runbook parse_runbook(const yaml::Node& root, plugin::Registry& registry, Diagnostics& diag) {
  Parser p(registry, diag);
  return p.run(root);
}


std::optional<model::Runbook> load_runbook(const std::string& path, plugin::Registry& registry, Diagnostics& diag,
                                           const yaml::LoadLimits& limits) {
  diag.set_file(path);
  yaml::Node root;
  std::string content;
  if (!yaml::load_file(path, root, diag, limits, &content)) return std::nullopt;
  model::Runbook rb = parse_runbook(root, registry, diag);
  rb.file = path;
  rb.content_hash = sha256_hex(content);
  validate_runbook(rb, content, registry, diag);
  diag.sort();
  if (diag.has_errors()) return std::nullopt;
  return rb;
}

}  // namespace rb::parse
