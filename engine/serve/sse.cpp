#include "serve/sse.h"

#include <algorithm>
#include <fmt/format.h>

namespace rb::serve {

namespace {

constexpr Millis kPoll{250};
constexpr Millis kPing{15'000};
// A client with this much unsent is skipped (it catches up from the store once it has
// drained); its stream drops it when it reaches its own bound or a write stalls.
constexpr size_t kBackpressure = 64 * 1024;
constexpr int kBatch = 500;

}  // namespace

SseHub::SseHub(sys::Env& env, journal::Store& store, size_t max_clients)
    : env_(env), store_(store), max_(max_clients), poll_timer_(env.timer()), ping_timer_(env.timer()) {
  poll_timer_->arm(kPoll, [this] { poll(); });
  ping_timer_->arm(kPing, [this] { ping(); });
}

SseHub::~SseHub() {
  for (auto& [run, list] : by_run_)
    for (auto& c : list) {
      c.stream->on_close = nullptr;
      c.stream->close();
    }
}

std::string SseHub::frame(const journal::Event& e) {
  return fmt::format("id: {}\ndata: {}\n\n", e.seq, e.to_json().dump(-1, ' ', false, Value::error_handler_t::replace));
}

void SseHub::join(const std::string& run_id, long long after, std::shared_ptr<EventStream> s) {
  ++clients_;
  s->on_close = [this, run_id] {
    --clients_;
    drop_closed(run_id);
  };
  s->send("retry: 2000\n\n");
  Client c{s, std::max(0LL, after)};
  // The backlog, a batch at a time (the poll sends the rest as the client drains).
  for (auto& e : store_.events_after(run_id, c.last, kBatch)) {
    if (!s->send(frame(e))) break;
    c.last = e.seq;
    if (s->queued() > kBackpressure) break;
  }
  by_run_[run_id].push_back(std::move(c));
}

void SseHub::publish(const std::string& run_id, const journal::Event& e) {
  if (by_run_.count(run_id)) deliver(run_id, e);
}

void SseHub::deliver(const std::string& run_id, const journal::Event& e) {
  std::string bytes;
  for (auto& c : by_run_[run_id]) {
    if (e.seq != c.last + 1 || c.stream->closed() || c.stream->queued() > kBackpressure) continue;
    if (bytes.empty()) bytes = frame(e);
    if (c.stream->send(bytes)) c.last = e.seq;
  }
}

void SseHub::drop_closed(const std::string& run_id) {
  auto it = by_run_.find(run_id);
  if (it == by_run_.end()) return;
  std::erase_if(it->second, [](const Client& c) { return c.stream->closed(); });
  if (it->second.empty()) by_run_.erase(it);
}

// Every run with clients: what the store has after the client that is furthest behind.
void SseHub::poll() {
  for (auto it = by_run_.begin(); it != by_run_.end();) {
    auto& list = it->second;
    std::erase_if(list, [](const Client& c) { return c.stream->closed(); });
    if (list.empty()) {
      it = by_run_.erase(it);
      continue;
    }
    long long from = list.front().last;
    for (auto& c : list) from = std::min(from, c.last);
    for (auto& e : store_.events_after(it->first, from, kBatch)) deliver(it->first, e);
    ++it;
  }
  poll_timer_->arm(kPoll, [this] { poll(); });
}

void SseHub::ping() {
  for (auto& [run, list] : by_run_)
    for (auto& c : list)
      if (!c.stream->closed()) c.stream->send(": ping\n\n");
  ping_timer_->arm(kPing, [this] { ping(); });
}

}  // namespace rb::serve
