// A run, an event and a drill result from a row of either store: `Row` reads column i as text
// (text(i)), as a number (i64(i)) or as a boolean (flag(i)). Internal to the stores. The
// columns are in the order of kRunColumns / kDrillColumns.
#pragma once

#include "journal/store.h"

namespace rb::journal {

inline constexpr const char* kRunColumns =
    "id, incident, runbook, title, file, content_hash, severity, status, started_at, ended_at, incident_start, "
    "drill, drill_name, operator, inputs, rto_ms, rpo_ms, last_seq, cwd";
inline constexpr const char* kDrillColumns =
    "drill, run_id, runbook, started_at, ended_at, status, passed, rto_ms, measured_ms, setup_ok, teardown_ok, note";

template <typename Row>
RunInfo run_from(const Row& r) {
  RunInfo x;
  x.id = r.text(0);
  x.incident = r.text(1);
  x.runbook = r.text(2);
  x.title = r.text(3);
  x.file = r.text(4);
  x.content_hash = r.text(5);
  x.severity = r.text(6);
  x.status = r.text(7);
  x.started_at = r.text(8);
  x.ended_at = r.text(9);
  x.incident_start = r.text(10);
  x.drill = r.flag(11);
  x.drill_name = r.text(12);
  x.operator_name = r.text(13);
  auto inputs = Value::parse(r.text(14), nullptr, false);
  x.inputs = inputs.is_discarded() ? Value::object() : inputs;
  x.rto_ms = r.i64(15);
  x.rpo_ms = r.i64(16);
  x.last_seq = r.i64(17);
  x.cwd = r.text(18);
  return x;
}

inline constexpr const char* kEventColumns = "seq, ts, t, type, step, attempt, data";

/// An event from a row of kEventColumns (f64(i) reads a real); data that does not parse
/// reads as {"corrupt": true}.
template <typename Row>
Event event_from(const Row& r) {
  Event e;
  e.seq = r.i64(0);
  e.ts = r.text(1);
  e.t = r.f64(2);
  e.type = r.text(3);
  e.step = r.text(4);
  e.attempt = static_cast<int>(r.i64(5));
  auto d = Value::parse(r.text(6), nullptr, false);
  e.data = d.is_discarded() ? Value{{"corrupt", true}} : d;
  return e;
}

template <typename Row>
DrillRecord drill_from(const Row& r) {
  DrillRecord d;
  d.drill = r.text(0);
  d.run_id = r.text(1);
  d.runbook = r.text(2);
  d.started_at = r.text(3);
  d.ended_at = r.text(4);
  d.status = r.text(5);
  d.passed = r.flag(6);
  d.rto_ms = r.i64(7);
  d.measured_ms = r.i64(8);
  d.setup_ok = r.flag(9);
  d.teardown_ok = r.flag(10);
  d.note = r.text(11);
  return d;
}

}  // namespace rb::journal
