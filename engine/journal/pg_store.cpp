// The PostgreSQL run store: the same schema and semantics as the SQLite one (store.h), for
// teams whose engines on several machines share runs and leases. Each append is one
// atomic statement (one round trip) that applies only while the run's tail is the one
// the writer expects and it still holds the lease, so two engines can never interleave
// a timeline.
#include <libpq-fe.h>

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "base/masker.h"
#include "base/text.h"
#include "journal/backends.h"
#include "journal/rows.h"
#include "base/events.h"

namespace rb::journal {
namespace {

const char* kPgSchema = R"SQL(
CREATE TABLE IF NOT EXISTS runbook_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runbook_runs (
  id TEXT PRIMARY KEY, incident TEXT NOT NULL, runbook TEXT NOT NULL, title TEXT, file TEXT,
  content_hash TEXT, severity TEXT, status TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
  incident_start TEXT, drill BOOLEAN NOT NULL DEFAULT false, drill_name TEXT, operator TEXT, inputs TEXT,
  rto_ms BIGINT, rpo_ms BIGINT, last_seq BIGINT NOT NULL DEFAULT 0, last_chain TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS runbook_runs_incident ON runbook_runs(incident);
CREATE TABLE IF NOT EXISTS runbook_events (
  run_id TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT NOT NULL, t DOUBLE PRECISION NOT NULL, type TEXT NOT NULL,
  step TEXT, attempt INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, chain TEXT NOT NULL, PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS runbook_leases (
  run_id TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL, expires_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS runbook_requests (
  id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runbook_counters (key TEXT PRIMARY KEY, n BIGINT NOT NULL);
ALTER TABLE runbook_runs ADD COLUMN IF NOT EXISTS cwd TEXT;
CREATE TABLE IF NOT EXISTS runbook_drill_results (
  id BIGSERIAL PRIMARY KEY, drill TEXT NOT NULL, run_id TEXT, runbook TEXT, started_at TEXT NOT NULL, ended_at TEXT,
  status TEXT NOT NULL, passed BOOLEAN NOT NULL, rto_ms BIGINT, measured_ms BIGINT, setup_ok BOOLEAN NOT NULL,
  teardown_ok BOOLEAN NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS runbook_tokens (
  name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runbook_serve_runs (
  run_id TEXT PRIMARY KEY, incident TEXT NOT NULL, origin TEXT NOT NULL, alert TEXT, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runbook_serve_runs_incident ON runbook_serve_runs(incident);
INSERT INTO runbook_meta(key, value) VALUES ('schema_version', '1') ON CONFLICT DO NOTHING;
)SQL";

// The append statement (see PgStore::append): $1 run, $2/$3 the tail this engine expects,
// $4/$5 the new tail, $6 lease epoch (0: none), $7 incident, $8/$9 the run's new status
// and end time ('' = unchanged, see run_state_after), $10 the events as a JSON array.
constexpr const char* kAppendSql = R"SQL(
WITH lease AS (
  SELECT $6::bigint = 0 OR EXISTS (
    SELECT 1 FROM runbook_leases WHERE run_id = $7 AND epoch = $6::bigint FOR SHARE) AS ok),
up AS (
  UPDATE runbook_runs SET last_seq = $4::bigint, last_chain = $5,
    status = COALESCE(NULLIF($8, ''), status), ended_at = COALESCE(NULLIF($9, ''), ended_at)
  WHERE id = $1 AND last_seq = $2::bigint AND last_chain = $3 AND (SELECT ok FROM lease)
  RETURNING id),
ins AS (
  INSERT INTO runbook_events(run_id, seq, ts, t, type, step, attempt, data, chain)
  SELECT up.id, e.seq, e.ts, e.t, e.type, e.step, e.attempt, e.data, e.chain
  FROM up, jsonb_to_recordset($10::jsonb) AS e(seq bigint, ts text, t double precision, type text, step text,
                                                attempt integer, data text, chain text)
  RETURNING 1)
SELECT (SELECT count(*) FROM up), (SELECT ok FROM lease), (SELECT count(*) FROM ins)
)SQL";

constexpr const char* kPgRunCols = kRunColumns;

// One result, freed on scope exit.
class Res {
 public:
  explicit Res(PGresult* r) : r_(r) {}
  ~Res() { PQclear(r_); }
  Res(const Res&) = delete;
  Res& operator=(const Res&) = delete;
  PGresult* get() const { return r_; }
  bool ok() const {
    auto s = PQresultStatus(r_);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  }
  int rows() const { return PQntuples(r_); }
  std::string text(int row, int col) const { return PQgetisnull(r_, row, col) ? "" : PQgetvalue(r_, row, col); }
  long long i64(int row, int col) const { return PQgetisnull(r_, row, col) ? 0 : std::atoll(PQgetvalue(r_, row, col)); }
  double f64(int row, int col) const { return PQgetisnull(r_, row, col) ? 0 : std::atof(PQgetvalue(r_, row, col)); }

 private:
  PGresult* r_;
};

class PgStore : public Store {
 public:
  ~PgStore() override {
    if (c_) PQfinish(c_);
  }

  Status open(const std::string& url) {
    url_ = url;
    c_ = PQconnectdb(url.c_str());
    if (PQstatus(c_) != CONNECTION_OK)
      return Status::Error(fmt::format("cannot open store {}: {}", mask_url_passwords(url), trim(PQerrorMessage(c_))));
    Res notice(PQexec(c_, "SET client_min_messages = warning"));
    // Engines starting at once would race on CREATE TABLE IF NOT EXISTS: one at a time.
    Res lock(PQexec(c_, "SELECT pg_advisory_lock(7262687535)"));
    Res r(PQexec(c_, kPgSchema));
    Res unlock(PQexec(c_, "SELECT pg_advisory_unlock(7262687535)"));
    if (!r.ok()) return err("create schema");
    return Status::OK();
  }

  Status create_run(const RunInfo& r, const std::vector<Event>& first, long long epoch) override {
    if (auto s = begin(); !s.ok()) return s;
    if (epoch > 0) {
      Res l(q("SELECT epoch FROM runbook_leases WHERE run_id = $1 FOR SHARE", {r.incident}));
      if (!l.ok() || l.rows() == 0 || l.i64(0, 0) != epoch) {
        Res rb(PQexec(c_, "ROLLBACK"));
        return Status::Error(fmt::format("lost the lease on incident {}: another engine took it over", r.incident));
      }
    }
    Res ins(q("INSERT INTO runbook_runs(id, incident, runbook, title, file, content_hash, severity, status, started_at, "
              "incident_start, drill, drill_name, operator, inputs, rto_ms, rpo_ms, cwd) VALUES "
              "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
              {r.id, r.incident, r.runbook, r.title, r.file, r.content_hash, r.severity, r.status, r.started_at,
               r.incident_start, r.drill ? "true" : "false", r.drill_name, r.operator_name, r.inputs.dump(),
               std::to_string(r.rto_ms), std::to_string(r.rpo_ms), r.cwd}));
    if (!ins.ok()) return rollback("cannot record run");
    std::string chain;
    if (auto s = insert_events(r.id, first, 0, "", &chain); !s.ok()) return rollback_with(s);
    long long last = first.empty() ? 0 : first.back().seq;
    Res up(q("UPDATE runbook_runs SET last_seq = $1, last_chain = $2 WHERE id = $3", {std::to_string(last), chain, r.id}));
    if (!up.ok()) return rollback("cannot record run");
    auto s = commit();
    if (s.ok()) tails_[r.id] = Tail{last, chain, r.incident};
    return s;
  }

  // One round trip per append: the events, the run's tail and the lease check go in one
  // statement (atomic in autocommit). This engine holds the lease, so it knows the tail
  // it wrote last; the statement only applies when the stored tail still matches (else
  // the tail is read again and the append retried once) and the lease is still ours.
  Status append(const std::string& run_id, const std::vector<Event>& events, long long epoch) override {
    if (events.empty()) return Status::OK();
    for (int round = 0; round < 2; ++round) {
      auto it = tails_.find(run_id);
      if (it == tails_.end()) {
        Res cur(q("SELECT last_seq, last_chain, incident FROM runbook_runs WHERE id = $1", {run_id}));
        if (!cur.ok()) return err("read run");
        if (cur.rows() == 0) return Status::Error(fmt::format("no run {}", run_id));
        it = tails_.emplace(run_id, Tail{cur.i64(0, 0), cur.text(0, 1), cur.text(0, 2)}).first;
      }
      Tail& tail = it->second;
      Value rows = Value::array();
      std::string chain = tail.chain;
      long long seq = tail.seq;
      for (auto& e : events) {
        if (e.seq != seq + 1)
          return Status::Error(fmt::format("event seq {} does not follow {} in run {}", e.seq, seq, run_id));
        seq = e.seq;
        std::string data = e.data.dump();
        chain = chain_hash(chain, e, data);
        rows.push_back({{"seq", e.seq}, {"ts", e.ts}, {"t", e.t}, {"type", e.type}, {"step", e.step},
                        {"attempt", e.attempt}, {"data", std::move(data)}, {"chain", chain}});
      }
      RunState st = run_state_after(events);
      Res r(q(kAppendSql, {run_id, std::to_string(tail.seq), tail.chain, std::to_string(seq), chain,
                           std::to_string(epoch), tail.incident, st.status, st.ended_at, rows.dump()}));
      if (!r.ok()) {
        tails_.erase(run_id);
        return err("store write failed");
      }
      if (r.i64(0, 0) == 1) {
        tail.seq = seq;
        tail.chain = chain;
        return Status::OK();
      }
      tails_.erase(run_id);
      if (r.text(0, 1) != "t")
        return Status::Error(fmt::format("lost the lease on run {}: another engine took it over", run_id));
    }
    return Status::Error(fmt::format("run {}: its timeline changed under this engine", run_id));
  }

  Status append_next(const std::string& run_id, Event e) override {
    tails_.erase(run_id);
    if (auto s = begin(); !s.ok()) return s;
    Res cur(q("SELECT last_seq, last_chain FROM runbook_runs WHERE id = $1 FOR UPDATE", {run_id}));
    if (!cur.ok() || cur.rows() == 0) return rollback(fmt::format("no run {}", run_id));
    e.seq = cur.i64(0, 0) + 1;
    std::string chain;
    if (auto s = insert_events(run_id, {e}, cur.i64(0, 0), cur.text(0, 1), &chain); !s.ok()) return rollback_with(s);
    Res up(q("UPDATE runbook_runs SET last_seq = $1, last_chain = $2 WHERE id = $3", {std::to_string(e.seq), chain, run_id}));
    if (!up.ok()) return rollback("store write failed");
    return commit();
  }

  std::optional<RunInfo> run(const std::string& id) override {
    Res r(q(fmt::format("SELECT {} FROM runbook_runs WHERE id = $1", kPgRunCols), {id}));
    if (!r.ok() || r.rows() == 0) return std::nullopt;
    return read_run(r, 0);
  }

  std::vector<RunInfo> runs(int limit) override {
    Res r(q(fmt::format("SELECT {} FROM runbook_runs ORDER BY started_at DESC, id DESC LIMIT $1", kPgRunCols),
            {std::to_string(limit)}));
    std::vector<RunInfo> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(read_run(r, i));
    return out;
  }

  std::vector<RunInfo> runs_of_incident(const std::string& incident) override {
    Res r(q(fmt::format("SELECT {} FROM runbook_runs WHERE incident = $1 ORDER BY started_at, id", kPgRunCols), {incident}));
    std::vector<RunInfo> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(read_run(r, i));
    return out;
  }

  std::vector<Event> events(const std::string& run_id) override {
    Res r(q("SELECT seq, ts, t, type, step, attempt, data, chain FROM runbook_events WHERE run_id = $1 ORDER BY seq",
            {run_id}));
    std::vector<Event> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(read_event(r, i));
    return out;
  }

  Status verify_chain(const std::string& run_id, bool* tail_only) override {
    // One snapshot for the events and runbook_runs.last_seq: a live engine's append is seen
    // whole or not at all.
    if (Res b(PQexec(c_, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")); !b.ok()) return err("begin");
    Res r(q("SELECT seq, ts, t, type, step, attempt, data, chain FROM runbook_events WHERE run_id = $1 ORDER BY seq",
            {run_id}));
    if (!r.ok()) return rollback("read events");
    std::vector<StoredEvent> stored;
    for (int i = 0; i < r.rows(); ++i) {
      StoredEvent x;
      x.event = read_event(r, i);
      x.readable = !(x.event.data.contains("corrupt") && x.event.data.size() == 1);
      x.chain = r.text(i, 7);
      stored.push_back(std::move(x));
    }
    auto info = run(run_id);
    Res end(PQexec(c_, "COMMIT"));
    return check_timeline(run_id, stored, info ? info->last_seq : static_cast<long long>(stored.size()), tail_only);
  }

  Status drop_last_event(const std::string& run_id) override {
    tails_.erase(run_id);
    if (auto s = begin(); !s.ok()) return s;
    Res last(q("SELECT max(seq) FROM runbook_events WHERE run_id = $1", {run_id}));
    long long seq = last.ok() ? last.i64(0, 0) : 0;
    Res del(q("DELETE FROM runbook_events WHERE run_id = $1 AND seq = $2", {run_id, std::to_string(seq)}));
    Res prev(q("SELECT chain FROM runbook_events WHERE run_id = $1 AND seq = $2", {run_id, std::to_string(seq - 1)}));
    std::string chain = prev.ok() && prev.rows() ? prev.text(0, 0) : "";
    Res up(q("UPDATE runbook_runs SET last_seq = $1, last_chain = $2 WHERE id = $3", {std::to_string(seq - 1), chain, run_id}));
    return commit();
  }

  // The first of a day on this store continues after any incident already recorded; the
  // upsert is atomic, so engines starting at once get distinct numbers.
  std::string allocate_incident(const std::string& prefix, const std::string& day) override {
    std::string key = prefix + "-" + day;
    long long n = 0;
    Res seen(q("SELECT incident FROM runbook_runs WHERE incident LIKE $1", {key + "-%"}));
    for (int i = 0; seen.ok() && i < seen.rows(); ++i) n = std::max(n, incident_number(seen.text(i, 0), key));
    Res r(q("INSERT INTO runbook_counters(key, n) VALUES ($1, $2) "
            "ON CONFLICT (key) DO UPDATE SET n = runbook_counters.n + 1 RETURNING n",
            {key, std::to_string(n + 1)}));
    if (!r.ok() || r.rows() == 0) return "";
    return fmt::format("{}-{:03}", key, r.i64(0, 0));
  }

  Status acquire_lease(const std::string& key, const std::string& holder, long long ttl_ms, long long now_ms,
                       Lease* got, Lease* current) override {
    Res seed(q("INSERT INTO runbook_leases(run_id, holder, epoch, expires_ms) VALUES ($1, '', 0, 0) "
               "ON CONFLICT DO NOTHING",
               {key}));
    if (auto s = begin(); !s.ok()) return s;
    Res cur(q("SELECT holder, epoch, expires_ms FROM runbook_leases WHERE run_id = $1 FOR UPDATE", {key}));
    if (!cur.ok() || cur.rows() == 0) return rollback("cannot read lease");
    Lease c{cur.text(0, 0), cur.i64(0, 1), cur.i64(0, 2)};
    if (c.expires_ms > now_ms && c.holder != holder && !c.holder.empty()) {
      Res rb(PQexec(c_, "ROLLBACK"));
      if (current) *current = c;
      return Status::Error(fmt::format("incident {} is held by {} (its lease expires in {} s)", key, c.holder,
                                       (c.expires_ms - now_ms + 999) / 1000));
    }
    Lease l{holder, c.epoch + 1, now_ms + ttl_ms};
    Res up(q("UPDATE runbook_leases SET holder = $1, epoch = $2, expires_ms = $3 WHERE run_id = $4",
             {l.holder, std::to_string(l.epoch), std::to_string(l.expires_ms), key}));
    if (!up.ok()) return rollback("cannot take lease");
    if (auto s = commit(); !s.ok()) return s;
    if (got) *got = l;
    return Status::OK();
  }

  std::optional<Lease> lease(const std::string& key) override {
    Res r(q("SELECT holder, epoch, expires_ms FROM runbook_leases WHERE run_id = $1 AND holder <> ''", {key}));
    if (!r.ok() || r.rows() == 0) return std::nullopt;
    return Lease{r.text(0, 0), r.i64(0, 1), r.i64(0, 2)};
  }

  Status renew_lease(const std::string& key, const Lease& held, long long ttl_ms, long long now_ms) override {
    Res r(q("UPDATE runbook_leases SET expires_ms = $1 WHERE run_id = $2 AND holder = $3 AND epoch = $4",
            {std::to_string(now_ms + ttl_ms), key, held.holder, std::to_string(held.epoch)}));
    if (!r.ok()) return err("renew lease");
    if (std::string(PQcmdTuples(r.get())) == "0")
      return Status::Error(fmt::format("lost the lease on incident {}: another engine took it over", key));
    return Status::OK();
  }

  Status release_lease(const std::string& key, const Lease& held) override {
    Res r(q("UPDATE runbook_leases SET expires_ms = 0 WHERE run_id = $1 AND holder = $2 AND epoch = $3",
            {key, held.holder, std::to_string(held.epoch)}));
    return r.ok() ? Status::OK() : err("release lease");
  }

  Status post_request(const std::string& run_id, const std::string& kind, const Value& data) override {
    Res r(q("INSERT INTO runbook_requests(run_id, kind, data) VALUES ($1, $2, $3)", {run_id, kind, data.dump()}));
    return r.ok() ? Status::OK() : err("post the request");
  }

  std::vector<Request> take_requests(const std::string& run_id) override {
    std::vector<Request> out;
    Res r(q("DELETE FROM runbook_requests WHERE run_id = $1 RETURNING id, kind, data", {run_id}));
    for (int i = 0; r.ok() && i < r.rows(); ++i) {
      auto v = Value::parse(r.text(i, 2), nullptr, false);
      if (!v.is_discarded()) out.push_back(Request{r.i64(i, 0), r.text(i, 1), v});
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
    return out;
  }

  Status record_drill(const DrillRecord& d) override {
    Res r(q("INSERT INTO runbook_drill_results(drill, run_id, runbook, started_at, ended_at, status, passed, rto_ms, "
            "measured_ms, setup_ok, teardown_ok, note) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
            {d.drill, d.run_id, d.runbook, d.started_at, d.ended_at, d.status, d.passed ? "true" : "false",
             std::to_string(d.rto_ms), std::to_string(d.measured_ms), d.setup_ok ? "true" : "false",
             d.teardown_ok ? "true" : "false", d.note}));
    return r.ok() ? Status::OK() : err("record drill");
  }

  std::vector<DrillRecord> drill_records(const std::string& drill) override {
    Res r(q(fmt::format("SELECT {} FROM runbook_drill_results WHERE $1 = '' OR drill = $1 ORDER BY started_at, id",
                        kDrillColumns),
            {drill}));
    std::vector<DrillRecord> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(drill_from(Row{r, i}));
    return out;
  }

  std::vector<Event> events_after(const std::string& run_id, long long after, int limit) override {
    Res r(q("SELECT seq, ts, t, type, step, attempt, data FROM runbook_events WHERE run_id = $1 AND seq > $2 "
            "ORDER BY seq LIMIT $3",
            {run_id, std::to_string(after), std::to_string(limit)}));
    std::vector<Event> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(read_event(r, i));
    return out;
  }

  std::vector<RunCount> run_counts() override {
    Res r(q("SELECT runbook, status, count(*) FROM runbook_runs GROUP BY runbook, status ORDER BY runbook, status", {}));
    std::vector<RunCount> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(RunCount{r.text(i, 0), r.text(i, 1), r.i64(i, 2)});
    return out;
  }

  Status add_token(const Token& t) override {
    Res r(q("INSERT INTO runbook_tokens(name, role, hash, created_at) VALUES ($1, $2, $3, $4)",
            {t.name, t.role, t.hash, t.created_at}));
    if (r.ok()) return Status::OK();
    const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
    if (state && std::string(state) == "23505")
      return Status::Invalid(fmt::format(
          "a token named '{}' exists already: choose another name, or revoke it first (`runbook token revoke {}`, "
          "which ends its sessions)",
          t.name, t.name));
    return err("store the token");
  }

  std::vector<Token> tokens() override {
    Res r(q("SELECT name, role, hash, created_at FROM runbook_tokens ORDER BY name", {}));
    std::vector<Token> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(Token{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3)});
    return out;
  }

  Status revoke_token(const std::string& name) override {
    Res r(q("DELETE FROM runbook_tokens WHERE name = $1", {name}));
    if (!r.ok()) return err("revoke the token");
    if (std::string(PQcmdTuples(r.get())) == "0") return Status::Invalid(fmt::format("no token named '{}'", name));
    return Status::OK();
  }

  Status add_serve_run(const ServeRun& s) override {
    // NULLIF: an absent alert is stored as NULL (libpq parameters are text).
    Res r(q("INSERT INTO runbook_serve_runs(run_id, incident, origin, alert, created_at) VALUES "
            "($1, $2, $3, NULLIF($4, ''), $5)",
            {s.run_id, s.incident, s.origin, s.alert.is_null() ? "" : s.alert.dump(), s.created_at}));
    return r.ok() ? Status::OK() : err("record the run");
  }

  std::optional<ServeRun> serve_run(const std::string& run_id) override {
    Res r(q("SELECT run_id, incident, origin, alert, created_at FROM runbook_serve_runs WHERE run_id = $1", {run_id}));
    if (!r.ok() || r.rows() == 0) return std::nullopt;
    return read_serve_run(r, 0);
  }

  std::vector<ServeRun> open_serve_runs() override {
    Res r(q("SELECT s.run_id, s.incident, s.origin, s.alert, s.created_at FROM runbook_serve_runs s JOIN runbook_runs r "
            "ON r.id = s.run_id WHERE r.status IN ('running', 'interrupted') ORDER BY s.created_at, s.run_id",
            {}));
    std::vector<ServeRun> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i) out.push_back(read_serve_run(r, i));
    return out;
  }

  std::string describe() const override { return mask_url_passwords(url_); }

 private:
  PGresult* q(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> p;
    for (auto& s : params) p.push_back(s.c_str());
    return PQexecParams(c_, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(), nullptr, nullptr, 0);
  }

  Status err(const std::string& what) {
    return Status::Error(fmt::format("store {}: {}: {}", describe(), what, trim(PQerrorMessage(c_))));
  }
  Status begin() {
    Res r(PQexec(c_, "BEGIN"));
    return r.ok() ? Status::OK() : err("begin");
  }
  Status commit() {
    Res r(PQexec(c_, "COMMIT"));
    if (!r.ok()) {
      Status s = err("commit");
      Res rb(PQexec(c_, "ROLLBACK"));
      return s;
    }
    return Status::OK();
  }
  Status rollback(const std::string& what) {
    Status s = err(what);
    Res rb(PQexec(c_, "ROLLBACK"));
    return s;
  }
  Status rollback_with(Status s) {
    Res rb(PQexec(c_, "ROLLBACK"));
    return s;
  }

  Status insert_events(const std::string& run_id, const std::vector<Event>& events, long long expect_seq,
                       std::string chain, std::string* last_chain) {
    for (auto& e : events) {
      if (e.seq != expect_seq + 1)
        return Status::Error(fmt::format("event seq {} does not follow {} in run {}", e.seq, expect_seq, run_id));
      expect_seq = e.seq;
      std::string data = e.data.dump();
      chain = chain_hash(chain, e, data);
      Res r(q("INSERT INTO runbook_events(run_id, seq, ts, t, type, step, attempt, data, chain) VALUES "
              "($1,$2,$3,$4,$5,$6,$7,$8,$9)",
              {run_id, std::to_string(e.seq), e.ts, fmt::format("{:.6f}", e.t), e.type, e.step, std::to_string(e.attempt),
               data, chain}));
      if (!r.ok()) return err("store write failed");
    }
    *last_chain = chain;
    return Status::OK();
  }

  // A row of a result, for rows.h.
  struct Row {
    const Res& r;
    int i;
    std::string text(int c) const { return r.text(i, c); }
    long long i64(int c) const { return r.i64(i, c); }
    bool flag(int c) const { return r.text(i, c) == "t"; }
  };
  static RunInfo read_run(const Res& r, int i) { return run_from(Row{r, i}); }


  static ServeRun read_serve_run(const Res& r, int i) {
    ServeRun s;
    s.run_id = r.text(i, 0);
    s.incident = r.text(i, 1);
    s.origin = r.text(i, 2);
    auto a = Value::parse(r.text(i, 3), nullptr, false);
    s.alert = a.is_discarded() ? Value(nullptr) : a;
    s.created_at = r.text(i, 4);
    return s;
  }

  static Event read_event(const Res& r, int i) {
    Event e;
    e.seq = r.i64(i, 0);
    e.ts = r.text(i, 1);
    e.t = r.f64(i, 2);
    e.type = r.text(i, 3);
    e.step = r.text(i, 4);
    e.attempt = static_cast<int>(r.i64(i, 5));
    auto d = Value::parse(r.text(i, 6), nullptr, false);
    e.data = d.is_discarded() ? Value{{"corrupt", true}} : d;
    return e;
  }

  struct Tail {
    long long seq = 0;
    std::string chain, incident;
  };
  std::map<std::string, Tail> tails_;  ///< per run: the last event this engine wrote
  PGconn* c_ = nullptr;
  std::string url_;
};

}  // namespace

std::unique_ptr<Store> open_pg_store(const std::string& url, Status* status) {
  auto s = std::make_unique<PgStore>();
  *status = s->open(url);
  if (!status->ok()) return nullptr;
  return s;
}

}  // namespace rb::journal
