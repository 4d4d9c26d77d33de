// Prepared statements of the SQLite store, cached per connection (the store uses a fixed
// set of SQL texts) and only reset after use. Internal to the SQLite store's files.
#pragma once

#include <sqlite3.h>

#include <map>
#include <string>
#include <utility>

namespace rb::journal {

inline std::map<std::pair<sqlite3*, std::string>, sqlite3_stmt*>& stmt_cache() {
  static std::map<std::pair<sqlite3*, std::string>, sqlite3_stmt*> cache;
  return cache;
}

inline void drop_cached(sqlite3* db) {
  auto& c = stmt_cache();
  for (auto it = c.begin(); it != c.end();) {
    if (it->first.first == db) {
      sqlite3_finalize(it->second);
      it = c.erase(it);
    } else {
      ++it;
    }
  }
}

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    auto& slot = stmt_cache()[{db, sql}];
    if (!slot) sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &slot, nullptr);
    st_ = slot;
  }
  ~Stmt() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() { return st_; }
  Stmt& bind(int i, const std::string& s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, long long v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(st_, i, v);
    return *this;
  }
  bool row() { return sqlite3_step(st_) == SQLITE_ROW; }
  int step() { return sqlite3_step(st_); }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::string text(int i) const {
    const unsigned char* t = sqlite3_column_text(st_, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  long long i64(int i) const { return sqlite3_column_int64(st_, i); }
  bool flag(int i) const { return sqlite3_column_int64(st_, i) != 0; }
  double f64(int i) const { return sqlite3_column_double(st_, i); }

 private:
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace rb::journal
