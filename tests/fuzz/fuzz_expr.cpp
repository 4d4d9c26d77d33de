// libFuzzer target: the expression language and the templates built on it. The first byte
// picks a mode, the rest is the input:
//   0  expression: parse, name_refs, positions, evaluate (matches() through RE2 included)
//   1  `${{ }}` template: parse and render as text
//   2  shell command: shell::analyze, and rewrite when every `${{ }}` is in a safe place
//   3  argv list (items split at NUL): shell::analyze_argv
//   4  http URL template: http::render_url against values that try to break out
//   5  matches(subject, pattern): the input split at the first NUL
// Must never crash, hang, leak or trip a sanitizer, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "expr/expr.h"
#include "expr/template.h"
#include "http/url.h"
#include "shell/script.h"

namespace {

struct FuzzScope : rb::expr::Scope {
  rb::Value inputs = rb::Value{{"a", "x"},
                               {"n", 5},
                               {"q", "1/../../admin?delete=all#"},
                               {"host", "127.0.0.1"},
                               {"base", "http://127.0.0.1:8080/api"},
                               {"list", rb::Value::array({1, 2, 3})},
                               {"s", std::string(30, 'a') + "!"}};
  rb::Value steps = rb::Value{{"s1", {{"outputs", {{"n", 3}}}, {"status", "succeeded"}}}};
  rb::Value result = rb::Value{{"stdout", std::string(4096, 'a')}, {"status", 200}};
  rb::Value run = rb::Value{{"id", "R1"}, {"elapsed", 1.5}};
  const rb::Value* root(const std::string& n) const override {
    if (n == "inputs") return &inputs;
    if (n == "steps") return &steps;
    if (n == "result") return &result;
    if (n == "run") return &run;
    return nullptr;
  }
  std::optional<std::string> env(const std::string& n) const override {
    if (n == "HOME") return "/root";
    return std::nullopt;
  }
  bool is_secret(const std::string& p) const override { return p == "inputs.a"; }
};

struct FuzzRenderer : rb::plugin::Renderer {
  FuzzScope scope;
  rb::Value render(const rb::yaml::Node& n) override { return n.scalar; }
  rb::Value eval(const rb::expr::Expression& e) override {
    rb::expr::Error err;
    auto r = rb::expr::evaluate(e, scope, &err);
    if (!r) throw rb::plugin::RenderError{e.pos, err.message};
    return r->value;
  }
};

void expression(const std::string& text) {
  rb::expr::Error err;
  auto e = rb::expr::parse(text, {1, 1}, &err);
  if (!e) return;
  for (auto& ref : rb::expr::name_refs(*e)) (void)e->at(ref.offset);
  FuzzScope scope;
  (void)rb::expr::evaluate(*e, scope, &err);
}

void template_text(const std::string& text) {
  rb::expr::Error err;
  auto t = rb::expr::parse_template(text, {1, 1}, &err);
  if (!t) return;
  FuzzScope scope;
  (void)rb::expr::render(*t, scope, &err);
}

void shell_command(const std::string& text) {
  namespace shell = rb::plugins::shell;
  auto a = shell::analyze(text);
  if (a.error) return;
  std::vector<std::string> names;
  bool safe = true;
  for (size_t k = 0; k < a.interps.size(); ++k) {
    names.push_back("RB_ARG_" + std::to_string(k + 1));
    if (!shell::is_safe(a.interps[k].place)) {
      safe = false;
      (void)shell::refusal(a.interps[k]);
    }
  }
  if (safe) (void)shell::rewrite(text, a, names);
}

void argv_list(const std::string& text) {
  std::vector<std::string> argv;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\0') {
      argv.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  (void)rb::plugins::shell::analyze_argv(argv);
}

void url(const std::string& text) {
  rb::yaml::Node n;
  n.kind = rb::yaml::Node::Kind::Scalar;
  n.scalar = text;
  n.pos = {1, 1};
  FuzzRenderer r;
  try {
    (void)rb::plugins::http::render_url(n, r);
  } catch (const rb::plugin::RenderError&) {
  }
}

void matches(const std::string& text) {
  size_t nul = text.find('\0');
  std::string subject = nul == std::string::npos ? text : text.substr(0, nul);
  std::string pattern = nul == std::string::npos ? "" : text.substr(nul + 1);
  FuzzScope scope;
  scope.inputs["subject"] = subject;
  scope.inputs["pattern"] = pattern;
  rb::expr::Error err;
  auto e = rb::expr::parse("matches(inputs.subject, inputs.pattern)", {1, 1}, &err);
  if (e) (void)rb::expr::evaluate(*e, scope, &err);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: expression(text); break;
    case 1: template_text(text); break;
    case 2: shell_command(text); break;
    case 3: argv_list(text); break;
    case 4: url(text); break;
    case 5: matches(text); break;
  }
  return 0;
}
