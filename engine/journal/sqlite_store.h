// SQLite implementation of journal::Store (see store.h).
#pragma once

#include "journal/store.h"

struct sqlite3;

namespace rb::journal {

class SqliteStore : public Store {
 public:
  ~SqliteStore() override;
  Status open(const std::string& path);

  Status create_run(const RunInfo& run, const std::vector<Event>& first, long long epoch = 0) override;
  Status append(const std::string& run_id, const std::vector<Event>& events, long long epoch = 0) override;
  std::optional<RunInfo> run(const std::string& id) override;
  std::vector<RunInfo> runs(int limit) override;
  std::vector<RunInfo> runs_of_incident(const std::string& incident) override;
  std::vector<Event> events(const std::string& run_id) override;
  Status verify_chain(const std::string& run_id, bool* tail_only) override;
  Status drop_last_event(const std::string& run_id) override;
  std::string allocate_incident(const std::string& prefix, const std::string& yyyymmdd) override;
  Status acquire_lease(const std::string& run_id, const std::string& holder, long long ttl_ms, long long now_ms,
                       Lease* got, Lease* current) override;
  std::optional<Lease> lease(const std::string& run_id) override;
  Status renew_lease(const std::string& run_id, const Lease& held, long long ttl_ms, long long now_ms) override;
  Status release_lease(const std::string& run_id, const Lease& held) override;
  Status post_request(const std::string& run_id, const std::string& kind, const Value& data) override;
  std::vector<Request> take_requests(const std::string& run_id) override;
  Status append_next(const std::string& run_id, Event e) override;
  Status record_drill(const DrillRecord& d) override;
  std::vector<DrillRecord> drill_records(const std::string& drill) override;
  std::vector<Event> events_after(const std::string& run_id, long long after, int limit) override;
  std::vector<RunCount> run_counts() override;
  Status add_token(const Token& t) override;
  std::vector<Token> tokens() override;
  Status revoke_token(const std::string& name) override;
  Status add_serve_run(const ServeRun& r) override;
  std::optional<ServeRun> serve_run(const std::string& run_id) override;
  std::vector<ServeRun> open_serve_runs() override;
  std::string describe() const override { return "sqlite:" + path_; }

  /// The tables of `runbook serve` (sqlite_serve.cpp).
  static const char* const kServeSchema;
  Status check_integrity() override;

 private:
  Status exec(const char* sql);
  Status migrate();
  Status commit();
  Status fault(const char* where);
  Status insert_events(const std::string& run_id, const std::vector<Event>& events, long long expect_seq,
                       std::string chain, std::string* last_chain);

  /// Where a run's events are: rows first_pos..last_pos of `events` (append order; other
  /// runs' events may be interleaved there, hence the run_id test too) — or, for a run
  /// recorded without them (written by hand or by an older version), every row of the run.
  struct Span {
    std::string run_id;
    bool ranged = false;
    long long first = 0, last = 0;
    const char* where() const { return ranged ? "pos BETWEEN ? AND ? AND run_id = ?" : "run_id = ?"; }
    /// Within a span pos rises with seq (no sort needed); otherwise by seq.
    const char* order() const { return ranged ? "pos" : "seq"; }
    /// Binds where()'s parameters from index `i`; returns the next index.
    template <typename S>
    int bind(S& s, int i) const {
      if (ranged) {
        s.bind(i++, first);
        s.bind(i++, last);
      }
      s.bind(i++, run_id);
      return i;
    }
  };
  Span span(const std::string& run_id);

  sqlite3* db_ = nullptr;
  std::string path_;
  long long writes_ = 0;
  long long fail_after_ = -1;
};

}  // namespace rb::journal
