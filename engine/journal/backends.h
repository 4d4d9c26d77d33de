// The store backends, for the dispatcher in store.cpp: each opens (creating the schema
// when needed) or returns nullptr with *status.
#pragma once

#include <memory>
#include <string>

#include "journal/store.h"

namespace rb::journal {

std::unique_ptr<Store> open_sqlite_store(const std::string& path, Status* status);  // sqlite_store.cpp
std::unique_ptr<Store> open_pg_store(const std::string& url, Status* status);       // pg_store.cpp

}  // namespace rb::journal
