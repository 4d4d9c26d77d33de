// The runbook parser's internals, shared by runbook_parser.cpp (the top level: header,
// objectives, inputs) and step_parser.cpp (steps, actions, checks, flow). Not part of the
// parse layer's interface (that is runbook_parser.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "base/text.h"
#include "model/runbook.h"
#include "plugin/plugin.h"
#include "yaml/node.h"

namespace rb::parse {

// The key lists (also read by tests/schema/key_rules.py from runbook_parser.cpp).
extern const std::vector<std::string> kTopKeys;
extern const std::vector<std::string> kBuiltinActions;
extern const std::vector<std::string> kDefaultsKeys;
extern const std::vector<std::string> kCheckKeys;

/// yaml::Node -> model::Runbook, reporting every structural problem to `d_`.
class Parser {
 public:
  Parser(plugin::Registry& reg, Diagnostics& d) : reg_(reg), d_(d) {}

  // The top level (runbook_parser.cpp).
  model::Runbook run(const yaml::Node& root);
  bool other_kind_of_file(const yaml::Node& root);
  void header(const yaml::Node& root, model::Runbook& rb);
  void objectives(const yaml::Node& n, model::Objectives& o);
  void inputs(const yaml::Node& n, model::Runbook& rb);
  std::optional<Value> typed_default(const yaml::Node& x, const model::Input& in);

  // Steps (step_parser.cpp).
  // Reads the keys a step may inherit from `defaults` first, then the step's own.
  const yaml::Node* pick(const yaml::Node& step, const yaml::Node* defaults, const char* key);
  model::Step step(const yaml::Node& key, const yaml::Node& v, const yaml::Node* defaults);
  void step_text(const yaml::Node& v, model::Step& s);

  // Finds the step's one action (plugin key, parallel or end) and reports typos.
  void step_action(const yaml::Node& v, model::Step& s, const std::string& where);
  std::vector<const yaml::Entry*> action_keys(const yaml::Node& v, const std::string& where);
  void end_step(const yaml::Node& v, const yaml::Node& val, model::Step& s);
  void parallel_step(const yaml::Node& v, const yaml::Node& val, model::Step& s);
  static bool valid_name_plugin(const std::string& k) { return is_token(k, "a-z", "a-z0-9_-"); }
  model::Action action(const yaml::Node& key, const yaml::Node& params, const std::string& where);

  // `targets:` beside a shell action: the action runs on those hosts (contract §8).
  void targets(const yaml::Node& map, model::Action& a, const std::string& where);
  std::optional<model::Check> check(const yaml::Node& n, const std::string& what);
  void step_timing(const yaml::Node& v, const yaml::Node* defaults, model::Step& s);
  void retry(const yaml::Node& n, model::Retry& r);
  void env_map(const yaml::Node& n, std::vector<model::EnvVar>& out);
  void step_env(const yaml::Node& v, const yaml::Node* defaults, model::Step& s);
  std::optional<model::Target> target(const yaml::Node& n, const char* what);
  void step_flow(const yaml::Node& v, const yaml::Node* defaults, model::Step& s);
  void choose(const yaml::Node& n, model::Step& s);
  void step_checks(const yaml::Node& v, model::Step& s);
  std::optional<expr::Expression> expression(const yaml::Node& n, const char* what);

  plugin::Registry& reg_;
  Diagnostics& d_;
  const yaml::Node* step_stdin_ = nullptr;  ///< the `stdin` of the step being parsed
};

}  // namespace rb::parse
