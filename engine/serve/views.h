// A run as the incident room and the API show it, built from its row and timeline (and
// the live state when this server drives it): the RTO clock, where it is, the question
// that waits, the steps along the plan, the notes. Plain values; no I/O but the store
// reads build_room does.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/value.h"
#include "journal/store.h"
#include "model/live.h"
#include "model/runbook.h"

namespace rb::serve {

struct Question {
  std::string step, kind, prompt, confirm;  ///< kind: approval | manual
  std::vector<std::pair<std::string, std::string>> facts;  ///< `show:` label -> value
  bool second_person = false;
  std::string asked_at;                     ///< RFC 3339
  std::optional<long long> deadline_ms;     ///< Unix ms: unanswered after this
  std::vector<std::string> refused;         ///< answers refused since it was asked
};

struct StepRow {
  std::string id, title, phase;
  std::string state;  ///< succeeded, failed, timed_out, running, waiting, confirmed, planned
  int attempts = 0;
  long long duration_ms = 0;
  std::optional<long long> budget_ms;
  bool over_budget = false;
};

struct Clock {
  long long start_ms = 0;    ///< the RTO clock's start (Unix ms)
  long long elapsed_ms = 0;  ///< to the end, or to now
  long long rto_ms = 0;      ///< 0: none
  std::optional<long long> remaining_ms;
  double percent = 0;
  std::optional<long long> projected_ms;  ///< elapsed + what the plan still needs
  std::string state;  ///< ok | warning | breached (running); met | missed | ended (ended)
  bool running = false;
};

struct Room {
  journal::RunInfo run;
  std::vector<journal::Event> events;
  std::string engine;  ///< the live engine's holder ("" none)
  std::string current_step, current_state;
  Clock clock;
  std::optional<Question> waiting;
  std::vector<StepRow> steps;
  std::vector<Value> notes;  ///< note events' data (text, tag, by) with their ts
};

/// Builds the room of `run`. `rb` (the runbook, when its file still matches) adds the
/// steps still planned; `live` (a run driven here) the exact projection.
Room build_room(journal::Store& store, const journal::RunInfo& run, const model::Runbook* rb,
                const std::optional<model::LiveState>& live, long long now_ms);

/// The room as JSON: the fields of `runbook status --json`, plus `clock`, `waiting`,
/// `steps` and `notes`.
Value room_json(journal::Store& store, const Room& r);

}  // namespace rb::serve
