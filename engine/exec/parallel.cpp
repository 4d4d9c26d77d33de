#include "exec/parallel.h"

#include <fmt/format.h>

namespace rb::exec {

void ParallelRun::start(const model::Step& s, int attempt, std::function<void(Outcome)> done) {
  s_ = &s;
  attempt_ = attempt;
  done_ = std::move(done);
  next_ = active_ = 0;
  failed_ = stopped_ = false;
  error_.clear();
  branches_ = Value::array();
  outcomes_ = Value::array();
  runs_.clear();
  for (size_t i = 0; i < s.parallel.size(); ++i) {
    branches_.push_back(nullptr);
    outcomes_.push_back(nullptr);
    runs_.push_back(std::make_unique<ActionRun>(rc_));
  }
  pump();
}

// Starts branches up to max_concurrency; when nothing runs and nothing more may start,
// gives the verdict.
void ParallelRun::pump() {
  const model::Step& s = *s_;
  size_t limit = s.max_concurrency > 0 ? static_cast<size_t>(s.max_concurrency) : s.parallel.size();
  while (!failed_ && !stopped_ && next_ < s.parallel.size() && active_ < limit) {
    size_t i = next_++;
    ++active_;
    const model::Check& b = s.parallel[i];
    runs_[i]->start(b.action, s, attempt_, b.timeout, [this, i](ActionResult r) { branch_done(i, std::move(r)); });
  }
  if (active_ > 0 || !done_) return;
  if (!failed_ && !stopped_ && next_ < s.parallel.size()) return;
  Outcome o;
  o.result = {{"branches", branches_}, {"outcomes", outcomes_}};
  o.ok = !failed_ && !stopped_;
  o.cancelled = stopped_ && !failed_;
  o.why = failed_ ? error_ : (stopped_ ? "cancelled" : "");
  std::exchange(done_, nullptr)(std::move(o));
}

void ParallelRun::branch_done(size_t i, ActionResult r) {
  const model::Check& b = s_->parallel[i];
  --active_;
  std::string why;
  bool ok = rc_.judge(b.expect, r.out, &why);
  if (r.timed_out) why = fmt::format("timed out after {}", format_duration(*b.timeout));
  branches_[i] = r.out.result;
  outcomes_[i] = {{"name", b.name}, {"ok", ok}, {"duration_ms", r.took.count()}};
  if (!ok) outcomes_[i]["error"] = why;
  if (!ok && !failed_ && !r.cancelled) {
    failed_ = true;
    error_ = fmt::format("branch {} ({}) failed: {}", i, b.name, why);
    for (auto& run : runs_) run->cancel();
  }
  pump();
}

void ParallelRun::cancel() {
  if (!done_ || stopped_) return;
  stopped_ = true;
  for (auto& run : runs_) run->cancel();
  if (active_ == 0)
    rc_.env.post([this, w = life_.watch()] {
      if (!w.expired()) pump();
    });
}

}  // namespace rb::exec
