// approval and manual: a decision or a task for a person, asked through the engine's
// plugin::Interaction (the terminal, --answer/--yes, `runbook approve`, the web page).
#include "approval/approval.h"

#include <fmt/format.h>

#include "base/events.h"
#include "base/text.h"
#include "plugin/interaction.h"
#include "yaml/check.h"

namespace rb::plugins {
namespace {

class AskRun : public plugin::Running {
 public:
  plugin::Interaction* interaction = nullptr;
  std::string step;
  void cancel() override {
    if (interaction) interaction->cancel(step);
  }
};

// `show:` — label -> expression. Checked here for syntax; names are checked when they
// are evaluated (a fact that cannot be evaluated is shown as such, it never stops the
// question from being asked).
void validate_show(const yaml::Node& show, const plugin::ValidateContext& ctx) {
  if (!yaml::want_map(show, "'show'", ctx.diag)) return;
  for (auto& [k, v] : show.entries) {
    if (!v.is_scalar()) {
      ctx.diag.error(v.pos, fmt::format("'show' value '{}' must be an expression", k.scalar));
      continue;
    }
    expr::Error err;
    if (!expr::parse(v.scalar, yaml::text_pos(v), &err))
      ctx.diag.error(yaml::text_pos(v), fmt::format("in 'show' '{}': {}", k.scalar, err.message));
  }
}

// Evaluates the facts now, in the order written.
Value render_show(const yaml::Node& show, plugin::Renderer& r) {
  Value facts = Value::array();
  for (auto& [k, v] : show.entries) {
    std::string text;
    expr::Error err;
    try {
      auto e = expr::parse(v.scalar, yaml::text_pos(v), &err);
      text = e ? to_text(r.eval(*e)) : "(" + err.message + ")";
    } catch (const plugin::RenderError& e) {
      text = "(cannot evaluate: " + e.message + ")";
    }
    facts.push_back(Value::array({k.scalar, text}));
  }
  return facts;
}

// approval and manual differ in their keys and words only.
class AskPlugin : public plugin::Plugin {
 public:
  explicit AskPlugin(bool manual) : manual_(manual) {}

  std::string name() const override { return manual_ ? "manual" : "approval"; }

  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override {
    if (p.is_scalar()) return;  // approval: "Proceed?"; manual: "instructions"
    if (!yaml::want_map(p, fmt::format("'{}' {}", name(), ctx.where), ctx.diag)) return;
    if (manual_) {
      yaml::check_keys(p, {"instructions", "confirm", "timeout"}, fmt::format("in manual {}", ctx.where), ctx.diag);
      if (!p.get("instructions")) ctx.diag.error(p.pos, fmt::format("'manual' {} needs 'instructions'", ctx.where));
    } else {
      yaml::check_keys(p, {"prompt", "timeout", "second_person", "show"}, fmt::format("in approval {}", ctx.where),
                       ctx.diag);
      if (auto* sp = p.get("second_person")) yaml::want_bool(*sp, "'second_person'", ctx.diag);
      if (auto* show = p.get("show")) validate_show(*show, ctx);
    }
    for (const char* k : {"prompt", "instructions", "confirm"})
      if (auto* n = p.get(k)) yaml::want_string(*n, fmt::format("'{}'", k), ctx.diag);
    if (auto* t = p.get("timeout")) yaml::want_duration_param(*t, "'timeout'", ctx.diag);
  }

  bool default_mutates(const yaml::Node&) const override { return false; }

  Value render(const yaml::Node& params, plugin::Renderer& r) const override {
    if (!params.is_map() || !params.get("show")) {
      Value out = r.render(params);
      plugin::check_rendered_duration(params, out, "timeout");
      return out;
    }
    yaml::Node rest = params;
    std::erase_if(rest.entries, [](auto& kv) { return kv.first.scalar == "show"; });
    Value out = r.render(rest);
    plugin::check_rendered_duration(params, out, "timeout");
    out["show"] = render_show(*params.get("show"), r);
    return out;
  }

  std::string describe(const Value& p) const override {
    if (p.is_string()) return fmt::format("{}: {}", name(), p.get<std::string>());
    if (manual_) return fmt::format("manual: {}", to_text(p.value("instructions", Value(""))));
    return fmt::format("approval: {}{}", to_text(p.value("prompt", Value("Proceed?"))),
                       p.value("second_person", false) ? " (second person)" : "");
  }

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    plugin::Question q = question(p, ctx);
    auto run = std::make_unique<AskRun>();
    run->interaction = ctx.interaction;
    run->step = ctx.step_id;
    Value req = {{"prompt", q.prompt}, {"kind", q.kind}, {"second_person", q.second_person}};
    if (!q.confirm.empty()) req["confirm"] = q.confirm;
    if (q.timeout) req["timeout_ms"] = q.timeout->count();
    if (!q.facts.empty()) {
      req["show"] = Value::object();
      for (auto& [k, v] : q.facts) req["show"][k] = v;
    }
    ctx.emit(ev::kApprovalRequested, req);
    auto emit = ctx.emit;
    bool manual = manual_;
    ctx.interaction->ask(q, [done, emit, manual](plugin::Answer a) { done(outcome(a, manual, emit)); });
    return run;
  }

 private:
  plugin::Question question(const Value& p, const plugin::ActionContext& ctx) const {
    plugin::Question q;
    q.step_id = ctx.step_id;
    q.kind = name();
    if (p.is_string()) {
      q.prompt = p.get<std::string>();
      if (manual_) q.confirm = "Done?";
    } else if (manual_) {
      q.prompt = to_text(p.value("instructions", Value("")));
      q.confirm = to_text(p.value("confirm", Value("Done?")));
    } else {
      q.prompt = to_text(p.value("prompt", Value("Proceed?")));
      q.second_person = p.value("second_person", false);
      for (auto& f : p.value("show", Value::array()))
        q.facts.emplace_back(to_text(f[0]), ctx.masker ? ctx.masker->mask(to_text(f[1])) : to_text(f[1]));
    }
    if (p.is_object() && p.contains("timeout")) q.timeout = parse_duration(to_text(p["timeout"]));
    if (!q.timeout) q.timeout = ctx.timeout;
    return q;
  }

  static plugin::Outcome outcome(const plugin::Answer& a, bool manual,
                                 const std::function<void(const std::string&, Value)>& emit) {
    for (auto& r : a.refused) emit(ev::kApprovalRefused, Value{{"reason", r}});
    Value data = {{"answered", a.answered}, {"approved", a.answered && a.yes}, {"by", a.by}, {"via", a.via}};
    if (manual) data["confirmed"] = a.answered && a.yes;
    if (!a.source.empty()) data["source"] = a.source;
    if (!a.comment.empty()) data["comment"] = a.comment;
    if (!a.note.empty()) data["note"] = a.note;
    if (a.timed_out) data["timed_out"] = true;
    emit(ev::kApprovalAnswered, data);
    plugin::Outcome o;
    o.completed = true;
    o.ok = a.answered && a.yes;
    o.rejected = !o.ok;
    o.unanswered = !a.answered && a.timed_out;
    o.result = data;
    if (!a.answered) o.error = a.note.empty() ? "no answer" : a.note;
    else if (!a.yes) o.error = fmt::format("{} by {}", manual ? "not done, says" : "rejected", a.by);
    return o;
  }

  bool manual_;
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_approval_plugin() { return std::make_unique<AskPlugin>(false); }
std::unique_ptr<plugin::Plugin> make_manual_plugin() { return std::make_unique<AskPlugin>(true); }

}  // namespace rb::plugins
