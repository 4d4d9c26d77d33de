// Shared pieces of the subcommands: loading runbooks with diagnostics, the plugin
// registry, the store, identities. Exit codes follow contract section 3.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/masker.h"
#include "journal/store.h"
#include "model/runbook.h"
#include "plugin/plugin.h"

namespace rb::cli {

enum Exit { kOk = 0, kFailed = 1, kInvalid = 2, kAborted = 3, kEngine = 4 };

struct Global {
  std::string store;                     ///< --store
  std::vector<std::string> plugin_path;  ///< --plugin-path
  bool json = false;                     ///< --json
};

/// Registry with the built-ins and external plugin resolution.
std::unique_ptr<plugin::Registry> make_registry(const Global& g);

/// Loads and validates; prints diagnostics to stderr. nullopt when invalid.
std::optional<model::Runbook> load_or_report(const std::string& path, plugin::Registry& reg, bool quiet_warnings = false);

std::unique_ptr<journal::Store> open_store_or_report(const Global& g);

/// The SQLite file of the store in use, or "" when it is not a SQLite store.
std::string sqlite_store_path(const Global& g);

/// For the commands that read existing runs (status, timeline, note, export, approve,
/// resume, abort): a SQLite store that does not exist is not created — a typo in --store
/// would otherwise answer "no run" from an empty store made on the spot. nullptr after
/// printing why; *code is then kInvalid (no such store) or kEngine (it failed to open).
std::unique_ptr<journal::Store> open_existing_store_or_report(const Global& g, int* code);

/// The run's timeline checked against its hash chain (journal/FORMAT.md), read from one
/// snapshot of the store (a live engine's append is seen whole or not at all); damage is
/// returned, naming the event. For `timeline` and `export`: a tampered or damaged event
/// never reaches a report silently (exit 4 with what is damaged).
Status verify_timeline(journal::Store& store, const std::string& run_id);

/// " --store URL" (password masked) when a store was given with --store, else "": every
/// command the tool suggests carries the store in use.
std::string store_flag(const Global& g);
/// The run store in use (--store, else RUNBOOK_STORE, else .runbook/runbook.db), a relative
/// SQLite path made absolute, password masked: `run.store` in a runbook's text.
std::string store_in_use(const Global& g);
/// The error for a run id the store does not hold, with the next step: the `runs` command
/// (carrying the store in use) that lists the runs it holds.
std::string no_run_message(const Global& g, journal::Store& s, const std::string& id);
/// What `resume` must be given again for the secrets of a run started with `inputs`
/// (secrets are never stored): " --inputs FILE" (absolute) for those from the inputs file,
/// " --input NAME=…" for those given by flag; empty when every secret is at its default.
std::string secrets_again(const model::Runbook& rb, const Value& inputs, const std::string& inputs_file,
                          const std::vector<std::string>& pairs);

std::string operator_name(const std::string& flag);
std::string new_run_id();

/// Prints an error for people (masked) to stderr: "runbook: message".
void error(const Masker& m, const std::string& msg);
void error(const std::string& msg);

/// Resolves inputs: runbook defaults, then --inputs FILE.yaml, then --input K=V (typed per
/// the declaration). Reports every problem; returns nullopt when any.
std::optional<Value> resolve_inputs(const model::Runbook& rb, const std::string& inputs_file,
                                    const std::vector<std::string>& pairs, bool check_required = true);

/// The names of the runbook's secret inputs; registers their values with `masker`.
/// What the run's record holds for a secret input left at its runbook default (a secret
/// given at start is stored masked): `resume` needs the others given again.
inline constexpr const char* kSecretAtDefault = "(default)";
std::set<std::string> secret_inputs(const model::Runbook& rb, const Value& inputs, Masker& masker);

/// The engine's version string ("0.1.0").
const char* version();
/// The commit it was built from (`git describe --always --dirty` when configured), or
/// "unknown" when built outside a git checkout.
const char* build_commit();

}  // namespace rb::cli
