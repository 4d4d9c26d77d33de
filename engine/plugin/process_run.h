// The Running handle of an action that is one child process (shell, external plugins):
// cancel() terminates its process group with the run's kill grace.
#pragma once

#include <memory>

#include "plugin/plugin.h"
#include "sys/process.h"

namespace rb::plugin {

class ProcessRun : public Running {
 public:
  explicit ProcessRun(Millis grace) : grace_(grace) {}
  std::shared_ptr<sys::Process> proc;
  /// Read by the exit callback: whether the engine stopped it.
  std::shared_ptr<bool> cancelled = std::make_shared<bool>(false);
  void cancel() override {
    *cancelled = true;
    if (proc) proc->terminate(grace_);
  }

 private:
  Millis grace_;
};

}  // namespace rb::plugin
