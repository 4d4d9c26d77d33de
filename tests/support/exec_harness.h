// The executor on the fake Env: a runbook from YAML text, the real built-in plugins (the
// shell plugin's processes are simulated by FakeEnv), a journal without a store that
// keeps every committed event, and scripted answers for approvals.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builtin.h"
#include "exec/executor.h"
#include "parse/runbook_parser.h"
#include "support/fake_env.h"
#include "yaml/node.h"

namespace rb::test {

/// Answers after a simulated delay; unlisted steps are never answered (until cancel()).
class FakeAnswers : public plugin::Interaction {
 public:
  explicit FakeAnswers(FakeEnv& env) : env_(env) {}
  struct Scripted {
    Millis after{0};
    bool yes = true;
  };
  std::map<std::string, Scripted> script;
  void ask(const plugin::Question& q, std::function<void(plugin::Answer)> cb) override {
    pending_ = cb;
    auto it = script.find(q.step_id);
    if (it == script.end()) return;
    bool yes = it->second.yes;
    seq_ = env_.schedule(it->second.after, [this, yes] {
      seq_ = 0;
      plugin::Answer a;
      a.answered = true;
      a.yes = yes;
      a.by = "tester";
      a.via = "test";
      auto cb2 = std::exchange(pending_, nullptr);
      if (cb2) cb2(a);
    });
  }
  void cancel(const std::string&) override {
    if (!pending_) return;
    if (seq_) env_.unschedule(seq_);
    plugin::Answer a;
    a.note = "cancelled";
    env_.post([cb = std::exchange(pending_, nullptr), a] { cb(a); });
  }

 private:
  FakeEnv& env_;
  std::function<void(plugin::Answer)> pending_;
  long long seq_ = 0;
};

class Harness {
 public:
  Harness() : answers(env), journal(nullptr, env, masker) {
    plugins::register_builtins(reg, {});
    journal.observe([this](const journal::Event& e) { events.push_back(e); });
  }

  /// Loads a runbook; the test fails on any validation error.
  void load(const std::string& text) {
    Diagnostics d("test.yaml");
    yaml::Node root;
    REQUIRE(yaml::load_string(text, root, d));
    rb = parse::parse_runbook(root, reg, d);
    parse::validate_runbook(rb, text, reg, d);
    for (auto& x : d.list()) {
      INFO(x.format());
      CHECK(x.severity != Severity::Error);
    }
  }

  exec::ExecOptions options() {
    exec::ExecOptions o;
    o.run_id = "R-test";
    o.incident_id = "INC-test";
    o.operator_name = "tester";
    o.run_start = env.wall();
    o.cwd = "/fake";
    return o;
  }

  /// Runs `text` to its end (or until `limit` of simulated time).
  exec::RunResult run(const std::string& text, std::optional<exec::ExecOptions> opts = std::nullopt) {
    load(text);
    return go(opts ? *opts : options());
  }

  exec::RunResult go(exec::ExecOptions o, const exec::ResumePoint* resume = nullptr) {
    journal::RunInfo info;
    info.id = o.run_id;
    journal.start_new(info, o.run_start);
    ex = std::make_unique<exec::Executor>(rb, o, journal, reg, answers, masker, env);
    result.reset();
    auto done = [this](exec::RunResult r) { result = r; };
    if (resume) ex->resume(*resume, done);
    else ex->start(done);
    env.run_until([this] { return result.has_value(); });
    REQUIRE(result.has_value());
    return *result;
  }

  /// Events of `type` (for `step` when given).
  std::vector<journal::Event> of(const std::string& type, const std::string& step = "") const {
    std::vector<journal::Event> out;
    for (auto& e : events)
      if (e.type == type && (step.empty() || e.step == step)) out.push_back(e);
    return out;
  }
  /// The time (seconds since the run started) of the first such event; -1 if none.
  double t(const std::string& type, const std::string& step = "") const {
    auto v = of(type, step);
    return v.empty() ? -1 : v.front().t;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (auto& e : events) out.push_back(e.type + (e.step.empty() ? "" : ":" + e.step));
    return out;
  }

  FakeEnv env;
  FakeAnswers answers;
  plugin::Registry reg;
  Masker masker;
  exec::Journal journal;
  model::Runbook rb;
  std::vector<journal::Event> events;
  std::unique_ptr<exec::Executor> ex;
  std::optional<exec::RunResult> result;
};

}  // namespace rb::test
