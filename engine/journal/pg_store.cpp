// PostgreSQL implementation of journal::Store — see store.h.
#include <fmt/format.h>

#include "journal/sqlite_store.h"

namespace rb::journal {

std::unique_ptr<Store> open_pg_store(const std::string& url, Status* status) {
  *status = Status::Error("the PostgreSQL store is not available in this build");
  return nullptr;
}

}  // namespace rb::journal
