// A `parallel` step's branches: up to max_concurrency at once, each an ActionRun bounded
// by its own `timeout`; the first failure cancels the others. The result is
// {branches: [each branch's own result], outcomes: [{name, ok, error?}]} (contract §1).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exec/action_run.h"

namespace rb::exec {

class ParallelRun {
 public:
  explicit ParallelRun(RunContext& rc) : rc_(rc) {}
  struct Outcome {
    bool ok = false;
    bool cancelled = false;  ///< stopped by cancel() before a verdict
    Value result = Value::object();
    std::string why;
  };
  void start(const model::Step& s, int attempt, std::function<void(Outcome)> done);
  void cancel();

 private:
  void pump();
  void branch_done(size_t i, ActionResult r);

  RunContext& rc_;
  const model::Step* s_ = nullptr;
  int attempt_ = 0;
  std::vector<std::unique_ptr<ActionRun>> runs_;
  size_t next_ = 0, active_ = 0;
  bool failed_ = false, stopped_ = false;
  std::string error_;
  Value branches_, outcomes_;
  std::function<void(Outcome)> done_;
  LifeToken life_;
};

}  // namespace rb::exec
