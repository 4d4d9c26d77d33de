// runbook approve RUN_ID STEP yes|no|done: an answer from any terminal or machine that
// reaches the store (contract §3 v2). Checked here against the timeline (the step must be
// waiting; the second-person rule), then handed to the engine that waits through the
// store; that engine checks again when it takes it.
#include <fmt/format.h>

#include "base/events.h"
#include "cli/answering.h"
#include "cli/commands.h"
#include "cli/driver.h"
#include "exec/answers.h"

namespace rb::cli {

std::optional<journal::Event> waiting_question(const std::vector<journal::Event>& events, const std::string& step,
                                               std::string* waiting_now) {
  std::optional<journal::Event> open;
  std::map<std::string, bool> pending;
  for (auto& e : events) {
    if (e.type == ev::kApprovalRequested) {
      pending[e.step] = true;
      if (e.step == step) open = e;
    } else if (e.type == ev::kApprovalAnswered || e.type == ev::kRunInterrupted || e.type == ev::kRunEnded) {
      if (e.type == ev::kApprovalAnswered) pending[e.step] = false;
      else pending.clear();
      if (e.type != ev::kApprovalAnswered || e.step == step) open.reset();
    }
  }
  for (auto& [s, p] : pending)
    if (p) *waiting_now = s;
  return open;
}

AnswerCheck check_answer(const journal::RunInfo& run, const std::vector<journal::Event>& events,
                         const std::string& step, const std::string& answer, const std::string& by) {
  AnswerCheck c;
  auto a = exec::parse_answer(answer);
  if (!a || !a->by.empty()) {
    c.verdict = AnswerVerdict::BadAnswer;
    return c;
  }
  if (run.status != "running") {
    c.verdict = AnswerVerdict::NotRunning;
    return c;
  }
  c.question = waiting_question(events, step, &c.waiting_now);
  if (!c.question) c.verdict = AnswerVerdict::NotWaiting;
  else if (c.question->data.value("second_person", false) && exec::same_person(by, run.operator_name))
    c.verdict = AnswerVerdict::SecondPerson;
  else if (c.question->data.value("kind", std::string()) == "approval" && a->done)
    c.verdict = AnswerVerdict::BadAnswer;
  return c;
}

int cmd_approve(const Global& g, const ApproveFlags& f) {
  std::string by = operator_name(f.as);
  if (!exec::valid_identity(by)) {
    error(fmt::format("'{}' is not a valid name (letters, digits, . _ @ -, not starting with @)", by));
    return kInvalid;
  }
  auto answer = exec::parse_answer(f.answer);
  if (!answer || !answer->by.empty()) {
    error(fmt::format("'{}' is not yes, no or done", f.answer));
    return kInvalid;
  }
  int code = kEngine;
  auto store = open_existing_store_or_report(g, &code);
  if (!store) return code;
  auto run = store->run(f.run_id);
  if (!run) {
    error(no_run_message(g, *store, f.run_id));
    return kInvalid;
  }
  auto c = check_answer(*run, store->events(run->id), f.step, f.answer, by);
  switch (c.verdict) {
    case AnswerVerdict::Ok: break;
    case AnswerVerdict::NotRunning:
      error(fmt::format("run {} is {}: nothing waits for an answer{}", run->id, run->status,
                        run->status == "interrupted"
                            ? fmt::format(" (answer when you resume it: runbook{} resume {} --answer {}={})",
                                          store_flag(g), run->id, f.step, f.answer)
                            : ""));
      return kInvalid;
    case AnswerVerdict::NotWaiting:
      error(fmt::format("step '{}' of run {} is not waiting for an answer{}", f.step, run->id,
                        c.waiting_now.empty() ? "" : fmt::format(" ('{}' is)", c.waiting_now)));
      return kInvalid;
    case AnswerVerdict::SecondPerson:
      error(fmt::format("{} started run {}: approval '{}' needs a second person, who answers with `runbook{} approve "
                        "{} {} yes|no --as NAME`",
                        by, run->id, f.step, store_flag(g), run->id, f.step));
      return kInvalid;
    case AnswerVerdict::BadAnswer:
      error(fmt::format("'{}' is an approval: answer yes or no", f.step));
      return kInvalid;
  }
  Value req = {{"step", f.step}, {"answer", f.answer}, {"by", by}, {"via", "approve"}};
  if (!f.comment.empty()) req["comment"] = f.comment;
  if (auto s = store->post_request(run->id, "answer", req); !s.ok()) {
    error(s.message());
    return kEngine;
  }
  if (g.json) fmt::print("{}\n", Value{{"run", run->id}, {"step", f.step}, {"answer", f.answer}, {"by", by}}.dump());
  else fmt::print("answer recorded: {} to '{}' of run {} by {}; its engine takes it within a second\n", f.answer, f.step,
                  run->id, by);
  return kOk;
}

}  // namespace rb::cli
