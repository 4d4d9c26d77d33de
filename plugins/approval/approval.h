// `approval` ({prompt, timeout, second_person}) and `manual` ({instructions, confirm,
// timeout}): a decision or a task by a person. Answers come from the engine's Interaction
// (--answer, --yes, the terminal). Unanswered by `timeout` = rejected.
#pragma once

#include <memory>

#include "plugin/plugin.h"

namespace rb::plugins {
std::unique_ptr<plugin::Plugin> make_approval_plugin();
std::unique_ptr<plugin::Plugin> make_manual_plugin();
}
