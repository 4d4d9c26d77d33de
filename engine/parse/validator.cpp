// Semantic checks of a parsed runbook (see runbook_parser.h).
#include <fmt/format.h>

#include <set>

#include "base/text.h"
#include "expr/template.h"
#include "yaml/check.h"
#include "parse/runbook_parser.h"
#include "plan/graph.h"

namespace rb::parse {

using model::Runbook;
using model::Step;

namespace {

const std::vector<std::string> kRunFields = {"id",      "incident", "elapsed",     "rto_remaining", "drill",
                                              "operator", "started", "start_epoch", "rto",           "runbook",
                                              "store"};
const std::vector<std::string> kStepFields = {"outputs", "status", "attempts", "duration_ms", "error"};
constexpr size_t kMaxNameErrors = 20;

// The fields of a built-in action's `result` (contract §1 and the plugins that fill them),
// so that a typo (`result.exitcode`) is an error at its position instead of a null that
// makes a gate fail for no visible reason. Empty: not known statically (an external
// plugin, a fleet action).
std::vector<std::string> result_fields(const std::string& kind, bool fleet) {
  if (fleet) return {};
  if (kind == "shell")
    return {"exit_code",   "stdout", "stderr", "duration_ms", "stdout_bytes", "stderr_bytes", "stdout_truncated",
            "stderr_truncated", "output_cap", "signal", "pid", "json", "survivors", "error"};
  if (kind == "sql") return {"rows", "row_count", "affected", "statements", "duration_ms", "error"};
  if (kind == "http")
    return {"status",     "headers",        "body",  "json",     "duration_ms",
            "url",        "body_bytes",     "body_truncated", "error", "timed_out"};
  if (kind == "wait") return {"waited_ms", "error"};
  if (kind == "approval" || kind == "manual")
    return {"answered", "approved", "confirmed", "by", "via", "source", "comment", "note", "timed_out", "error"};
  if (kind == "parallel") return {"branches", "outcomes"};
  return {};
}

class Validator {
 public:
  Validator(const Runbook& rb, const std::string& src, plugin::Registry& reg, Diagnostics& d)
      : rb_(rb), reg_(reg), d_(d) {
    for (auto& s : rb.steps) step_ids_.push_back(s.id);
    for (auto& i : rb.inputs) input_names_.push_back(i.name);
  }

  void run() {
    if (rb_.steps.empty()) return;
    graph();
    for (auto& s : rb_.steps) step_exprs(s);
    warnings();
  }

 private:
  // ---- graph -----------------------------------------------------------------------
  void graph() {
    auto start = rb_.step_index.find(rb_.start);
    if (start == rb_.step_index.end()) {
      d_.error(rb_.start_pos, fmt::format("start step '{}' is not defined{}", rb_.start,
                                          did_you_mean_suffix(rb_.start, step_ids_)));
    }
    // Reachability errors follow from broken transitions; report those alone first.
    bool broken = false;
    for (auto& s : rb_.steps) {
      for (const model::Target* t : s.targets()) {
        if (!rb_.find(t->step)) {
          broken = true;
          d_.error(t->pos, fmt::format("step '{}' goes to '{}', which is not defined{}", s.id, t->step,
                                       did_you_mean_suffix(t->step, step_ids_)));
        }
      }
      if (s.kind != model::StepKind::End && !s.next && s.choose.empty() && !s.implicit_end) {
        broken = true;
        d_.error(s.pos, fmt::format("step '{}' has no way out: give it 'next', 'choose' or make it an 'end' step "
                                    "(only the last listed step ends the run by itself)",
                                    s.id));
      }
      if (!s.choose.empty() && s.choose.back().when && !s.continue_on_failure)
        d_.warning(s.choose.back().pos,
                   fmt::format("'choose' of step '{}' has no default entry: if no 'when' holds the step fails", s.id));
      // An approval, a manual step or an http request may bound itself (its own `timeout`).
      bool own_limit = s.kind == model::StepKind::Action &&
                       (s.action.kind == "approval" || s.action.kind == "manual" ||
                        (s.action.kind == "http" && s.action.params.is_map() && s.action.params.get("timeout")));
      if (s.on_timeout && !s.timeout && !own_limit)
        d_.warning(s.on_timeout->pos, fmt::format("step '{}' has 'on_timeout' but no 'timeout'", s.id));
    }
    if (start == rb_.step_index.end() || broken) return;
    auto reach = plan::reachable_from(rb_, start->second);
    auto ends = plan::can_reach_end(rb_);
    if (!ends[start->second]) {
      d_.error(rb_.start_pos.known() ? rb_.start_pos : rb_.steps[start->second].pos,
               fmt::format("no path from start '{}' reaches an end step", rb_.start));
      return;
    }
    for (size_t i = 0; i < rb_.steps.size(); ++i) {
      const Step& s = rb_.steps[i];
      if (!reach[i]) d_.error(s.pos, fmt::format("step '{}' is unreachable from start '{}'", s.id, rb_.start));
      else if (!ends[i])
        d_.error(s.pos, fmt::format("no path from step '{}' reaches an end step (a loop with no way out)", s.id));
    }
  }

  // ---- names -------------------------------------------------------------------------
  // `result` in the expressions that follow is the result of this action (kind "" when
  // not known statically).
  void result_of(const std::string& kind, bool fleet = false) {
    result_kind_ = kind;
    result_fields_ = result_fields(kind, fleet);
  }

  void names(const expr::Expression& e, bool result_ok, const char* where) {
    // One report per distinct problem, at most kMaxNameErrors per expression: a generated
    // 60 KB condition must not flood the terminal (positions are computed only to report).
    std::set<std::string> seen;
    size_t reported = 0;
    auto report = [&](size_t offset, std::string msg) {
      if (reported >= kMaxNameErrors || !seen.insert(msg).second) return;
      ++reported;
      d_.error(e.at(offset), std::move(msg));
    };
    for (auto& ref : expr::name_refs(e)) {
      if (reported >= kMaxNameErrors) break;
      if (auto msg = name_problem(ref, result_ok, where)) report(ref.offset, std::move(*msg));
    }
    functions(e, report);
  }

  std::optional<std::string> name_problem(const expr::NameRef& ref, bool result_ok, const char* where) const {
    const std::string& root = ref.path[0];
    if (root == "inputs") {
      if (ref.path.size() >= 2 && !rb_.input(ref.path[1]))
        return fmt::format("input '{}' is not declared in 'inputs'{}", ref.path[1],
                           did_you_mean_suffix(ref.path[1], input_names_));
    } else if (root == "steps") {
      if (ref.path.size() < 2) return std::nullopt;
      const Step* s = rb_.find(ref.path[1]);
      if (!s)
        return fmt::format("step '{}' is not defined{}", ref.path[1], did_you_mean_suffix(ref.path[1], step_ids_));
      if (ref.path.size() < 3) return std::nullopt;
      if (std::find(kStepFields.begin(), kStepFields.end(), ref.path[2]) == kStepFields.end())
        return fmt::format("steps.{} has no '{}' (it has {}){}", s->id, ref.path[2], join(kStepFields, ", "),
                           did_you_mean_suffix(ref.path[2], kStepFields));
      if (ref.path[2] == "outputs" && ref.path.size() >= 4) {
        std::vector<std::string> outs;
        for (auto& o : s->outputs) {
          if (o.name == ref.path[3]) return std::nullopt;
          outs.push_back(o.name);
        }
        return fmt::format("step '{}' does not declare output '{}'{}", s->id, ref.path[3],
                           did_you_mean_suffix(ref.path[3], outs));
      }
    } else if (root == "result") {
      if (!result_ok)
        return fmt::format("'result' is not available {} (only in expect, outputs, record and choose)", where);
      if (ref.path.size() >= 2 && !result_fields_.empty() &&
          std::find(result_fields_.begin(), result_fields_.end(), ref.path[1]) == result_fields_.end())
        return fmt::format("the result of this {} action has no '{}' (it has {}){}", result_kind_, ref.path[1],
                           join(result_fields_, ", "), did_you_mean_suffix(ref.path[1], result_fields_));
    } else if (root == "run") {
      if (ref.path.size() >= 2 && std::find(kRunFields.begin(), kRunFields.end(), ref.path[1]) == kRunFields.end())
        return fmt::format("run has no '{}'{}", ref.path[1], did_you_mean_suffix(ref.path[1], kRunFields));
    } else if (root != "env") {
      return fmt::format("unknown name '{}' (names start with inputs, steps, result, env or run){}", root,
                         did_you_mean_suffix(root, expr::root_names()));
    }
    return std::nullopt;
  }

  // Unknown functions, and literal patterns of matches() that RE2 cannot compile. The
  // walk is iterative (an explicit stack) although parse() bounds the depth anyway.
  template <class Report>
  void functions(const expr::Expression& e, Report& report) {
    std::vector<const expr::Node*> todo;
    if (e.root) todo.push_back(e.root.get());
    auto& fns = expr::function_names();
    while (!todo.empty()) {
      const expr::Node* n = todo.back();
      todo.pop_back();
      if (n->kind == expr::Node::Kind::Call) {
        if (std::find(fns.begin(), fns.end(), n->name) == fns.end())
          report(n->offset, fmt::format("unknown function '{}'{}", n->name, did_you_mean_suffix(n->name, fns)));
        if (n->name == "matches" && n->kids.size() == 2 && n->kids[1]->kind == expr::Node::Kind::Literal &&
            n->kids[1]->literal.is_string()) {
          std::string why = expr::regex_error(n->kids[1]->literal.get<std::string>());
          if (!why.empty()) report(n->kids[1]->offset, fmt::format("invalid regular expression in matches(): {}", why));
        }
      }
      for (auto& k : n->kids) todo.push_back(k.get());
    }
  }

  // ---- templates in strings ----------------------------------------------------------
  // Positions inside a scalar's value: the loader recorded where each `${{` stands in the
  // file (exact in block and multi-line scalars); a scalar built in code (env values) has
  // only its start, and a single-line one is then counted through in one pass.
  class ScalarPos {
   public:
    explicit ScalarPos(const yaml::Node& n) : n_(n), pos_(yaml::text_pos(n)) {}
    /// Position of byte `off` of the value, `open` being the offset of the `${{` it
    /// follows (the `nth` of the value).
    SourcePos at(size_t off, size_t open, size_t nth) {
      if (nth < n_.interps.size()) return yaml::interp_pos(n_, nth, static_cast<int>(off - open));
      if (n_.style == '|' || n_.style == '>' || !pos_.known()) return yaml::text_pos(n_);
      for (; off_ < off && off_ < n_.scalar.size(); ++off_) {
        char c = n_.scalar[off_];
        if (c == '\n') {
          ++pos_.line;
          pos_.col = 1;
        } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
          ++pos_.col;
        }
      }
      return pos_;
    }

   private:
    const yaml::Node& n_;
    SourcePos pos_;  // of byte off_ (single-line fallback)
    size_t off_ = 0;
  };

  void template_string(const yaml::Node& n, bool result_ok, const char* where) {
    if (!n.is_scalar() || !expr::has_interpolation(n.scalar)) return;
    ScalarPos pos(n);
    expr::Error err;
    auto t = expr::parse_template(n.scalar, SourcePos{}, &err);
    if (!t) {
      size_t nth = 0, open = n.scalar.find("${{");
      for (size_t p = open; p != std::string::npos && p <= err.offset; p = n.scalar.find("${{", p + 3), ++nth) open = p;
      d_.error(pos.at(err.offset, open, nth == 0 ? 0 : nth - 1), fmt::format("in '${{{{ }}}}': {}", err.message));
      return;
    }
    size_t nth = 0;
    size_t search = 0;
    for (auto& part : t->parts) {
      if (!part.expr) continue;
      size_t open = n.scalar.find("${{", search);
      size_t body = n.scalar.find_first_not_of(" \t", open + 3);
      search = open + 3;
      expr::Expression e = *part.expr;
      e.pos = pos.at(body, open, nth++);
      names(e, result_ok, where);
    }
  }

  void template_tree(const yaml::Node& n, const std::vector<std::string>& raw, const std::string& kind,
                     const char* where, int depth = 0) {
    if (n.is_scalar()) {
      template_string(n, false, where);
      return;
    }
    for (auto& item : n.items) template_tree(item, {}, kind, where, depth + 1);
    for (auto& [k, v] : n.entries) {
      if (depth == 0 && std::find(raw.begin(), raw.end(), k.scalar) != raw.end()) {
        raw_string(v, kind, k.scalar);
        continue;
      }
      template_tree(v, {}, kind, where, depth + 1);
    }
  }

  void raw_string(const yaml::Node& v, const std::string& kind, const std::string& key) {
    auto report = [&](const yaml::Node& s) {
      size_t off = s.scalar.find("${{");
      if (off == std::string::npos) return;
      d_.error(ScalarPos(s).at(off, off, 0),
               fmt::format("'${{{{ }}}}' inside {} '{}': values must go through 'params' ($1, $2 …), "
                           "never into the SQL text",
                           kind, key));
    };
    if (v.is_scalar()) report(v);
    for (auto& item : v.items)
      if (item.is_scalar()) report(item);
  }

  void action(const model::Action& a, const char* where) {
    plugin::Plugin* p = reg_.find(a.kind);
    if (!p) {
      d_.warning(a.pos, fmt::format("'{}' is not a built-in action and no external plugin 'runbook-plugin-{}' was "
                                    "found on the plugin path; the run will refuse to start without it",
                                    a.kind, a.kind));
    }
    std::vector<std::string> raw = p ? p->raw_keys() : std::vector<std::string>{};
    if (a.kind == "wait" && a.params.is_map()) {
      // `until` holds a check whose own action was handled as a check.
      for (auto& [k, v] : a.params.entries)
        if (k.scalar != "until") template_tree(v, {}, a.kind, where, 1);
      return;
    }
    template_tree(a.params, raw, a.kind, where);
    if (a.targets) template_tree(*a.targets, {}, "targets", where);
  }

  void check(const model::Check& c, const char* where) {
    action(c.action, where);
    result_of(c.action.kind, c.action.targets.has_value());
    if (c.expect) names(*c.expect, true, "here");
  }

  // An approval's `show:` facts are expressions (the plugin checks their syntax): their
  // names are checked here like any other, so a misspelt output is an error before the
  // run rather than "(cannot evaluate …)" in front of the approver at 3 a.m.
  void show_facts(const yaml::Node& params) {
    const yaml::Node* show = params.is_map() ? params.get("show") : nullptr;
    if (!show || !show->is_map()) return;
    for (auto& [k, v] : show->entries) {
      if (!v.is_scalar()) continue;
      expr::Error err;
      if (auto e = expr::parse(v.scalar, yaml::text_pos(v), &err)) names(*e, false, "in 'show'");
    }
  }

  void step_exprs(const Step& s) {
    const char* in_params = "in action parameters";
    if (s.kind == model::StepKind::Action) {
      action(s.action, in_params);
      if (s.wait_until) check(*s.wait_until, in_params);
      if (s.action.kind == "approval") show_facts(s.action.params);
    }
    for (auto& b : s.parallel) check(b, in_params);
    for (auto& c : s.verify) check(c, in_params);
    if (s.rollback) check(*s.rollback, "in a rollback");
    // The step's own result: its action's, the `until` check's for a wait-until step.
    if (s.kind == model::StepKind::Parallel) result_of("parallel");
    else if (s.wait_until) result_of(s.wait_until->action.kind, s.wait_until->action.targets.has_value());
    else if (s.kind == model::StepKind::Action) result_of(s.action.kind, s.action.targets.has_value());
    else result_of("");
    if (s.expect) names(*s.expect, true, "here");
    for (auto& o : s.outputs) names(o.expr, true, "here");
    if (s.record_rpo) names(*s.record_rpo, true, "here");
    for (auto& arm : s.choose)
      if (arm.when) names(*arm.when, true, "here");
    for (auto& ev : s.env) {
      yaml::Node n;
      n.kind = yaml::Node::Kind::Scalar;
      n.scalar = ev.value;
      n.pos = ev.pos;
      template_string(n, false, "in env");
    }
  }

  // ---- warnings ------------------------------------------------------------------------
  void warnings() {
    auto start = rb_.step_index.find(rb_.start);
    if (start == rb_.step_index.end() || !rb_.objectives.rto) return;
    auto cp = plan::critical_path(rb_, start->second);
    if (cp.found && cp.total > *rb_.objectives.rto)
      d_.warning(rb_.objectives.pos, fmt::format("critical path ({}) exceeds the RTO ({})", format_duration(cp.total),
                                                 format_duration(*rb_.objectives.rto)));
  }

  const Runbook& rb_;
  plugin::Registry& reg_;
  Diagnostics& d_;
  std::vector<std::string> step_ids_;
  std::vector<std::string> input_names_;
  std::string result_kind_;
  std::vector<std::string> result_fields_;
};

}  // namespace

void validate_runbook(const model::Runbook& rb, const std::string& source, plugin::Registry& registry,
                      Diagnostics& diag) {
  Validator v(rb, source, registry, diag);
  v.run();
}

}  // namespace rb::parse
