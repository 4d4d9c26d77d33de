// Server-sent events of run timelines (GET /api/runs/{id}/events): each event as
// `id: SEQ` + `data: JSON`, from Last-Event-ID on. Events of the runs this server drives
// are pushed as they commit; every run with clients is also polled in the store every
// 250 ms (events_after), which carries the events other engines write (a CLI run, another
// server) and anything missed. Each client gets each seq once, in order.
//
// Bounded: at most `max_clients` streams (the next one is refused: 503), and each
// client's unsent bytes are bounded by its EventStream (a slow client is dropped, never
// waited for). A comment line every 15 s keeps idle streams open through proxies and
// finds dead clients.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "journal/store.h"
#include "serve/http.h"
#include "sys/env.h"

namespace rb::serve {

class SseHub {
 public:
  SseHub(sys::Env& env, journal::Store& store, size_t max_clients);
  ~SseHub();

  /// Whether another client may join now.
  bool full() const { return clients_ >= max_; }
  size_t clients() const { return clients_; }
  /// A client of run `run_id` that has seen events up to `after`: the backlog is sent
  /// at once, then every new event.
  void join(const std::string& run_id, long long after, std::shared_ptr<EventStream> s);
  /// An event of a run driven here, just committed.
  void publish(const std::string& run_id, const journal::Event& e);

  /// The bytes of one event on the wire.
  static std::string frame(const journal::Event& e);

 private:
  struct Client {
    std::shared_ptr<EventStream> stream;
    long long last = 0;
  };
  void deliver(const std::string& run_id, const journal::Event& e);
  void poll();
  void ping();
  void drop_closed(const std::string& run_id);

  sys::Env& env_;
  journal::Store& store_;
  size_t max_;
  size_t clients_ = 0;
  std::map<std::string, std::vector<Client>> by_run_;
  std::unique_ptr<sys::Timer> poll_timer_, ping_timer_;
};

}  // namespace rb::serve
