// The sql plugin: `sql: {url, query | script, params}` on SQLite (sql/sqlite_action.h:
// worker threads, interruptible) or PostgreSQL (sql/pg_action.h: libpq's non-blocking API
// on the engine's loop). Neither ever blocks the loop.
#include "sql/sql.h"

#include <fmt/format.h>

#include "base/text.h"
#include "sql/pg_action.h"
#include "sql/sqlite_action.h"

namespace rb::plugins {

void sql_validate(const yaml::Node& p, const plugin::ValidateContext& ctx);

namespace {

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
    if (url.starts_with("sqlite:")) return sqlite_.start(url.substr(7), sql, params, script, ctx, std::move(done));
    if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
      return pg_.start(url, sql, params, script, ctx, std::move(done));
    ctx.env->post([done] {
      plugin::Outcome o;
      o.error = "sql url must start with sqlite:, postgres:// or postgresql://";
      done(std::move(o));
    });
    struct Nothing : plugin::Running {
      void cancel() override {}
    };
    return std::make_unique<Nothing>();
  }

  void finish_run() override {
    sqlite_.finish_run();
    pg_.finish_run();
  }

 private:
  sqlite::Runner sqlite_;
  pg::Runner pg_;
};

}  // namespace

std::unique_ptr<plugin::Plugin> make_sql_plugin() { return std::make_unique<SqlPlugin>(); }

}  // namespace rb::plugins
