// A run as JUnit XML: one testsuite, one testcase per executed step, and an "RTO" testcase
// that fails when the RTO was breached, so CI systems show drills like test results.
#include <fmt/format.h>

#include "base/text.h"
#include "report/report.h"

namespace rb::report {

namespace {
std::string xml(const std::string& s) { return markup_escape(s); }
}  // namespace

std::string to_junit(const Report& r) {
  int failures = 0, skipped = 0;
  std::string cases;
  std::string cls = xml(r.run.runbook);
  for (auto& s : r.steps) {
    std::string name = xml(s.id + ": " + s.title);
    std::string time = fmt::format("{:.3f}", s.duration_ms / 1000.0);
    if (s.result == "interrupted") {  // cut short (a pause, a kill) and never finished: not passed
      ++failures;
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n      <failure message=\"interrupted\" type=\"interrupted\">attempt {} was cut short and never finished</failure>\n    </testcase>\n",
                           cls, name, time, s.attempts);
    } else if (s.result == "failed" || s.result == "timed_out") {
      ++failures;
      std::string msg = s.gate_failure.empty() ? s.error : s.gate_failure;
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                           cls, name, time, xml(msg), s.result == "timed_out" ? "timeout" : (s.gate_failure.empty() ? "step" : "gate"),
                           xml(fmt::format("attempts: {}; {}", s.attempts, msg)));
    } else if (s.result == "skipped") {
      ++skipped;
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n      <skipped/>\n    </testcase>\n", cls, name, time);
    } else {
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"/>\n", cls, name, time);
    }
  }
  std::string rto_time = fmt::format("{:.3f}", r.rto_actual);
  if (r.rto_target && ((r.rto_met && !*r.rto_met) || (r.ongoing && r.rto_actual > *r.rto_target))) {
    ++failures;
    std::string msg = fmt::format("RTO {} {}: measured {}", human_seconds(*r.rto_target),
                                  r.rto_actual > *r.rto_target ? "breached" : "not met (the run did not recover)",
                                  human_seconds(r.rto_actual));
    cases += fmt::format("    <testcase classname=\"{}\" name=\"RTO\" time=\"{}\">\n      <failure message=\"{}\" type=\"rto\">{}</failure>\n    </testcase>\n",
                         cls, rto_time, xml(msg), xml(msg));
  } else {
    cases += fmt::format("    <testcase classname=\"{}\" name=\"RTO\" time=\"{}\"/>\n", cls, rto_time);
  }
  int tests = static_cast<int>(r.steps.size()) + 1;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"runbook\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3f}\">\n",
                     tests, failures, skipped, r.duration);
  out += fmt::format("  <testsuite name=\"{}\" id=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3f}\" timestamp=\"{}\">\n",
                     cls, xml(r.run.id), tests, failures, skipped, r.duration, xml(r.run.started_at));
  out += "    <properties>\n";
  for (auto& [k, v] : std::vector<std::pair<std::string, std::string>>{{"incident", r.run.incident},
                                                                       {"status", r.status},
                                                                       {"drill", r.run.drill ? "true" : "false"},
                                                                       {"content_hash", r.run.content_hash},
                                                                       {"engine", "runbook " + r.version}})
    out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", k, xml(v));
  out += "    </properties>\n" + cases + "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace rb::report
