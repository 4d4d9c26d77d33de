// How approvals and manual steps reach a person: answers given up front (--answer,
// --yes), a prompt at the operator's terminal, or `runbook approve` / the web page from
// anywhere that reaches the store. The engine owns the implementation (exec/answers.h);
// tests substitute their own.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/duration.h"

namespace rb::plugin {

struct Question {
  std::string step_id;
  std::string kind;      ///< "approval" or "manual"
  std::string prompt;    ///< the approval's prompt, or the manual step's instructions
  std::string confirm;   ///< manual: the confirmation asked ("Done?"); approval: empty
  std::vector<std::pair<std::string, std::string>> facts;  ///< `show:` label -> value (masked)
  bool second_person = false;
  std::optional<Millis> timeout;  ///< unanswered after this: on_timeout, else on_reject
};

struct Answer {
  bool answered = false;   ///< false: no answer (timed out, cancelled, stdin closed)
  bool yes = false;        ///< approved / done
  bool timed_out = false;  ///< nobody answered within the question's timeout
  std::string by;          ///< who answered
  std::string via;         ///< "--answer", "--yes", "terminal", "stdin", "approve", "web"
  std::string source;      ///< where the answer came from when it says so ("web": runbook serve)
  std::string comment;     ///< what the answerer said with it
  std::string note;        ///< why there was no answer
  std::vector<std::string> refused;  ///< answers refused first (e.g. the operator on a second-person approval)
};

class Interaction {
 public:
  virtual ~Interaction() = default;
  /// Asks; calls `cb` once on the loop thread. `cancel()` makes it answer "no answer".
  virtual void ask(const Question& q, std::function<void(Answer)> cb) = 0;
  virtual void cancel(const std::string& step_id) = 0;
};

}  // namespace rb::plugin
