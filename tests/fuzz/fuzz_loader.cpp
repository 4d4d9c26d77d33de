// libFuzzer target: bytes -> loader -> parser -> validator -> plan. Must never crash, hang,
// leak or trip a sanitizer, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../../plugins/builtin.h"
#include "parse/runbook_parser.h"
#include "plan/format.h"
#include "yaml/node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rb::plugin::Registry* reg = [] {
    auto* r = new rb::plugin::Registry();
    rb::plugins::register_builtins(*r, {});
    return r;
  }();
  std::string text(reinterpret_cast<const char*>(data), size);
  rb::Diagnostics d("fuzz.yaml");
  rb::yaml::Node root;
  rb::yaml::LoadLimits limits;
  limits.max_nodes = 100'000;
  if (!rb::yaml::load_string(text, root, d, limits)) return 0;
  auto book = rb::parse::parse_runbook(root, *reg, d);
  rb::parse::validate_runbook(book, text, *reg, d);
  d.sort();
  for (auto& x : d.list()) (void)x.format();
  if (!d.has_errors()) {
    (void)rb::plan::plan_text(book, *reg);
    (void)rb::plan::plan_mermaid(book);
    (void)rb::plan::plan_dot(book);
    (void)rb::plan::plan_json(book, *reg).dump();
  }
  return 0;
}
