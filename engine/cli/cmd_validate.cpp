#include <fmt/format.h>

#include "cli/commands.h"
#include "parse/runbook_parser.h"
#include "plan/format.h"

namespace rb::cli {

namespace {

// One diagnostic as `validate --json` lists it (the text form is `formatted`).
Value diagnostic_json(const Diagnostic& x) {
  return {{"file", x.file},
          {"line", x.pos.line},
          {"col", x.pos.col},
          {"severity", x.severity == Severity::Error ? "error" : "warning"},
          {"message", x.message},
          {"formatted", x.format()}};
}

}  // namespace

// Exit 0 when every file is valid, 2 otherwise. Problems go to stderr as
// FILE:LINE:COL: message; with --json, stdout also lists them per file.
int cmd_validate(const Global& g, const std::vector<std::string>& files) {
  auto reg = make_registry(g);
  int code = kOk;
  Value results = Value::array();
  for (auto& f : files) {
    Diagnostics d(f);
    auto rb = parse::load_runbook(f, *reg, d);
    Value errors = Value::array(), warnings = Value::array();
    for (auto& x : d.list()) {
      fmt::print(stderr, "{}\n", x.format());
      (x.severity == Severity::Error ? errors : warnings).push_back(diagnostic_json(x));
    }
    if (!rb) code = kInvalid;
    else if (!g.json) fmt::print("{}: ok ({} steps)\n", f, rb->steps.size());
    Value v = {{"file", f}, {"valid", rb.has_value()}, {"errors", errors}, {"warnings", warnings}};
    if (rb) v["steps"] = rb->steps.size();
    results.push_back(std::move(v));
  }
  if (g.json) fmt::print("{}\n", results.dump());
  return code;
}

int cmd_plan(const Global& g, const std::string& file, const std::string& format) {
  auto reg = make_registry(g);
  auto rb = load_or_report(file, *reg);
  if (!rb) return kInvalid;
  if (format == "json" || g.json) fmt::print("{}\n", plan::plan_json(*rb, *reg).dump(2));
  else if (format == "mermaid") fmt::print("{}", plan::plan_mermaid(*rb));
  else if (format == "dot") fmt::print("{}", plan::plan_dot(*rb));
  else fmt::print("{}", plan::plan_text(*rb, *reg));
  return kOk;
}

}  // namespace rb::cli
