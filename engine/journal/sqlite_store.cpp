// The SQLite run store (the default): WAL, synchronous=FULL, one transaction per append;
// events in append order (rowid), each run's found through runs.first_pos/last_pos (FORMAT.md).
// The file is created 0600 in a 0700 directory: it holds the incident's timeline.
#include <sqlite3.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include "base/text.h"
#include "journal/backends.h"
#include "journal/rows.h"
#include "journal/sqlite_stmt.h"
#include "journal/sqlite_store.h"
#include "base/events.h"

namespace rb::journal {
namespace {

const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  incident TEXT NOT NULL,
  runbook TEXT NOT NULL,
  title TEXT,
  file TEXT,
  content_hash TEXT,
  severity TEXT,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  incident_start TEXT,
  drill INTEGER NOT NULL DEFAULT 0,
  drill_name TEXT,
  operator TEXT,
  inputs TEXT,
  rto_ms INTEGER,
  rpo_ms INTEGER,
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_chain TEXT NOT NULL DEFAULT '',
  cwd TEXT,
  first_pos INTEGER,
  last_pos INTEGER
);
CREATE INDEX IF NOT EXISTS runs_incident ON runs(incident);
CREATE TABLE IF NOT EXISTS events (
  pos INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  ts TEXT NOT NULL,
  t REAL NOT NULL,
  type TEXT NOT NULL,
  step TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL,
  chain TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
  run_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS drill_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  drill TEXT NOT NULL, run_id TEXT, runbook TEXT, started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL,
  passed INTEGER NOT NULL, rto_ms INTEGER, measured_ms INTEGER, setup_ok INTEGER NOT NULL, teardown_ok INTEGER NOT NULL,
  note TEXT
);
CREATE INDEX IF NOT EXISTS drill_results_drill ON drill_results(drill, started_at);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '2');
)SQL";

// A run's span (FORMAT.md) follows every insert, whoever writes it: this engine, an older
// one, or a row added by hand. Created after migrate(): it needs runs.first_pos.
const char* kSpanTrigger = R"SQL(
CREATE TRIGGER IF NOT EXISTS events_span AFTER INSERT ON events BEGIN
  UPDATE runs SET first_pos = COALESCE(first_pos, NEW.pos), last_pos = NEW.pos WHERE id = NEW.run_id;
END;
)SQL";

RunInfo read_run(Stmt& s) { return run_from(s); }

constexpr const char* kRunCols = kRunColumns;

Status make_private_dir(const std::string& dir) {
  if (dir.empty() || dir == ".") return Status::OK();
  size_t pos = 0;
  while ((pos = dir.find('/', pos + 1)) != std::string::npos) {
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::Error(fmt::format("cannot create directory {}: {}", part, std::strerror(errno)));
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST) return Status::Error(fmt::format("cannot create directory {}: {}", dir, std::strerror(errno)));
  }
  return Status::OK();
}

}  // namespace

SqliteStore::~SqliteStore() {
  if (db_) {
    drop_cached(db_);
    sqlite3_close_v2(db_);
  }
}

Status SqliteStore::open(const std::string& path) {
  path_ = path;
  std::string dir = path.find('/') == std::string::npos ? "" : path.substr(0, path.rfind('/'));
  if (auto s = make_private_dir(dir); !s.ok()) return s;
  // Create the file ourselves so that it is private from the first byte.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error(fmt::format("cannot open store {}: {}", path, std::strerror(errno)));
  ::close(fd);
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) return Status::Error(fmt::format("cannot open store {}: {}", path, sqlite3_errstr(rc)));
  sqlite3_busy_timeout(db_, 10'000);
  if (auto s = exec("PRAGMA journal_mode=WAL"); !s.ok()) return s;
  if (auto s = exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
  if (auto s = exec(kSchema); !s.ok()) return s;
  if (auto s = migrate(); !s.ok()) return s;
  if (auto s = exec(kSpanTrigger); !s.ok()) return s;
  if (auto s = exec(kServeSchema); !s.ok()) return s;
  // WAL and shared-memory files inherit the database's mode; tighten them anyway.
  ::chmod((path + "-wal").c_str(), 0600);
  ::chmod((path + "-shm").c_str(), 0600);
  return Status::OK();
}

// Stores made by earlier versions: columns added since, and (schema 1 -> 2) the events
// table rebuilt from WITHOUT ROWID on (run_id, seq) — whose appends rewrote three or four
// pages per commit as SQLite rebalanced siblings — into a rowid table in append order,
// each run's events found through runs.first_pos/last_pos. One transaction.
Status SqliteStore::migrate() {
  auto has = [this](const char* table, const char* col) {
    Stmt c(db_, fmt::format("SELECT count(*) FROM pragma_table_info('{}') WHERE name = '{}'", table, col));
    return c.row() && c.i64(0) > 0;
  };
  if (has("runs", "first_pos") && has("runs", "cwd") && has("events", "pos")) return Status::OK();
  if (auto s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  std::string sql;
  if (!has("runs", "cwd")) sql += "ALTER TABLE runs ADD COLUMN cwd TEXT;";
  if (!has("runs", "first_pos")) sql += "ALTER TABLE runs ADD COLUMN first_pos INTEGER; ALTER TABLE runs ADD COLUMN last_pos INTEGER;";
  if (!has("events", "pos"))
    sql += R"SQL(
CREATE TABLE events_v2 (pos INTEGER PRIMARY KEY, run_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL,
  t REAL NOT NULL, type TEXT NOT NULL, step TEXT, attempt INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL,
  chain TEXT NOT NULL);
INSERT INTO events_v2(run_id, seq, ts, t, type, step, attempt, data, chain)
  SELECT run_id, seq, ts, t, type, step, attempt, data, chain FROM events ORDER BY run_id, seq;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
CREATE INDEX events_migrating ON events(run_id);
UPDATE runs SET first_pos = (SELECT min(pos) FROM events WHERE run_id = runs.id),
                last_pos = (SELECT max(pos) FROM events WHERE run_id = runs.id);
DROP INDEX events_migrating;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
)SQL";
  if (auto s = exec(sql.c_str()); !s.ok()) {
    exec("ROLLBACK");
    return s;
  }
  return commit();
}

SqliteStore::Span SqliteStore::span(const std::string& run_id) {
  Stmt q(db_, "SELECT first_pos, last_pos FROM runs WHERE id = ? AND first_pos IS NOT NULL AND last_pos IS NOT NULL");
  q.bind(1, run_id);
  Span sp{run_id};
  if (q.row()) {
    sp.ranged = true;
    sp.first = q.i64(0);
    sp.last = q.i64(1);
  }
  return sp;
}

Status SqliteStore::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
      return Status::Error(fmt::format("the store {} is damaged: {} (SQLite could not read it; restore it from a "
                                       "backup or move it aside)",
                                       path_, m));
    return Status::Error(fmt::format("store {}: {}", path_, m));
  }
  return Status::OK();
}

Status SqliteStore::check_integrity() {
  // quick_check: every page and record well-formed (O(size), no index cross-check).
  std::vector<std::string> problems;
  char* err = nullptr;
  auto collect = [](void* out, int n, char** vals, char**) {
    if (n > 0 && vals[0]) static_cast<std::vector<std::string>*>(out)->push_back(vals[0]);
    return 0;
  };
  int rc = sqlite3_exec(db_, "PRAGMA quick_check(10)", collect, &problems, &err);
  std::string m = err ? err : "";
  sqlite3_free(err);
  if (rc != SQLITE_OK)
    return Status::Error(fmt::format("the store {} is damaged: {} (SQLite quick_check could not run)", path_,
                                     m.empty() ? sqlite3_errstr(rc) : m));
  if (problems.size() == 1 && problems[0] == "ok") return Status::OK();
  std::vector<std::string> shown;
  for (auto& p : problems) shown.push_back(ellipsize(p, 200));
  return Status::Error(fmt::format("the store {} is damaged: SQLite quick_check found {}{}: {} (restore it from a "
                                   "backup; `sqlite3 {} .recover` salvages what it can)",
                                   path_, problems.size(), problems.size() >= 10 ? " or more problems" : " problem(s)",
                                   join(shown, "; "), path_));
}

Status SqliteStore::insert_events(const std::string& run_id, const std::vector<Event>& events, long long expect_seq,
                                  std::string chain, std::string* last_chain) {
  Stmt ins(db_, "INSERT INTO events(run_id, seq, ts, t, type, step, attempt, data, chain) VALUES (?,?,?,?,?,?,?,?,?)");
  for (auto& e : events) {
    if (e.seq != expect_seq + 1)
      return Status::Error(fmt::format("event seq {} does not follow {} in run {}", e.seq, expect_seq, run_id));
    expect_seq = e.seq;
    std::string data = e.data.dump();
    chain = chain_hash(chain, e, data);
    ins.bind(1, run_id).bind(2, e.seq).bind(3, e.ts).bind(4, e.t).bind(5, e.type).bind(6, e.step)
        .bind(7, static_cast<long long>(e.attempt)).bind(8, data).bind(9, chain);
    int rc = ins.step();
    ins.reset();
    if (rc != SQLITE_DONE) return Status::Error(fmt::format("store write failed: {}", sqlite3_errmsg(db_)));
  }
  *last_chain = chain;
  return Status::OK();
}

Status SqliteStore::create_run(const RunInfo& r, const std::vector<Event>& first, long long epoch) {
  if (auto s = fault("create_run"); !s.ok()) return s;
  if (auto s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  if (epoch > 0) {
    Stmt l(db_, "SELECT epoch FROM leases WHERE run_id = ?");
    l.bind(1, r.incident);
    if (!l.row() || l.i64(0) != epoch) {
      exec("ROLLBACK");
      return Status::Error(fmt::format("lost the lease on incident {}: another engine took it over", r.incident));
    }
  }
  Stmt ins(db_,
           "INSERT INTO runs(id, incident, runbook, title, file, content_hash, severity, status, started_at, "
           "incident_start, drill, drill_name, operator, inputs, rto_ms, rpo_ms, cwd) VALUES "
           "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  ins.bind(1, r.id).bind(2, r.incident).bind(3, r.runbook).bind(4, r.title).bind(5, r.file).bind(6, r.content_hash)
      .bind(7, r.severity).bind(8, r.status).bind(9, r.started_at).bind(10, r.incident_start)
      .bind(11, static_cast<long long>(r.drill)).bind(12, r.drill_name).bind(13, r.operator_name)
      .bind(14, r.inputs.dump()).bind(15, r.rto_ms).bind(16, r.rpo_ms).bind(17, r.cwd);
  if (ins.step() != SQLITE_DONE) {
    std::string m = sqlite3_errmsg(db_);
    exec("ROLLBACK");
    return Status::Error(fmt::format("cannot record run: {}", m));
  }
  std::string chain;
  if (auto s = insert_events(r.id, first, 0, "", &chain); !s.ok()) {
    exec("ROLLBACK");
    return s;
  }
  Stmt up(db_, "UPDATE runs SET last_seq = ?, last_chain = ? WHERE id = ?");
  up.bind(1, first.empty() ? 0LL : first.back().seq).bind(2, chain).bind(3, r.id);
  up.step();
  return commit();
}

Status SqliteStore::commit() {
  if (auto s = fault("commit"); !s.ok()) {
    exec("ROLLBACK");
    return s;
  }
  if (auto s = exec("COMMIT"); !s.ok()) {
    exec("ROLLBACK");
    return s;
  }
  return Status::OK();
}

Status SqliteStore::append(const std::string& run_id, const std::vector<Event>& events, long long epoch) {
  if (events.empty()) return Status::OK();
  if (auto s = fault("append"); !s.ok()) return s;
  if (auto s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  if (epoch > 0) {
    Stmt l(db_, "SELECT epoch FROM leases WHERE run_id = (SELECT incident FROM runs WHERE id = ?)");
    l.bind(1, run_id);
    if (!l.row() || l.i64(0) != epoch) {
      exec("ROLLBACK");
      return Status::Error(fmt::format("lost the lease on run {}: another engine took it over", run_id));
    }
  }
  Stmt cur(db_, "SELECT last_seq, last_chain FROM runs WHERE id = ?");
  cur.bind(1, run_id);
  if (!cur.row()) {
    exec("ROLLBACK");
    return Status::Error(fmt::format("no run {}", run_id));
  }
  long long last = cur.i64(0);
  std::string chain = cur.text(1);
  std::string new_chain;
  if (auto s = insert_events(run_id, events, last, chain, &new_chain); !s.ok()) {
    exec("ROLLBACK");
    return s;
  }
  RunState st = run_state_after(events);
  Stmt up(db_, "UPDATE runs SET last_seq = ?, last_chain = ?, status = COALESCE(?, status), "
               "ended_at = COALESCE(?, ended_at) WHERE id = ?");
  up.bind(1, events.back().seq).bind(2, new_chain).bind(5, run_id);
  if (!st.status.empty()) up.bind(3, st.status);
  if (!st.ended_at.empty()) up.bind(4, st.ended_at);
  up.step();
  return commit();
}

std::optional<RunInfo> SqliteStore::run(const std::string& id) {
  Stmt s(db_, fmt::format("SELECT {} FROM runs WHERE id = ?", kRunCols));
  s.bind(1, id);
  if (!s.row()) return std::nullopt;
  return read_run(s);
}

std::vector<RunInfo> SqliteStore::runs(int limit) {
  Stmt s(db_, fmt::format("SELECT {} FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", kRunCols));
  s.bind(1, static_cast<long long>(limit));
  std::vector<RunInfo> out;
  while (s.row()) out.push_back(read_run(s));
  return out;
}

std::vector<RunInfo> SqliteStore::runs_of_incident(const std::string& incident) {
  Stmt s(db_, fmt::format("SELECT {} FROM runs WHERE incident = ? ORDER BY started_at, id", kRunCols));
  s.bind(1, incident);
  std::vector<RunInfo> out;
  while (s.row()) out.push_back(read_run(s));
  return out;
}

std::vector<Event> SqliteStore::events(const std::string& run_id) {
  Span sp = span(run_id);
  Stmt s(db_, fmt::format("SELECT {} FROM events WHERE {} ORDER BY {}", kEventColumns, sp.where(), sp.order()));
  sp.bind(s, 1);
  std::vector<Event> out;
  while (s.row()) out.push_back(event_from(s));
  return out;
}

Status SqliteStore::verify_chain(const std::string& run_id, bool* tail_only) {
  // One read transaction: the events and runs.last_seq from one snapshot, so a live
  // engine's commit is seen whole or not at all (never "records N but M are stored").
  if (auto s = exec("BEGIN"); !s.ok()) return s;
  std::vector<StoredEvent> stored;
  {
    Span sp = span(run_id);
    Stmt s(db_, fmt::format("SELECT seq, ts, t, type, step, attempt, data, chain FROM events WHERE {} ORDER BY {}",
                            sp.where(), sp.order()));
    sp.bind(s, 1);
    while (s.row()) {
      StoredEvent x;
      x.event.seq = s.i64(0);
      x.event.ts = s.text(1);
      x.event.t = s.f64(2);
      x.event.type = s.text(3);
      x.event.step = s.text(4);
      x.event.attempt = static_cast<int>(s.i64(5));
      auto d = Value::parse(s.text(6), nullptr, false);
      x.readable = !d.is_discarded();
      if (x.readable) x.event.data = std::move(d);
      x.chain = s.text(7);
      stored.push_back(std::move(x));
    }
  }
  auto r = run(run_id);
  exec("COMMIT");
  return check_timeline(run_id, stored, r ? r->last_seq : static_cast<long long>(stored.size()), tail_only);
}

Status SqliteStore::drop_last_event(const std::string& run_id) {
  if (auto s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Span sp = span(run_id);
  Stmt last(db_, fmt::format("SELECT seq, pos FROM events WHERE {} ORDER BY {} DESC LIMIT 2", sp.where(), sp.order()));
  sp.bind(last, 1);
  long long seq = 0, pos = 0, prev_pos = 0;
  if (last.row()) {
    seq = last.i64(0);
    pos = last.i64(1);
    if (last.row()) prev_pos = last.i64(1);
  }
  Stmt del(db_, "DELETE FROM events WHERE pos = ?");
  del.bind(1, pos);
  del.step();
  Stmt prev(db_, "SELECT chain FROM events WHERE pos = ?");
  prev.bind(1, prev_pos);
  std::string chain = prev.row() ? prev.text(0) : "";
  Stmt up(db_, "UPDATE runs SET last_seq = ?, last_chain = ?, last_pos = ? WHERE id = ?");
  up.bind(1, seq - 1).bind(2, chain).bind(4, run_id);
  up.bind(3, prev_pos > 0 ? prev_pos : pos);  // no event left: a span holding none of its rows
  up.step();
  return commit();
}

Status SqliteStore::append_next(const std::string& run_id, Event e) {
  // Runs inside append's transaction logic: read last_seq under BEGIN IMMEDIATE.
  if (auto s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt cur(db_, "SELECT last_seq, last_chain FROM runs WHERE id = ?");
  cur.bind(1, run_id);
  if (!cur.row()) {
    exec("ROLLBACK");
    return Status::Error(fmt::format("no run {}", run_id));
  }
  long long last = cur.i64(0);
  std::string chain = cur.text(1), new_chain;
  e.seq = last + 1;
  if (auto s = insert_events(run_id, {e}, last, chain, &new_chain); !s.ok()) {
    exec("ROLLBACK");
    return s;
  }
  Stmt up(db_, "UPDATE runs SET last_seq = ?, last_chain = ? WHERE id = ?");
  up.bind(1, e.seq).bind(2, new_chain).bind(3, run_id);
  up.step();
  return commit();
}

Status SqliteStore::fault(const char* where) {
  // Fault injection for tests (disk full, I/O error): RUNBOOK_TEST_STORE_FAIL_AFTER=N makes
  // the N+1-th write fail as if the disk were full.
  if (fail_after_ < 0) {
    const char* env = std::getenv("RUNBOOK_TEST_STORE_FAIL_AFTER");
    fail_after_ = env ? std::atoll(env) : (1LL << 62);
  }
  if (writes_++ >= fail_after_)
    return Status::Error(fmt::format("store {}: database or disk is full (injected fault at {})", path_, where));
  return Status::OK();
}

std::unique_ptr<Store> open_sqlite_store(const std::string& path, Status* status) {
  auto s = std::make_unique<SqliteStore>();
  *status = s->open(path);
  if (!status->ok()) return nullptr;
  return s;
}

}  // namespace rb::journal
