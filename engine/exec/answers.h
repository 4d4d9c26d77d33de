// The engine's plugin::Interaction: how approvals and manual steps get their answers —
// given up front (--answer STEP=yes[@NAME], --yes), typed by the operator (at the
// terminal, or lines on a piped stdin), or sent from anywhere that reaches the store
// (`runbook approve`, the web page), taken by the driver and passed to external().
// Without a terminal and without an answer given up front, a question waits for such an
// answer until its timeout.
//
// The second-person rule (contract §3): identities compare ignoring case, and the
// operator who started the run cannot answer a second_person approval, yes or no. Typed
// answers are the operator's own; nobody can claim another name at the operator's
// terminal (`yes@bob` there is refused) — a second person answers from their own
// terminal or the web page. --yes satisfies second-person approvals only in drills.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "plugin/interaction.h"
#include "sys/env.h"

namespace rb::exec {

struct GivenAnswer {
  bool yes = false;
  bool done = false;  ///< answered "done" (a manual step, or an interrupted step that completed)
  std::string by;     ///< empty: the operator
};

/// Parses "yes", "y", "approve", "done", "ok", "no", "n", "reject", optionally "@NAME"
/// (a valid identity). nullopt when it is none of these.
std::optional<GivenAnswer> parse_answer(const std::string& text);

/// Identities: letters, digits and . _ @ -, not starting with @, at most 64 characters.
bool valid_identity(const std::string& name);
/// The same person: identities compared ignoring case.
bool same_person(const std::string& a, const std::string& b);

class Answers : public plugin::Interaction {
 public:
  struct Config {
    std::string operator_name;
    /// Who started the run, when this engine resumes it as someone else: the second-person
    /// rule refuses them too (contract §3: the operator who started the run cannot answer).
    std::string started_by;
    bool yes_all = false;
    bool drill = false;
    std::map<std::string, GivenAnswer> given;
    bool typed = false;       ///< a person may type answers (a terminal, or a piped stdin)
    std::string approve_cmd;  ///< how a second person answers, e.g. "runbook approve R… --store …"
  };
  /// What the operator's view shows while a question waits.
  struct View {
    plugin::Question q;
    std::optional<WallTime> deadline;
    std::string choices;              ///< "yes/no" or "done/no"
    std::string hint;                 ///< how else it can be answered
    std::vector<std::string> notes;   ///< answers refused so far, and why
  };

  Answers(sys::Env& env, Config c);
  ~Answers() override;

  void ask(const plugin::Question& q, std::function<void(plugin::Answer)> cb) override;
  void cancel(const std::string& step_id) override;

  /// A line the operator typed (`terminal`: at the terminal; else a piped stdin line).
  void typed_line(const std::string& line, bool terminal);
  /// An answer sent through the store. Refused (Invalid, with the reason) when the step
  /// is not waiting or the identity may not answer it. `source` ("web" from runbook
  /// serve) is recorded with the answer when given.
  Status external(const std::string& step, const std::string& answer, const std::string& by, const std::string& via,
                  const std::string& comment, const std::string& source = "");
  /// The step waiting for an answer now (empty: none).
  std::string waiting() const;

  /// Called whenever the question shown changes (nullptr: no question).
  std::function<void(const View*)> on_view;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace rb::exec
