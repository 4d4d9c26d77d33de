#include "approval/approval.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "yaml/check.h"
#include "plugin/interaction.h"
#include "base/events.h"

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

// approval and manual differ in their keys and words only.
class AskPlugin : public plugin::Plugin {
 public:
  explicit AskPlugin(bool manual) : manual_(manual) {}

  std::string name() const override { return manual_ ? "manual" : "approval"; }

  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override {
    if (p.is_scalar() && !manual_) return;  // approval: "Proceed?"
    if (p.is_scalar() && manual_) return;   // manual: "instructions"
    if (!yaml::want_map(p, fmt::format("'{}' {}", name(), ctx.where), ctx.diag)) return;
    if (manual_) {
      yaml::check_keys(p, {"instructions", "confirm", "timeout"}, fmt::format("in manual {}", ctx.where), ctx.diag);
      if (!p.get("instructions")) ctx.diag.error(p.pos, fmt::format("'manual' {} needs 'instructions'", ctx.where));
    } else {
      yaml::check_keys(p, {"prompt", "timeout", "second_person"}, fmt::format("in approval {}", ctx.where), ctx.diag);
      if (auto* sp = p.get("second_person")) yaml::want_bool(*sp, "'second_person'", ctx.diag);
    }
    for (const char* k : {"prompt", "instructions", "confirm"})
      if (auto* n = p.get(k)) yaml::want_string(*n, fmt::format("'{}'", k), ctx.diag);
    if (auto* t = p.get("timeout")) yaml::want_duration(*t, "'timeout'", ctx.diag);
  }

  bool default_mutates(const yaml::Node&) const override { return false; }

  std::string describe(const Value& p) const override {
    if (p.is_string()) return fmt::format("{}: {}", name(), p.get<std::string>());
    if (manual_) return fmt::format("manual: {}", to_text(p.value("instructions", Value(""))));
    return fmt::format("approval: {}{}", to_text(p.value("prompt", Value("Proceed?"))),
                       p.value("second_person", false) ? " (second person)" : "");
  }

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    plugin::Question q;
    q.step_id = ctx.step_id;
    q.kind = name();
    if (p.is_string()) {
      q.prompt = p.get<std::string>();
    } else if (manual_) {
      q.prompt = to_text(p.value("instructions", Value("")));
      std::string confirm = to_text(p.value("confirm", Value("Done?")));
      q.prompt += "\n" + confirm;
    } else {
      q.prompt = to_text(p.value("prompt", Value("Proceed?")));
      q.second_person = p.value("second_person", false);
    }
    if (p.is_object() && p.contains("timeout"))
      q.timeout = parse_duration(to_text(p["timeout"]));
    if (!q.timeout) q.timeout = ctx.timeout;
    auto run = std::make_unique<AskRun>();
    run->interaction = ctx.interaction;
    run->step = ctx.step_id;
    Value req = {{"prompt", q.prompt}, {"kind", q.kind}, {"second_person", q.second_person}};
    if (q.timeout) req["timeout_ms"] = q.timeout->count();
    ctx.emit(ev::kApprovalRequested, req);
    auto emit = ctx.emit;
    bool manual = manual_;
    ctx.interaction->ask(q, [done, emit, manual](plugin::Answer a) {
      for (auto& r : a.refused) emit(ev::kApprovalRefused, Value{{"reason", r}});
      Value data = {{"answered", a.answered}, {"approved", a.answered && a.yes}, {"by", a.by}, {"via", a.via}};
      if (!a.note.empty()) data["note"] = a.note;
      emit(ev::kApprovalAnswered, data);
      plugin::Outcome o;
      o.completed = true;
      o.ok = a.answered && a.yes;
      o.rejected = !o.ok;
      o.result = data;
      if (!a.answered) o.error = a.note.empty() ? "no answer" : a.note;
      else if (!a.yes) o.error = fmt::format("{} by {}", manual ? "not confirmed" : "rejected", a.by);
      done(std::move(o));
    });
    return run;
  }

 private:
  bool manual_;
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_approval_plugin() { return std::make_unique<AskPlugin>(false); }
std::unique_ptr<plugin::Plugin> make_manual_plugin() { return std::make_unique<AskPlugin>(true); }

}  // namespace rb::plugins
