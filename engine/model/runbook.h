// The runbook model: plain value types, no I/O. Every node keeps its source position so
// that the validator, the planner and the executor can point at the line that matters.
// Built by parse/runbook_parser from a yaml::Node tree; see ../shared/RUNBOOK-FORMAT.md §1.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "base/duration.h"
#include "base/value.h"
#include "expr/expr.h"
#include "yaml/node.h"

namespace rb::model {

enum class InputType { String, Int, Number, Bool, Duration };
const char* to_string(InputType t);

struct Input {
  std::string name;
  SourcePos pos;
  std::string description;
  std::optional<Value> default_value;  ///< typed per `type`
  bool required = false;               ///< no default and required: must be given
  bool secret = false;                 ///< masked as *** everywhere
  InputType type = InputType::String;
};

enum class OnBreach { Continue, Abort };

struct Objectives {
  std::optional<Millis> rto;  ///< run start (or --incident-start) -> end state
  std::optional<Millis> rpo;  ///< compared with the step's `record.rpo`
  OnBreach on_breach = OnBreach::Continue;
  SourcePos pos;
};

struct Retry {
  int attempts = 1;            ///< counts the first try; 1 = no retry
  Millis delay{1000};          ///< before the 2nd attempt
  double backoff = 2.0;        ///< delay multiplier per further attempt
  std::optional<Millis> max_delay;
  /// Delay before attempt `next_attempt` (2, 3, …).
  Millis delay_before(int next_attempt) const;
};

/// An action: a plugin key and its parameters, kept as YAML so plugins read their own.
struct Action {
  std::string kind;   ///< shell, sql, http, wait, approval, manual, or an external plugin
  SourcePos pos;      ///< of the action key
  yaml::Node params;  ///< the value under the key
  /// `targets:` beside the action key of a `shell` step or check (contract §8): the
  /// action runs on these hosts over SSH. Kept as YAML (it may interpolate); its shape
  /// is checked by the parser, its meaning by the shell plugin. It sits on the action,
  /// not on Step/Check, because the executor starts actions (exec/action_run.h) without
  /// knowing whether one is a step's, a check's or a rollback's.
  std::optional<yaml::Node> targets;
};

/// A check (verify, wait.until), a parallel branch, or a rollback: an action plus how to
/// judge it.
struct Check {
  std::string name;
  SourcePos pos;
  Action action;
  std::optional<expr::Expression> expect;  ///< over `result`; absent: the action's own rule
  std::optional<Millis> within;            ///< poll until it holds or this passes
  std::optional<Millis> interval;          ///< between polls (default 2s, or within/10)
  std::optional<Millis> timeout;           ///< per poll/attempt
  std::optional<bool> mutates;
};

struct Target {
  std::string step;
  SourcePos pos;
};

struct ChooseArm {
  std::optional<expr::Expression> when;  ///< absent: the default arm
  Target next;
  SourcePos pos;
};

struct EnvVar {
  std::string name;
  std::string value;  ///< may interpolate
  SourcePos pos;
};

struct OutputDef {
  std::string name;
  expr::Expression expr;
  SourcePos pos;
};

enum class StepKind { Action, Parallel, End };
enum class EndState { Recovered, Failed, Aborted };
enum class Idempotent { Yes, No, VerifyFirst };
const char* to_string(EndState s);
const char* to_string(Idempotent i);

struct Step {
  std::string id;
  SourcePos pos;  ///< of the step's key
  size_t index = 0;
  std::string title, phase, description;

  StepKind kind = StepKind::Action;
  Action action;                           ///< kind == Action
  std::optional<expr::Expression> expect;  ///< the action's success rule override
  std::optional<Check> wait_until;         ///< `wait: {until: …}`: polled until it holds
  std::optional<Millis> wait_interval;
  std::vector<Check> parallel;             ///< kind == Parallel
  int max_concurrency = 0;                 ///< 0 = all at once
  EndState end = EndState::Recovered;      ///< kind == End

  std::optional<Millis> budget;
  std::optional<Millis> timeout;
  Retry retry;
  std::vector<EnvVar> env;
  std::optional<std::string> cwd;
  std::optional<std::string> stdin_text;
  std::vector<Check> verify;
  std::vector<OutputDef> outputs;
  std::optional<expr::Expression> record_rpo;

  std::optional<Target> next;
  std::vector<ChooseArm> choose;
  std::optional<Target> on_failure, on_reject, on_timeout;
  std::optional<Check> rollback;
  bool continue_on_failure = false;
  Idempotent idempotent = Idempotent::Yes;
  bool idempotent_from_defaults = false;  ///< `idempotent` came from `defaults`, not the step
  std::optional<bool> mutates;
  bool implicit_end = false;  ///< the last listed step without next/choose/end: ends recovered

  /// Display name: the title, else the id.
  const std::string& label() const { return title.empty() ? id : title; }
  /// Every step this one can go to (next, choose arms, on_failure, on_reject, on_timeout).
  std::vector<const Target*> targets() const;
};

struct Runbook {
  std::string file;          ///< as given on the command line
  std::string content_hash;  ///< sha256 of the file's bytes, hex
  std::string id;
  std::string title;
  std::string description;
  std::string severity = "SEV-2";
  SourcePos pos;
  Objectives objectives;
  std::vector<Input> inputs;
  std::string start;
  SourcePos start_pos;
  std::vector<Step> steps;
  std::map<std::string, size_t, std::less<>> step_index;

  const Step* find(std::string_view id) const;
  const Input* input(std::string_view name) const;
};

}  // namespace rb::model
