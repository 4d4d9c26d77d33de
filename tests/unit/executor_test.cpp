// The executor on the fake Env (tests/support/fake_env.h): simulated time and simulated
// processes, so every case below runs in milliseconds while covering minutes of
// recovery — retries and backoff, every kind of timeout, polling, parallel branches,
// rollbacks, the RTO clock and resume policies.
#include <doctest/doctest.h>

#include "base/events.h"
#include "exec/replay.h"
#include "exec/resume_policy.h"
#include "support/exec_harness.h"

using namespace rb;
using rb::test::Harness;

namespace {
bool near(double a, double b, double tol = 0.01) { return a >= b - tol && a <= b + tol; }
}  // namespace

TEST_CASE("ExecutorTest.RetriesWithBackoff") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  flaky:
    shell: "fail-until flaky 3"
    retry: { attempts: 3, delay: 1s, backoff: 2 }
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 0);
  auto started = h.of(ev::kStepStarted, "flaky");
  REQUIRE(started.size() == 3);
  CHECK(near(started[0].t, 0));
  CHECK(near(started[1].t, 1.0));  // delay 1s
  CHECK(near(started[2].t, 3.0));  // then 2s (backoff 2)
  auto retrying = h.of(ev::kStepRetrying, "flaky");
  REQUIRE(retrying.size() == 2);
  CHECK(retrying[0].data["delay_ms"] == 1000);
  CHECK(retrying[1].data["delay_ms"] == 2000);
  CHECK(h.of(ev::kStepSucceeded, "flaky").at(0).data["attempts"] == 3);
}

TEST_CASE("ExecutorTest.StepTimeoutIsTimedOutAndTakesOnTimeout") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  slow:
    shell: "sleep 30"
    timeout: 500ms
    retry: { attempts: 2, delay: 100ms }
    next: done
    on_timeout: escalate
  done: { end: recovered }
  escalate: { end: failed }
)");
  CHECK(r.exit_code() == 1);
  auto failed = h.of(ev::kStepFailed, "slow");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].data["outcome"] == "timed_out");
  CHECK(h.of(ev::kStepTimedOut, "slow").size() == 1);
  CHECK(near(failed[0].t, 1.1));  // 500ms + 100ms delay + 500ms
  CHECK(h.of(ev::kTransition, "slow").at(0).data["via"] == "on_timeout");
  CHECK(h.env.terminated == 2);  // both attempts' processes were stopped
}

TEST_CASE("ExecutorTest.CheckTimeoutBoundsTheCheck") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  gated:
    shell: "true"
    verify:
      - name: hangs
        shell: "sleep 30"
        timeout: 500ms
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 1);
  auto failed = h.of(ev::kCheckFailed, "gated");
  REQUIRE(failed.size() == 1);
  CHECK(near(failed[0].t, 0.5));
  CHECK(failed[0].data["error"].get<std::string>().find("timed out after 500ms") != std::string::npos);
  CHECK(h.env.running == 0);
}

TEST_CASE("ExecutorTest.WaitUntilCheckTimeoutAndStepDeadline") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  waiting:
    wait:
      until: { shell: "sleep 30", timeout: 400ms }
      interval: 1s
    timeout: 5s
    next: done
    on_timeout: gave-up
  done: { end: recovered }
  gave-up: { end: failed }
)");
  CHECK(r.exit_code() == 1);
  // Each poll is cut at 400ms and polled again every second until the step's 5s.
  CHECK(h.env.spawned >= 4);
  CHECK(near(h.t(ev::kStepTimedOut, "waiting"), 5.0));
  CHECK(h.env.running == 0);
  // The `until` check is a check (contract §1): it did not hold, check.failed says so.
  auto failed = h.of(ev::kCheckFailed, "waiting");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].data["until"] == true);
  CHECK(failed[0].data["error"].get<std::string>().find("did not hold within 5s") != std::string::npos);
}

TEST_CASE("ExecutorTest.WaitUntilRecordsTheCheckThatHeld") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  waiting:
    wait:
      until: { name: healthy, shell: "fail-until healthy 3" }
      interval: 1s
    timeout: 10s
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 0);
  auto passed = h.of(ev::kCheckPassed, "waiting");
  REQUIRE(passed.size() == 1);
  CHECK(passed[0].data["check"] == "healthy");
  CHECK(passed[0].data["polls"] == 3);
  CHECK(h.of(ev::kCheckFailed, "waiting").empty());
}

TEST_CASE("ExecutorTest.BranchTimeoutAndCancelOnFirstFailure") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  both:
    parallel:
      - name: long
        shell: "sleep 60"
      - name: hangs
        shell: "sleep 30"
        timeout: 700ms
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 1);
  auto failed = h.of(ev::kStepFailed, "both");
  REQUIRE(failed.size() == 1);
  CHECK(near(failed[0].t, 0.7));
  CHECK(failed[0].data["error"].get<std::string>().find("branch 1 (hangs)") != std::string::npos);
  CHECK(h.env.terminated == 2);  // the timed-out branch and its cancelled sibling
  CHECK(h.env.running == 0);
}

TEST_CASE("ExecutorTest.MaxConcurrency") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  fanout:
    parallel:
      - shell: "sleep 1"
      - shell: "sleep 1"
      - shell: "sleep 1"
      - shell: "sleep 1"
      - shell: "sleep 1"
      - shell: "sleep 1"
    max_concurrency: 2
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 0);
  CHECK(h.env.max_running == 2);
  CHECK(near(h.t(ev::kStepSucceeded, "fanout"), 3.0));
  CHECK(h.of(ev::kStepSucceeded, "fanout").at(0).data["result"]["branches"].size() == 6);
}

TEST_CASE("ExecutorTest.WithinPollsUntilTheGateHolds") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  heal:
    shell: "true"
    verify:
      - name: healthy
        shell: "fail-until healthy 3"
        within: 10s
        interval: 1s
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 0);
  auto passed = h.of(ev::kCheckPassed, "heal");
  REQUIRE(passed.size() == 1);
  CHECK(passed[0].data["polls"] == 3);
  CHECK(near(passed[0].t, 2.0));
}

TEST_CASE("ExecutorTest.WithinGivesUpWithTheLastFailure") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  heal:
    shell: "true"
    verify:
      - name: never
        shell: "exit 3"
        within: 3s
        interval: 1s
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 1);
  auto failed = h.of(ev::kCheckFailed, "heal");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].data["polls"] == 4);  // at 0, 1, 2 and 3 s
  CHECK(failed[0].data["error"].get<std::string>().find("exit code 3") != std::string::npos);
}

TEST_CASE("ExecutorTest.RollbacksNewestFirst") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  a:
    shell: "true"
    rollback: { shell: "echo undo-a" }
    next: b
  b:
    shell: "true"
    rollback: { shell: "echo undo-b" }
    next: c
  c:
    shell: "exit 1"
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 1);
  auto rb = h.of(ev::kRollbackStarted);
  REQUIRE(rb.size() == 2);
  CHECK(rb[0].step == "b");
  CHECK(rb[1].step == "a");
  CHECK(h.env.commands.back() == "echo undo-a");
  CHECK(h.of(ev::kRunEnded).at(0).data["status"] == "failed");
}

TEST_CASE("ExecutorTest.RtoWarningBreachAndOverBudget") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
objectives: { rto: 10s }
steps:
  one:
    shell: "sleep 9"
    budget: 5s
    next: two
  two:
    shell: "sleep 2"
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 0);
  CHECK(near(h.t(ev::kStepOverBudget, "one"), 5.0));
  CHECK(near(h.t(ev::kRtoWarning), 8.0));
  CHECK(near(h.t(ev::kRtoBreached), 10.0));
  CHECK(h.of(ev::kRtoBreached).at(0).step == "two");
  auto ended = h.of(ev::kRunEnded).at(0);
  CHECK(ended.data["status"] == "recovered");
  CHECK(ended.data["rto"]["met"] == false);
}

TEST_CASE("ExecutorTest.BreachWithOnBreachAbortCancelsTheAction") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
objectives: { rto: 2s, on_breach: abort }
steps:
  long:
    shell: "sleep 60"
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 3);
  CHECK(near(h.of(ev::kRunEnded).at(0).t, 2.0));
  CHECK(h.env.running == 0);
}

TEST_CASE("ExecutorTest.KillGraceThenAbandon") {
  Harness h;
  auto o = h.options();
  o.kill_grace = Millis(3000);
  h.load(R"(
runbook: t
title: t
steps:
  stuck:
    shell: "stubborn; sleep 60"
    timeout: 1s
    next: done
  done: { end: recovered }
)");
  auto r = h.go(o);
  CHECK(r.exit_code() == 1);
  // SIGTERM at 1 s is ignored; SIGKILL after the 3 s grace ends it.
  CHECK(near(h.t(ev::kStepFailed, "stuck"), 4.0));
  CHECK(h.of(ev::kStepFailed, "stuck").at(0).data["outcome"] == "timed_out");
}

TEST_CASE("ExecutorTest.ApprovalRejectedAndAnswered") {
  Harness h;
  h.answers.script["ask"] = {Millis(2000), false};
  auto r = h.run(R"(
runbook: t
title: t
steps:
  ask:
    approval: { prompt: "go?" }
    next: done
    on_reject: stop
  done: { end: recovered }
  stop: { end: failed }
)");
  CHECK(r.exit_code() == 1);
  CHECK(near(h.t(ev::kApprovalAnswered, "ask"), 2.0));
  CHECK(h.of(ev::kTransition, "ask").at(0).data["via"] == "on_reject");
}

TEST_CASE("ExecutorTest.AbortDuringRetryWait") {
  Harness h;
  h.load(R"(
runbook: t
title: t
steps:
  flaky:
    shell: "exit 1"
    retry: { attempts: 5, delay: 10s }
    rollback: { shell: "true" }
    next: done
  done: { end: recovered }
)");
  auto o = h.options();
  journal::RunInfo info;
  info.id = o.run_id;
  h.journal.start_new(info, o.run_start);
  h.ex = std::make_unique<exec::Executor>(h.rb, o, h.journal, h.reg, h.answers, h.masker, h.env);
  h.ex->start([&](exec::RunResult r) { h.result = r; });
  h.env.run_for(Millis(3000));
  h.ex->abort("operator");
  h.env.run_until([&] { return h.result.has_value(); });
  REQUIRE(h.result);
  CHECK(h.result->exit_code() == 3);
  CHECK(h.env.elapsed() < Millis(3100));
  CHECK(h.of(ev::kStepFailed, "flaky").at(0).data["outcome"] == "cancelled");
}

namespace {

// A timeline interrupted during step `b` (attempt 1): a ran and succeeded.
std::vector<journal::Event> interrupted_timeline() {
  std::vector<journal::Event> ev;
  auto add = [&](const char* type, const std::string& step, int attempt, Value data = Value::object()) {
    journal::Event e;
    e.seq = static_cast<long long>(ev.size()) + 1;
    e.type = type;
    e.step = step;
    e.attempt = attempt;
    e.data = data;
    ev.push_back(e);
  };
  add(ev::kRunStarted, "", 0);
  add(ev::kStepStarted, "a", 1);
  add(ev::kStepSucceeded, "a", 1, {{"outputs", Value::object()}});
  add(ev::kTransition, "a", 0, {{"from", "a"}, {"to", "b"}});
  add(ev::kStepStarted, "b", 1);
  return ev;
}

const char* kResumeBook = R"(
runbook: t
title: t
steps:
  a:
    shell: "count a"
    rollback: { shell: "count undo-a" }
    next: b
  b:
    shell: "count b"
    idempotent: POLICY
    verify:
      - shell: "count check"
    next: done
  done: { end: recovered }
)";

std::string book(const std::string& policy) {
  std::string s = kResumeBook;
  s.replace(s.find("POLICY"), 6, policy);
  return s;
}

}  // namespace

TEST_CASE("ExecutorTest.ResumeIdempotentRunsAgain") {
  Harness h;
  h.load(book("true"));
  auto rp = exec::replay(h.rb, interrupted_timeline());
  std::map<std::string, exec::GivenAnswer> answers;
  auto d = exec::decide_resume(h.rb, "R-test", rp, &answers, {});
  REQUIRE(d.status.ok());
  CHECK(d.how == "rerun (idempotent)");
  auto r = h.go(h.options(), &d.at);
  CHECK(r.exit_code() == 0);
  CHECK(h.env.counts["a"] == 0);  // succeeded before: never again
  CHECK(h.env.counts["b"] == 1);
}

TEST_CASE("ExecutorTest.ResumeVerifyFirstCountsTheStepDone") {
  Harness h;
  h.load(book("verify-first"));
  auto rp = exec::replay(h.rb, interrupted_timeline());
  std::map<std::string, exec::GivenAnswer> answers;
  auto d = exec::decide_resume(h.rb, "R-test", rp, &answers, {});
  REQUIRE(d.status.ok());
  CHECK(d.at.mode == exec::ResumePoint::Mode::VerifyFirst);
  auto r = h.go(h.options(), &d.at);
  CHECK(r.exit_code() == 0);
  CHECK(h.env.counts["check"] == 1);
  CHECK(h.env.counts["b"] == 0);  // the gate holds: b is not run again
  CHECK(h.of(ev::kStepConfirmed, "b").size() == 1);
}

TEST_CASE("ExecutorTest.ResumeNotIdempotentNeedsAnAnswer") {
  Harness h;
  h.load(book("false"));
  auto rp = exec::replay(h.rb, interrupted_timeline());
  std::map<std::string, exec::GivenAnswer> none;
  auto d = exec::decide_resume(h.rb, "R-test", rp, &none, {});
  CHECK(d.status.kind() == ErrorKind::Invalid);
  CHECK(d.status.message().find("--answer b=yes") != std::string::npos);

  std::map<std::string, exec::GivenAnswer> done = {{"b", *exec::parse_answer("done")}};
  d = exec::decide_resume(h.rb, "R-test", rp, &done, {});
  REQUIRE(d.status.ok());
  CHECK(d.at.mode == exec::ResumePoint::Mode::Confirmed);
  CHECK(done.empty());  // the answer was about the interruption

  std::map<std::string, exec::GivenAnswer> no = {{"b", *exec::parse_answer("no")}};
  d = exec::decide_resume(h.rb, "R-test", rp, &no, {});
  REQUIRE(d.status.ok());
  CHECK(d.at.mode == exec::ResumePoint::Mode::Rollbacks);
  auto r = h.go(h.options(), &d.at);
  CHECK(r.exit_code() == 3);
  CHECK(h.env.counts["undo-a"] == 1);
  CHECK(h.env.counts["b"] == 0);
}

TEST_CASE("ExecutorTest.ResumeRefusesWhileSurvivorsRun") {
  Harness h;
  h.load(book("true"));
  auto rp = exec::replay(h.rb, interrupted_timeline());
  std::map<std::string, exec::GivenAnswer> answers;
  auto d = exec::decide_resume(h.rb, "R-test", rp, &answers, {"pid 42 (sleep 99)"});
  CHECK(d.status.kind() == ErrorKind::Engine);
  CHECK(d.status.message().find("pid 42") != std::string::npos);
}

TEST_CASE("ExecutorTest.ALoopBackGivesEachVisitItsOwnIdempotencyKey") {
  Harness h;
  auto r = h.run(R"(
runbook: t
title: t
steps:
  notify:
    shell: "count notify"
    next: fix
  fix:
    shell: "fail-until fix 2"
    on_failure: notify
    next: done
  done: { end: recovered }
)");
  CHECK(r.exit_code() == 0);
  auto key = [](const journal::Event& e) { return e.data["idempotency_key"].get<std::string>(); };
  auto notify = h.of(ev::kStepStarted, "notify");
  auto fix = h.of(ev::kStepStarted, "fix");
  REQUIRE(notify.size() == 2);
  REQUIRE(fix.size() == 2);
  CHECK(key(notify[0]).ends_with("/notify/1"));
  CHECK(key(notify[1]).ends_with("/notify/v2/1"));  // the loop came back: a new key
  CHECK(key(fix[0]).ends_with("/fix/1"));
  CHECK(key(fix[1]).ends_with("/fix/v2/1"));
  // Replaying the timeline counts the same visits (a resume renders the same keys).
  auto rp = exec::replay(h.rb, h.events);
  CHECK(rp.point.steps["notify"].visits == 1);
  CHECK(rp.point.steps["fix"].visits == 2);
}

// An abort cut short while its rollbacks ran (Ctrl-C during `runbook abort`): rollback.started
// says how the run was ending, and the resume ends it that way — aborted, not failed.
TEST_CASE("ExecutorTest.ResumeDuringAnAbortsRollbacksEndsAborted") {
  Harness h;
  h.load(book("true"));
  auto events = interrupted_timeline();
  journal::Event rs;
  rs.seq = static_cast<long long>(events.size()) + 1;
  rs.type = ev::kRollbackStarted;
  rs.step = "a";
  rs.data = {{"action", "shell"}, {"ending", "aborted"}, {"reason", "aborted by bob"}};
  events.push_back(rs);
  auto rp = exec::replay(h.rb, events);
  CHECK(rp.point.mode == exec::ResumePoint::Mode::Rollbacks);
  CHECK(rp.point.end_state == model::EndState::Aborted);
  CHECK(rp.point.reason.find("aborted by bob") != std::string::npos);
  auto r = h.go(h.options(), &rp.point);
  CHECK(r.exit_code() == 3);
  CHECK(h.env.counts["undo-a"] == 1);  // the cut-short rollback runs again
  CHECK(h.env.counts["b"] == 0);
  auto started = h.of(ev::kRollbackStarted, "a");
  REQUIRE(started.size() == 1);
  CHECK(started[0].data.value("ending", std::string()) == "aborted");
}
