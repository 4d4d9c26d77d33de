#include <fmt/format.h>

#include "cli/commands.h"

namespace rb::cli {

int cmd_resume(const Global& g, const ResumeFlags& f) {
  error("resume is not available yet");
  return kEngine;
}

}  // namespace rb::cli
