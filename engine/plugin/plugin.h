// The plugin interface: every action (shell, sql, http, wait, approval, manual and external
// plugins) implements it, and the executor knows actions only through it.
//
// Lifecycle of one action attempt:
//   1. validate() at load time checks the YAML parameters (no I/O).
//   2. start() is called on the engine's loop thread with the rendered parameters
//      (templates interpolated) and returns a Running handle.
//   3. The plugin calls `done` exactly once, on the loop thread, never from inside
//      start(); also after cancel(), once everything it started is gone (processes
//      reaped, queries cancelled, transfers aborted).
//   4. The engine owns the attempt's deadline (exec/action_run.h): when it passes, or the
//      run is cancelled, it calls cancel(); a plugin stops within `kill_grace` (SIGTERM
//      to a process group, SIGKILL after the grace). A plugin that has not called `done`
//      by then is abandoned: the attempt ends without it and a late `done` is dropped.
//   Plugins take time, timers and processes from `ctx.env`, never from the OS directly,
//   and must never block the loop thread (no blocking connect, query or sleep).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/diag.h"
#include "base/duration.h"
#include "base/masker.h"
#include "base/value.h"
#include "expr/expr.h"
#include "sys/env.h"
#include "yaml/node.h"

namespace rb::plugin {

class Interaction;

/// What an action returned.
struct Outcome {
  bool completed = false;  ///< the action ran and produced `result` (even if unsuccessful)
  bool ok = false;         ///< the action's own success rule (exit 0, 2xx, approved …)
  bool cancelled = false;  ///< stopped by cancel() (timeout, abort, parallel sibling failed)
  bool rejected = false;   ///< approval/manual: answered no (or not at all)
  bool unanswered = false; ///< approval/manual: nobody answered in time
  bool timed_out = false;  ///< the action's own time limit passed (http `timeout`): a timeout
  Value result = Value::object();
  std::string error;       ///< why it failed, for people (masked by the engine)
};

using DoneFn = std::function<void(Outcome)>;

/// Per-attempt context given to start().
struct ActionContext {
  std::string run_id;
  std::string incident_id;
  std::string step_id;
  int attempt = 1;
  std::string idempotency_key;  ///< run id + step + attempt: stable across resumes
  std::string operator_name;
  bool drill = false;
  /// Environment for child processes: the engine's, plus the step's `env`, plus RUNBOOK_*.
  std::vector<std::pair<std::string, std::string>> env_vars;
  /// Only what the runbook adds to it: the step's `env` (rendered) and RUNBOOK_*. A
  /// fleet action sends these to the remote hosts (never the engine's own environment).
  std::vector<std::pair<std::string, std::string>> step_env;
  /// `targets:` of a shell step or check, rendered (null: the action runs here). With
  /// targets, `timeout` is per host: the engine does not cut the whole action at it,
  /// the plugin stops each host's command (contract §8).
  Value targets;
  std::string cwd;                        ///< where child processes start
  std::optional<std::string> stdin_text;  ///< step-level `stdin`
  std::optional<Millis> timeout;          ///< this action's limit (the engine enforces it; a plugin may
                                          ///< also pass it on, e.g. as a server-side statement timeout)
  Millis kill_grace{3000};                ///< after cancel(): SIGTERM -> SIGKILL, and the engine's patience
  sys::Env* env = nullptr;                ///< time, timers, processes, the loop
  const Masker* masker = nullptr;
  Interaction* interaction = nullptr;     ///< approvals and manual steps
  /// Appends a timeline event of this step (e.g. approval.requested).
  std::function<void(const std::string& type, Value data)> emit;
  /// Live output lines for the operator view (not stored).
  std::function<void(const std::string& line)> on_output;
};

/// A started action. Destroyed by the engine after `done` was called.
class Running {
 public:
  virtual ~Running() = default;
  /// Stops the action as soon as possible; `done` still follows (with cancelled = true
  /// unless it had already finished).
  virtual void cancel() = 0;
};

struct ValidateContext {
  Diagnostics& diag;
  std::string where;  ///< e.g. "in step 'restore'"
  /// The step's own `stdin` (given to every action of the step), when it has one.
  const yaml::Node* step_stdin = nullptr;
};

/// A template or expression that could not be rendered (unknown step output, bad type…).
struct RenderError {
  SourcePos pos;
  std::string message;
};

/// Renders action parameters; implemented by the executor over the run's state. Values
/// derived from secrets are registered with the run's Masker as they are produced.
class Renderer {
 public:
  virtual ~Renderer() = default;
  /// A YAML tree as a value: plain scalars typed (int, number, bool, null), strings with
  /// `${{ }}` interpolated. Throws RenderError.
  virtual Value render(const yaml::Node& n) = 0;
  /// One expression's value. Throws RenderError.
  virtual Value eval(const expr::Expression& e) = 0;
};

/// A duration parameter written as `${{ … }}` (yaml::want_duration_param), checked once
/// rendered: throws RenderError at the parameter when `rendered[key]` is not a duration.
void check_rendered_duration(const yaml::Node& params, const Value& rendered, const char* key);

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual std::string name() const = 0;
  /// Checks the parameters (the YAML under the action key). Adds errors to ctx.diag.
  virtual void validate(const yaml::Node& params, const ValidateContext& ctx) const = 0;
  /// Keys whose string values must not be interpolated (e.g. sql `query`): the validator
  /// reports `${{ }}` in them. Every other string may embed `${{ }}`.
  virtual std::vector<std::string> raw_keys() const { return {}; }
  /// Whether the action changes the world when `mutates` is not set (dry-run=probes).
  virtual bool default_mutates(const yaml::Node& params) const { return true; }
  /// Renders the parameters for one attempt. The default renders the whole tree; a
  /// plugin that must keep values out of code (shell) places them itself.
  virtual Value render(const yaml::Node& params, Renderer& r) const { return r.render(params); }
  /// Starts one attempt. `params` are rendered. See the lifecycle above.
  virtual std::unique_ptr<Running> start(const Value& params, ActionContext& ctx, DoneFn done) = 0;
  /// One-line rendering of the action for plans and --dry-run (params are rendered and
  /// masked by the caller).
  virtual std::string describe(const Value& params) const;
  /// The run's loop is about to go away: drop everything bound to it (sockets, timers).
  virtual void finish_run() {}
};

/// Name -> plugin. Built-ins are added by one explicit list (plugins/builtin.cpp); any
/// other action key resolves to an external plugin through the resolver.
class Registry {
 public:
  /// Adds a plugin; refuses (returns false) a name registered twice.
  bool add(std::unique_ptr<Plugin> p);
  /// A built-in, or an external plugin found by the resolver, or nullptr.
  Plugin* find(const std::string& name);
  bool is_builtin(const std::string& name) const { return plugins_.count(name) > 0; }
  /// Built-in names, sorted.
  std::vector<std::string> names() const;
  /// Calls finish_run() on every plugin (before the run's io_context is destroyed).
  void finish_run();
  using Resolver = std::function<std::unique_ptr<Plugin>(const std::string& name)>;
  void set_resolver(Resolver r) { resolver_ = std::move(r); }

 private:
  std::map<std::string, std::unique_ptr<Plugin>> plugins_;
  std::map<std::string, std::unique_ptr<Plugin>> external_;
  Resolver resolver_;
};

}  // namespace rb::plugin
