// `runbook plan`: the runbook's steps in order with budgets and phases, the transitions,
// and the critical path against the RTO, as text, Mermaid, Graphviz dot or JSON.
#pragma once

#include <string>

#include "model/runbook.h"
#include "plugin/plugin.h"

namespace rb::plan {

Value plan_json(const model::Runbook& rb, plugin::Registry& reg);
std::string plan_text(const model::Runbook& rb, plugin::Registry& reg);
std::string plan_mermaid(const model::Runbook& rb);
std::string plan_dot(const model::Runbook& rb);

/// Transitions of a step as (target, via) pairs.
std::vector<std::pair<std::string, std::string>> transitions(const model::Step& s);

}  // namespace rb::plan
