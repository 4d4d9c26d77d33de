// How approvals and manual steps reach a person: answers given up front (--answer,
// --yes), or a prompt at the terminal. The executor owns the implementation; tests
// substitute their own.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/duration.h"

namespace rb::plugin {

struct Question {
  std::string step_id;
  std::string kind;      ///< "approval" or "manual"
  std::string prompt;    ///< approval prompt, or manual instructions + confirm
  bool second_person = false;
  std::optional<Millis> timeout;
};

struct Answer {
  bool answered = false;   ///< false: no answer (timed out, no terminal, stdin closed)
  bool yes = false;        ///< approved / done
  std::string by;          ///< who answered
  std::string via;         ///< "--answer", "--yes", "terminal", "stdin"
  std::string note;        ///< why there was no answer, or a refusal that happened first
  std::vector<std::string> refused;  ///< answers refused (e.g. same person for second_person)
};

class Interaction {
 public:
  virtual ~Interaction() = default;
  /// Asks; calls `cb` once on the loop thread. `cancel()` makes it answer "no answer".
  virtual void ask(const Question& q, std::function<void(Answer)> cb) = 0;
  virtual void cancel(const std::string& step_id) = 0;
};

}  // namespace rb::plugin
