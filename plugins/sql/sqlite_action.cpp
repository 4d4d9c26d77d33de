#include "sql/sqlite_action.h"

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <thread>

#include "base/text.h"

namespace rb::plugins::sqlite {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxRows = 10'000;  // rows kept in `result.rows`; row_count counts all
constexpr Millis kDefaultBusyWait{5000};  // how long a statement waits for a lock without a limit

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

}  // namespace

// One database file's connection, shared by the run's actions.
struct Db {
  sqlite3* db = nullptr;
  std::timed_mutex busy;  // one statement at a time
  std::mutex owner_mu;    // guards owner
  Job* owner = nullptr;   // the job whose statement runs now (for interrupt and the busy handler)
  ~Db() {
    if (db) sqlite3_close_v2(db);
  }
};

// One action: its worker thread and what it shares with the loop.
struct Job {
  std::shared_ptr<Db> db;
  std::thread worker;
  std::atomic<bool> cancelled{false};
  SteadyClock::time_point give_up;  // lock waits end here
  std::string sql;
  Value params;
  bool script = false;
  // Results, written by the worker before it posts its completion.
  bool ok = false;
  Value result = Value::object();
  std::string error;

  void run() {
    // Wait for the connection, but not past a cancel or the limit.
    while (!db->busy.try_lock_for(std::chrono::milliseconds(20))) {
      if (cancelled || SteadyClock::now() >= give_up) {
        error = cancelled ? "cancelled" : "another statement on this database did not finish in time";
        return;
      }
    }
    std::lock_guard<std::timed_mutex> held(db->busy, std::adopt_lock);
    set_owner(this);
    if (!cancelled) ok = script ? sqlite_run_script(db->db, sql, result, &error) : sqlite_run_query(db->db, sql, params, result, &error);
    else error = "cancelled";
    set_owner(nullptr);
  }
  void set_owner(Job* j) {
    std::lock_guard<std::mutex> l(db->owner_mu);
    db->owner = j;
  }
  void cancel() {
    cancelled = true;
    std::lock_guard<std::mutex> l(db->owner_mu);
    if (db->owner == this) sqlite3_interrupt(db->db);
  }
};

namespace {

// Waits for a lock in 5 ms steps while the statement's job is neither cancelled nor past
// its limit (SQLite's own busy_timeout would sleep through a cancel).
int busy_handler(void* arg, int) {
  auto* d = static_cast<Db*>(arg);
  {
    std::lock_guard<std::mutex> l(d->owner_mu);
    if (!d->owner || d->owner->cancelled || SteadyClock::now() >= d->owner->give_up) return 0;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return 1;
}

class JobHandle : public plugin::Running {
 public:
  explicit JobHandle(std::shared_ptr<Job> j) : job_(std::move(j)) {}
  void cancel() override { job_->cancel(); }

 private:
  std::shared_ptr<Job> job_;
};

plugin::Outcome fail_outcome(std::string msg) {
  plugin::Outcome o;
  o.error = std::move(msg);
  return o;
}

struct NoOp : plugin::Running {
  void cancel() override {}
};

}  // namespace

Runner::Runner() = default;
Runner::~Runner() { finish_run(); }

std::shared_ptr<Db> Runner::open(const std::string& path, std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = dbs_[path];
  if (slot) return slot;
  auto d = std::make_shared<Db>();
  int rc = sqlite3_open_v2(path.c_str(), &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    *err = fmt::format("cannot open sqlite database '{}': {}", path, d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
    dbs_.erase(path);
    return nullptr;
  }
  sqlite3_busy_handler(d->db, &busy_handler, d.get());
  slot = d;
  return d;
}

std::unique_ptr<plugin::Running> Runner::start(const std::string& path, const std::string& sql, const Value& params,
                                               bool script, plugin::ActionContext& ctx, plugin::DoneFn done) {
  std::string err;
  auto db = open(path, &err);
  sys::Env& env = *ctx.env;
  if (!db) {
    env.post([done, err] { done(fail_outcome(err)); });
    return std::make_unique<NoOp>();
  }
  auto job = std::make_shared<Job>();
  job->db = db;
  job->sql = sql;
  job->params = params;
  job->script = script;
  job->give_up = SteadyClock::now() + ctx.timeout.value_or(kDefaultBusyWait);
  jobs_.push_back(job);
  sys::MonoTime t0 = env.mono();
  Job* raw = job.get();
  job->worker = std::thread([raw, &env, done, t0, this] {
    raw->run();
    env.post([raw, &env, done, t0, this] {
      plugin::Outcome o;
      long long ms = env.since(t0).count();
      if (raw->ok) {
        raw->result["duration_ms"] = ms;
        o.completed = o.ok = true;
        o.result = std::move(raw->result);
      } else {
        o.error = raw->error;
        o.cancelled = raw->cancelled.load();
        o.result = Value{{"error", raw->error}, {"duration_ms", ms}};
      }
      reap(raw);
      done(std::move(o));
    });
  });
  return std::make_unique<JobHandle>(job);
}

// The worker has posted its last message: joining it waits only for its exit.
void Runner::reap(const Job* job) {
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (it->get() != job) continue;
    if ((*it)->worker.joinable()) (*it)->worker.join();
    jobs_.erase(it);
    return;
  }
}

void Runner::finish_run() {
  for (auto& j : jobs_) j->cancel();
  for (auto& j : jobs_)
    if (j->worker.joinable()) j->worker.join();
  jobs_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  dbs_.clear();
}

}  // namespace rb::plugins::sqlite
