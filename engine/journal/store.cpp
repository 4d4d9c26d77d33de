// Which backend a store URL names (contract section 4).
#include "journal/backends.h"

namespace rb::journal {

std::unique_ptr<Store> open_store(const std::string& url_in, Status* status) {
  std::string url = url_in;
  if (url.empty()) {
    const char* env = std::getenv("RUNBOOK_STORE");
    url = (env && *env) ? env : ".runbook/runbook.db";
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return open_pg_store(url, status);
  return open_sqlite_store(url.starts_with("sqlite:") ? url.substr(7) : url, status);
}

}  // namespace rb::journal
