// `sql`: {url, query, params} or {url, script}.
//   url     sqlite:PATH (SQLite3, the embedded default) or postgres://… / postgresql://… (libpq)
//   query   one statement; values only through params ($1, $2 …; `?` also works on SQLite)
//   script  several statements run in one transaction (rolled back on the first error)
// result: rows (list of column -> typed value; NULL is null), row_count, affected,
// duration_ms. Connections are reused per URL for the whole run. The step timeout cancels
// the statement on the server (PQcancel / sqlite3_interrupt).
#pragma once

#include <memory>

#include "plugin/plugin.h"

namespace rb::plugins {
std::unique_ptr<plugin::Plugin> make_sql_plugin();
/// True for a lone SELECT/WITH…SELECT/EXPLAIN/VALUES/SHOW/PRAGMA read (the mutates default).
bool sql_is_read_only(std::string_view query);
}
