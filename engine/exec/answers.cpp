#include "exec/answers.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <fmt/format.h>

#include "base/text.h"

namespace rb::exec {

std::optional<GivenAnswer> parse_answer(const std::string& text) {
  std::string t(trim(text));
  GivenAnswer a;
  size_t at = t.find('@');
  if (at != std::string::npos) {
    a.by = std::string(trim(t.substr(at + 1)));
    t = std::string(trim(t.substr(0, at)));
    if (!valid_identity(a.by)) return std::nullopt;
  }
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "yes" || t == "y" || t == "approve" || t == "approved" || t == "done" || t == "ok") a.yes = true;
  else if (t == "no" || t == "n" || t == "reject" || t == "rejected") a.yes = false;
  else return std::nullopt;
  a.done = t == "done";
  return a;
}

bool valid_identity(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '@') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' || c == '-';
  });
}

bool same_person(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

struct Answers::Impl {
  Impl(sys::Env& e, Config c) : env(e), cfg(std::move(c)), timer(e.timer()) {}
  sys::Env& env;
  Config cfg;
  std::unique_ptr<sys::Timer> timer;
  std::deque<std::string> early;  // piped lines that came before their question
  struct Pending {
    View view;
    std::function<void(plugin::Answer)> cb;
  };
  std::optional<Pending> pending;
  std::function<void(const View*)>* on_view = nullptr;

  void show() {
    if (on_view && *on_view) (*on_view)(pending ? &pending->view : nullptr);
  }

  void refuse(const std::string& why) {
    pending->view.notes.push_back(why);
    show();
  }

  void finish(plugin::Answer ans) {
    if (!pending) return;
    timer->cancel();
    auto p = std::move(*pending);
    pending.reset();
    for (auto& r : p.view.notes) ans.refused.push_back(r);
    show();
    env.post([cb = p.cb, ans] { cb(ans); });
  }

  // The rules every answer passes, wherever it comes from; empty when it may answer.
  std::string may_not_answer(const std::string& by, const std::string& word) const {
    const plugin::Question& q = pending->view.q;
    if (!valid_identity(by)) return fmt::format("'{}' is not a valid name", by);
    if (q.second_person && !cfg.started_by.empty() && same_person(by, cfg.started_by))
      return fmt::format("{} started the run: this approval needs a second person", by);
    if (q.second_person && same_person(by, cfg.operator_name))
      return fmt::format("{} {} the run: this approval needs a second person", by,
                         cfg.started_by.empty() ? "started" : "resumed");
    if (q.kind == "approval" && word == "done") return "an approval is answered yes or no";
    return "";
  }

  void answer(bool yes, const std::string& by, const std::string& via, const std::string& comment,
              const std::string& source = "") {
    plugin::Answer a;
    a.source = source;
    a.answered = true;
    a.yes = yes;
    a.by = by;
    a.via = via;
    a.comment = comment;
    finish(std::move(a));
  }
};

Answers::Answers(sys::Env& env, Config c) : impl_(std::make_shared<Impl>(env, std::move(c))) { impl_->on_view = &on_view; }

Answers::~Answers() = default;

namespace {

std::string word_of(const GivenAnswer& a) { return a.done ? "done" : a.yes ? "yes" : "no"; }

}  // namespace

void Answers::ask(const plugin::Question& q, std::function<void(plugin::Answer)> cb) {
  auto& m = *impl_;
  m.pending = Impl::Pending{View{q, std::nullopt, q.kind == "manual" ? "done/no" : "yes/no", "", {}}, cb};
  View& v = m.pending->view;
  if (auto it = m.cfg.given.find(q.step_id); it != m.cfg.given.end()) {
    std::string by = it->second.by.empty() ? m.cfg.operator_name : it->second.by;
    std::string why = m.may_not_answer(by, word_of(it->second));
    if (why.empty()) return m.answer(it->second.yes, by, "--answer", "");
    v.notes.push_back(fmt::format("--answer from {} refused: {}", by, why));
  }
  if (m.cfg.yes_all) {
    if (!q.second_person || m.cfg.drill) return m.answer(true, m.cfg.drill ? "drill" : m.cfg.operator_name, "--yes", "");
    v.notes.push_back("--yes does not satisfy a second-person approval outside a drill");
  }
  if (q.timeout) {
    v.deadline = m.env.wall() + *q.timeout;
    std::weak_ptr<Impl> w = impl_;
    Millis t = *q.timeout;
    m.timer->arm(t, [w, t] {
      auto self = w.lock();
      if (!self) return;
      plugin::Answer a;
      a.timed_out = true;
      a.note = fmt::format("unanswered after {}", format_duration_short(t));
      self->finish(std::move(a));
    });
  }
  v.hint = q.second_person ? fmt::format("a second person answers: {} {} yes|no --as NAME", m.cfg.approve_cmd, q.step_id)
                           : fmt::format("or from anywhere: {} {} {}", m.cfg.approve_cmd, q.step_id,
                                         q.kind == "manual" ? "done|no" : "yes|no");
  m.show();
  while (m.pending && !m.early.empty()) {
    std::string line = m.early.front();
    m.early.pop_front();
    typed_line(line, false);
  }
}

void Answers::cancel(const std::string&) {
  if (!impl_->pending) return;
  plugin::Answer a;
  a.note = "cancelled";
  impl_->finish(std::move(a));
}

void Answers::typed_line(const std::string& line, bool terminal) {
  auto& m = *impl_;
  if (!m.pending) {
    if (!terminal && !trim(line).empty()) m.early.push_back(line);
    return;
  }
  if (trim(line).empty()) return;
  auto a = parse_answer(line);
  std::string choices = m.pending->view.choices;
  if (!a) return m.refuse(fmt::format("'{}' is not an answer: type {}", ellipsize(line, 40), choices));
  if (!a->by.empty() && !same_person(a->by, m.cfg.operator_name))
    return m.refuse(fmt::format("answers typed here are {}'s; {} answers from their own terminal: {}",
                                m.cfg.operator_name, a->by, m.pending->view.hint));
  std::string why = m.may_not_answer(m.cfg.operator_name, word_of(*a));
  if (!why.empty()) return m.refuse(fmt::format("answer from {} refused: {}", m.cfg.operator_name, why));
  m.answer(a->yes, m.cfg.operator_name, terminal ? "terminal" : "stdin", "");
}

Status Answers::external(const std::string& step, const std::string& answer, const std::string& by,
                         const std::string& via, const std::string& comment, const std::string& source) {
  auto& m = *impl_;
  if (!m.pending || m.pending->view.q.step_id != step)
    return Status::Invalid(fmt::format("step '{}' is not waiting for an answer", step));
  auto a = parse_answer(answer);
  if (!a || !a->by.empty()) return Status::Invalid(fmt::format("'{}' is not yes, no or done", answer));
  std::string why = m.may_not_answer(by, word_of(*a));
  if (!why.empty()) {
    m.refuse(fmt::format("answer from {} ({}) refused: {}", by, via, why));
    return Status::Invalid(why);
  }
  m.answer(a->yes, by, via, comment, source);
  return Status::OK();
}

std::string Answers::waiting() const { return impl_->pending ? impl_->pending->view.q.step_id : ""; }

}  // namespace rb::exec
