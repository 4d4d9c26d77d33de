#include "wait/wait.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "yaml/check.h"

namespace rb::plugins {
namespace {

class WaitRun : public plugin::Running {
 public:
  explicit WaitRun(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  void cancel() override { timer.cancel(); }
};

class WaitPlugin : public plugin::Plugin {
 public:
  std::string name() const override { return "wait"; }

  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override {
    if (!yaml::want_map(p, fmt::format("'wait' {}", ctx.where), ctx.diag)) return;
    yaml::check_keys(p, {"for", "until", "interval"}, fmt::format("in wait {}", ctx.where), ctx.diag);
    bool has_for = p.get("for"), has_until = p.get("until");
    if (has_for == has_until)
      ctx.diag.error(p.pos, fmt::format("'wait' {} needs exactly one of 'for' (a duration) or 'until' (a check)", ctx.where));
    if (auto* f = p.get("for")) yaml::want_duration(*f, "'for'", ctx.diag);
    if (p.get("interval") && !has_until) ctx.diag.error(p.entry("interval")->first.pos, "'interval' goes with 'until'");
  }

  bool default_mutates(const yaml::Node&) const override { return false; }

  std::string describe(const Value& p) const override {
    if (p.contains("for")) return fmt::format("wait {}", to_text(p["for"]));
    return "wait until check holds";
  }

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    auto run = std::make_unique<WaitRun>(*ctx.io);
    Millis d = parse_duration(to_text(p.value("for", Value("0s")))).value_or(Millis(0));
    run->timer.expires_after(d);
    run->timer.async_wait([done, d](const boost::system::error_code& ec) {
      plugin::Outcome o;
      o.completed = !ec;
      o.ok = !ec;
      o.cancelled = static_cast<bool>(ec);
      o.result["waited_ms"] = d.count();
      done(std::move(o));
    });
    return run;
  }
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_wait_plugin() { return std::make_unique<WaitPlugin>(); }

}  // namespace rb::plugins
