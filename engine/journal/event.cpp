#include <fmt/format.h>

#include "journal/store.h"
#include "base/events.h"
#include "base/hash.h"

namespace rb::journal {

Value Event::to_json() const {
  Value v = Value::object();
  v["seq"] = seq;
  v["ts"] = ts;
  v["t"] = t;
  v["type"] = type;
  if (!step.empty()) v["step"] = step;
  if (attempt > 0) v["attempt"] = attempt;
  v["data"] = data;
  return v;
}

Event Event::from_json(const Value& v) {
  Event e;
  e.seq = v.value("seq", 0LL);
  e.ts = v.value("ts", std::string());
  e.t = v.value("t", 0.0);
  e.type = v.value("type", std::string());
  e.step = v.value("step", std::string());
  e.attempt = v.value("attempt", 0);
  e.data = v.value("data", Value::object());
  return e;
}

Value RunInfo::to_json() const {
  Value v = {{"id", id},
             {"incident", incident},
             {"runbook", runbook},
             {"title", title},
             {"file", file},
             {"content_hash", content_hash},
             {"severity", severity},
             {"status", status},
             {"started_at", started_at},
             {"ended_at", ended_at.empty() ? Value(nullptr) : Value(ended_at)},
             {"incident_start", incident_start},
             {"drill", drill},
             {"operator", operator_name},
             {"inputs", inputs}};
  if (!drill_name.empty()) v["drill_name"] = drill_name;
  v["rto_ms"] = rto_ms ? Value(rto_ms) : Value(nullptr);
  v["rpo_ms"] = rpo_ms ? Value(rpo_ms) : Value(nullptr);
  return v;
}

std::string chain_hash(const std::string& prev, const Event& e, std::string_view data_json) {
  std::string canon;
  canon.reserve(128 + data_json.size());
  fmt::format_to(std::back_inserter(canon), "{}|{}|{}|{:.3f}|{}|{}|{}|", prev, e.seq, e.ts, e.t, e.type, e.step, e.attempt);
  canon += data_json;
  std::string h = sha256_hex(canon);
  h.resize(32);
  return h;
}

std::string chain_hash(const std::string& prev, const Event& e) { return chain_hash(prev, e, e.data.dump()); }

RunState run_state_after(const std::vector<Event>& events) {
  RunState st;
  for (auto& e : events) {
    if (e.type == ev::kRunEnded) {
      st.status = e.data.value("status", std::string("failed"));
      st.ended_at = e.ts;
    } else if (e.type == ev::kRunInterrupted) {
      st.status = "interrupted";
    } else if (e.type == ev::kRunResumed) {
      st.status = "running";
    }
  }
  return st;
}

long long incident_number(const std::string& incident, const std::string& key) {
  if (incident.size() <= key.size() + 1 || incident.compare(0, key.size() + 1, key + "-") != 0) return 0;
  long long n = 0;
  for (size_t i = key.size() + 1; i < incident.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(incident[i]))) return 0;
    n = n * 10 + (incident[i] - '0');
    if (n > 1'000'000'000) return 0;
  }
  return n;
}

Status check_timeline(const std::string& run_id, const std::vector<StoredEvent>& stored, long long recorded_last_seq,
                      bool* tail_only) {
  if (tail_only) *tail_only = false;
  std::string chain;
  for (size_t i = 0; i < stored.size(); ++i) {
    const Event& e = stored[i].event;
    std::string problem;
    if (e.seq != static_cast<long long>(i) + 1)
      problem = fmt::format("seq {} where {} was expected (a gap or duplicate)", e.seq, i + 1);
    else if (!stored[i].readable)
      problem = fmt::format("event {} has unreadable data", e.seq);
    else if (chain_hash(chain, e) != stored[i].chain)
      problem = fmt::format("event {} ({}) does not match its checksum", e.seq, e.type);
    if (!problem.empty()) {
      if (tail_only) *tail_only = i + 1 == stored.size();
      return Status::Error(problem);
    }
    chain = stored[i].chain;
  }
  if (recorded_last_seq != static_cast<long long>(stored.size()))
    return Status::Error(fmt::format("run {} records {} events but {} are stored", run_id, recorded_last_seq,
                                     stored.size()));
  return Status::OK();
}

}  // namespace rb::journal
