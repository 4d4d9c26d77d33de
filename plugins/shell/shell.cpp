#include "shell/shell.h"

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

// Rewrites a command string so that every `${{ expr }}` becomes a reference to an
// environment variable holding the value, quoted for the place it stands in:
//   outside quotes  ->  "${RB_ARG_n}"
//   in "double"     ->  ${RB_ARG_n}
//   in 'single'     ->  '"${RB_ARG_n}"'
// The shell then sees data, never code, whatever the value holds.
Value render_script(const yaml::Node& n, plugin::Renderer& r) {
  const std::string& src = n.scalar;
  std::string script, display;
  Value args = Value::object();
  char quote = 0;  // 0, '\'' or '"'
  size_t i = 0;
  int argn = 0;
  while (i < src.size()) {
    if (src.compare(i, 3, "${{") == 0) {
      size_t close = src.find("}}", i + 3);
      if (close == std::string::npos) throw plugin::RenderError{n.pos, "'${{' without a closing '}}'"};
      std::string body(trim(std::string_view(src).substr(i + 3, close - i - 3)));
      expr::Error err;
      auto e = expr::parse(body, n.pos, &err);
      if (!e) throw plugin::RenderError{n.pos, fmt::format("in '${{{{ }}}}': {}", err.message)};
      Value v = r.eval(*e);
      std::string name = fmt::format("RB_ARG_{}", ++argn);
      args[name] = to_text(v);
      if (quote == 0) script += "\"${" + name + "}\"";
      else if (quote == '"') script += "${" + name + "}";
      else script += "'\"${" + name + "}\"'";
      display += to_text(v);
      i = close + 2;
      continue;
    }
    char c = src[i];
    if (quote == 0 && c == '\\' && i + 1 < src.size()) {
      script += src.substr(i, 2);
      display += src.substr(i, 2);
      i += 2;
      continue;
    }
    if (quote == '"' && c == '\\' && i + 1 < src.size()) {
      script += src.substr(i, 2);
      display += src.substr(i, 2);
      i += 2;
      continue;
    }
    if (quote == 0 && (c == '\'' || c == '"')) quote = c;
    else if (quote == c) quote = 0;
    script += c;
    display += c;
    ++i;
  }
  Value out = Value::object();
  out["script"] = script;
  out["args"] = args;
  out["display"] = display;
  return out;
}

class ShellPlugin : public plugin::Plugin {
 public:
  std::string name() const override { return "shell"; }

  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override {
    if (p.is_scalar()) {
      if (trim(p.scalar).empty()) ctx.diag.error(p.pos, fmt::format("empty shell command {}", ctx.where));
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
    for (const char* k : {"cwd", "stdin"})
      if (auto* n = p.get(k)) yaml::want_string(*n, fmt::format("'{}'", k), ctx.diag);
  }

  Value render(const yaml::Node& p, plugin::Renderer& r) const override {
    Value out = Value::object();
    const yaml::Node* cmd = p.is_scalar() ? &p : p.get("command");
    if (cmd && cmd->is_scalar()) {
      out = render_script(*cmd, r);
    } else if (cmd && cmd->is_seq()) {
      Value argv = Value::array();
      for (auto& a : cmd->items) argv.push_back(to_text(r.render(a)));
      out["argv"] = argv;
    }
    if (p.is_map()) {
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
      plugin::Outcome o;
      if (!ex.started) {
        o.error = ex.spawn_error;
        o.result["exit_code"] = 127;
        o.result["stdout"] = "";
        o.result["stderr"] = ex.spawn_error;
        o.result["duration_ms"] = ex.duration.count();
        o.completed = false;
        done(std::move(o));
        return;
      }
      o.completed = true;
      o.cancelled = *cancelled;
      o.result["exit_code"] = ex.term_signal ? 128 + ex.term_signal : ex.exit_code;
      if (ex.term_signal) o.result["signal"] = ex.term_signal;
      {
        // stdout that is one JSON document is also given parsed, as result.json.
        std::string_view body = trim(ex.out);
        if (!body.empty() && (body.front() == '{' || body.front() == '[') && !ex.out_truncated) {
          auto j = Value::parse(body, nullptr, false);
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
      done(std::move(o));
    });
    return run;
  }

 private:
  fleet::ControlDir control_;  ///< ssh ControlMaster sockets of this run's fleet actions
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_shell_plugin() { return std::make_unique<ShellPlugin>(); }

}  // namespace rb::plugins
