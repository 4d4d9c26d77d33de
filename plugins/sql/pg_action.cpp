#include "sql/pg_action.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <libpq-fe.h>

#include <cmath>
#include <fmt/format.h>
#include <thread>

#include "base/text.h"

namespace rb::plugins::pg {

namespace asio = boost::asio;

namespace {
constexpr size_t kMaxRows = 10'000;          // rows kept in `result.rows`; row_count counts all
constexpr Millis kConnectTimeout{10'000};     // per connection attempt, when the URL sets none

// In PostgreSQL's own words where it gave some.
std::string result_error(const PGresult* r, PGconn* c) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* prim = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = prim ? prim : std::string(trim(PQerrorMessage(c)));
  if (state) return fmt::format("{} (SQLSTATE {})", msg, state);
  return msg;
}

Value cell(const PGresult* r, int row, int col) {
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

// PQcancel connects to the server itself, blocking: it runs on a helper thread that owns
// only the PGcancel object, so the loop never waits for it.
void send_cancel_off_loop(PGconn* c) {
  PGcancel* pc = PQgetCancel(c);
  if (!pc) return;
  std::thread([pc] {
    char buf[256];
    PQcancel(pc, buf, sizeof buf);
    PQfreeCancel(pc);
  }).detach();
}

}  // namespace

struct Conn {
  PGconn* c = nullptr;
  long long statement_timeout_ms = -1;  ///< as last set on the server (-1: unknown)
  bool in_use = false;
  bool broken = false;                  ///< never reused
  ~Conn() {
    if (c) PQfinish(c);
  }
};

namespace {

class Action : public plugin::Running, public std::enable_shared_from_this<Action> {
 public:
  Action(plugin::ActionContext& ctx, std::shared_ptr<Conn> conn, plugin::DoneFn done)
      : env_(*ctx.env), grace_ms_(ctx.kill_grace), conn_(std::move(conn)), sock_(env_.io()), timer_(env_.timer()),
        done_(std::move(done)), t0_(env_.mono()) {
    limit_ms_ = ctx.timeout ? ctx.timeout->count() : 0;
  }
  ~Action() override {
    forget_socket();
    if (done_) {  // dropped before it finished: its connection is in an unknown state
      conn_->broken = true;
      conn_->in_use = false;
    }
  }

  void run(const std::string& url, const std::string& sql, const Value& params, bool script) {
    url_ = url;
    sql_ = sql;
    params_ = params;
    script_ = script;
    if (conn_->c) return set_timeout();
    connect();
  }

  void cancel() override {
    if (!done_ || cancelled_) return;
    cancelled_ = true;
    if (phase_ == Phase::Connecting) return fail("cancelled while connecting");
    send_cancel_off_loop(conn_->c);
    auto w = weak_from_this();
    timer_->arm(grace_ms_, [w] {
      if (auto self = w.lock()) self->fail("the server did not answer the cancel");
    });
  }

 private:
  enum class Phase { Connecting, Setting, Querying };

  void connect() {
    phase_ = Phase::Connecting;
    std::string conninfo = url_;
    bool own_timeout = conninfo.find("connect_timeout") != std::string::npos;
    conn_->c = PQconnectStart(conninfo.c_str());
    if (!conn_->c || PQstatus(conn_->c) == CONNECTION_BAD)
      return fail(fmt::format("cannot connect to {}: {}", url_, conn_->c ? trim(PQerrorMessage(conn_->c)) : "out of memory"));
    PQsetnonblocking(conn_->c, 1);
    if (!own_timeout) {
      auto w = weak_from_this();
      timer_->arm(kConnectTimeout, [w] {
        if (auto self = w.lock())
          self->fail(fmt::format("cannot connect to {}: no answer within {}", self->url_, format_duration(kConnectTimeout)));
      });
    }
    poll_connect(PGRES_POLLING_WRITING);
  }

  void poll_connect(PostgresPollingStatusType st) {
    if (st == PGRES_POLLING_OK) {
      timer_->cancel();
      return set_timeout();
    }
    if (st == PGRES_POLLING_FAILED)
      return fail(fmt::format("cannot connect to {}: {}", url_, trim(PQerrorMessage(conn_->c))));
    // libpq may move to another socket (the next host of the URL): watch the current one.
    forget_socket();
    sock_.assign(PQsocket(conn_->c));
    auto w = weak_from_this();
    auto kind = st == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                            : asio::posix::stream_descriptor::wait_write;
    sock_.async_wait(kind, [w](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || ec || !self->done_) return;
      self->poll_connect(PQconnectPoll(self->conn_->c));
    });
  }

  // The action's limit is also the server's statement_timeout.
  void set_timeout() {
    if (conn_->statement_timeout_ms == limit_ms_) return send_query();
    phase_ = Phase::Setting;
    if (!PQsendQuery(conn_->c, fmt::format("SET statement_timeout = {}", limit_ms_).c_str()))
      return fail(std::string(trim(PQerrorMessage(conn_->c))));
    flush_then_read();
  }

  void send_query() {
    phase_ = Phase::Querying;
    int ok;
    if (script_) {
      ok = PQsendQuery(conn_->c, sql_.c_str());
    } else {
      std::vector<std::string> vals;
      for (auto& v : params_) vals.push_back(v.is_boolean() ? (v.get<bool>() ? "true" : "false") : to_text(v));
      std::vector<const char*> ptrs;
      for (size_t i = 0; i < vals.size(); ++i) ptrs.push_back(params_[i].is_null() ? nullptr : vals[i].c_str());
      ok = PQsendQueryParams(conn_->c, sql_.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(), nullptr,
                             nullptr, 0);
    }
    if (!ok) return fail(std::string(trim(PQerrorMessage(conn_->c))));
    flush_then_read();
  }

  void flush_then_read() {
    forget_socket();
    sock_.assign(PQsocket(conn_->c));
    int f = PQflush(conn_->c);
    if (f < 0) return fail(std::string(trim(PQerrorMessage(conn_->c))));
    auto w = weak_from_this();
    auto kind = f == 1 ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
    sock_.async_wait(kind, [w, f](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || !self->done_) return;
      if (ec) return self->fail("connection lost while waiting for the server");
      if (f == 1) return self->flush_then_read();
      self->read();
    });
  }

  void read() {
    PGconn* c = conn_->c;
    if (!PQconsumeInput(c)) return fail(std::string(trim(PQerrorMessage(c))));
    while (!PQisBusy(c)) {
      PGresult* r = PQgetResult(c);
      if (!r) return phase_done();
      take(r);
      PQclear(r);
    }
    auto w = weak_from_this();
    sock_.async_wait(asio::posix::stream_descriptor::wait_read, [w](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || !self->done_) return;
      if (ec) return self->fail("connection lost while waiting for the server");
      self->read();
    });
  }

  void take(PGresult* r) {
    ExecStatusType st = PQresultStatus(r);
    if (phase_ == Phase::Setting) {
      if (st != PGRES_COMMAND_OK && error_.empty()) error_ = result_error(r, conn_->c);
      return;
    }
    if (st == PGRES_TUPLES_OK) {
      Value rows = Value::array();
      int n = PQntuples(r), nf = PQnfields(r);
      for (int i = 0; i < n && rows.size() < kMaxRows; ++i) {
        Value row = Value::object();
        for (int f = 0; f < nf; ++f) row[PQfname(r, f)] = cell(r, i, f);
        rows.push_back(std::move(row));
      }
      result_["rows"] = std::move(rows);
      result_["row_count"] = n;
    } else if (st == PGRES_COMMAND_OK) {
      const char* t = PQcmdTuples(r);
      if (t && *t) affected_ += std::atoll(t);
    } else if (error_.empty()) {
      error_ = result_error(r, conn_->c);
    }
  }

  void phase_done() {
    if (!error_.empty()) return fail(error_, /*keep_conn=*/true);
    if (phase_ == Phase::Setting) {
      conn_->statement_timeout_ms = limit_ms_;
      return send_query();
    }
    finish();
  }

  void finish() {
    if (!result_.contains("rows")) {
      result_["rows"] = Value::array();
      result_["row_count"] = 0;
    }
    result_["affected"] = affected_;
    result_["duration_ms"] = env_.since(t0_).count();
    plugin::Outcome o;
    o.completed = o.ok = true;
    o.result = std::move(result_);
    deliver(std::move(o), true);
  }

  // A failed statement leaves a usable connection (keep_conn); anything else drops it.
  void fail(std::string msg, bool keep_conn = false) {
    plugin::Outcome o;
    o.error = std::move(msg);
    o.cancelled = cancelled_;
    o.result = Value{{"error", o.error}, {"duration_ms", env_.since(t0_).count()}};
    deliver(std::move(o), keep_conn && !cancelled_);
  }

  void deliver(plugin::Outcome o, bool reusable) {
    if (!done_) return;
    timer_->cancel();
    forget_socket();
    if (!reusable || PQstatus(conn_->c) != CONNECTION_OK || PQtransactionStatus(conn_->c) != PQTRANS_IDLE)
      conn_->broken = true;
    conn_->in_use = false;
    env_.post([d = std::exchange(done_, nullptr), o = std::move(o)]() mutable { d(std::move(o)); });
  }

  // libpq owns the socket: stop watching it without closing it.
  void forget_socket() {
    if (!sock_.is_open()) return;
    boost::system::error_code ignore;
    sock_.cancel(ignore);
    sock_.release();
  }

  sys::Env& env_;
  Millis grace_ms_;
  std::shared_ptr<Conn> conn_;
  asio::posix::stream_descriptor sock_;
  std::unique_ptr<sys::Timer> timer_;
  plugin::DoneFn done_;
  sys::MonoTime t0_;
  long long limit_ms_ = 0;
  std::string url_, sql_;
  Value params_;
  bool script_ = false, cancelled_ = false;
  Phase phase_ = Phase::Connecting;
  Value result_ = Value::object();
  long long affected_ = 0;
  std::string error_;
};

// Forwards cancel() to the shared Action (which outlives the handle until it is done).
struct Handle : plugin::Running {
  std::shared_ptr<Action> action;
  void cancel() override { action->cancel(); }
};

}  // namespace

Runner::Runner() = default;
Runner::~Runner() = default;

std::shared_ptr<Conn> Runner::idle(const std::string& url) {
  auto& pool = pool_[url];
  std::erase_if(pool, [](auto& c) { return c->broken && !c->in_use; });
  for (auto& c : pool)
    if (!c->in_use && !c->broken) return c;
  pool.push_back(std::make_shared<Conn>());
  return pool.back();
}

std::unique_ptr<plugin::Running> Runner::start(const std::string& url, const std::string& sql, const Value& params,
                                               bool script, plugin::ActionContext& ctx, plugin::DoneFn done) {
  auto conn = idle(url);
  conn->in_use = true;
  auto action = std::make_shared<Action>(ctx, conn, std::move(done));
  action->run(url, sql, params, script);
  auto h = std::make_unique<Handle>();
  h->action = action;
  return h;
}

void Runner::finish_run() { pool_.clear(); }

}  // namespace rb::plugins::pg
