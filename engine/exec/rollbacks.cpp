#include "exec/rollbacks.h"

#include <fmt/format.h>

#include "base/events.h"

namespace rb::exec {

void Rollbacks::start(std::vector<std::string> stack, Value ending, std::function<void()> done) {
  stack_ = std::move(stack);
  ending_ = std::move(ending);
  done_ = std::move(done);
  next();
}

void Rollbacks::next() {
  const model::Step* s = nullptr;
  while (!stack_.empty() && !s) {
    current_ = stack_.back();
    stack_.pop_back();
    s = rc_.rb.find(current_);
    if (s && !s->rollback) s = nullptr;
  }
  if (!s) {
    current_.clear();
    return std::exchange(done_, nullptr)();
  }
  Value started = ending_;
  started["action"] = s->rollback->action.kind;
  rc_.emit(ev::kRollbackStarted, s->id, 0, started);
  if (!rc_.commit()) return;
  std::optional<Millis> limit = s->rollback->timeout ? s->rollback->timeout : s->timeout;
  // A fleet step's rollback runs on the hosts where the step ran (contract §8): its
  // shell rollback takes the step's targets, narrowed to those hosts, unless it has its own.
  model::Action act = s->rollback->action;
  const std::vector<std::string>* on_hosts = nullptr;
  if (s->kind == model::StepKind::Action && s->action.targets && !act.targets && act.kind == "shell") {
    act.targets = s->action.targets;
    on_hosts = &rc_.st.steps[s->id].hosts;
  }
  action_.start(act, *s, 1, limit, [this, s, limit](ActionResult r) {
    if (paused_) return std::exchange(paused_, nullptr)();
    std::string why;
    bool ok = rc_.judge(s->rollback->expect, r.out, &why);
    if (r.timed_out) why = fmt::format("timed out after {}", format_duration(*limit));
    Value data = {{"ok", ok}, {"duration_ms", r.took.count()}};
    if (!ok) data["error"] = why;
    if (!r.out.result.empty()) data["result"] = summarize(r.out.result);
    rc_.emit(ev::kRollbackFinished, s->id, 0, data);
    if (!rc_.commit()) return;
    next();
  }, on_hosts);
}

void Rollbacks::interrupt(std::function<void()> paused) {
  if (!action_.running()) return paused();
  paused_ = std::move(paused);
  action_.cancel();
}

}  // namespace rb::exec
