// The SQLite store's tables and reads for `runbook serve` (store.h: tokens, serve runs,
// events after a seq, run counts). The schema is created with the others at open. They
// use the store's cached statements (sqlite_stmt.h) and row readers (rows.h).
#include <sqlite3.h>

#include <fmt/format.h>

#include "journal/rows.h"
#include "journal/sqlite_stmt.h"
#include "journal/sqlite_store.h"

namespace rb::journal {

const char* const SqliteStore::kServeSchema = R"SQL(
CREATE TABLE IF NOT EXISTS tokens (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS serve_runs (
  run_id TEXT PRIMARY KEY,
  incident TEXT NOT NULL,
  origin TEXT NOT NULL,
  alert TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS serve_runs_incident ON serve_runs(incident);
)SQL";

namespace {

ServeRun read_serve_run(Stmt& s) {
  ServeRun r;
  r.run_id = s.text(0);
  r.incident = s.text(1);
  r.origin = s.text(2);
  auto a = Value::parse(s.text(3), nullptr, false);
  r.alert = a.is_discarded() ? Value(nullptr) : a;
  r.created_at = s.text(4);
  return r;
}

}  // namespace

std::vector<Event> SqliteStore::events_after(const std::string& run_id, long long after, int limit) {
  Span sp = span(run_id);
  // Event k of a run is at or after first_pos + k - 1: start the range there (polled often).
  if (sp.ranged && after > 0) sp.first += after;
  Stmt s(db_, fmt::format("SELECT {} FROM events WHERE {} AND seq > ? ORDER BY {} LIMIT ?", kEventColumns, sp.where(),
                          sp.order()));
  int i = sp.bind(s, 1);
  s.bind(i, after).bind(i + 1, static_cast<long long>(limit));
  std::vector<Event> out;
  while (s.row()) out.push_back(event_from(s));
  return out;
}

std::vector<RunCount> SqliteStore::run_counts() {
  Stmt s(db_, "SELECT runbook, status, count(*) FROM runs GROUP BY runbook, status ORDER BY runbook, status");
  std::vector<RunCount> out;
  while (s.row()) out.push_back(RunCount{s.text(0), s.text(1), s.i64(2)});
  return out;
}

Status SqliteStore::add_token(const Token& t) {
  Stmt ins(db_, "INSERT INTO tokens(name, role, hash, created_at) VALUES (?,?,?,?)");
  ins.bind(1, t.name).bind(2, t.role).bind(3, t.hash).bind(4, t.created_at);
  int rc = ins.step();
  if (rc == SQLITE_CONSTRAINT)
    return Status::Invalid(fmt::format(
        "a token named '{}' exists already: choose another name, or revoke it first (`runbook token revoke {}`, "
        "which ends its sessions)",
        t.name, t.name));
  if (rc != SQLITE_DONE) return Status::Error(fmt::format("cannot store the token: {}", sqlite3_errmsg(db_)));
  return Status::OK();
}

std::vector<Token> SqliteStore::tokens() {
  Stmt s(db_, "SELECT name, role, hash, created_at FROM tokens ORDER BY name");
  std::vector<Token> out;
  while (s.row()) out.push_back(Token{s.text(0), s.text(1), s.text(2), s.text(3)});
  return out;
}

Status SqliteStore::revoke_token(const std::string& name) {
  Stmt del(db_, "DELETE FROM tokens WHERE name = ?");
  del.bind(1, name);
  if (del.step() != SQLITE_DONE) return Status::Error(fmt::format("cannot revoke: {}", sqlite3_errmsg(db_)));
  if (sqlite3_changes(db_) == 0) return Status::Invalid(fmt::format("no token named '{}'", name));
  return Status::OK();
}

Status SqliteStore::add_serve_run(const ServeRun& r) {
  Stmt ins(db_, "INSERT INTO serve_runs(run_id, incident, origin, alert, created_at) VALUES (?,?,?,?,?)");
  ins.bind(1, r.run_id).bind(2, r.incident).bind(3, r.origin).bind(5, r.created_at);
  if (!r.alert.is_null()) ins.bind(4, r.alert.dump());
  if (ins.step() != SQLITE_DONE) return Status::Error(fmt::format("cannot record the run: {}", sqlite3_errmsg(db_)));
  return Status::OK();
}

std::optional<ServeRun> SqliteStore::serve_run(const std::string& run_id) {
  Stmt s(db_, "SELECT run_id, incident, origin, alert, created_at FROM serve_runs WHERE run_id = ?");
  s.bind(1, run_id);
  if (!s.row()) return std::nullopt;
  return read_serve_run(s);
}

std::vector<ServeRun> SqliteStore::open_serve_runs() {
  Stmt s(db_, "SELECT s.run_id, s.incident, s.origin, s.alert, s.created_at FROM serve_runs s JOIN runs r ON "
              "r.id = s.run_id WHERE r.status IN ('running', 'interrupted') ORDER BY s.created_at, s.run_id");
  std::vector<ServeRun> out;
  while (s.row()) out.push_back(read_serve_run(s));
  return out;
}

}  // namespace rb::journal
