#include "serve/metrics.h"

#include <fmt/format.h>
#include <set>

#include "base/events.h"
#include "base/time.h"
#include "cli/answering.h"
#include "model/live.h"
#include "sys/env.h"

namespace rb::serve {

namespace {

template <typename... T>
void put(std::string& o, fmt::format_string<T...> f, T&&... args) {
  fmt::format_to(std::back_inserter(o), f, std::forward<T>(args)...);
}

const std::vector<double> kBuckets = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};

// Elapsed / RTO of a run: to its end, or to now.
std::optional<double> rto_used(const journal::RunInfo& r, long long now) {
  if (r.rto_ms <= 0) return std::nullopt;
  auto a = parse_time(r.incident_start.empty() ? r.started_at : r.incident_start);
  auto b = r.ended_at.empty() ? std::optional<WallTime>(from_unix_ms(now)) : parse_time(r.ended_at);
  if (!a || !b) return std::nullopt;
  return static_cast<double>(to_unix_ms(*b) - to_unix_ms(*a)) / static_cast<double>(r.rto_ms);
}

}  // namespace

std::string Metrics::label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Metrics::observe(const std::string& runbook, const journal::Event& e) {
  if (e.type != ev::kStepSucceeded && e.type != ev::kStepFailed) return;
  double s = static_cast<double>(e.data.value("duration_ms", 0LL)) / 1000.0;
  Histogram& h = steps_[{runbook, e.step}];
  if (h.counts.empty()) h.counts.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (s <= kBuckets[i]) ++h.counts[i];
  h.sum += s;
  ++h.count;
}

std::string Metrics::render(journal::Store& store, const Gauges& g) const {
  std::string o;
  long long now = to_unix_ms(sys::wall_now());

  put(o, "# HELP runbook_runs_total Runs in the store by runbook and status.\n# TYPE runbook_runs_total counter\n");
  for (auto& c : store.run_counts())
    put(o, "runbook_runs_total{{runbook=\"{}\",status=\"{}\"}} {}\n", label(c.runbook), label(c.status), c.n);

  put(o, "# HELP runbook_step_duration_seconds Duration of the steps this server ran.\n"
      "# TYPE runbook_step_duration_seconds histogram\n");
  for (auto& [key, h] : steps_) {
    std::string l = fmt::format("runbook=\"{}\",step=\"{}\"", label(key.first), label(key.second));
    for (size_t i = 0; i < kBuckets.size(); ++i)
      put(o, "runbook_step_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", l, kBuckets[i], h.counts[i]);
    put(o, "runbook_step_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", l, h.count);
    put(o, "runbook_step_duration_seconds_sum{{{}}} {}\nrunbook_step_duration_seconds_count{{{}}} {}\n", l, h.sum, l, h.count);
  }

  put(o, "# HELP runbook_rto_used_ratio Elapsed over RTO: the latest recovered run of each runbook, and each run going on.\n"
      "# TYPE runbook_rto_used_ratio gauge\n");
  std::set<std::string> recovered_seen;
  long long approvals = 0, manual = 0;
  for (auto& r : store.runs(1000)) {
    auto used = rto_used(r, now);
    if (r.status == "recovered" && used && recovered_seen.insert(r.runbook).second)
      put(o, "runbook_rto_used_ratio{{runbook=\"{}\",status=\"recovered\"}} {:.4f}\n", label(r.runbook), *used);
    if (r.status != "running") continue;
    if (used) put(o, "runbook_rto_used_ratio{{runbook=\"{}\",status=\"running\",run=\"{}\"}} {:.4f}\n", label(r.runbook),
                  label(r.id), *used);
    std::string waiting;
    auto events = store.events(r.id);
    cli::waiting_question(events, "", &waiting);
    if (waiting.empty()) continue;
    auto q = cli::waiting_question(events, waiting, &waiting);
    if (q && q->data.value("kind", std::string()) == "manual") ++manual;
    else if (q) ++approvals;
  }
  put(o, "# HELP runbook_approvals_waiting Questions waiting for a person now, in runs going on.\n"
      "# TYPE runbook_approvals_waiting gauge\nrunbook_approvals_waiting{{kind=\"approval\"}} {}\n"
      "runbook_approvals_waiting{{kind=\"manual\"}} {}\n",
      approvals, manual);

  std::map<std::string, std::pair<long long, long long>> drills;  // passed, failed
  std::map<std::string, journal::DrillRecord> last;
  for (auto& d : store.drill_records("")) {
    (d.passed ? drills[d.drill].first : drills[d.drill].second)++;
    last[d.drill] = d;
  }
  put(o, "# HELP runbook_drills_total Drills run, by result.\n# TYPE runbook_drills_total counter\n");
  for (auto& [name, n] : drills)
    put(o, "runbook_drills_total{{drill=\"{0}\",result=\"passed\"}} {1}\nrunbook_drills_total{{drill=\"{0}\",result=\"failed\"}} "
        "{2}\n",
        label(name), n.first, n.second);
  put(o, "# HELP runbook_drill_last_passed Whether the latest drill passed.\n# TYPE runbook_drill_last_passed gauge\n");
  for (auto& [name, d] : last) put(o, "runbook_drill_last_passed{{drill=\"{}\"}} {}\n", label(name), d.passed ? 1 : 0);
  put(o, "# HELP runbook_drill_last_rto_used_ratio Measured RTO over the objective in the latest drill.\n"
      "# TYPE runbook_drill_last_rto_used_ratio gauge\n");
  for (auto& [name, d] : last)
    if (d.rto_ms > 0)
      put(o, "runbook_drill_last_rto_used_ratio{{drill=\"{}\"}} {:.4f}\n", label(name),
          static_cast<double>(d.measured_ms) / static_cast<double>(d.rto_ms));

  put(o, "# HELP runbook_serve_runs_driven Runs this server drives now.\n# TYPE runbook_serve_runs_driven gauge\n"
      "runbook_serve_runs_driven {}\n# HELP runbook_serve_event_streams Event streams open.\n"
      "# TYPE runbook_serve_event_streams gauge\nrunbook_serve_event_streams {}\n"
      "# HELP runbook_serve_connections HTTP connections open.\n# TYPE runbook_serve_connections gauge\n"
      "runbook_serve_connections {}\n",
      g.runs_driven, g.streams, g.connections);
  return o;
}

}  // namespace rb::serve
