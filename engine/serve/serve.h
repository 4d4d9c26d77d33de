// `runbook serve` and `runbook token` (contract §7): the entry points the CLI's command
// table calls.
#pragma once

#include <string>

#include "cli/common.h"

namespace rb::serve {

struct ServeFlags {
  std::string listen = "127.0.0.1:8088";  ///< HOST:PORT ([V6]:PORT); port 0 picks a free one
  std::string runbooks = "runbooks";      ///< the runbooks runs start from
  std::string triggers;                   ///< --triggers FILE (empty: alerts start nothing)
  std::string tls_cert, tls_key;
  int max_streams = 1000;                 ///< event streams open at once
};
/// Serves until SIGINT/SIGTERM, then pauses its runs (resumable, taken over by the next
/// server) and exits 0. Exit 2: bad flags or triggers file; 4: the store or the port.
int cmd_serve(const cli::Global& g, const ServeFlags& f);

struct TokenFlags {
  std::string action;  ///< create, list, revoke
  std::string name;
  std::string role;
};
/// create prints the token once (stdout); list shows names, roles and dates; revoke
/// removes one. Exit 2 for a bad name or role, a name taken, or no such token.
int cmd_token(const cli::Global& g, const TokenFlags& f);

}  // namespace rb::serve
