// The run's journal: numbers events (seq without gaps), stamps them (ts, t), masks every
// secret, hands them to observers (the operator view, --json), and commits them to the
// store, then hands them to observers (the operator view, --json). Events are buffered
// until commit(); the executor commits before it starts any action and before it ends,
// so an event is durable before the engine acts on it or shows it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/masker.h"
#include "base/status.h"
#include "base/time.h"
#include "journal/store.h"
#include "sys/env.h"

namespace rb::exec {

class Journal {
 public:
  using Observer = std::function<void(const journal::Event&)>;

  /// `store` may be null (dry runs): events are then only observed. Events are stamped
  /// with `env`'s wall clock.
  Journal(journal::Store* store, sys::Env& env, const Masker& masker);

  /// For a new run: the run row is created with the first commit.
  void start_new(journal::RunInfo info, WallTime run_start);
  /// For a resumed run: continues after `last_seq`.
  void start_resumed(const std::string& run_id, long long last_seq, WallTime run_start);
  void set_lease_epoch(long long epoch) { epoch_ = epoch; }

  /// Observers see each event once it is committed (never one a full disk lost).
  void observe(Observer o) { observers_.push_back(std::move(o)); }

  /// Buffers an event (masked). Returns its seq.
  long long emit(const std::string& type, const std::string& step = {}, int attempt = 0, Value data = Value::object());
  /// Makes buffered events durable. On failure the journal is broken: every later call
  /// fails too, and nothing more should be started.
  Status commit();
  bool broken() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  const std::string& run_id() const { return run_id_; }
  WallTime run_start() const { return run_start_; }
  long long last_seq() const { return seq_; }

 private:
  journal::Store* store_;
  sys::Env& env_;
  const Masker& masker_;
  std::vector<Observer> observers_;
  std::vector<journal::Event> pending_;
  std::optional<journal::RunInfo> create_;
  std::string run_id_;
  WallTime run_start_;
  long long seq_ = 0;
  long long epoch_ = 0;
  std::string error_;
};

}  // namespace rb::exec
