// SQLite statements on worker threads, so that the loop never waits on a lock or a long
// query. One connection per database file for the whole run (statements on it run one
// at a time). A cancel interrupts the statement (sqlite3_interrupt), and the busy
// handler gives up waiting for a lock as soon as the action is cancelled or its limit
// passed, so a locked database cannot hold an action past its deadline.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "plugin/plugin.h"

namespace rb::plugins::sqlite {

struct Db;
struct Job;

class Runner {
 public:
  Runner();
  ~Runner();
  /// Starts `sql` (one statement with `params`, or a `script`) on the database at `path`.
  std::unique_ptr<plugin::Running> start(const std::string& path, const std::string& sql, const Value& params,
                                         bool script, plugin::ActionContext& ctx, plugin::DoneFn done);
  /// Cancels what still runs and waits for the workers (the run's loop is going away).
  void finish_run();

 private:
  std::shared_ptr<Db> open(const std::string& path, std::string* err);
  void reap(const Job* job);

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Db>> dbs_;
  std::vector<std::shared_ptr<Job>> jobs_;
};

}  // namespace rb::plugins::sqlite
