// Golden tests: a recorded timeline with a fixed clock (tests/report/fixture.json) exports
// to Markdown, JSON and JUnit byte for byte equal to tests/report/golden/*.
// RUNBOOK_UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "report/report.h"

using namespace rb;

namespace {

std::string dir() { return std::string(RUNBOOK_SOURCE_DIR) + "/tests/report/"; }

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

report::Report fixture() {
  Value v = Value::parse(slurp(dir() + "fixture.json"));
  const Value& r = v["run"];
  journal::RunInfo run;
  run.id = r["id"];
  run.incident = r["incident"];
  run.runbook = r["runbook"];
  run.title = r["title"];
  run.file = r["file"];
  run.content_hash = r["content_hash"];
  run.severity = r["severity"];
  run.status = r["status"];
  run.started_at = r["started_at"];
  run.ended_at = r["ended_at"].is_null() ? "" : r["ended_at"].get<std::string>();
  run.incident_start = r["incident_start"];
  run.drill = r["drill"];
  run.operator_name = r["operator"];
  run.inputs = r["inputs"];
  run.rto_ms = r["rto_ms"].is_null() ? 0 : r["rto_ms"].get<long long>();
  run.rpo_ms = r["rpo_ms"].is_null() ? 0 : r["rpo_ms"].get<long long>();
  std::vector<journal::Event> events;
  for (auto& e : v["events"]) events.push_back(journal::Event::from_json(e));
  return report::build_report(run, events, *parse_time("2026-11-23T04:00:00Z"), "golden");
}

void golden(const std::string& name, const std::string& got) {
  std::string path = dir() + "golden/" + name;
  if (const char* u = std::getenv("RUNBOOK_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(path, std::ios::binary) << got;
  }
  std::string want = slurp(path);
  CHECK_MESSAGE(got == want, "golden file differs: " << path << " (RUNBOOK_UPDATE_GOLDEN=1 rewrites it)");
}

}  // namespace

TEST_CASE("ReportTest.GoldenMarkdown") { golden("report.md", report::to_markdown(fixture(), "UTC")); }
TEST_CASE("ReportTest.GoldenMarkdownInParis") { golden("report.paris.md", report::to_markdown(fixture(), "Europe/Paris")); }
TEST_CASE("ReportTest.GoldenJson") { golden("report.json", report::to_json(fixture()).dump(2) + "\n"); }
TEST_CASE("ReportTest.GoldenJunit") { golden("report.junit.xml", report::to_junit(fixture())); }

TEST_CASE("ReportTest.SummaryFigures") {
  auto r = fixture();
  CHECK(r.status == "failed");
  CHECK(r.steps.size() == 4);
  CHECK(r.steps[1].attempts == 2);
  CHECK(r.steps[2].approved_by == "bob");
  CHECK(r.steps[3].gate_failure.find("users restored") != std::string::npos);
  CHECK(r.rto_met == std::optional<bool>(false));
  CHECK(r.rpo_measured == std::optional<double>(42));
  CHECK(r.notes.size() == 3);
  std::string html = report::to_html(r, "UTC");
  size_t bars = 0;
  for (size_t p = 0; (p = html.find("<rect class=\"bar ", p)) != std::string::npos; ++p) ++bars;
  CHECK(bars == r.steps.size());
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
}

// Manual steps read as what a person said: confirmed / not done (never "approved"), a
// rejected approval reads rejected; the suggested note command carries the store.
TEST_CASE("ReportTest.ManualStepsReadConfirmedOrNotDone") {
  journal::RunInfo run;
  run.id = "R1";
  run.incident = "INC-1";
  run.runbook = "words";
  run.title = "Words";
  run.status = "failed";
  run.started_at = "2026-11-23T03:00:00.000Z";
  run.ended_at = "2026-11-23T03:00:10.000Z";
  run.incident_start = run.started_at;
  run.rto_ms = 7'200'000;
  std::vector<journal::Event> events;
  long long seq = 0;
  auto ev = [&](const std::string& type, const std::string& step, Value data, double t) {
    journal::Event e;
    e.seq = ++seq;
    e.ts = fmt::format("2026-11-23T03:00:{:02}.000Z", static_cast<int>(t));
    e.t = t;
    e.type = type;
    e.step = step;
    e.attempt = step.empty() ? 0 : 1;
    e.data = std::move(data);
    events.push_back(e);
  };
  ev("run.started", "", {{"operator", "alice"}, {"incident", "INC-1"}}, 0);
  ev("step.started", "handover", {{"title", "Hand over"}}, 1);
  ev("approval.requested", "handover", {{"kind", "manual"}, {"prompt", "Call the on-call.\n"}}, 1);
  ev("approval.answered", "handover",
     {{"answered", true}, {"approved", true}, {"confirmed", true}, {"by", "alice"}, {"via", "terminal"}}, 2);
  ev("step.succeeded", "handover", {{"duration_ms", 1000}}, 2);
  ev("step.started", "dashboards", {{"title", "Dashboards load?"}}, 3);
  ev("approval.requested", "dashboards", {{"kind", "manual"}, {"prompt", "Open the dashboards."}}, 3);
  ev("approval.answered", "dashboards",
     {{"answered", true}, {"approved", false}, {"confirmed", false}, {"by", "alice"}, {"via", "terminal"}}, 4);
  ev("step.failed", "dashboards", {{"error", "not done, says alice"}, {"duration_ms", 1000}}, 4);
  ev("step.started", "approve", {{"title", "Approve"}}, 5);
  ev("approval.requested", "approve", {{"kind", "approval"}, {"prompt", "Go?"}}, 5);
  ev("approval.answered", "approve", {{"answered", true}, {"approved", false}, {"by", "bob"}, {"via", "approve"}}, 6);
  ev("step.failed", "approve", {{"error", "rejected by bob"}, {"duration_ms", 1000}}, 6);
  ev("run.ended", "escalate", {{"status", "failed"}, {"reason", "reached end step 'escalate'"}}, 10);
  auto r = report::build_report(run, events, *parse_time("2026-11-23T04:00:00Z"), "test");
  r.store_flag = " --store /srv/rb.db";
  std::string m = report::to_markdown(r, "UTC");
  CHECK(m.find("| Hand over |  | ✅ confirmed |") != std::string::npos);
  CHECK(m.find("| alice (confirmed) |") != std::string::npos);
  CHECK(m.find("| Dashboards load? |  | ❌ not done |") != std::string::npos);
  CHECK(m.find("| alice (not done) |") != std::string::npos);
  CHECK(m.find("| Approve |  | ❌ rejected |") != std::string::npos);
  CHECK(m.find("Hand over confirmed by alice (terminal)") != std::string::npos);
  CHECK(m.find("Dashboards load? not done by alice (terminal)") != std::string::npos);
  CHECK(m.find("Hand over waits for a person: Call the on-call.") != std::string::npos);
  CHECK(m.find("Hand over approved") == std::string::npos);
  CHECK(m.find("not recovered (RTO clock stopped at 10s of 2h)") != std::string::npos);
  CHECK(m.find("`runbook --store /srv/rb.db note R1 \"…\" --tag root-cause`") != std::string::npos);
  std::string h = report::to_html(r, "UTC");
  CHECK(h.find(">not done<") != std::string::npos);
  CHECK(h.find("alice (confirmed)") != std::string::npos);
  CHECK(report::to_json(r)["steps"][1]["answer"] == "not done");
}
