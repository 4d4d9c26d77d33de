// Parameter validation and the mutates rule of the sql plugin (no database access here).
#include <cctype>
#include <fmt/format.h>

#include "yaml/check.h"
#include "sql/sql.h"

namespace rb::plugins {

bool sql_is_read_only(std::string_view q) {
  // Strip leading whitespace and comments, then look at the first keyword; a lone
  // statement only (a ';' followed by more text means several statements).
  size_t i = 0;
  auto skip = [&] {
    for (;;) {
      while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i]))) ++i;
      if (q.substr(i, 2) == "--") {
        while (i < q.size() && q[i] != '\n') ++i;
      } else if (q.substr(i, 2) == "/*") {
        size_t e = q.find("*/", i + 2);
        i = e == std::string_view::npos ? q.size() : e + 2;
      } else {
        return;
      }
    }
  };
  skip();
  std::string word;
  while (i < q.size() && std::isalpha(static_cast<unsigned char>(q[i])))
    word += static_cast<char>(std::tolower(static_cast<unsigned char>(q[i++])));
  static const char* reads[] = {"select", "with", "explain", "values", "show", "pragma", "table"};
  bool read = false;
  for (const char* r : reads) read = read || word == r;
  if (!read) return false;
  // A data-modifying CTE (WITH … DELETE/UPDATE/INSERT) or SELECT … INTO writes.
  std::string lower;
  for (char c : q) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : {" insert ", " update ", " delete ", " into ", " drop ", " alter ", " create "}) {
    std::string padded = " " + lower + " ";
    for (auto& c : padded)
      if (c == '\n' || c == '\t' || c == '(' || c == ')') c = ' ';
    if (padded.find(w) != std::string::npos) return false;
  }
  size_t semi = q.find(';');
  if (semi != std::string_view::npos) {
    for (size_t k = semi + 1; k < q.size(); ++k)
      if (!std::isspace(static_cast<unsigned char>(q[k]))) return false;
  }
  return true;
}

void sql_validate(const yaml::Node& p, const plugin::ValidateContext& ctx) {
  if (!yaml::want_map(p, fmt::format("'sql' {}", ctx.where), ctx.diag)) return;
  yaml::check_keys(p, {"url", "query", "params", "script"}, fmt::format("in sql {}", ctx.where), ctx.diag);
  const yaml::Node* url = p.get("url");
  if (!url) ctx.diag.error(p.pos, fmt::format("'sql' {} needs 'url' (sqlite:PATH or postgres://…)", ctx.where));
  else if (auto u = yaml::want_string(*url, "'url'", ctx.diag)) {
    if (u->find("${{") == std::string::npos && !u->starts_with("sqlite:") && !u->starts_with("postgres://") &&
        !u->starts_with("postgresql://"))
      ctx.diag.error(yaml::text_pos(*url), "sql 'url' must start with sqlite:, postgres:// or postgresql://");
  }
  bool q = p.get("query"), s = p.get("script");
  if (q == s)
    ctx.diag.error(p.pos, fmt::format("'sql' {} needs exactly one of 'query' (one statement) or 'script' "
                                      "(several, in one transaction)",
                                      ctx.where));
  if (auto* n = p.get("query")) yaml::want_string(*n, "'query'", ctx.diag);
  if (auto* n = p.get("script")) yaml::want_string(*n, "'script'", ctx.diag);
  if (auto* n = p.get("params")) {
    if (yaml::want_seq(*n, "'params'", ctx.diag))
      for (auto& item : n->items)
        if (!item.is_scalar() && !item.is_null()) ctx.diag.error(item.pos, "each of 'params' must be a single value");
    if (s) ctx.diag.error(p.entry("params")->first.pos, "'params' goes with 'query', not 'script'");
  }
}

}  // namespace rb::plugins
