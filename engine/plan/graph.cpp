#include "plan/graph.h"

#include <algorithm>

namespace rb::plan {

std::vector<size_t> successors(const model::Runbook& rb, size_t i) {
  std::vector<size_t> out;
  for (const model::Target* t : rb.steps[i].targets()) {
    auto it = rb.step_index.find(t->step);
    if (it == rb.step_index.end()) continue;
    if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
  }
  return out;
}

bool ends_recovered(const model::Step& s) {
  return (s.kind == model::StepKind::End && s.end == model::EndState::Recovered) || s.implicit_end;
}

bool is_terminal(const model::Step& s) { return s.kind == model::StepKind::End || s.implicit_end; }

std::vector<bool> reachable_from(const model::Runbook& rb, size_t from) {
  std::vector<bool> seen(rb.steps.size(), false);
  if (from >= rb.steps.size()) return seen;
  std::vector<size_t> stack{from};
  seen[from] = true;
  while (!stack.empty()) {
    size_t u = stack.back();
    stack.pop_back();
    for (size_t v : successors(rb, u)) {
      if (!seen[v]) {
        seen[v] = true;
        stack.push_back(v);
      }
    }
  }
  return seen;
}

std::vector<bool> can_reach_end(const model::Runbook& rb) {
  size_t n = rb.steps.size();
  std::vector<std::vector<size_t>> preds(n);
  for (size_t i = 0; i < n; ++i)
    for (size_t v : successors(rb, i)) preds[v].push_back(i);
  std::vector<bool> ok(n, false);
  std::vector<size_t> stack;
  for (size_t i = 0; i < n; ++i) {
    if (is_terminal(rb.steps[i])) {
      ok[i] = true;
      stack.push_back(i);
    }
  }
  while (!stack.empty()) {
    size_t u = stack.back();
    stack.pop_back();
    for (size_t p : preds[u]) {
      if (!ok[p]) {
        ok[p] = true;
        stack.push_back(p);
      }
    }
  }
  return ok;
}

namespace {

Millis declared(const model::Step& s) { return s.budget.value_or(Millis(0)); }

// Longest path to a recovered end on the DAG left after dropping DFS back edges.
struct Longest {
  std::vector<std::optional<Millis>> best;
  std::vector<long> choice;  // successor on the best path, -1 at an end
};

Longest compute(const model::Runbook& rb, const std::function<Millis(const model::Step&)>& budget) {
  size_t n = rb.steps.size();
  Longest L;
  L.best.assign(n, std::nullopt);
  L.choice.assign(n, -1);
  std::vector<int> state(n, 0);  // 0 new, 1 on stack, 2 done
  std::vector<std::vector<size_t>> succ(n);
  for (size_t i = 0; i < n; ++i) succ[i] = successors(rb, i);

  auto finish = [&](size_t u) {
    const model::Step& s = rb.steps[u];
    Millis own = budget(s);
    if (s.kind == model::StepKind::End) {
      if (s.end == model::EndState::Recovered) L.best[u] = own;
      return;
    }
    std::optional<Millis> best;
    long pick = -1;
    for (size_t v : succ[u]) {
      if (state[v] != 2 || !L.best[v]) continue;  // back edge or dead end
      if (!best || *L.best[v] > *best) {
        best = L.best[v];
        pick = static_cast<long>(v);
      }
    }
    if (s.implicit_end && (!best || Millis(0) > *best)) {
      best = Millis(0);
      pick = -1;
    }
    if (best) {
      L.best[u] = own + *best;
      L.choice[u] = pick;
    }
  };

  auto dfs = [&](size_t root) {
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto& [u, k] = stack.back();
      if (k < succ[u].size()) {
        size_t v = succ[u][k++];
        if (state[v] == 0) {
          state[v] = 1;
          stack.push_back({v, 0});
        }
        continue;
      }
      state[u] = 2;
      finish(u);
      stack.pop_back();
    }
  };
  if (auto it = rb.step_index.find(rb.start); it != rb.step_index.end()) dfs(it->second);
  for (size_t i = 0; i < n; ++i)
    if (state[i] == 0) dfs(i);
  return L;
}

}  // namespace

CriticalPath critical_path(const model::Runbook& rb, size_t from) {
  CriticalPath cp;
  if (from >= rb.steps.size()) return cp;
  Longest L = compute(rb, declared);
  if (!L.best[from]) return cp;
  cp.found = true;
  cp.total = *L.best[from];
  long cur = static_cast<long>(from);
  std::vector<bool> seen(rb.steps.size(), false);
  while (cur >= 0 && !seen[static_cast<size_t>(cur)]) {
    seen[static_cast<size_t>(cur)] = true;
    cp.steps.push_back(static_cast<size_t>(cur));
    if (!rb.steps[static_cast<size_t>(cur)].budget && rb.steps[static_cast<size_t>(cur)].kind != model::StepKind::End)
      ++cp.steps_without_budget;
    cur = L.choice[static_cast<size_t>(cur)];
  }
  return cp;
}

std::vector<std::optional<Millis>> remaining_budgets(const model::Runbook& rb) { return compute(rb, declared).best; }

std::vector<std::optional<Millis>> remaining_budgets(const model::Runbook& rb,
                                                     const std::function<Millis(const model::Step&)>& budget) {
  return compute(rb, budget).best;
}

}  // namespace rb::plan
