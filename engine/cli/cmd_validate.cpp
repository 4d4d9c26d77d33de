#include <fmt/format.h>

#include "cli/commands.h"
#include "plan/format.h"

namespace rb::cli {

int cmd_validate(const Global& g, const std::vector<std::string>& files) {
  auto reg = make_registry(g);
  int code = kOk;
  Value results = Value::array();
  for (auto& f : files) {
    auto rb = load_or_report(f, *reg);
    if (!rb) code = kInvalid;
    else if (!g.json) fmt::print("{}: ok ({} steps)\n", f, rb->steps.size());
    results.push_back({{"file", f}, {"valid", rb.has_value()}});
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
