// PostgreSQL statements without ever blocking the loop: libpq's non-blocking API end to
// end — PQconnectStart/PQconnectPoll (every host of a multi-host URL, each with its
// connect_timeout), PQsendQuery/PQsendQueryParams, results read as the socket becomes
// readable. Connections are reused per URL for the run. The action's limit is also set
// as the server's statement_timeout, so a query cannot outlive it even if the engine
// dies. A cancel while connecting drops the connection; while querying it sends
// PQcancel from a helper thread (PQcancel itself connects, blocking) and drops the
// connection if the server has not answered within the kill grace.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plugin/plugin.h"

namespace rb::plugins::pg {

struct Conn;

class Runner {
 public:
  Runner();
  ~Runner();
  std::unique_ptr<plugin::Running> start(const std::string& url, const std::string& sql, const Value& params,
                                         bool script, plugin::ActionContext& ctx, plugin::DoneFn done);
  /// Drops every connection (their sockets are bound to the run's loop).
  void finish_run();

 private:
  std::shared_ptr<Conn> idle(const std::string& url);
  std::map<std::string, std::vector<std::shared_ptr<Conn>>> pool_;
};

}  // namespace rb::plugins::pg
