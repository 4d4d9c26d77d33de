#include "exec/action_run.h"

#include <fmt/format.h>

namespace rb::exec {

namespace {
// How long past the kill grace the engine waits for a stopped action before giving up.
constexpr Millis kAbandonMargin{1000};
}  // namespace

class ActionSlot : public std::enable_shared_from_this<ActionSlot> {
 public:
  explicit ActionSlot(RunContext& rc) : rc_(rc), deadline_(rc.env.timer()), grace_(rc.env.timer()) {}

  void start(plugin::Plugin& p, const Value& params, plugin::ActionContext& ctx, std::optional<Millis> limit,
             std::function<void(ActionResult)> done) {
    done_ = std::move(done);
    t0_ = rc_.env.mono();
    std::weak_ptr<ActionSlot> w = weak_from_this();
    if (limit) deadline_->arm(*limit, [w] {
        if (auto s = w.lock()) s->stop(true);
      });
    starting_ = true;
    running_ = p.start(params, ctx, [w, &env = rc_.env](plugin::Outcome out) {
      auto s = w.lock();
      if (!s) return;
      if (s->starting_) {  // a plugin that answered from inside start(): deliver on the loop
        env.post([w, out = std::move(out)]() mutable {
          if (auto s2 = w.lock()) s2->plugin_done(std::move(out));
        });
        return;
      }
      s->plugin_done(std::move(out));
    });
    starting_ = false;
  }

  /// The action could not start (no plugin, a rendering error): fails on the loop.
  void fail_soon(std::string error, std::function<void(ActionResult)> done) {
    done_ = std::move(done);
    t0_ = rc_.env.mono();
    plugin::Outcome out;
    out.error = std::move(error);
    std::weak_ptr<ActionSlot> w = weak_from_this();
    rc_.env.post([w, out]() mutable {
      if (auto s = w.lock()) s->plugin_done(std::move(out));
    });
  }

  void stop(bool for_timeout) {
    if (delivered_ || finished_) return;
    if (for_timeout) timed_out_ = true;
    else cancelled_ = true;
    if (stopping_) return;
    stopping_ = true;
    deadline_->cancel();
    if (running_) running_->cancel();
    std::weak_ptr<ActionSlot> w = weak_from_this();
    grace_->arm(rc_.o.kill_grace + kAbandonMargin, [w] {
      if (auto s = w.lock()) s->abandon();
    });
  }

  /// The owner went away: never call its `done`; stop the action if it still runs.
  void orphan() {
    done_ = nullptr;
    if (finished_ || buried_) return;
    stop(false);
    rc_.bury(shared_from_this());
    buried_ = true;
  }

  bool running() const { return !delivered_ && !finished_; }

 private:
  void plugin_done(plugin::Outcome out) {
    if (finished_) return;
    finished_ = true;
    deadline_->cancel();
    grace_->cancel();
    if (delivered_ || buried_) {
      // Late: its result was given up on. Drop the handle (off this call stack).
      std::weak_ptr<ActionSlot> w = weak_from_this();
      RunContext* rc = &rc_;
      rc_.env.post([w, rc] {
        if (auto s = w.lock()) rc->unbury(s.get());
      });
      return;
    }
    deliver(std::move(out), false);
  }

  void abandon() {
    if (delivered_ || finished_) return;
    plugin::Outcome out;
    out.cancelled = true;
    out.error = fmt::format("the action did not stop within {} of being cancelled; abandoned",
                            format_duration(rc_.o.kill_grace + kAbandonMargin));
    if (!buried_) {
      rc_.bury(shared_from_this());
      buried_ = true;
    }
    deliver(std::move(out), true);
  }

  void deliver(plugin::Outcome out, bool abandoned) {
    delivered_ = true;
    if (!done_) return;
    ActionResult r;
    r.timed_out = timed_out_;
    r.cancelled = cancelled_ && !timed_out_;
    r.abandoned = abandoned;
    r.took = rc_.env.since(t0_);
    if (timed_out_ || cancelled_) out.cancelled = true;
    r.out = std::move(out);
    auto d = std::move(done_);
    done_ = nullptr;
    d(std::move(r));
  }

  RunContext& rc_;
  std::unique_ptr<plugin::Running> running_;
  std::unique_ptr<sys::Timer> deadline_, grace_;
  std::function<void(ActionResult)> done_;
  sys::MonoTime t0_;
  bool starting_ = false, stopping_ = false, timed_out_ = false, cancelled_ = false;
  bool finished_ = false;   // the plugin called done
  bool delivered_ = false;  // our done was called (or given up on)
  bool buried_ = false;
};

ActionRun::~ActionRun() {
  if (slot_) slot_->orphan();
}

void ActionRun::start(const model::Action& a, const model::Step& s, int attempt, std::optional<Millis> limit,
                      std::function<void(ActionResult)> done, const std::vector<std::string>* on_hosts) {
  if (slot_) slot_->orphan();
  slot_ = std::make_shared<ActionSlot>(rc_);
  plugin::Plugin* p = rc_.reg.find(a.kind);
  if (!p) {
    slot_->fail_soon(fmt::format("no plugin '{}': not built in, and no runbook-plugin-{} on the plugin path", a.kind,
                                 a.kind),
                     std::move(done));
    return;
  }
  Value params;
  plugin::ActionContext ctx;
  try {
    params = p->render(a.params, rc_.renderer);
    ctx = rc_.action_context(s, attempt, limit, &a);
  } catch (const plugin::RenderError& e) {
    slot_->fail_soon(rc_.masker.mask(e.message), std::move(done));
    return;
  }
  if (on_hosts && !ctx.targets.is_null()) {
    // A rollback of a fleet step: exactly the hosts where the step ran, each of them
    // tried (no canary, no blast-radius stop).
    ctx.targets["hosts"] = Value(*on_hosts);
    ctx.targets.erase("canary");
    ctx.targets["max_errors"] = "100%";
  }
  // A fleet action's `limit` is per host (contract §8): the plugin stops each host's
  // command at ctx.timeout; the action as a whole gets no deadline here. cancel()
  // still stops it (every host) the same way as any action.
  std::optional<Millis> whole = ctx.targets.is_null() ? limit : std::nullopt;
  slot_->start(*p, params, ctx, whole, std::move(done));
}

void ActionRun::cancel() {
  if (slot_) slot_->stop(false);
}

bool ActionRun::running() const { return slot_ && slot_->running(); }

}  // namespace rb::exec
