// The SQLite store's coordination tables: incident numbers, leases, requests to live
// engines, drill results (the runs and timelines are in sqlite_store.cpp).
#include <fmt/format.h>

#include <algorithm>

#include "journal/rows.h"
#include "journal/sqlite_stmt.h"
#include "journal/sqlite_store.h"

namespace rb::journal {

std::string SqliteStore::allocate_incident(const std::string& prefix, const std::string& day) {
  if (!exec("BEGIN IMMEDIATE").ok()) return "";
  std::string key = prefix + "-" + day;
  long long n = 0;
  Stmt cur(db_, "SELECT n FROM counters WHERE key = ?");
  cur.bind(1, key);
  if (cur.row()) {
    n = cur.i64(0);
  } else {  // the first of the day here: continue after any incident already recorded
    Stmt s(db_, "SELECT incident FROM runs WHERE incident LIKE ?");
    s.bind(1, key + "-%");
    while (s.row()) n = std::max(n, incident_number(s.text(0), key));
  }
  Stmt up(db_, "INSERT INTO counters(key, n) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET n = excluded.n");
  up.bind(1, key).bind(2, n + 1);
  if (up.step() != SQLITE_DONE || !commit().ok()) {
    exec("ROLLBACK");
    return "";
  }
  return fmt::format("{}-{:03}", key, n + 1);
}

Status SqliteStore::acquire_lease(const std::string& run_id, const std::string& holder, long long ttl_ms,
                                  long long now_ms, Lease* got, Lease* current) {
  if (auto s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt q(db_, "SELECT holder, epoch, expires_ms FROM leases WHERE run_id = ?");
  q.bind(1, run_id);
  long long epoch = 0;
  if (q.row()) {
    Lease cur{q.text(0), q.i64(1), q.i64(2)};
    if (cur.expires_ms > now_ms && cur.holder != holder) {
      exec("ROLLBACK");
      if (current) *current = cur;
      return Status::Error(fmt::format("incident {} is held by {} (its lease expires in {} s)", run_id, cur.holder,
                                       (cur.expires_ms - now_ms + 999) / 1000));
    }
    epoch = cur.epoch;
  }
  Lease l{holder, epoch + 1, now_ms + ttl_ms};
  Stmt up(db_, "INSERT INTO leases(run_id, holder, epoch, expires_ms) VALUES (?,?,?,?) "
               "ON CONFLICT(run_id) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, "
               "expires_ms = excluded.expires_ms");
  up.bind(1, run_id).bind(2, l.holder).bind(3, l.epoch).bind(4, l.expires_ms);
  if (up.step() != SQLITE_DONE) {
    std::string m = sqlite3_errmsg(db_);
    exec("ROLLBACK");
    return Status::Error(m);
  }
  if (auto s = commit(); !s.ok()) return s;
  if (got) *got = l;
  return Status::OK();
}

std::optional<Lease> SqliteStore::lease(const std::string& run_id) {
  Stmt q(db_, "SELECT holder, epoch, expires_ms FROM leases WHERE run_id = ?");
  q.bind(1, run_id);
  if (!q.row()) return std::nullopt;
  return Lease{q.text(0), q.i64(1), q.i64(2)};
}

Status SqliteStore::renew_lease(const std::string& run_id, const Lease& held, long long ttl_ms, long long now_ms) {
  Stmt up(db_, "UPDATE leases SET expires_ms = ? WHERE run_id = ? AND holder = ? AND epoch = ?");
  up.bind(1, now_ms + ttl_ms).bind(2, run_id).bind(3, held.holder).bind(4, held.epoch);
  if (up.step() != SQLITE_DONE) return Status::Error(sqlite3_errmsg(db_));
  if (sqlite3_changes(db_) == 0)
    return Status::Error(fmt::format("lost the lease on run {}: another engine took it over", run_id));
  return Status::OK();
}

Status SqliteStore::release_lease(const std::string& run_id, const Lease& held) {
  Stmt up(db_, "UPDATE leases SET expires_ms = 0 WHERE run_id = ? AND holder = ? AND epoch = ?");
  up.bind(1, run_id).bind(2, held.holder).bind(3, held.epoch);
  up.step();
  return Status::OK();
}

Status SqliteStore::post_request(const std::string& run_id, const std::string& kind, const Value& data) {
  Stmt ins(db_, "INSERT INTO requests(run_id, kind, data) VALUES (?, ?, ?)");
  ins.bind(1, run_id).bind(2, kind).bind(3, data.dump());
  if (ins.step() != SQLITE_DONE) return Status::Error(fmt::format("cannot post the request: {}", sqlite3_errmsg(db_)));
  return Status::OK();
}

std::vector<Request> SqliteStore::take_requests(const std::string& run_id) {
  std::vector<Request> out;
  {
    // Most polls find nothing: look before taking the write lock.
    Stmt any(db_, "SELECT 1 FROM requests WHERE run_id = ? LIMIT 1");
    any.bind(1, run_id);
    if (!any.row()) return out;
  }
  if (!exec("BEGIN IMMEDIATE").ok()) return out;
  Stmt q(db_, "SELECT id, kind, data FROM requests WHERE run_id = ? ORDER BY id");
  q.bind(1, run_id);
  long long max_id = 0;
  while (q.row()) {
    max_id = q.i64(0);
    auto v = Value::parse(q.text(2), nullptr, false);
    if (!v.is_discarded()) out.push_back(Request{max_id, q.text(1), v});
  }
  Stmt del(db_, "DELETE FROM requests WHERE run_id = ? AND id <= ?");
  del.bind(1, run_id).bind(2, max_id);
  del.step();
  if (!commit().ok()) return {};
  return out;
}

Status SqliteStore::record_drill(const DrillRecord& d) {
  if (auto s = fault("record_drill"); !s.ok()) return s;
  Stmt ins(db_, "INSERT INTO drill_results(drill, run_id, runbook, started_at, ended_at, status, passed, rto_ms, "
                "measured_ms, setup_ok, teardown_ok, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  ins.bind(1, d.drill).bind(2, d.run_id).bind(3, d.runbook).bind(4, d.started_at).bind(5, d.ended_at).bind(6, d.status)
      .bind(7, static_cast<long long>(d.passed)).bind(8, d.rto_ms).bind(9, d.measured_ms)
      .bind(10, static_cast<long long>(d.setup_ok)).bind(11, static_cast<long long>(d.teardown_ok)).bind(12, d.note);
  if (ins.step() != SQLITE_DONE) return Status::Error(fmt::format("cannot record drill: {}", sqlite3_errmsg(db_)));
  return Status::OK();
}

std::vector<DrillRecord> SqliteStore::drill_records(const std::string& drill) {
  Stmt q(db_, fmt::format("SELECT {} FROM drill_results WHERE ? = '' OR drill = ? ORDER BY started_at, id", kDrillColumns));
  q.bind(1, drill).bind(2, drill);
  std::vector<DrillRecord> out;
  while (q.row()) out.push_back(drill_from(q));
  return out;
}

}  // namespace rb::journal
