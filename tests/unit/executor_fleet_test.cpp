// The executor's side of fleet actions, on the fake Env with a recording `shell` plugin
// (no ssh): targets are rendered and handed to the plugin, a fleet step's `timeout` is
// per host (the engine does not cut the step at it, it passes it on), cancel still stops
// it, and rollbacks get exactly the hosts where the step ran — also after a resume.
#include <doctest/doctest.h>

#include "base/events.h"
#include "exec/replay.h"
#include "support/exec_harness.h"

using namespace rb;
using rb::test::Harness;

namespace {

// Records every start; "takes" simulated time, then reports the hosts of its targets as
// result.hosts (or fails when its command is "fail").
class FleetRecordingShell : public plugin::Plugin {
 public:
  struct Call {
    std::string step, command;
    Value targets;
    std::optional<Millis> timeout;
    std::vector<std::pair<std::string, std::string>> step_env;
  };
  std::vector<Call>* calls;
  Millis takes{5000};
  explicit FleetRecordingShell(std::vector<Call>* c) : calls(c) {}

  std::string name() const override { return "shell"; }
  void validate(const yaml::Node&, const plugin::ValidateContext&) const override {}

  class Run : public plugin::Running {
   public:
    std::unique_ptr<sys::Timer> timer;
    plugin::DoneFn done;
    void cancel() override {
      timer->cancel();
      plugin::Outcome o;
      o.cancelled = true;
      o.error = "cancelled";
      timer->arm(Millis(0), [d = done, o] { d(o); });
    }
  };

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    std::string cmd = p.is_string() ? p.get<std::string>() : p.dump();
    calls->push_back({ctx.step_id, cmd, ctx.targets, ctx.timeout, ctx.step_env});
    auto run = std::make_unique<Run>();
    run->timer = ctx.env->timer();
    run->done = done;
    plugin::Outcome o;
    o.completed = true;
    o.ok = cmd != "fail";
    if (!ctx.targets.is_null()) {
      o.result["hosts"] = Value::object();
      for (auto& h : ctx.targets["hosts"]) o.result["hosts"][h.get<std::string>()] = {{"ok", true}};
    }
    run->timer->arm(cmd == "fail" ? Millis(10) : takes, [done, o] { done(o); });
    return run;
  }
};

struct FleetHarness : Harness {
  std::vector<FleetRecordingShell::Call> calls;
  FleetHarness() {
    reg = plugin::Registry();
    reg.add(std::make_unique<FleetRecordingShell>(&calls));
  }
  std::vector<FleetRecordingShell::Call> calls_of(const std::string& step) const {
    std::vector<FleetRecordingShell::Call> out;
    for (auto& c : calls)
      if (c.step == step) out.push_back(c);
    return out;
  }
};

const char* kFleetBook = R"(
runbook: t
title: t
inputs:
  inv: { default: prod.ini }
steps:
  restart:
    shell: restart
    env: { SERVICE: api }
    targets:
      inventory: "${{ inputs.inv }}"
      hosts: [web-1, web-3]
      canary: 1
      max_errors: 0
    timeout: 1s
    rollback:
      shell: undo
    next: smoke
  smoke:
    shell: fail
    next: done
  done: { end: recovered }
)";

}  // namespace

TEST_CASE("ExecutorFleet.TimeoutIsPerHostTargetsRenderedRollbackOnTheStepsHosts") {
  FleetHarness h;
  auto o = h.options();
  o.inputs = {{"inv", "prod.ini"}};
  auto r = h.run(kFleetBook, o);
  CHECK(r.state == model::EndState::Failed);  // smoke failed
  auto restart = h.calls_of("restart");
  REQUIRE(restart.size() == 2);  // the step and its rollback
  // The step: targets rendered, the timeout handed on, and not cut at 1s (it took 5s).
  CHECK(restart[0].targets["inventory"] == "prod.ini");
  CHECK(restart[0].timeout == Millis(1000));
  CHECK(h.of(ev::kStepSucceeded, "restart").size() == 1);
  CHECK(h.of(ev::kStepTimedOut, "restart").empty());
  bool service = false, step_var = false, engine_env = false;
  for (auto& [k, v] : restart[0].step_env) {
    service = service || (k == "SERVICE" && v == "api");
    step_var = step_var || (k == "RUNBOOK_STEP" && v == "restart");
    engine_env = engine_env || k == "PATH";
  }
  CHECK(service);
  CHECK(step_var);
  CHECK_FALSE(engine_env);  // only what the runbook adds: the engine's PATH stays home
  // The rollback: the step's targets narrowed to the hosts where it ran, all of them tried.
  CHECK(restart[1].command == "undo");
  CHECK(restart[1].targets["hosts"] == Value::array({"web-1", "web-3"}));
  CHECK_FALSE(restart[1].targets.contains("canary"));
  CHECK(restart[1].targets["max_errors"] == "100%");
  CHECK(restart[1].targets["inventory"] == "prod.ini");
  // A plain action keeps the engine's deadline.
  REQUIRE(h.calls_of("smoke").size() == 1);
  CHECK(h.calls_of("smoke")[0].targets.is_null());
}

TEST_CASE("ExecutorFleet.CancelStopsAFleetStep") {
  FleetHarness h;
  h.load(kFleetBook);
  auto o = h.options();
  h.ex = nullptr;
  journal::RunInfo info;
  info.id = o.run_id;
  h.journal.start_new(info, o.run_start);
  h.ex = std::make_unique<exec::Executor>(h.rb, o, h.journal, h.reg, h.answers, h.masker, h.env);
  std::optional<exec::RunResult> res;
  h.ex->start([&](exec::RunResult r) { res = r; });
  h.env.run_for(Millis(2000));  // past the per-host timeout: still running
  CHECK_FALSE(res);
  h.ex->abort("operator");
  h.env.run_until([&] { return res.has_value(); });
  REQUIRE(res);
  CHECK(res->state == model::EndState::Aborted);
  CHECK(h.env.elapsed() < Millis(3000));
}

TEST_CASE("ExecutorFleet.ResumeRemembersTheHostsForRollbacks") {
  FleetHarness h;
  h.load(kFleetBook);
  journal::Event e;
  e.type = ev::kStepSucceeded;
  e.step = "restart";
  e.attempt = 1;
  e.data = {{"duration_ms", 5}, {"result", {{"hosts", {{"web-1", {{"ok", true}}}, {"web-3", {{"ok", false}}}}}}}};
  auto rp = exec::replay(h.rb, {e});
  CHECK(rp.point.steps["restart"].hosts == std::vector<std::string>{"web-1", "web-3"});
}
