#include "wait/wait.h"

#include <fmt/format.h>

#include "yaml/check.h"

namespace rb::plugins {
namespace {

// Waits on an Env timer; cancel() answers at once (cancelled).
class WaitRun : public plugin::Running {
 public:
  WaitRun(sys::Env& env, plugin::DoneFn done) : env_(env), timer_(env.timer()), done_(std::move(done)) {}
  void start(Millis d) {
    timer_->arm(d, [this, d] { finish(false, d); });
  }
  /// `for` rendered to something that is not a duration: the attempt fails, never a
  /// silent zero-length wait.
  void fail(std::string why) {
    env_.post([d = std::exchange(done_, nullptr), why = std::move(why)] {
      plugin::Outcome o;
      o.completed = true;
      o.error = why;
      d(std::move(o));
    });
  }
  void cancel() override {
    if (!done_) return;
    timer_->cancel();
    env_.post([d = std::exchange(done_, nullptr)] {
      plugin::Outcome o;
      o.cancelled = true;
      d(std::move(o));
    });
  }

 private:
  void finish(bool cancelled, Millis d) {
    plugin::Outcome o;
    o.completed = o.ok = !cancelled;
    o.cancelled = cancelled;
    o.result["waited_ms"] = d.count();
    std::exchange(done_, nullptr)(std::move(o));
  }
  sys::Env& env_;
  std::unique_ptr<sys::Timer> timer_;
  plugin::DoneFn done_;
};

class WaitPlugin : public plugin::Plugin {
 public:
  std::string name() const override { return "wait"; }

  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override {
    if (!yaml::want_map(p, fmt::format("'wait' {}", ctx.where), ctx.diag)) return;
    // `timeout` bounds the wait like the step's own `timeout` (the parser merges the two).
    yaml::check_keys(p, {"for", "until", "interval", "timeout"}, fmt::format("in wait {}", ctx.where), ctx.diag);
    bool has_for = p.get("for"), has_until = p.get("until");
    if (has_for == has_until)
      ctx.diag.error(p.pos, fmt::format("'wait' {} needs exactly one of 'for' (a duration) or 'until' (a check)", ctx.where));
    // `for: "${{ inputs.settle }}"` (a duration input) is checked once rendered.
    if (auto* f = p.get("for")) yaml::want_duration_param(*f, "'for'", ctx.diag);
    if (auto* t = p.get("timeout")) yaml::want_duration(*t, "'timeout'", ctx.diag);
    if (p.get("interval") && !has_until) ctx.diag.error(p.entry("interval")->first.pos, "'interval' goes with 'until'");
  }

  bool default_mutates(const yaml::Node&) const override { return false; }

  std::string describe(const Value& p) const override {
    if (p.contains("for")) return fmt::format("wait {}", to_text(p["for"]));
    return "wait until check holds";
  }

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    auto run = std::make_unique<WaitRun>(*ctx.env, std::move(done));
    std::string text = to_text(p.value("for", Value("0s")));
    if (auto d = parse_duration(text)) run->start(*d);
    else run->fail(fmt::format("wait 'for': '{}' is not a duration (use e.g. 250ms, 30s, 5m, 2h, 1h30m)", text));
    return run;
  }
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_wait_plugin() { return std::make_unique<WaitPlugin>(); }

}  // namespace rb::plugins
