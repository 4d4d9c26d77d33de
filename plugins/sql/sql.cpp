// The sql plugin: SQLite on a worker thread per statement (so the loop keeps running and
// sqlite3_interrupt can cancel it), PostgreSQL asynchronously on the engine's loop
// through libpq's non-blocking API.
#include "sql/sql.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <thread>

#include "base/text.h"

namespace rb::plugins {

void sql_validate(const yaml::Node& p, const plugin::ValidateContext& ctx);

namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxRows = 10'000;  // rows kept in `result.rows`; row_count counts all

long long ms_since(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

plugin::Outcome fail_outcome(std::string msg) {
  plugin::Outcome o;
  o.error = std::move(msg);
  return o;
}

// ---- SQLite ------------------------------------------------------------------------------

struct SqliteConn {
  sqlite3* db = nullptr;
  std::mutex busy;  // one statement at a time per connection
  ~SqliteConn() {
    if (db) sqlite3_close_v2(db);
  }
};

Value sqlite_value(sqlite3_stmt* st, int i) {
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return static_cast<long long>(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: return sqlite3_column_double(st, i);
    case SQLITE_NULL: return nullptr;
    case SQLITE_BLOB: {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(st, i));
      int n = sqlite3_column_bytes(st, i);
      std::string hex;
      for (int k = 0; k < n; ++k) hex += fmt::format("{:02x}", p[k]);
      return hex;
    }
    default: {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      return std::string(t ? t : "", static_cast<size_t>(sqlite3_column_bytes(st, i)));
    }
  }
}

std::string sqlite_error(sqlite3* db, int rc) {
  return fmt::format("{} ({})", sqlite3_errmsg(db), sqlite3_errstr(rc));
}

bool bind_all(sqlite3* db, sqlite3_stmt* st, const Value& params, std::string* err) {
  int want = sqlite3_bind_parameter_count(st);
  if (static_cast<int>(params.size()) != want) {
    *err = fmt::format("the query has {} parameter{} but {} value{} given in 'params'", want, want == 1 ? "" : "s",
                       params.size(), params.size() == 1 ? " was" : "s were");
    return false;
  }
  for (int i = 0; i < want; ++i) {
    // $N and ?N name the N-th value wherever they stand; plain ? and :name go in order.
    size_t idx = static_cast<size_t>(i);
    if (const char* name = sqlite3_bind_parameter_name(st, i + 1); name && (name[0] == '$' || name[0] == '?')) {
      char* end = nullptr;
      long n = std::strtol(name + 1, &end, 10);
      if (end && *end == 0 && n >= 1) idx = static_cast<size_t>(n - 1);
    }
    if (idx >= params.size()) {
      *err = fmt::format("the query uses parameter {} but only {} value{} given in 'params'", idx + 1, params.size(),
                         params.size() == 1 ? " was" : "s were");
      return false;
    }
    const Value& v = params[idx];
    int rc;
    if (v.is_null()) rc = sqlite3_bind_null(st, i + 1);
    else if (v.is_boolean()) rc = sqlite3_bind_int(st, i + 1, v.get<bool>() ? 1 : 0);
    else if (v.is_number_integer() || v.is_number_unsigned()) rc = sqlite3_bind_int64(st, i + 1, v.get<long long>());
    else if (v.is_number_float()) rc = sqlite3_bind_double(st, i + 1, v.get<double>());
    else {
      std::string s = to_text(v);
      rc = sqlite3_bind_text(st, i + 1, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) {
      *err = sqlite_error(db, rc);
      return false;
    }
  }
  return true;
}

// Runs one statement; fills rows/row_count/affected. Returns false with *err.
bool sqlite_run_query(sqlite3* db, const std::string& q, const Value& params, Value& result, std::string* err) {
  sqlite3_stmt* st = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, q.c_str(), static_cast<int>(q.size()), &st, &tail);
  if (rc != SQLITE_OK) {
    *err = sqlite_error(db, rc);
    return false;
  }
  if (!st) {
    *err = "empty query";
    return false;
  }
  if (tail && !trim(tail).empty()) {
    sqlite3_finalize(st);
    *err = "the query holds several statements: use 'script' to run several in one transaction";
    return false;
  }
  if (!bind_all(db, st, params, err)) {
    sqlite3_finalize(st);
    return false;
  }
  Value rows = Value::array();
  long long count = 0;
  int ncol = sqlite3_column_count(st);
  for (;;) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      ++count;
      if (rows.size() < kMaxRows) {
        Value row = Value::object();
        for (int i = 0; i < ncol; ++i) row[sqlite3_column_name(st, i)] = sqlite_value(st, i);
        rows.push_back(std::move(row));
      }
      continue;
    }
    break;
  }
  if (rc != SQLITE_DONE) {
    *err = sqlite_error(db, rc);
    sqlite3_finalize(st);
    return false;
  }
  bool readonly = sqlite3_stmt_readonly(st);
  sqlite3_finalize(st);
  result["rows"] = std::move(rows);
  result["row_count"] = count;
  result["affected"] = readonly ? 0 : static_cast<long long>(sqlite3_changes(db));
  return true;
}

bool sqlite_run_script(sqlite3* db, const std::string& script, Value& result, std::string* err) {
  char* msg = nullptr;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, &msg) != SQLITE_OK) {
    *err = msg ? msg : "BEGIN failed";
    sqlite3_free(msg);
    return false;
  }
  const char* p = script.c_str();
  long long affected = 0;
  Value last_rows = Value::array();
  long long last_count = 0;
  int n = 0;
  while (p && *p) {
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, p, -1, &st, &tail);
    if (rc != SQLITE_OK) {
      *err = fmt::format("statement {}: {}", n + 1, sqlite_error(db, rc));
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return false;
    }
    p = tail;
    if (!st) continue;
    ++n;
    Value rows = Value::array();
    long long count = 0;
    int ncol = sqlite3_column_count(st);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      ++count;
      if (rows.size() < kMaxRows) {
        Value row = Value::object();
        for (int i = 0; i < ncol; ++i) row[sqlite3_column_name(st, i)] = sqlite_value(st, i);
        rows.push_back(std::move(row));
      }
    }
    bool ro = sqlite3_stmt_readonly(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
      *err = fmt::format("statement {}: {}", n, sqlite_error(db, rc));
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return false;
    }
    if (!ro) affected += sqlite3_changes(db);
    if (ncol > 0) {
      last_rows = std::move(rows);
      last_count = count;
    }
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, &msg) != SQLITE_OK) {
    *err = msg ? msg : "COMMIT failed";
    sqlite3_free(msg);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  }
  result["rows"] = std::move(last_rows);
  result["row_count"] = last_count;
  result["affected"] = affected;
  result["statements"] = n;
  return true;
}

struct SqliteRun : plugin::Running {
  std::shared_ptr<SqliteConn> conn;
  std::thread worker;
  std::atomic<bool> cancelled{false};
  void cancel() override {
    cancelled = true;
    if (conn && conn->db) sqlite3_interrupt(conn->db);
  }
  ~SqliteRun() override {
    if (worker.joinable()) worker.join();
  }
};

// ---- PostgreSQL --------------------------------------------------------------------------

struct PgConn {
  PGconn* c = nullptr;
  long long statement_timeout_ms = -1;
  ~PgConn() {
    if (c) PQfinish(c);
  }
};

Value pg_value(const PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return nullptr;
  std::string s(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
  switch (PQftype(r, col)) {
    case 20: case 21: case 23: case 26:  // int8 int2 int4 oid
      try { return std::stoll(s); } catch (...) { return s; }
    case 700: case 701:  // float4 float8
      try { return std::stod(s); } catch (...) { return s; }
    case 1700: {  // numeric: integers stay integers
      if (s.find_first_of(".eE") == std::string::npos && s.size() < 18) {
        try { return std::stoll(s); } catch (...) { return s; }
      }
      try {
        double d = std::stod(s);
        if (std::isfinite(d)) return d;
      } catch (...) {}
      return s;
    }
    case 16: return s == "t";
    case 114: case 3802: {
      auto v = parse_json_bounded(s);
      return v.is_discarded() ? Value(s) : v;
    }
    default: return s;
  }
}

std::string pg_result_error(const PGresult* r, PGconn* c) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* prim = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = prim ? prim : std::string(trim(PQerrorMessage(c)));
  if (state) return fmt::format("{} (SQLSTATE {})", msg, state);
  return msg;
}

class PgRun : public plugin::Running, public std::enable_shared_from_this<PgRun> {
 public:
  PgRun(asio::io_context& io, std::shared_ptr<PgConn> conn) : io_(io), conn_(std::move(conn)), sock_(io) {}
  ~PgRun() override {
    if (sock_.is_open()) sock_.release();  // libpq owns the socket
  }

  bool send(const std::string& sql, const Value& params, bool script, std::string* err) {
    PGconn* c = conn_->c;
    int ok;
    if (script) {
      ok = PQsendQuery(c, sql.c_str());
    } else {
      std::vector<std::string> vals;
      std::vector<const char*> ptrs;
      for (auto& v : params) {
        if (v.is_null()) {
          vals.emplace_back();
          ptrs.push_back(nullptr);
        } else {
          vals.push_back(v.is_boolean() ? (v.get<bool>() ? "true" : "false") : to_text(v));
          ptrs.push_back(nullptr);
        }
      }
      for (size_t i = 0; i < vals.size(); ++i)
        if (!params[i].is_null()) ptrs[i] = vals[i].c_str();
      ok = PQsendQueryParams(c, sql.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(), nullptr, nullptr, 0);
    }
    if (!ok) {
      *err = std::string(trim(PQerrorMessage(c)));
      return false;
    }
    sock_.assign(PQsocket(c));
    return true;
  }

  void wait(std::function<void(plugin::Outcome)> done) {
    done_ = std::move(done);
    pump();
  }

  void cancel() override {
    if (finished_) return;
    cancelled_ = true;
    if (PGcancel* pc = PQgetCancel(conn_->c)) {
      char buf[256];
      PQcancel(pc, buf, sizeof buf);
      PQfreeCancel(pc);
    }
  }

  SteadyClock::time_point started = SteadyClock::now();

 private:
  void pump() {
    auto self = shared_from_this();
    sock_.async_wait(asio::posix::stream_descriptor::wait_read, [self](const boost::system::error_code& ec) {
      if (ec) return self->finish_error("connection lost while waiting for the server");
      PGconn* c = self->conn_->c;
      if (!PQconsumeInput(c)) return self->finish_error(std::string(trim(PQerrorMessage(c))));
      while (!PQisBusy(c)) {
        PGresult* r = PQgetResult(c);
        if (!r) return self->finish();
        self->take(r);
        PQclear(r);
      }
      self->pump();
    });
  }

  void take(PGresult* r) {
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK) {
      Value rows = Value::array();
      int n = PQntuples(r), nf = PQnfields(r);
      for (int i = 0; i < n && rows.size() < kMaxRows; ++i) {
        Value row = Value::object();
        for (int f = 0; f < nf; ++f) row[PQfname(r, f)] = pg_value(r, i, f);
        rows.push_back(std::move(row));
      }
      result_["rows"] = std::move(rows);
      result_["row_count"] = n;
      ++statements_;
    } else if (st == PGRES_COMMAND_OK) {
      const char* t = PQcmdTuples(r);
      if (t && *t) affected_ += std::atoll(t);
      ++statements_;
    } else if (error_.empty()) {
      error_ = pg_result_error(r, conn_->c);
      if (cancelled_ || std::string(PQresultErrorField(r, PG_DIAG_SQLSTATE) ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : "") == "57014")
        was_cancel_ = true;
    }
  }

  void finish_error(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    plugin::Outcome o;
    if (!result_.contains("rows")) {
      result_["rows"] = Value::array();
      result_["row_count"] = 0;
    }
    result_["affected"] = affected_;
    result_["duration_ms"] = ms_since(started);
    if (!error_.empty()) {
      o.error = error_;
      o.cancelled = cancelled_;
      o.result = Value{{"error", error_}, {"duration_ms", ms_since(started)}};
    } else {
      o.completed = true;
      o.ok = true;
      o.result = std::move(result_);
    }
    if (sock_.is_open()) sock_.release();
    auto done = std::move(done_);
    asio::post(io_, [done, o = std::move(o)]() mutable { done(std::move(o)); });
  }

  asio::io_context& io_;
  std::shared_ptr<PgConn> conn_;
  asio::posix::stream_descriptor sock_;
  std::function<void(plugin::Outcome)> done_;
  Value result_ = Value::object();
  long long affected_ = 0;
  int statements_ = 0;
  std::string error_;
  bool cancelled_ = false, finished_ = false, was_cancel_ = false;
};

// Forwards cancel() to a shared PgRun (the run outlives the Running handle if needed).
struct PgHandle : plugin::Running {
  std::shared_ptr<PgRun> run;
  void cancel() override { run->cancel(); }
};

// ---- the plugin -------------------------------------------------------------------------

class SqlPlugin : public plugin::Plugin {
 public:
  ~SqlPlugin() override = default;
  std::string name() const override { return "sql"; }
  void validate(const yaml::Node& p, const plugin::ValidateContext& ctx) const override { sql_validate(p, ctx); }
  std::vector<std::string> raw_keys() const override { return {"query", "script"}; }
  bool default_mutates(const yaml::Node& p) const override {
    if (!p.is_map() || p.get("script")) return true;
    auto* q = p.get("query");
    return !(q && q->is_scalar() && sql_is_read_only(q->scalar));
  }
  std::string describe(const Value& p) const override {
    std::string what = p.contains("script") ? to_text(p["script"]) : to_text(p.value("query", Value("")));
    std::string s = fmt::format("sql {}: {}", to_text(p.value("url", Value(""))), ellipsize(what, 200));
    if (p.contains("params")) s += " params=" + p["params"].dump();
    return s;
  }

  std::unique_ptr<plugin::Running> start(const Value& p, plugin::ActionContext& ctx, plugin::DoneFn done) override {
    std::string url = to_text(p.value("url", Value("")));
    bool script = p.contains("script");
    std::string sql = script ? to_text(p["script"]) : to_text(p.value("query", Value("")));
    Value params = p.value("params", Value::array());
    if (!params.is_array()) params = Value::array({params});
    if (url.starts_with("sqlite:")) return start_sqlite(url.substr(7), sql, params, script, ctx, std::move(done));
    if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
      return start_pg(url, sql, params, script, ctx, std::move(done));
    return post_fail(ctx, std::move(done), "sql url must start with sqlite:, postgres:// or postgresql://");
  }

 private:
  std::unique_ptr<plugin::Running> post_fail(plugin::ActionContext& ctx, plugin::DoneFn done, std::string msg) {
    asio::post(*ctx.io, [done, msg] { done(fail_outcome(msg)); });
    struct Nothing : plugin::Running {
      void cancel() override {}
    };
    return std::make_unique<Nothing>();
  }

  std::shared_ptr<SqliteConn> sqlite_conn(const std::string& path, std::string* err) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = sqlite_[path];
    if (slot) return slot;
    auto c = std::make_shared<SqliteConn>();
    int rc = sqlite3_open_v2(path.c_str(), &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      *err = fmt::format("cannot open sqlite database '{}': {}", path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
      return nullptr;
    }
    sqlite3_busy_timeout(c->db, 5000);
    slot = c;
    return c;
  }

  std::unique_ptr<plugin::Running> start_sqlite(const std::string& path, const std::string& sql, const Value& params,
                                                bool script, plugin::ActionContext& ctx, plugin::DoneFn done) {
    std::string err;
    auto conn = sqlite_conn(path, &err);
    if (!conn) return post_fail(ctx, std::move(done), err);
    auto run = std::make_unique<SqliteRun>();
    run->conn = conn;
    SqliteRun* raw = run.get();
    asio::io_context* io = ctx.io;
    run->worker = std::thread([raw, conn, sql, params, script, io, done] {
      auto t0 = SteadyClock::now();
      Value result = Value::object();
      std::string e;
      bool ok;
      {
        std::lock_guard<std::mutex> lock(conn->busy);
        ok = script ? sqlite_run_script(conn->db, sql, result, &e) : sqlite_run_query(conn->db, sql, params, result, &e);
      }
      plugin::Outcome o;
      if (ok) {
        result["duration_ms"] = ms_since(t0);
        o.completed = true;
        o.ok = true;
        o.result = std::move(result);
      } else {
        o.error = e;
        o.cancelled = raw->cancelled.load();
        o.result = Value{{"error", e}, {"duration_ms", ms_since(t0)}};
      }
      asio::post(*io, [done, o = std::move(o)]() mutable { done(std::move(o)); });
    });
    return run;
  }

  std::shared_ptr<PgConn> pg_conn(const std::string& url, std::string* err) {
    auto& pool = pg_[url];
    for (auto& c : pool)
      if (c.use_count() == 1 && PQstatus(c->c) == CONNECTION_OK && PQtransactionStatus(c->c) == PQTRANS_IDLE) return c;
    auto c = std::make_shared<PgConn>();
    std::string conninfo = url;
    if (conninfo.find("connect_timeout") == std::string::npos)
      conninfo += (conninfo.find('?') == std::string::npos ? "?" : "&") + std::string("connect_timeout=10");
    c->c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c->c) != CONNECTION_OK) {
      *err = fmt::format("cannot connect to {}: {}", url, trim(PQerrorMessage(c->c)));
      return nullptr;
    }
    pool.push_back(c);
    return c;
  }

  std::unique_ptr<plugin::Running> start_pg(const std::string& url, const std::string& sql, const Value& params,
                                            bool script, plugin::ActionContext& ctx, plugin::DoneFn done) {
    std::string err;
    auto conn = pg_conn(url, &err);
    if (!conn) return post_fail(ctx, std::move(done), err);
    // The server enforces the step's timeout too, so a query cannot outlive it even if
    // the engine dies.
    long long limit = ctx.timeout ? ctx.timeout->count() : 0;
    if (limit != conn->statement_timeout_ms) {
      PGresult* r = PQexec(conn->c, fmt::format("SET statement_timeout = {}", limit).c_str());
      PQclear(r);
      conn->statement_timeout_ms = limit;
    }
    auto run = std::make_shared<PgRun>(*ctx.io, conn);
    if (!run->send(sql, params, script, &err)) return post_fail(ctx, std::move(done), err);
    run->wait(std::move(done));
    auto h = std::make_unique<PgHandle>();
    h->run = run;
    return h;
  }

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<SqliteConn>> sqlite_;
  std::map<std::string, std::vector<std::shared_ptr<PgConn>>> pg_;
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_sql_plugin() { return std::make_unique<SqlPlugin>(); }

}  // namespace rb::plugins
