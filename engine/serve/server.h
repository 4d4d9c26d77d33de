// The server of `runbook serve`: authentication and routing of every request (server.cpp),
// the JSON API and the actions it shares with the pages (api.cpp), the pages' handlers
// (web.cpp). One object on the loop, holding the runs, the event streams, the alerts and
// the metrics.
//
// Routes (contract §7): GET /healthz needs nothing; everything else a token, as
// `Authorization: Bearer TOKEN` or the session cookie of POST /login. A POST under the
// cookie needs the page's CSRF token (X-CSRF-Token header or `csrf` field). A hook token
// may only POST /hooks/*. No token: 401; a wrong role, a missing CSRF token, the
// second-person rule: 403.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/value.h"
#include "cli/common.h"
#include "serve/alerts.h"
#include "serve/auth.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/runs.h"
#include "serve/serve.h"
#include "serve/sse.h"

namespace rb::serve {

/// Who a request comes from.
struct Identity {
  std::string name;
  Role role = Role::Viewer;
  std::string token;    ///< as presented (for the session's CSRF token)
  bool cookie = false;  ///< authenticated by the session cookie (not a Bearer header)
};

/// An action's outcome, for the API (JSON) and the pages (a redirect or a message).
struct Result {
  int status = 200;
  std::string message;
  Value json = Value::object();
};

class Server {
 public:
  Server(sys::Env& env, journal::Store& store, const cli::Global& g, const ServeFlags& f, std::vector<Trigger> triggers);

  Outcome handle(const Request& r);
  RunManager& runs() { return runs_; }
  size_t triggers() const { return alerts_.triggers().size(); }
  void set_connections(std::function<size_t()> f) { connections_ = std::move(f); }

 private:
  // server.cpp: who asks, and where it goes.
  std::optional<Identity> identify(const Request& r);
  Outcome route(const Request& r, const Identity& who);
  Outcome login(const Request& r);
  Response unauthorized(const Request& r, const std::string& why);
  static bool wants_html(const Request& r);

  // api.cpp: the actions, then the JSON routes.
  Result start(const Identity& who, const Value& body, const std::string& origin);
  Result answer(const Identity& who, const std::string& run_id, const Value& body);
  Result note(const Identity& who, const std::string& run_id, const Value& body);
  Result abort(const Identity& who, const std::string& run_id, const Value& body);
  Outcome api(const Request& r, const Identity& who, const std::vector<std::string>& parts);
  Outcome events(const Request& r, const std::string& run_id);
  Value run_view(const journal::RunInfo& r);

  // web.cpp: the pages.
  Outcome web(const Request& r, const Identity& who, const std::vector<std::string>& parts);
  Outcome room(const Request& r, const Identity& who, const std::string& run_id);
  Outcome exported(const std::string& run_id, const std::string& format);
  std::vector<std::string> runbook_files() const;
  const model::Runbook* runbook_of(const journal::RunInfo& r);

  sys::Env& env_;
  journal::Store& store_;
  cli::Global g_;
  ServeFlags flags_;
  RunManager runs_;
  SseHub sse_;
  Alerts alerts_;
  Metrics metrics_;
  Throttle throttle_;
  std::function<size_t()> connections_;
  std::map<std::string, std::string> runbook_of_run_;  ///< run id -> runbook id (metrics)
  struct Cached {
    std::string hash;
    std::shared_ptr<model::Runbook> rb;
  };
  std::map<std::string, Cached> runbooks_;  ///< file -> the parsed runbook (room's plan)
  std::unique_ptr<plugin::Registry> page_reg_;
};

/// A JSON response.
Response json_response(int status, const Value& v);

}  // namespace rb::serve
