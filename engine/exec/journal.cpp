#include "exec/journal.h"

#include <fmt/format.h>

namespace rb::exec {

Journal::Journal(journal::Store* store, sys::Env& env, const Masker& masker)
    : store_(store), env_(env), masker_(masker) {}

void Journal::start_new(journal::RunInfo info, WallTime run_start) {
  run_id_ = info.id;
  run_start_ = run_start;
  info.inputs = masker_.mask_json(info.inputs);
  create_ = std::move(info);
  seq_ = 0;
}

void Journal::start_resumed(const std::string& run_id, long long last_seq, WallTime run_start) {
  run_id_ = run_id;
  run_start_ = run_start;
  seq_ = last_seq;
}

long long Journal::emit(const std::string& type, const std::string& step, int attempt, Value data) {
  journal::Event e;
  e.seq = ++seq_;
  WallTime now = env_.wall();
  e.ts = rfc3339_ms(now);
  e.t = static_cast<double>(to_unix_ms(now) - to_unix_ms(run_start_)) / 1000.0;
  e.type = type;
  e.step = step;
  e.attempt = attempt;
  masker_.mask_in_place(data);
  e.data = std::move(data);
  pending_.push_back(std::move(e));
  return seq_;
}

Status Journal::commit() {
  if (!error_.empty()) return Status::Error(error_);
  Status s = Status::OK();
  if (store_ && create_) {
    s = store_->create_run(*create_, pending_, epoch_);
    if (s.ok()) create_.reset();
  } else if (store_ && !pending_.empty()) {
    s = store_->append(run_id_, pending_, epoch_);
  }
  if (!s.ok()) {
    error_ = masker_.mask(s.message());
    return Status::Error(error_);
  }
  std::vector<journal::Event> done;
  done.swap(pending_);
  for (auto& e : done)
    for (auto& o : observers_) o(e);
  return s;
}

}  // namespace rb::exec
