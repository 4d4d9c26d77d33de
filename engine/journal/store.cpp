// Which backend a store URL names (contract section 4).
#include <fmt/format.h>

#include "base/text.h"
#include "journal/backends.h"

namespace rb::journal {

std::string effective_store_url(const std::string& url) {
  if (!url.empty()) return url;
  const char* env = std::getenv("RUNBOOK_STORE");
  return (env && *env) ? env : ".runbook/runbook.db";
}

std::optional<std::string> store_url_problem(const std::string& url) {
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return std::nullopt;
  const std::string known = "the known stores are sqlite:PATH, a plain PATH, postgres://… and postgresql://…";
  if (url.starts_with("sqlite:")) {
    if (url.size() == 7) return "store 'sqlite:' needs a path: " + known;
    return std::nullopt;
  }
  // A plain path has no ':' before its first '/' ("./a:b.db" and "/x/a:b" are paths).
  std::string head = url.substr(0, url.find('/'));
  size_t colon = head.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string scheme = head.substr(0, colon);
  if (!is_token(scheme, "A-Za-z", "A-Za-z0-9+.-"))
    return fmt::format("the store URL is neither a path nor a URL of a known scheme: {}", known);
  static const std::vector<std::string> schemes = {"sqlite", "postgres", "postgresql"};
  std::string hint;
  if (auto m = did_you_mean(ellipsize(scheme, 40), schemes))
    hint = fmt::format(" (did you mean {}{}?)", *m, *m == "sqlite" ? ":" : "://");
  return fmt::format("unknown store scheme '{}:'{}: {}", ellipsize(scheme, 40), hint, known);
}

std::unique_ptr<Store> open_store(const std::string& url_in, Status* status) {
  std::string url = effective_store_url(url_in);
  if (auto why = store_url_problem(url)) {
    *status = Status::Error(*why);
    return nullptr;
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return open_pg_store(url, status);
  return open_sqlite_store(url.starts_with("sqlite:") ? url.substr(7) : url, status);
}

}  // namespace rb::journal
