// `wait`: `{for: 30s}` sleeps. `{until: <check>, interval: 5s}` polls a check until it
// holds (bounded by the step's timeout); the executor runs the polling, this plugin only
// validates the shape of `until`.
#pragma once

#include <memory>

#include "plugin/plugin.h"

namespace rb::plugins {
std::unique_ptr<plugin::Plugin> make_wait_plugin();
}
