// GET /metrics in Prometheus's text format (version 0.0.4):
//   runbook_runs_total{runbook,status}            runs in the store (a counter per end status;
//                                                  `running`/`interrupted` count runs now)
//   runbook_step_duration_seconds{runbook,step}   histogram of the steps this server ran
//   runbook_rto_used_ratio{runbook,status[,run]}  RTO used by the latest recovered run of each
//                                                  runbook, and by each run going on
//   runbook_approvals_waiting{kind}               approvals / manual steps waiting for a person
//   runbook_drills_total{drill,result}            drills passed / failed
//   runbook_drill_last_passed{drill}, runbook_drill_last_rto_used_ratio{drill}
//   runbook_serve_runs_driven, runbook_serve_event_streams, runbook_serve_connections
// Store-wide figures are read from the store at each scrape, so every server of one store
// answers the same; the histogram is this server's own (as a process's histograms are).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "journal/store.h"

namespace rb::serve {

class Metrics {
 public:
  /// A committed event of a run driven here, of runbook `runbook`.
  void observe(const std::string& runbook, const journal::Event& e);

  struct Gauges {
    size_t runs_driven = 0, streams = 0, connections = 0;
  };
  std::string render(journal::Store& store, const Gauges& g) const;

  /// A label value escaped for the text format.
  static std::string label(const std::string& v);

 private:
  struct Histogram {
    std::vector<long long> counts;  ///< per bucket (cumulative when rendered)
    double sum = 0;
    long long count = 0;
  };
  std::map<std::pair<std::string, std::string>, Histogram> steps_;
};

}  // namespace rb::serve
