// runbook serve and runbook token: the flags checked, the store opened, the loop run.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <fmt/format.h>
#include <sys/resource.h>

#include "base/text.h"
#include "exec/answers.h"
#include "serve/server.h"
#include "sys/env.h"
#include "sys/process.h"

namespace rb::serve {

namespace {

// HOST:PORT, [V6]:PORT, :PORT (every address) or PORT (loopback).
bool parse_listen(const std::string& s, std::string* host, int* port) {
  std::string p;
  if (s.starts_with("[")) {
    size_t close = s.find("]:");
    if (close == std::string::npos) return false;
    *host = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else if (size_t colon = s.rfind(':'); colon != std::string::npos) {
    *host = colon == 0 ? "0.0.0.0" : s.substr(0, colon);
    p = s.substr(colon + 1);
  } else {
    *host = "127.0.0.1";
    p = s;
  }
  if (p.empty() || p.size() > 5 || !is_token(p, "0-9", "0-9")) return false;
  *port = std::atoi(p.c_str());
  return *port <= 65535;
}

bool loopback(const std::string& host) { return host.starts_with("127.") || host == "::1" || host == "localhost"; }

// A thousand event streams need a thousand descriptors: as many as the hard limit allows.
void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  r.rlim_cur = std::min<rlim_t>(r.rlim_max, 65536);
  ::setrlimit(RLIMIT_NOFILE, &r);
}

// The flags, checked before anything opens (exit 2 for each mistake).
int check_flags(const ServeFlags& f, HttpOptions* ho) {
  if (!parse_listen(f.listen, &ho->host, &ho->port)) {
    cli::error(fmt::format("--listen '{}': expected HOST:PORT (e.g. 127.0.0.1:8088, [::1]:8088, :8443)", f.listen));
    return cli::kInvalid;
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    cli::error("--tls-cert and --tls-key go together");
    return cli::kInvalid;
  }
  if (f.max_streams < 1) {
    cli::error("--max-streams must be at least 1");
    return cli::kInvalid;
  }
  ho->tls_cert = f.tls_cert;
  ho->tls_key = f.tls_key;
  // Tests shorten the slow-client bounds (15 s to send a request, 10 s for each write) to
  // see a slow client cut without waiting.
  if (const char* t = std::getenv("RUNBOOK_SERVE_REQUEST_TIMEOUT_MS"); t && std::atoll(t) > 0)
    ho->request_timeout = std::chrono::milliseconds(std::atoll(t));
  if (const char* t = std::getenv("RUNBOOK_SERVE_WRITE_TIMEOUT_MS"); t && std::atoll(t) > 0)
    ho->write_timeout = std::chrono::milliseconds(std::atoll(t));
  return cli::kOk;
}

// What the operator must know about how it listens.
void announce(const cli::Global& g, const ServeFlags& f, const HttpOptions& ho, journal::Store& store, int port,
              size_t triggers) {
  bool tls = !f.tls_cert.empty();
  if (!tls && !loopback(ho.host))
    fmt::print(stderr, "runbook serve: WARNING: plain HTTP on {}: tokens and session cookies cross the network in clear; "
                       "give --tls-cert and --tls-key (or keep it on 127.0.0.1 behind a TLS proxy)\n",
               ho.host);
  else if (!tls)
    fmt::print(stderr, "runbook serve: warning: plain HTTP, on loopback only; give --tls-cert and --tls-key to serve "
                       "other machines\n");
  if (store.tokens().empty())
    fmt::print(stderr, "runbook serve: no token yet: create one with `runbook{} token create NAME --role admin`\n",
               cli::store_flag(g));
  std::string host = ho.host.find(':') != std::string::npos ? "[" + ho.host + "]" : ho.host;
  fmt::print("runbook serve: listening on {}://{}:{} (store {}, runbooks {}, {} trigger(s))\n", tls ? "https" : "http",
             host, port, store.describe(), f.runbooks, triggers);
  std::fflush(stdout);
}

}  // namespace

int cmd_serve(const cli::Global& g, const ServeFlags& f) {
  HttpOptions ho;
  if (int rc = check_flags(f, &ho); rc != cli::kOk) return rc;
  auto store = cli::open_store_or_report(g);
  if (!store) return cli::kEngine;
  std::vector<Trigger> triggers;
  if (!f.triggers.empty()) {
    auto reg = cli::make_registry(g);
    Diagnostics d(f.triggers);
    auto t = load_triggers(f.triggers, f.runbooks, *reg, d);
    for (auto& x : d.list()) fmt::print(stderr, "{}\n", x.format());
    if (!t) return cli::kInvalid;
    triggers = std::move(*t);
  }
  raise_fd_limit();

  boost::asio::io_context io;
  auto env = sys::make_posix_env(io);
  auto reaper = sys::become_subreaper(io);
  Server server(*env, *store, g, f, std::move(triggers));
  HttpServer http(io, [&server](const Request& r) { return server.handle(r); });
  server.set_connections([&http] { return http.connections(); });
  if (auto s = http.listen(ho); !s.ok()) {
    cli::error(s.message());
    return s.kind() == ErrorKind::Invalid ? cli::kInvalid : cli::kEngine;
  }
  announce(g, f, ho, *store, http.port(), server.triggers());
  // Runs a server left (killed, stopped) are continued at once, then looked for every 5 s.
  server.runs().adopt_every(Millis(5000));

  // SIGINT/SIGTERM: stop taking requests, pause the runs (run.interrupted; the next server
  // continues them), then exit. A second signal exits at once.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  int seen = 0;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (++seen > 1) return io.stop();
      fmt::print(stderr, "runbook serve: {} — pausing {} run(s) and stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 server.runs().active());
      http.stop();
      server.runs().shutdown([&io] { io.stop(); });
      wait_signal();
    });
  };
  wait_signal();
  io.run();
  return cli::kOk;
}

int cmd_token(const cli::Global& g, const TokenFlags& f) {
  if (f.action == "create" || f.action == "revoke") {
    if (!exec::valid_identity(f.name)) {
      cli::error(fmt::format("'{}' is not a valid name (letters, digits, . _ @ -, at most 64): it is the identity "
                             "answers are recorded under",
                             ellipsize(f.name, 80)));
      return cli::kInvalid;
    }
  }
  std::optional<Role> role;
  if (f.action == "create" && !(role = parse_role(f.role))) {
    cli::error(fmt::format("--role '{}': one of viewer, operator, approver, admin, hook", ellipsize(f.role, 40)));
    return cli::kInvalid;
  }
  auto store = cli::open_store_or_report(g);
  if (!store) return cli::kEngine;
  if (f.action == "list") {
    auto list = store->tokens();
    if (g.json) {
      Value arr = Value::array();
      for (auto& t : list) arr.push_back({{"name", t.name}, {"role", t.role}, {"created_at", t.created_at}});
      fmt::print("{}\n", arr.dump());
      return cli::kOk;
    }
    if (list.empty()) fmt::print("no tokens in {}\n", store->describe());
    else fmt::print("{:<24} {:<9} {}\n", "NAME", "ROLE", "CREATED");
    for (auto& t : list) fmt::print("{:<24} {:<9} {}\n", t.name, t.role, t.created_at.substr(0, 19));
    return cli::kOk;
  }
  if (f.action == "revoke") {
    auto s = store->revoke_token(f.name);
    if (!s.ok()) {
      cli::error(s.message());
      return s.kind() == ErrorKind::Invalid ? cli::kInvalid : cli::kEngine;
    }
    fmt::print(stderr, "token {} revoked: its sessions end at once\n", f.name);
    return cli::kOk;
  }
  std::string token = new_token();
  auto s = store->add_token(journal::Token{f.name, role_name(*role), token_hash(token), rfc3339_ms(sys::wall_now())});
  if (!s.ok()) {
    cli::error(s.message());
    return s.kind() == ErrorKind::Invalid ? cli::kInvalid : cli::kEngine;
  }
  if (g.json) fmt::print("{}\n", Value{{"name", f.name}, {"role", role_name(*role)}, {"token", token}}.dump());
  else fmt::print("{}\n", token);
  fmt::print(stderr, "token for {} ({}): shown this once, stored only as a hash — keep it now\n", f.name,
             role_name(*role));
  return cli::kOk;
}

}  // namespace rb::serve
