// The run store: runs, their append-only timelines, and leases. One interface, two
// implementations (SQLite, PostgreSQL) with the same schema and semantics; the on-disk
// format is described in journal/FORMAT.md.
//
// Durability: append() returns only after the events are committed durably (SQLite WAL
// with synchronous=FULL, i.e. fsync; PostgreSQL commit). A failed append leaves the
// store as it was before the call.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/value.h"

namespace rb::journal {

/// One timeline event (contract section 4).
struct Event {
  long long seq = 0;    ///< 1, 2, 3 … per run, no gaps
  std::string ts;       ///< UTC RFC 3339 with milliseconds
  double t = 0;         ///< seconds since the run started
  std::string type;     ///< run.started, step.started, …
  std::string step;     ///< empty when it concerns no step
  int attempt = 0;      ///< 0 when not an attempt's event
  Value data = Value::object();

  Value to_json() const;
  static Event from_json(const Value& v);
};

struct RunInfo {
  std::string id;
  std::string incident;
  std::string runbook;        ///< the runbook's id
  std::string title;
  std::string file;           ///< the runbook's absolute path
  std::string cwd;            ///< where the run was started: actions run there, also on resume
  std::string content_hash;
  std::string severity;
  std::string status = "running";  ///< running | interrupted | recovered | failed | aborted
  std::string started_at;          ///< RFC 3339
  std::string ended_at;            ///< empty while running
  std::string incident_start;      ///< the RTO clock's start (RFC 3339)
  bool drill = false;
  std::string drill_name;
  std::string operator_name;
  Value inputs = Value::object();  ///< secrets masked
  long long rto_ms = 0;            ///< 0: no RTO
  long long rpo_ms = 0;            ///< 0: no RPO
  long long last_seq = 0;

  Value to_json() const;
};

struct Lease {
  std::string holder;   ///< "user@host pid N"
  long long epoch = 0;  ///< grows at every takeover
  long long expires_ms = 0;
};

/// A request to the engine that drives a run, from another process on any machine that
/// reaches the store: a note to journal, an answer to a waiting step, an abort.
struct Request {
  long long id = 0;
  std::string kind;  ///< "note", "answer", "abort"
  Value data = Value::object();
};

/// An API token of `runbook serve` (contract §7). Only its hash is stored (serve/auth.h
/// says which and why); the token itself is shown once, when it is created.
struct Token {
  std::string name;        ///< the identity answers given with it are recorded under
  std::string role;        ///< viewer | operator | approver | admin | hook
  std::string hash;        ///< hex digest of the token
  std::string created_at;  ///< RFC 3339
};

/// A run started by `runbook serve` (from the page, the API or an alert): what a server
/// takes over when the one that drove it is gone, and which alert episode it answers.
struct ServeRun {
  std::string run_id;
  std::string incident;
  std::string origin;       ///< web | api | alert
  Value alert = nullptr;    ///< origin alert: {fingerprint, startsAt, labels, trigger}
  std::string created_at;   ///< RFC 3339
};

/// How many runs of a runbook have a status (for /metrics).
struct RunCount {
  std::string runbook, status;
  long long n = 0;
};

/// The outcome of one drill (`runbook drill run`), for the scorecard.
struct DrillRecord {
  std::string drill;
  std::string run_id;      ///< empty when the setup failed before the run started
  std::string runbook;
  std::string started_at;  ///< RFC 3339
  std::string ended_at;
  std::string status;      ///< the run's end state, or "setup-failed"
  bool passed = false;     ///< recovered within the RTO
  long long rto_ms = 0;
  long long measured_ms = 0;
  bool setup_ok = true, teardown_ok = true;
  std::string note;
};

class Store {
 public:
  virtual ~Store() = default;

  /// Creates the run and appends its first events in one transaction. With `epoch` > 0,
  /// only while the caller holds the incident's lease with that epoch.
  virtual Status create_run(const RunInfo& run, const std::vector<Event>& first, long long epoch = 0) = 0;
  /// Appends events (seq must continue the run's timeline) durably. A run.ended event
  /// also sets the run's status and end time; run.interrupted sets it to `interrupted`
  /// and run.resumed back to `running`. If `epoch` > 0, refuses unless the caller
  /// still holds the lease of the run's incident with that epoch (a stale engine cannot
  /// write).
  virtual Status append(const std::string& run_id, const std::vector<Event>& events, long long epoch = 0) = 0;

  virtual std::optional<RunInfo> run(const std::string& id) = 0;
  /// Newest first.
  virtual std::vector<RunInfo> runs(int limit) = 0;
  /// Runs of an incident, oldest first.
  virtual std::vector<RunInfo> runs_of_incident(const std::string& incident) = 0;
  virtual std::vector<Event> events(const std::string& run_id) = 0;
  /// Verifies the stored chain of a run's events; returns an error naming the first bad
  /// event. `tail_only` is set when only the last event is damaged (a torn write).
  virtual Status verify_chain(const std::string& run_id, bool* tail_only) = 0;
  /// Removes the run's last event (a damaged tail found by verify_chain).
  virtual Status drop_last_event(const std::string& run_id) = 0;

  /// Reserves the next incident id of a day, "PREFIX-YYYYMMDD-NNN" (prefix INC for runs,
  /// DRILL for drills), atomically: engines starting at once never get the same one, and
  /// a number is never given twice. Empty when the store failed.
  virtual std::string allocate_incident(const std::string& prefix, const std::string& yyyymmdd) = 0;

  /// Leases are per incident (`key` = the incident id): one engine per incident.
  /// Takes the lease for `holder` until now+ttl if it is free or expired (epoch is
  /// then raised), or renews it if `holder` holds it with `epoch`. On refusal returns an
  /// error and fills *current with the holder.
  virtual Status acquire_lease(const std::string& run_id, const std::string& holder, long long ttl_ms,
                               long long now_ms, Lease* got, Lease* current) = 0;
  /// The run's lease as stored (possibly expired), if any.
  virtual std::optional<Lease> lease(const std::string& run_id) = 0;
  virtual Status renew_lease(const std::string& run_id, const Lease& held, long long ttl_ms, long long now_ms) = 0;
  /// Ends the lease (it expires now). Lease rows are never deleted, so that epochs only
  /// grow: a stale engine's epoch can never match again.
  virtual Status release_lease(const std::string& run_id, const Lease& held) = 0;

  /// Requests for a run whose engine is live: posted here, taken and journaled by that
  /// engine (so the timeline keeps one writer). take_requests returns and removes them,
  /// oldest first.
  virtual Status post_request(const std::string& run_id, const std::string& kind, const Value& data) = 0;
  virtual std::vector<Request> take_requests(const std::string& run_id) = 0;
  /// Appends one event at the end of a run that no engine holds (seq assigned here).
  virtual Status append_next(const std::string& run_id, Event e) = 0;

  virtual Status record_drill(const DrillRecord& d) = 0;
  /// Oldest first; all drills when `drill` is empty.
  virtual std::vector<DrillRecord> drill_records(const std::string& drill) = 0;

  /// Events of a run after seq `after` (0: all), oldest first, at most `limit` of them:
  /// what a server polls to stream a timeline that another engine writes.
  virtual std::vector<Event> events_after(const std::string& run_id, long long after, int limit = 1000) = 0;
  /// Runs counted by runbook and status.
  virtual std::vector<RunCount> run_counts() = 0;

  /// API tokens (runbook serve). add_token refuses a name that exists (Invalid);
  /// revoke_token a name that does not (Invalid). tokens() lists them by name.
  virtual Status add_token(const Token& t) = 0;
  virtual std::vector<Token> tokens() = 0;
  virtual Status revoke_token(const std::string& name) = 0;

  /// Runs started by `runbook serve`. The row is written before the run's own (a run id
  /// in serve_runs may have no run yet: its server died before the first commit).
  virtual Status add_serve_run(const ServeRun& r) = 0;
  virtual std::optional<ServeRun> serve_run(const std::string& run_id) = 0;
  /// Serve runs whose run is running or interrupted, oldest first.
  virtual std::vector<ServeRun> open_serve_runs() = 0;

  virtual std::string describe() const = 0;  ///< e.g. "sqlite:.runbook/runbook.db"

  /// Checks the store's own integrity (SQLite: PRAGMA quick_check), cheaply enough to run
  /// at every open: an error names what is damaged. The hash chain of each run's events
  /// is checked separately (verify_chain).
  virtual Status check_integrity() { return Status::OK(); }
};

/// Opens (creating when needed) the store at `url`: `sqlite:PATH`, a plain PATH, or
/// `postgres://…` / `postgresql://…`. An empty url means $RUNBOOK_STORE, else
/// `.runbook/runbook.db`. Any other `SCHEME:` is refused (see store_url_problem).
std::unique_ptr<Store> open_store(const std::string& url, Status* status);

/// The store URL `url` means (`url`, else $RUNBOOK_STORE, else the default path).
std::string effective_store_url(const std::string& url);

/// Why `url` names no store this engine knows, or nullopt: any `SCHEME://` or `SCHEME:`
/// other than sqlite:, postgres://, postgresql:// (a typo must never become a local file).
/// The message names the known schemes and the closest one, never the rest of the URL
/// (it may hold a password).
std::optional<std::string> store_url_problem(const std::string& url);

/// The chain value of an event: sha256(prev || canonical event), first 16 bytes in hex.
std::string chain_hash(const std::string& prev, const Event& e);
/// The same, with e.data already serialized (`data_json` = e.data.dump()): what the store
/// writes is what is hashed.
std::string chain_hash(const std::string& prev, const Event& e, std::string_view data_json);

/// What a batch of events does to the run row: run.ended sets the status and end time,
/// run.interrupted the status `interrupted`, run.resumed `running` (empty: unchanged).
struct RunState {
  std::string status, ended_at;
};
RunState run_state_after(const std::vector<Event>& events);

/// The number NNN of an incident id KEY-NNN (0 when it is not one).
long long incident_number(const std::string& incident, const std::string& key);

/// An event as stored, with its stored chain value.
struct StoredEvent {
  Event event;
  std::string chain;
  bool readable = true;  ///< its data parsed as JSON
};

/// The integrity check of a run's stored timeline (both stores): seq 1..N without gap or
/// duplicate, every event readable and matching its chain value, and N equal to the count
/// the run row records. *tail_only is set when only the last event is damaged (a torn
/// write that resume may drop).
Status check_timeline(const std::string& run_id, const std::vector<StoredEvent>& stored, long long recorded_last_seq,
                      bool* tail_only);

}  // namespace rb::journal
