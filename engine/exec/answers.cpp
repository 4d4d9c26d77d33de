#include "exec/answers.h"

#include <fmt/format.h>
#include <deque>
#include <iostream>
#include <thread>
#include <unistd.h>

#include "base/text.h"

namespace rb::exec {

std::optional<GivenAnswer> parse_answer(const std::string& text) {
  std::string t(trim(text));
  GivenAnswer a;
  size_t at = t.find('@');
  if (at != std::string::npos) {
    a.by = std::string(trim(t.substr(at + 1)));
    t = std::string(trim(t.substr(0, at)));
    if (a.by.empty()) return std::nullopt;
  }
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "yes" || t == "y" || t == "approve" || t == "approved" || t == "done" || t == "ok") a.yes = true;
  else if (t == "no" || t == "n" || t == "reject" || t == "rejected") a.yes = false;
  else return std::nullopt;
  a.done = t == "done";
  return a;
}

// Reads stdin lines on a thread of its own (blocking reads; stdin's flags stay untouched)
// and hands them to the loop.
struct Answers::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(sys::Env& e) : env(e), timer(e.timer()) {}
  sys::Env& env;
  std::unique_ptr<sys::Timer> timer;
  std::string op;
  bool yes_all = false, drill = false;
  std::map<std::string, GivenAnswer> given;
  bool reader_started = false, stdin_closed = false;
  struct Pending {
    plugin::Question q;
    std::function<void(plugin::Answer)> cb;
    std::vector<std::string> refused;
  };
  std::optional<Pending> pending;

  void start_reader() {
    if (reader_started) return;
    reader_started = true;
    auto self = shared_from_this();
    std::thread([self] {
      std::string line;
      while (std::getline(std::cin, line)) {
        self->env.post([self, line] { self->on_line(line); });
      }
      self->env.post([self] { self->on_eof(); });
    }).detach();
  }

  void prompt() {
    const auto& q = pending->q;
    std::string choices = q.kind == "manual" ? "done/no" : "yes/no";
    fmt::print(stderr, "\n>>> [{}] {}\n", q.step_id, q.prompt);
    if (q.second_person)
      fmt::print(stderr, "    Needs a second person: answer as yes@NAME (not {}).\n", op);
    fmt::print(stderr, "    Answer ({}{}): ", choices, q.timeout ? fmt::format(", within {}", format_timeout(*q.timeout)) : "");
    std::fflush(stderr);
  }

  static std::string format_timeout(Millis m) { return format_duration_short(m); }

  std::deque<std::string> early;  // lines typed before their question was asked

  void on_line(const std::string& line) {
    if (!pending) {
      early.push_back(line);
      return;
    }
    auto a = parse_answer(line);
    if (!a) {
      fmt::print(stderr, "    Please answer yes or no (or yes@NAME).\n");
      prompt();
      return;
    }
    std::string by = a->by.empty() ? op : a->by;
    if (pending->q.second_person && by == op) {
      std::string r = fmt::format("answer from {} at the terminal refused: this approval needs a second person, "
                                  "not the operator who started the run",
                                  by);
      pending->refused.push_back(r);
      fmt::print(stderr, "    {}\n", r);
      prompt();
      return;
    }
    plugin::Answer ans;
    ans.answered = true;
    ans.yes = a->yes;
    ans.by = by;
    ans.via = isatty(0) ? "terminal" : "stdin";
    finish(std::move(ans));
  }

  void on_eof() {
    stdin_closed = true;
    if (!pending) return;
    plugin::Answer ans;
    ans.note = "no answer: stdin closed (use --answer STEP=yes or --yes)";
    finish(std::move(ans));
  }

  void finish(plugin::Answer ans) {
    if (!pending) return;
    timer->cancel();
    auto p = std::move(*pending);
    pending.reset();
    for (auto& r : p.refused) ans.refused.push_back(r);
    auto cb = p.cb;
    env.post([cb, ans] { cb(ans); });
  }
};

Answers::Answers(sys::Env& env, std::string operator_name, bool yes_all, bool drill,
                 std::map<std::string, GivenAnswer> given)
    : impl_(std::make_shared<Impl>(env)) {
  impl_->op = std::move(operator_name);
  impl_->yes_all = yes_all;
  impl_->drill = drill;
  impl_->given = std::move(given);
}

Answers::~Answers() = default;

void Answers::ask(const plugin::Question& q, std::function<void(plugin::Answer)> cb) {
  auto& m = *impl_;
  std::vector<std::string> refused;
  auto done = [&](plugin::Answer a) {
    a.refused.insert(a.refused.begin(), refused.begin(), refused.end());
    m.env.post([cb, a] { cb(a); });
  };
  if (auto it = m.given.find(q.step_id); it != m.given.end()) {
    std::string by = it->second.by.empty() ? m.op : it->second.by;
    if (q.second_person && by == m.op) {
      refused.push_back(fmt::format("--answer from {} refused: this approval needs a second person, not the "
                                    "operator who started the run (answer as {}=yes@NAME)",
                                    by, q.step_id));
    } else {
      plugin::Answer a;
      a.answered = true;
      a.yes = it->second.yes;
      a.by = by;
      a.via = "--answer";
      return done(a);
    }
  }
  if (m.yes_all) {
    if (q.second_person && !m.drill) {
      refused.push_back("--yes does not satisfy a second-person approval outside a drill");
    } else {
      plugin::Answer a;
      a.answered = true;
      a.yes = true;
      a.by = m.drill ? "drill" : m.op;
      a.via = "--yes";
      return done(a);
    }
  }
  if (!interactive_ || (m.stdin_closed && m.early.empty())) {
    plugin::Answer a;
    a.note = fmt::format("no answer for step '{}': no --answer {}=…, no --yes, and no terminal to ask", q.step_id, q.step_id);
    return done(a);
  }
  m.pending = Impl::Pending{q, cb, refused};
  m.start_reader();
  m.prompt();
  while (m.pending && !m.early.empty()) {
    std::string line = m.early.front();
    m.early.pop_front();
    m.on_line(line);
  }
  if (!m.pending) return;
  if (q.timeout) {
    auto self = impl_;
    Millis t = *q.timeout;
    m.timer->arm(t, [self, t] {
      plugin::Answer a;
      a.note = fmt::format("unanswered after {}", Impl::format_timeout(t));
      fmt::print(stderr, "\n    {}: treated as rejected.\n", a.note);
      self->finish(std::move(a));
    });
  }
}

void Answers::cancel(const std::string&) {
  if (!impl_->pending) return;
  plugin::Answer a;
  a.note = "cancelled";
  impl_->finish(std::move(a));
}

}  // namespace rb::exec
