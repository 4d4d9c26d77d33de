// The deciding half of the executor, tested without running anything: transitions,
// retries and the RTO clock with explicit (fake) times.
#include <doctest/doctest.h>

#include "exec/decide.h"
#include "parse/runbook_parser.h"
#include "plan/graph.h"
#include "yaml/node.h"

using namespace rb;

namespace {
model::Runbook load(const std::string& text) {
  Diagnostics d("t.yaml");
  yaml::Node root;
  REQUIRE(yaml::load_string(text, root, d));
  plugin::Registry reg;
  auto rb = parse::parse_runbook(root, reg, d);
  parse::validate_runbook(rb, text, reg, d);
  for (auto& x : d.list()) INFO(x.format());
  return rb;
}
exec::WhenFn always(bool v) {
  return [v](const expr::Expression&, std::string*) { return std::optional<bool>(v); };
}
const char* kBook = R"(
runbook: t
title: t
objectives: { rto: 10m }
steps:
  a:
    shell: x
    budget: 2m
    retry: { attempts: 3, delay: 1s, backoff: 2, max_delay: 3s }
    choose:
      - when: result.exit_code == 0
        next: b
      - next: c
    on_failure: c
    on_timeout: d
  b:
    approval: { prompt: "ok?" }
    budget: 5m
    next: done
    on_reject: c
  c:
    shell: y
    budget: 1m
    continue_on_failure: true
    next: done
  d:
    shell: z
    next: done
  done:
    end: recovered
)";
}  // namespace

TEST_CASE("DecideTest.ChooseFirstMatchWinsElseDefault") {
  auto rb = load(kBook);
  const auto& a = *rb.find("a");
  CHECK(exec::decide_next(a, exec::StepOutcome::Succeeded, always(true)).next == "b");
  auto d = exec::decide_next(a, exec::StepOutcome::Succeeded, always(false));
  CHECK(d.next == "c");
  CHECK(d.via == "choose[1] (default)");
}

TEST_CASE("DecideTest.FailureTimeoutRejection") {
  auto rb = load(kBook);
  CHECK(exec::decide_next(*rb.find("a"), exec::StepOutcome::Failed, always(true)).next == "c");
  CHECK(exec::decide_next(*rb.find("a"), exec::StepOutcome::TimedOut, always(true)).next == "d");
  auto d = exec::decide_next(*rb.find("d"), exec::StepOutcome::Failed, always(true));
  CHECK(d.end);
  CHECK(d.end_state == model::EndState::Failed);
  CHECK(exec::decide_next(*rb.find("b"), exec::StepOutcome::Rejected, always(true)).next == "c");
  // An approval whose step `timeout` expired was not answered: on_reject, not a failure.
  auto u = exec::decide_next(*rb.find("b"), exec::StepOutcome::TimedOut, always(true));
  CHECK(u.next == "c");
  CHECK(u.via == "on_reject");
  auto c = exec::decide_next(*rb.find("c"), exec::StepOutcome::Failed, always(true));
  CHECK(c.next == "done");
  CHECK(c.via == "continue_on_failure");
  auto x = exec::decide_next(*rb.find("a"), exec::StepOutcome::Cancelled, always(true));
  CHECK(x.end);
  CHECK(x.end_state == model::EndState::Aborted);
  auto e = exec::decide_next(*rb.find("done"), exec::StepOutcome::Succeeded, always(true));
  CHECK(e.end);
  CHECK(e.end_state == model::EndState::Recovered);
}

TEST_CASE("DecideTest.RetryBackoffIsExponentialAndCapped") {
  auto rb = load(kBook);
  const auto& a = *rb.find("a");
  CHECK(exec::retry_delay(a, 1, exec::StepOutcome::Failed)->count() == 1000);
  CHECK(exec::retry_delay(a, 2, exec::StepOutcome::TimedOut)->count() == 2000);
  CHECK_FALSE(exec::retry_delay(a, 3, exec::StepOutcome::Failed));
  CHECK_FALSE(exec::retry_delay(a, 1, exec::StepOutcome::Rejected));
  model::Retry r;
  r.attempts = 10;
  r.delay = Millis(1000);
  r.backoff = 2;
  r.max_delay = Millis(3000);
  CHECK(r.delay_before(4).count() == 3000);  // 4000 capped
}

TEST_CASE("DecideTest.RtoClockWithAFakeClock") {
  WallTime start = from_unix_ms(1'000'000);
  // 6 minutes in, 1 minute into a 2-minute step, 5 minutes of budgets after it.
  auto st = exec::rto_state(start, start + Millis(360'000), Millis(600'000), Millis(300'000), Millis(120'000),
                            Millis(60'000));
  CHECK(st.elapsed.count() == 360'000);
  CHECK(st.remaining->count() == 240'000);
  CHECK(st.percent == doctest::Approx(60.0));
  CHECK(st.projected.count() == 360'000 + 60'000 + 300'000);
  CHECK_FALSE(*st.projected_ok);
  // A step already over its budget adds nothing more.
  auto over = exec::rto_state(start, start + Millis(100'000), Millis(600'000), Millis(0), Millis(10'000), Millis(50'000));
  CHECK(over.projected.count() == 100'000);
  CHECK(exec::rto_warning_at(start, Millis(600'000)) == start + Millis(480'000));
}

TEST_CASE("PlanTest.CriticalPathIgnoresBackEdges") {
  auto rb = load(R"(
runbook: loop
title: loop
steps:
  a: { shell: x, budget: 1m, next: b }
  b: { shell: x, budget: 10m, next: c, on_failure: a }
  c: { shell: x, budget: 2m, choose: [ { when: "true", next: b }, { next: done } ] }
  done: { end: recovered }
)");
  auto cp = plan::critical_path(rb, 0);
  REQUIRE(cp.found);
  CHECK(cp.total.count() == 13 * 60'000);
  CHECK(cp.steps.size() == 4);
}
