#include "model/runbook.h"

#include <algorithm>
#include <cmath>

namespace rb::model {

const char* to_string(InputType t) {
  switch (t) {
    case InputType::String: return "string";
    case InputType::Int: return "int";
    case InputType::Number: return "number";
    case InputType::Bool: return "bool";
    case InputType::Duration: return "duration";
  }
  return "?";
}

const char* to_string(EndState s) {
  switch (s) {
    case EndState::Recovered: return "recovered";
    case EndState::Failed: return "failed";
    case EndState::Aborted: return "aborted";
  }
  return "?";
}

const char* to_string(Idempotent i) {
  switch (i) {
    case Idempotent::Yes: return "true";
    case Idempotent::No: return "false";
    case Idempotent::VerifyFirst: return "verify-first";
  }
  return "?";
}

Millis Retry::delay_before(int next_attempt) const {
  double d = static_cast<double>(delay.count());
  for (int i = 2; i < next_attempt; ++i) d *= backoff;
  if (max_delay) d = std::min(d, static_cast<double>(max_delay->count()));
  d = std::min(d, 365.0 * 86'400'000.0);
  return Millis(static_cast<long long>(std::llround(d)));
}

std::vector<const Target*> Step::targets() const {
  std::vector<const Target*> out;
  if (next) out.push_back(&*next);
  for (auto& arm : choose) out.push_back(&arm.next);
  if (on_failure) out.push_back(&*on_failure);
  if (on_reject) out.push_back(&*on_reject);
  if (on_timeout) out.push_back(&*on_timeout);
  return out;
}

const Step* Runbook::find(std::string_view id) const {
  auto it = step_index.find(id);
  return it == step_index.end() ? nullptr : &steps[it->second];
}

const Input* Runbook::input(std::string_view name) const {
  for (auto& i : inputs)
    if (i.name == name) return &i;
  return nullptr;
}

}  // namespace rb::model
