#include "external/external.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/text.h"
#include "plugin/process_run.h"

namespace rb::plugins {
namespace {

constexpr int kProtocol = 1;

// Paths (params.a.b) of string parameters that hold a secret, so that the plugin can keep
// them out of what it logs. The values themselves are in params, where the plugin needs
// them; they are never echoed back: the engine masks the response too.
void secret_paths(const Value& v, const std::string& path, const Masker& m, Value& out) {
  if (v.is_string()) {
    if (m.mask(v.get<std::string>()) != v.get<std::string>()) out.push_back(path);
  } else if (v.is_object()) {
    for (auto& [k, x] : v.items()) secret_paths(x, path + "." + k, m, out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) secret_paths(v[i], fmt::format("{}[{}]", path, i), m, out);
  }
}

class ExternalPlugin : public plugin::Plugin {
 public:
  ExternalPlugin(std::string name, std::string exe) : name_(std::move(name)), exe_(std::move(exe)) {}

  std::string name() const override { return name_; }
  void validate(const yaml::Node&, const plugin::ValidateContext&) const override {}
  std::string describe(const Value& p) const override {
    return fmt::format("{} ({}) {}", name_, exe_, p.dump(-1, ' ', false, Value::error_handler_t::replace));
  }

  std::unique_ptr<plugin::Running> start(const Value& params, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    Value secrets = Value::array();
    if (ctx.masker) secret_paths(params, "params", *ctx.masker, secrets);
    Value req = {{"protocol", kProtocol},
                 {"action", name_},
                 {"params", params},
                 {"context",
                  {{"run_id", ctx.run_id},
                   {"incident_id", ctx.incident_id},
                   {"step_id", ctx.step_id},
                   {"attempt", ctx.attempt},
                   {"idempotency_key", ctx.idempotency_key},
                   {"operator", ctx.operator_name},
                   {"drill", ctx.drill},
                   {"secret_params", secrets}}}};
    if (ctx.timeout) req["context"]["timeout_ms"] = ctx.timeout->count();
    sys::ProcessSpec spec;
    spec.argv = {exe_};
    spec.env = ctx.env_vars;
    spec.cwd = ctx.cwd;
    spec.stdin_data = req.dump() + "\n";
    auto run = std::make_unique<plugin::ProcessRun>(ctx.kill_grace);
    plugin::ProcessRun* raw = run.get();
    auto on_output = ctx.on_output;
    std::string name = name_;
    raw->proc = ctx.env->spawn(
        std::move(spec),
        [on_output](std::string_view chunk, bool is_err) {
          if (is_err && on_output) {
            auto lines = split_lines(chunk);
            if (!lines.empty()) on_output(lines.back());
          }
        },
        [cancelled = raw->cancelled, done, name](sys::ProcessExit ex) {
          plugin::Outcome o;
          o.cancelled = *cancelled;
          if (!ex.started) {
            o.error = ex.spawn_error;
            return done(std::move(o));
          }
          o.result["exit_code"] = ex.term_signal ? 128 + ex.term_signal : ex.exit_code;
          o.result["stderr"] = ex.err;
          o.result["duration_ms"] = ex.duration.count();
          // The response is the last line of stdout that parses as a JSON object.
          Value resp;
          auto lines = split_lines(ex.out);
          for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
            auto v = parse_json_bounded(*it);
            if (!v.is_discarded() && v.is_object()) {
              resp = std::move(v);
              break;
            }
          }
          if (resp.is_null()) {
            o.error = fmt::format("plugin '{}' {} without a JSON response on stdout", name,
                                  ex.term_signal ? fmt::format("was killed by signal {}", ex.term_signal)
                                                 : fmt::format("exited with code {}", ex.exit_code));
            std::string err(trim(ex.err));
            if (!err.empty()) o.error += ": " + ellipsize(split_lines(err).back(), 300);
            return done(std::move(o));
          }
          o.completed = true;
          o.ok = resp.value("ok", false) && ex.exit_code == 0;
          o.result["ok"] = resp.value("ok", false);
          o.result["outputs"] = resp.value("outputs", Value::object());
          o.result["logs"] = resp.value("logs", Value::array());
          if (resp.contains("error")) o.result["error"] = resp["error"];
          if (!o.ok) {
            o.error = resp.contains("error") ? to_text(resp["error"])
                                             : fmt::format("plugin '{}' reported failure (exit code {})", name, ex.exit_code);
          }
          done(std::move(o));
        });
    return run;
  }

 private:
  std::string name_, exe_;
};

}  // namespace

std::unique_ptr<plugin::Plugin> find_external_plugin(const std::string& name, const std::vector<std::string>& path) {
  for (auto& dir : path) {
    std::string exe = dir + "/runbook-plugin-" + name;
    struct stat st {};
    if (::stat(exe.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(exe.c_str(), X_OK) == 0) {
      char* real = ::realpath(exe.c_str(), nullptr);
      std::string full = real ? real : exe;
      ::free(real);
      return std::make_unique<ExternalPlugin>(name, full);
    }
  }
  return nullptr;
}

}  // namespace rb::plugins
