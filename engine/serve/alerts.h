// Alerts in (contract §7): `--triggers FILE` says which alert starts which runbook, with
// which inputs; POST /hooks/alertmanager takes Alertmanager's webhook (version 4).
//
// For each alert of a notification, the first trigger whose `match` labels all equal the
// alert's is used; its incident (`${{ alert.fingerprint }}` by default) names the run:
//   - firing, and a run of that incident goes on (here or elsewhere): nothing starts,
//     alert.repeated goes in that run's timeline;
//   - firing, and the incident's last run answered this very episode (same `startsAt`)
//     and ended: nothing starts either (alert.repeated is appended to it);
//   - firing otherwise: the runbook starts, with the incident's lease deciding between
//     servers of one store (the one that does not get it starts nothing);
//   - resolved: alert.resolved in the incident's last run (once per episode).
// Inputs and the incident are templates over `alert.labels`, `alert.annotations`,
// `alert.fingerprint`, `alert.status`, `alert.startsAt`, `alert.endsAt`,
// `alert.generatorURL`, rendered by the engine's template code; an alert's values become
// inputs (data), never code.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/diag.h"
#include "exec/answers.h"
#include "expr/template.h"
#include "journal/store.h"
#include "plugin/plugin.h"
#include "serve/runs.h"

namespace rb::serve {

struct Trigger {
  std::string name;
  std::vector<std::pair<std::string, std::string>> match;  ///< label -> value, all must be equal
  std::string runbook;  ///< as written (a file under --runbooks)
  std::string path;     ///< the file
  std::vector<std::pair<std::string, expr::Template>> inputs;
  std::optional<expr::Template> incident;  ///< absent: the alert's fingerprint
  std::map<std::string, exec::GivenAnswer> answers;
};

/// Reads and checks a triggers file: every runbook named exists under `runbooks_dir` and
/// validates, every input is one of its inputs, every template parses and reads only
/// `alert.…`, every answer names an approval or manual step. Problems go to `diag`
/// (FILE:LINE:COL); nullopt when there is any.
std::optional<std::vector<Trigger>> load_triggers(const std::string& path, const std::string& runbooks_dir,
                                                  plugin::Registry& reg, Diagnostics& diag);

class Alerts {
 public:
  Alerts(journal::Store& store, RunManager& runs, std::vector<Trigger> triggers);

  /// Alertmanager's webhook body; `by` is the hook token's name (the runs' operator).
  /// Returns the HTTP status (202, or 400 for a body that is not a version 4 webhook)
  /// and the answer: {runs: [{fingerprint, alertname, trigger, status, run, incident,
  /// error}]}, status one of started, repeated, resolved, elsewhere, unmatched, error.
  std::pair<int, Value> webhook(const std::string& body, const std::string& by);

  /// The answers of the trigger that started an alert run (for a server taking it over).
  std::map<std::string, exec::GivenAnswer> answers_of(const journal::ServeRun& sr) const;

  const std::vector<Trigger>& triggers() const { return triggers_; }

 private:
  Value one(const Value& alert, const std::string& by);
  Value firing(const Trigger& t, const Value& scope, const std::string& incident, const std::string& by, Value out);
  Value resolved(const Value& scope, const std::string& incident, Value out);
  /// Records alert.repeated / alert.resolved in run `r`: through its engine when one
  /// may drive it, else appended. False when the store failed.
  bool record(const journal::RunInfo& r, bool resolved, const Value& alert);

  journal::Store& store_;
  RunManager& runs_;
  std::vector<Trigger> triggers_;
};

}  // namespace rb::serve
