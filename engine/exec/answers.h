// The engine's plugin::Interaction: answers given up front (--answer STEP=yes[@NAME],
// --yes) and otherwise a prompt on the terminal (or a line on stdin when it is a pipe).
// second_person approvals refuse an answer from the operator who started the run; --yes
// satisfies them only in a drill.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "plugin/interaction.h"
#include "sys/env.h"

namespace rb::exec {

struct GivenAnswer {
  bool yes = false;
  bool done = false;  ///< answered "done" (a manual step, or an interrupted step that completed)
  std::string by;  ///< empty: the operator
};

/// Parses "yes", "y", "approve", "done", "ok", "no", "n", "reject", optionally "@NAME".
std::optional<GivenAnswer> parse_answer(const std::string& text);

class Answers : public plugin::Interaction {
 public:
  Answers(sys::Env& env, std::string operator_name, bool yes_all, bool drill,
          std::map<std::string, GivenAnswer> given);
  ~Answers() override;
  void ask(const plugin::Question& q, std::function<void(plugin::Answer)> cb) override;
  void cancel(const std::string& step_id) override;
  /// Whether questions may be put to a person on stdin.
  void set_interactive(bool on) { interactive_ = on; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  bool interactive_ = true;
};

}  // namespace rb::exec
