// One suite, two stores: every case runs against SQLite and, when RUNBOOK_TEST_PG_URL is
// set (tests/run.sh starts a throwaway server), against PostgreSQL in a fresh database.
#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <random>

#include "journal/store.h"

using namespace rb;
using journal::Event;
using journal::Lease;
using journal::RunInfo;

namespace {

struct Backend {
  std::string name;
  std::string url;
};

std::string fresh_pg_database(const std::string& base) {
  std::random_device rd;
  std::string db = fmt::format("store_test_{:08x}", rd());
  PGconn* c = PQconnectdb(base.c_str());
  PQclear(PQexec(c, fmt::format("CREATE DATABASE {}", db).c_str()));
  PQfinish(c);
  return base.substr(0, base.rfind('/')) + "/" + db;
}

std::vector<Backend> backends() {
  static std::vector<Backend> list = [] {
    std::vector<Backend> b;
    // A folder of this process's own, removed at exit: by pid alone, a reused pid found the
    // store of an earlier run (its INC-20991231-007 already recorded) and failed.
    static std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                       fmt::format("store_test_{}_{:x}", getpid(), std::random_device{}());
    std::filesystem::create_directories(dir);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    b.push_back({"sqlite", "sqlite:" + (dir / "s.db").string()});
    if (const char* pg = std::getenv("RUNBOOK_TEST_PG_URL"); pg && *pg) b.push_back({"postgres", fresh_pg_database(pg)});
    return b;
  }();
  return list;
}

Event ev(long long seq, const std::string& type, Value data = Value::object()) {
  Event e;
  e.seq = seq;
  e.ts = fmt::format("2026-11-23T03:00:{:02}.000Z", seq % 60);
  e.t = static_cast<double>(seq);
  e.type = type;
  e.data = std::move(data);
  return e;
}

RunInfo run_info(const std::string& id, const std::string& incident) {
  RunInfo r;
  r.id = id;
  r.incident = incident;
  r.runbook = "rb";
  r.title = "T";
  r.started_at = "2026-11-23T03:00:00.000Z";
  r.incident_start = r.started_at;
  r.inputs = {{"a", 1}};
  r.rto_ms = 60000;
  return r;
}

std::unique_ptr<journal::Store> open(const Backend& b) {
  Status s = Status::OK();
  auto st = journal::open_store(b.url, &s);
  REQUIRE_MESSAGE(st, s.message());
  return st;
}

// Unique in the store across runs too: the SQLite file's folder is named after the pid,
// which a later run may get again (with the earlier run's rows still there).
std::string uniq(const std::string& p) {
  static int n = 0;
  static const unsigned nonce = std::random_device{}();
  return fmt::format("{}-{}-{}-{:08x}", p, getpid(), ++n, nonce);
}

}  // namespace

TEST_CASE("StoreTest.TimelineIsAppendOnlyWithoutGaps") {
  for (auto& b : backends()) {
    CAPTURE(b.name);
    auto st = open(b);
    std::string id = uniq("run");
    REQUIRE(st->create_run(run_info(id, uniq("INC")), {ev(1, "run.started")}).ok());
    REQUIRE(st->append(id, {ev(2, "step.started"), ev(3, "step.succeeded", {{"outputs", {{"n", 3}}}})}).ok());
    CHECK_FALSE(st->append(id, {ev(5, "transition")}).ok());  // a gap
    CHECK_FALSE(st->append(id, {ev(3, "transition")}).ok());  // a duplicate
    REQUIRE(st->append(id, {ev(4, "run.ended", {{"status", "recovered"}})}).ok());
    auto events = st->events(id);
    REQUIRE(events.size() == 4);
    for (size_t i = 0; i < events.size(); ++i) CHECK(events[i].seq == static_cast<long long>(i + 1));
    CHECK(events[2].data["outputs"]["n"] == 3);
    auto r = st->run(id);
    REQUIRE(r);
    CHECK(r->status == "recovered");
    CHECK(r->last_seq == 4);
    CHECK(r->inputs["a"] == 1);
    bool tail = false;
    CHECK(st->verify_chain(id, &tail).ok());
  }
}

TEST_CASE("StoreTest.LeasesOneHolderTakeoverAndStaleEpochs") {
  for (auto& b : backends()) {
    CAPTURE(b.name);
    auto st = open(b);
    std::string inc = uniq("INC"), id = uniq("run");
    Lease a, cur;
    REQUIRE(st->acquire_lease(inc, "engine-a", 1000, 10'000, &a, &cur).ok());
    CHECK(a.epoch == 1);
    auto refused = st->acquire_lease(inc, "engine-b", 1000, 10'500, nullptr, &cur);
    CHECK_FALSE(refused.ok());
    CHECK(cur.holder == "engine-a");
    CHECK(refused.message().find("engine-a") != std::string::npos);
    CHECK(st->renew_lease(inc, a, 1000, 10'600).ok());
    REQUIRE(st->create_run(run_info(id, inc), {ev(1, "run.started")}).ok());
    CHECK(st->append(id, {ev(2, "step.started")}, a.epoch).ok());
    // engine-a stops renewing; after expiry engine-b takes over with a higher epoch.
    Lease bl;
    REQUIRE(st->acquire_lease(inc, "engine-b", 1000, 12'000, &bl, &cur).ok());
    CHECK(bl.epoch == 2);
    // The stale holder can neither write nor renew.
    CHECK_FALSE(st->append(id, {ev(3, "step.succeeded")}, a.epoch).ok());
    CHECK_FALSE(st->renew_lease(inc, a, 1000, 12'100).ok());
    CHECK(st->append(id, {ev(3, "step.succeeded")}, bl.epoch).ok());
    auto seen = st->lease(inc);
    REQUIRE(seen);
    CHECK(seen->holder == "engine-b");
    CHECK(st->release_lease(inc, bl).ok());
    REQUIRE(st->lease(inc));
    CHECK(st->lease(inc)->expires_ms == 0);  // released, never deleted: epochs only grow
    Lease c;
    REQUIRE(st->acquire_lease(inc, "engine-c", 1000, 13'000, &c, &cur).ok());
    CHECK(c.epoch == 3);
  }
}

TEST_CASE("StoreTest.RequestsAndIncidentNumbers") {
  for (auto& b : backends()) {
    CAPTURE(b.name);
    auto st = open(b);
    std::string id = uniq("run");
    REQUIRE(st->create_run(run_info(id, "INC-20991231-007"), {ev(1, "run.started")}).ok());
    // After the recorded 007 (the PostgreSQL server is shared by every run of the tests:
    // later numbers may be taken already), never the same twice, drills counted apart.
    std::string a = st->allocate_incident("INC", "20991231"), a2 = st->allocate_incident("INC", "20991231");
    CHECK(journal::incident_number(a, "INC-20991231") >= 8);
    CHECK(journal::incident_number(a2, "INC-20991231") == journal::incident_number(a, "INC-20991231") + 1);
    CHECK(journal::incident_number(st->allocate_incident("DRILL", "20991231"), "DRILL-20991231") >= 1);
    REQUIRE(st->post_request(id, "note", {{"text", "first"}}).ok());
    REQUIRE(st->post_request(id, "answer", {{"step", "s"}, {"answer", "yes"}}).ok());
    auto reqs = st->take_requests(id);
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].kind == "note");
    CHECK(reqs[0].data["text"] == "first");
    CHECK(reqs[1].kind == "answer");
    CHECK(st->take_requests(id).empty());
    Event n = ev(0, "note", {{"text", "after"}});
    REQUIRE(st->append_next(id, n).ok());
    CHECK(st->events(id).back().seq == 2);
  }
}

TEST_CASE("StoreTest.DamageIsFoundWithItsPosition") {
  for (auto& b : backends()) {
    CAPTURE(b.name);
    auto st = open(b);
    std::string id = uniq("run");
    REQUIRE(st->create_run(run_info(id, uniq("INC")), {ev(1, "run.started")}).ok());
    REQUIRE(st->append(id, {ev(2, "step.started"), ev(3, "step.succeeded"), ev(4, "transition")}).ok());
    // Damage event 4 (the tail), then event 2 (earlier), with the database's own tools.
    auto corrupt = [&](int seq) {
      std::string sql = fmt::format("UPDATE {} SET data = '{{\"tampered\":true}}' WHERE run_id = '{}' AND seq = {}",
                                    b.name == "sqlite" ? "events" : "runbook_events", id, seq);
      if (b.name == "sqlite") {
        sqlite3* db;
        sqlite3_open(b.url.substr(7).c_str(), &db);
        sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
        sqlite3_close(db);
      } else {
        PGconn* c = PQconnectdb(b.url.c_str());
        PQclear(PQexec(c, sql.c_str()));
        PQfinish(c);
      }
    };
    corrupt(4);
    bool tail = false;
    auto s = st->verify_chain(id, &tail);
    CHECK_FALSE(s.ok());
    CHECK(tail);
    CHECK(s.message().find("event 4") != std::string::npos);
    REQUIRE(st->drop_last_event(id).ok());
    CHECK(st->verify_chain(id, &tail).ok());
    CHECK(st->run(id)->last_seq == 3);
    corrupt(2);
    s = st->verify_chain(id, &tail);
    CHECK_FALSE(s.ok());
    CHECK_FALSE(tail);
    CHECK(s.message().find("event 2") != std::string::npos);
  }
}

TEST_CASE("StoreTest.ServeTokensAreNamedOnceAndRevoked") {
  for (auto& b : backends()) {
    CAPTURE(b.name);
    auto st = open(b);
    std::string name = uniq("alice");
    journal::Token t{name, "approver", std::string(64, 'a') + name, "2026-11-23T03:00:00.000Z"};
    REQUIRE(st->add_token(t).ok());
    auto again = st->add_token(journal::Token{name, "viewer", "other-" + name, t.created_at});
    CHECK_FALSE(again.ok());
    CHECK(again.kind() == ErrorKind::Invalid);  // a name exists once: identities stay unique
    bool found = false;
    for (auto& x : st->tokens())
      if (x.name == name) {
        found = true;
        CHECK(x.role == "approver");
        CHECK(x.hash == t.hash);
      }
    CHECK(found);
    REQUIRE(st->revoke_token(name).ok());
    for (auto& x : st->tokens()) CHECK(x.name != name);
    CHECK(st->revoke_token(name).kind() == ErrorKind::Invalid);
  }
}

TEST_CASE("StoreTest.ServeRunsEventsAfterAndCounts") {
  for (auto& b : backends()) {
    CAPTURE(b.name);
    auto st = open(b);
    std::string id = uniq("run"), inc = uniq("INC"), never = uniq("run");
    // The serve row comes first; a run that never got its own row is not open.
    REQUIRE(st->add_serve_run({id, inc, "alert", {{"fingerprint", "f1"}, {"startsAt", "T"}}, "2026-11-23T03:00:00Z"}).ok());
    REQUIRE(st->add_serve_run({never, uniq("INC"), "api", nullptr, "2026-11-23T03:00:01Z"}).ok());
    RunInfo ri = run_info(id, inc);
    ri.runbook = uniq("rb");
    REQUIRE(st->create_run(ri, {ev(1, "run.started"), ev(2, "step.started"), ev(3, "step.succeeded")}).ok());
    auto sr = st->serve_run(id);
    REQUIRE(sr);
    CHECK(sr->origin == "alert");
    CHECK(sr->alert["fingerprint"] == "f1");
    REQUIRE(st->serve_run(never));
    CHECK(st->serve_run(never)->alert.is_null());
    CHECK_FALSE(st->serve_run(uniq("nope")));
    auto open_ids = [&] {
      std::vector<std::string> ids;
      for (auto& r : st->open_serve_runs()) ids.push_back(r.run_id);
      return ids;
    };
    auto ids = open_ids();
    CHECK(std::find(ids.begin(), ids.end(), id) != ids.end());
    CHECK(std::find(ids.begin(), ids.end(), never) == ids.end());
    auto after = st->events_after(id, 1);
    REQUIRE(after.size() == 2);
    CHECK(after[0].seq == 2);
    CHECK(st->events_after(id, 1, 1).size() == 1);
    CHECK(st->events_after(id, 3).empty());
    REQUIRE(st->append(id, {ev(4, "run.ended", {{"status", "recovered"}})}).ok());
    ids = open_ids();
    CHECK(std::find(ids.begin(), ids.end(), id) == ids.end());  // ended: nothing to take over
    long long n = 0;
    for (auto& c : st->run_counts())
      if (c.runbook == ri.runbook && c.status == "recovered") n = c.n;
    CHECK(n == 1);
  }
}

TEST_CASE("StoreTest.InterleavedRunsReadOnlyTheirOwnEvents") {
  // Events are stored in append order; two runs appending in turn share that order.
  for (auto& b : backends()) {
    CAPTURE(b.name);
    auto st = open(b);
    std::string a = uniq("run"), c = uniq("run");
    REQUIRE(st->create_run(run_info(a, uniq("INC")), {ev(1, "run.started")}).ok());
    REQUIRE(st->create_run(run_info(c, uniq("INC")), {ev(1, "run.started")}).ok());
    for (long long s = 2; s <= 6; ++s) {
      REQUIRE(st->append(a, {ev(s, "step.started", {{"run", "a"}})}).ok());
      REQUIRE(st->append(c, {ev(s, "step.started", {{"run", "c"}})}).ok());
    }
    for (auto& [id, tag] : {std::pair{a, "a"}, std::pair{c, "c"}}) {
      auto events = st->events(id);
      REQUIRE(events.size() == 6);
      for (size_t i = 1; i < events.size(); ++i) CHECK(events[i].data["run"] == tag);
      auto after = st->events_after(id, 3, 2);
      REQUIRE(after.size() == 2);
      CHECK(after[0].seq == 4);
      CHECK(after[1].seq == 5);
      bool tail = false;
      CHECK(st->verify_chain(id, &tail).ok());
    }
    REQUIRE(st->drop_last_event(c).ok());
    CHECK(st->events(c).size() == 5);
    CHECK(st->events(a).size() == 6);
    REQUIRE(st->append(c, {ev(6, "step.started", {{"run", "c"}})}).ok());
    bool tail = false;
    CHECK(st->verify_chain(c, &tail).ok());
  }
}

TEST_CASE("StoreTest.SchemaOneStoreIsMigratedWithItsTimelines") {
  // A store written before schema 2 (events WITHOUT ROWID on (run_id, seq), no
  // runs.first_pos/last_pos): made here by turning a fresh store back into that layout.
  auto dir = std::filesystem::temp_directory_path() / uniq("store_v1");
  std::filesystem::create_directories(dir);
  std::string path = (dir / "s.db").string(), id = uniq("run");
  {
    auto st = open({"sqlite", "sqlite:" + path});
    REQUIRE(st->create_run(run_info(id, uniq("INC")), {ev(1, "run.started")}).ok());
    REQUIRE(st->append(id, {ev(2, "step.started"), ev(3, "step.succeeded")}).ok());
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const char* back = R"SQL(
CREATE TABLE events_v1 (run_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL, t REAL NOT NULL, type TEXT NOT NULL,
  step TEXT, attempt INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, chain TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
INSERT INTO events_v1 SELECT run_id, seq, ts, t, type, step, attempt, data, chain FROM events;
DROP TABLE events;
ALTER TABLE events_v1 RENAME TO events;
ALTER TABLE runs DROP COLUMN first_pos;
ALTER TABLE runs DROP COLUMN last_pos;
UPDATE meta SET value = '1' WHERE key = 'schema_version';
)SQL";
  char* err = nullptr;
  REQUIRE_MESSAGE(sqlite3_exec(db, back, nullptr, nullptr, &err) == SQLITE_OK, (err ? err : ""));
  sqlite3_close(db);
  {
    auto st = open({"sqlite", "sqlite:" + path});
    auto events = st->events(id);
    REQUIRE(events.size() == 3);
    CHECK(events[2].type == "step.succeeded");
    bool tail = false;
    CHECK(st->verify_chain(id, &tail).ok());
    REQUIRE(st->append(id, {ev(4, "run.ended", {{"status", "recovered"}})}).ok());
    CHECK(st->events(id).size() == 4);
    CHECK(st->verify_chain(id, &tail).ok());
  }
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &q, nullptr);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 0))) == "2");
  sqlite3_finalize(q);
  sqlite3_close(db);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
