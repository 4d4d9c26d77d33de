#include "shell/shell.h"

#include "shell/script.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "base/text.h"
#include "plugin/process_run.h"
#include "shell/fleet.h"
#include "yaml/check.h"

namespace rb::plugins {
namespace {

using yaml::check_keys;

constexpr size_t kOutputCap = 1u << 20;   // bytes kept per stream

// Renders a command string: each `${{ expr }}` becomes a reference to an environment
// variable holding its value, quoted for its place (script.h): the shell sees data,
// never code, whatever the value holds. A place validation refuses is refused here too.
Value render_script(const yaml::Node& n, plugin::Renderer& r) {
  const std::string& src = n.scalar;
  shell::Analysis a = shell::analyze(src);
  if (a.error) throw plugin::RenderError{n.pos, fmt::format("in '${{{{ }}}}': {}", a.error->second)};
  std::vector<std::string> names;
  std::string display;
  Value args = Value::object();
  size_t at = 0;
  for (size_t k = 0; k < a.interps.size(); ++k) {
    const shell::Interp& i = a.interps[k];
    if (!shell::is_safe(i.place)) throw plugin::RenderError{yaml::interp_pos(n, k), shell::refusal(i)};
    expr::Error err;
    auto e = expr::parse(i.expr, yaml::interp_pos(n, k), &err);
    if (!e) throw plugin::RenderError{yaml::interp_pos(n, k), fmt::format("in '${{{{ }}}}': {}", err.message)};
    std::string value = to_text(r.eval(*e));
    names.push_back(fmt::format("RB_ARG_{}", k + 1));
    args[names.back()] = value;
    display.append(src, at, i.open - at);
    display += value;
    at = i.end;
  }
  display.append(src, at, std::string::npos);
  Value out = Value::object();
  out["script"] = a.interps.empty() ? src : shell::rewrite(src, a, names);
  out["args"] = args;
  out["display"] = display;
  return out;
}

// Reports every `${{ }}` of a command string (or of an argv list) standing where a shell
// or another program would parse it as code.
void validate_command(const yaml::Node& cmd, const plugin::ValidateContext& ctx) {
  auto report = [&](const yaml::Node& n, const shell::Analysis& a) {
    if (a.error) {
      size_t nth = 0;
      for (size_t p = n.scalar.find("${{"); p != std::string::npos && p < a.error->first; p = n.scalar.find("${{", p + 3))
        ++nth;
      ctx.diag.error(yaml::interp_pos(n, nth), fmt::format("in '${{{{ }}}}': {}", a.error->second));
    }
    for (size_t k = 0; k < a.interps.size(); ++k)
      if (!shell::is_safe(a.interps[k].place)) ctx.diag.error(yaml::interp_pos(n, k), shell::refusal(a.interps[k]));
  };
  if (cmd.is_scalar()) {
    report(cmd, shell::analyze(cmd.scalar));
    return;
  }
  if (!cmd.is_seq()) return;
  std::vector<std::string> argv;
  for (auto& item : cmd.items) argv.push_back(item.is_scalar() ? item.scalar : std::string());
  auto each = shell::analyze_argv(argv);
  for (size_t k = 0; k < cmd.items.size(); ++k)
    if (cmd.items[k].is_scalar()) report(cmd.items[k], each[k]);
}

// The program of `cmd` (a command string or an argv list) that reads the step's stdin as
// code, if any.
std::optional<std::string> stdin_reader_of(const yaml::Node& cmd) {
  if (cmd.is_scalar()) return shell::analyze(cmd.scalar).stdin_reader;
  if (!cmd.is_seq() || cmd.items.empty()) return std::nullopt;
  std::vector<std::string> argv;
  for (auto& item : cmd.items) argv.push_back(item.is_scalar() ? item.scalar : std::string());
  return shell::analyze_argv(argv)[0].stdin_reader;
}

// `${{ }}` in `stdin` when the command reads its stdin as code: the first refused
// interp's position and message (validation reports each; render throws the first).
std::vector<std::pair<SourcePos, std::string>> stdin_problems(const yaml::Node& cmd, const yaml::Node& in) {
  std::vector<std::pair<SourcePos, std::string>> out;
  if (!in.is_scalar() || in.scalar.find("${{") == std::string::npos) return out;
  auto reader = stdin_reader_of(cmd);
  if (!reader) return out;
  // The stdin text is data for the lexer's purpose: only its `${{ }}` are listed.
  auto a = shell::analyze_argv({in.scalar});
  for (size_t k = 0; k < a[0].interps.size(); ++k)
    out.emplace_back(yaml::interp_pos(in, k), shell::stdin_refusal(a[0].interps[k], *reader));
  return out;
}

// What a finished process gives its step: exit code or signal, stdout/stderr (valid
// UTF-8, bounded), stdout parsed as result.json when it is one JSON document, and an
// error naming the exit and stderr's last line.
plugin::Outcome outcome_of(sys::ProcessExit ex, bool cancelled) {
  plugin::Outcome o;
  if (!ex.started) {
    o.error = ex.spawn_error;
    o.result["exit_code"] = 127;
    o.result["stdout"] = "";
    o.result["stderr"] = ex.spawn_error;
    o.result["duration_ms"] = ex.duration.count();
    o.completed = false;
    return o;
  }
  o.completed = true;
  o.cancelled = cancelled;
  o.result["exit_code"] = ex.term_signal ? 128 + ex.term_signal : ex.exit_code;
  if (ex.term_signal) o.result["signal"] = ex.term_signal;
  {
    // stdout that is one JSON document is also given parsed, as result.json.
    std::string_view body = trim(ex.out);
    if (!body.empty() && (body.front() == '{' || body.front() == '[') && !ex.out_truncated) {
      auto j = parse_json_bounded(body);
      if (!j.is_discarded()) o.result["json"] = std::move(j);
    }
  }
  o.result["stdout"] = valid_utf8(std::move(ex.out));  // any bytes: results are JSON
  o.result["stderr"] = valid_utf8(std::move(ex.err));
  o.result["stdout_bytes"] = ex.out_bytes;
  o.result["stderr_bytes"] = ex.err_bytes;
  if (ex.out_truncated) o.result["stdout_truncated"] = true;
  if (ex.err_truncated) o.result["stderr_truncated"] = true;
  if (ex.out_truncated || ex.err_truncated) o.result["output_cap"] = kOutputCap;
  if (ex.survivors) o.result["survivors"] = true;
  o.result["duration_ms"] = ex.duration.count();
  o.result["pid"] = ex.pid;
  o.ok = ex.term_signal == 0 && ex.exit_code == 0;
  if (!o.ok) {
    if (ex.term_signal) o.error = fmt::format("killed by signal {}", ex.term_signal);
    else o.error = fmt::format("exit code {}", ex.exit_code);
    std::string err_tail(trim(o.result["stderr"].get<std::string>()));
    if (!err_tail.empty()) {
      auto lines = split_lines(err_tail);
      o.error += ": " + ellipsize(lines.back(), 300);
    }
  }
  return o;
}

class ShellPlugin : public plugin::Plugin {
 public:
  std::string name() const override { return "shell"; }

  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override {
    if (p.is_scalar()) {
      if (trim(p.scalar).empty()) ctx.diag.error(p.pos, fmt::format("empty shell command {}", ctx.where));
      validate_command(p, ctx);
      if (ctx.step_stdin)
        for (auto& [pos, why] : stdin_problems(p, *ctx.step_stdin)) ctx.diag.error(pos, why);
      return;
    }
    if (!p.is_map()) {
      ctx.diag.error(p.pos, fmt::format("'shell' {} must be a command string or a map with 'command', not {}", ctx.where,
                                        p.kind_name()));
      return;
    }
    check_keys(p, {"command", "cwd", "stdin"}, fmt::format("in shell {}", ctx.where), ctx.diag);
    const yaml::Node* cmd = p.get("command");
    if (!cmd) {
      ctx.diag.error(p.pos, fmt::format("'shell' {} needs 'command' (a string or a list of arguments)", ctx.where));
      return;
    }
    if (cmd->is_seq()) {
      if (cmd->items.empty()) ctx.diag.error(cmd->pos, "'command' is an empty list");
      for (auto& a : cmd->items)
        if (!a.is_scalar()) ctx.diag.error(a.pos, "each argument of 'command' must be a string");
    } else if (!cmd->is_scalar()) {
      ctx.diag.error(cmd->pos, "'command' must be a string or a list of arguments");
    }
    validate_command(*cmd, ctx);
    for (const char* k : {"cwd", "stdin"})
      if (auto* n = p.get(k)) yaml::want_string(*n, fmt::format("'{}'", k), ctx.diag);
    if (auto* in = p.get("stdin"))
      for (auto& [pos, why] : stdin_problems(*cmd, *in)) ctx.diag.error(pos, why);
    if (ctx.step_stdin && !p.get("stdin"))
      for (auto& [pos, why] : stdin_problems(*cmd, *ctx.step_stdin)) ctx.diag.error(pos, why);
  }

  Value render(const yaml::Node& p, plugin::Renderer& r) const override {
    Value out = Value::object();
    const yaml::Node* cmd = p.is_scalar() ? &p : p.get("command");
    if (cmd && cmd->is_scalar()) {
      out = render_script(*cmd, r);
    } else if (cmd && cmd->is_seq()) {
      std::vector<std::string> raw;
      for (auto& a : cmd->items) raw.push_back(a.is_scalar() ? a.scalar : std::string());
      auto each = shell::analyze_argv(raw);
      for (size_t k = 0; k < each.size(); ++k)
        for (size_t j = 0; j < each[k].interps.size(); ++j)
          if (!shell::is_safe(each[k].interps[j].place))
            throw plugin::RenderError{yaml::interp_pos(cmd->items[k], j), shell::refusal(each[k].interps[j])};
      Value argv = Value::array();
      for (auto& a : cmd->items) argv.push_back(to_text(r.render(a)));
      out["argv"] = argv;
    }
    if (p.is_map()) {
      if (auto* in = p.get("stdin"); in && cmd)
        if (auto problems = stdin_problems(*cmd, *in); !problems.empty())
          throw plugin::RenderError{problems[0].first, problems[0].second};
      if (auto* n = p.get("cwd")) out["cwd"] = to_text(r.render(*n));
      if (auto* n = p.get("stdin")) out["stdin"] = to_text(r.render(*n));
    }
    return out;
  }

  bool default_mutates(const yaml::Node&) const override { return true; }

  std::string describe(const Value& p) const override {
    if (p.contains("display")) return p["display"].get<std::string>();
    if (p.contains("argv")) {
      std::vector<std::string> parts;
      for (auto& a : p["argv"]) parts.push_back(shell_quote(a.get<std::string>()));
      return join(parts, " ");
    }
    return "shell";
  }

  // With `targets`, the same command runs on each selected host over SSH (fleet.h): the
  // rendered script and its values go to the hosts as data, with the step's `env` and
  // RUNBOOK_* (not the engine's own environment); `cwd` names a remote directory.
  std::unique_ptr<plugin::Running> start_on_hosts(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) {
    fleet::RemoteJob job;
    job.env = ctx.step_env;
    if (p.contains("script")) {
      job.script = p["script"].get<std::string>();
      for (auto& [k, v] : p["args"].items()) job.env.emplace_back(k, v.get<std::string>());
    } else {
      std::vector<std::string> words;
      for (auto& a : p["argv"]) words.push_back(shell_quote(a.get<std::string>()));
      job.script = "exec " + join(words, " ");
    }
    if (p.contains("cwd")) job.cwd = p["cwd"].get<std::string>();
    if (p.contains("stdin")) job.stdin_data = p["stdin"].get<std::string>();
    else if (ctx.stdin_text) job.stdin_data = *ctx.stdin_text;
    return fleet::start_fleet(std::move(job), ctx, std::move(done), control_);
  }

  void finish_run() override { control_.remove(); }

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    if (!ctx.targets.is_null()) return start_on_hosts(p, ctx, std::move(done));
    sys::ProcessSpec spec;
    spec.env = ctx.env_vars;
    if (p.contains("script")) {
      spec.argv = {"/bin/sh", "-c", p["script"].get<std::string>()};
      for (auto& [k, v] : p["args"].items()) spec.env.emplace_back(k, v.get<std::string>());
    } else {
      for (auto& a : p["argv"]) spec.argv.push_back(a.get<std::string>());
    }
    spec.cwd = p.contains("cwd") ? p["cwd"].get<std::string>() : ctx.cwd;
    if (p.contains("stdin")) spec.stdin_data = p["stdin"].get<std::string>();
    else if (ctx.stdin_text) spec.stdin_data = ctx.stdin_text;
    spec.output_cap = kOutputCap;

    auto run = std::make_unique<plugin::ProcessRun>(ctx.kill_grace);
    plugin::ProcessRun* raw = run.get();
    auto on_output = ctx.on_output;
    std::string tail;
    auto out_fn = [on_output, tail](std::string_view chunk, bool) mutable {
      if (!on_output) return;
      // Hand complete lines to the live view; keep only a bounded partial line.
      tail.append(chunk.substr(chunk.size() > 8192 ? chunk.size() - 8192 : 0));
      size_t nl = tail.rfind('\n');
      if (nl == std::string::npos) {
        if (tail.size() > 8192) tail.erase(0, tail.size() - 8192);
        return;
      }
      std::string_view complete(tail.data(), nl);
      size_t prev = complete.rfind('\n');
      on_output(std::string(prev == std::string_view::npos ? complete : complete.substr(prev + 1)));
      tail.erase(0, nl + 1);
    };
    raw->proc = ctx.env->spawn(std::move(spec), out_fn, [cancelled = raw->cancelled, done](sys::ProcessExit ex) {
      done(outcome_of(std::move(ex), *cancelled));
    });
    return run;
  }

 private:
  fleet::ControlDir control_;  ///< ssh ControlMaster sockets of this run's fleet actions
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_shell_plugin() { return std::make_unique<ShellPlugin>(); }

}  // namespace rb::plugins
