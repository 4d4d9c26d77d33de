#include <doctest/doctest.h>

#include "expr/expr.h"
#include "expr/template.h"

using namespace rb;

namespace {
struct MapScope : expr::Scope {
  Value inputs = Value{{"n", 5}, {"name", "db"}, {"secret", "hunter2"}};
  Value steps = Value{{"assess-damage", {{"outputs", {{"users", 60}}}, {"status", "succeeded"}}}};
  Value result = Value{{"rows", Value::array({Value{{"n", 3}}})}, {"json", {{"healthy", true}}}, {"stdout", "ok\n"}};
  Value run = Value{{"id", "R1"}, {"drill", true}};
  const Value* root(const std::string& n) const override {
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
  bool is_secret(const std::string& p) const override { return p == "inputs.secret"; }
};

Value eval(const std::string& text, bool* tainted = nullptr) {
  expr::Error err;
  auto e = expr::parse(text, {1, 1}, &err);
  REQUIRE_MESSAGE(e, err.message);
  MapScope s;
  auto r = expr::evaluate(*e, s, &err);
  REQUIRE_MESSAGE(r, err.message);
  if (tainted) *tainted = r->tainted;
  return r->value;
}

std::string eval_error(const std::string& text) {
  expr::Error err;
  auto e = expr::parse(text, {1, 1}, &err);
  if (!e) return "parse: " + err.message;
  MapScope s;
  auto r = expr::evaluate(*e, s, &err);
  return r ? "" : err.message;
}
}  // namespace

TEST_CASE("ExprTest.ArithmeticAndComparison") {
  CHECK(eval("1 + 2 * 3") == 7);
  CHECK(eval("(1 + 2) * 3") == 9);
  CHECK(eval("7 / 2") == 3.5);
  CHECK(eval("8 / 2") == 4);
  CHECK(eval("inputs.n - 1") == 4);
  CHECK(eval("inputs.n >= 5 && inputs.n < 6") == true);
  CHECK(eval("!(inputs.n == 5) || false") == false);
  CHECK(eval("'a' + 'b' == \"ab\"") == true);
  CHECK(eval("1 == 1.0") == true);
  CHECK(eval("null == null") == true);
}

TEST_CASE("ExprTest.NamesWithHyphensIndexingAndFunctions") {
  CHECK(eval("steps.assess-damage.outputs.users < inputs.n * 20") == true);
  CHECK(eval("result.rows[0].n") == 3);
  CHECK(eval("result.rows[-1].n") == 3);
  CHECK(eval("result.json.healthy") == true);
  CHECK(eval("result.json['healthy']") == true);
  CHECK(eval("len(result.rows)") == 1);
  CHECK(eval("contains(result.stdout, 'ok')") == true);
  CHECK(eval("matches('v2-broken', '^v[0-9]+-')") == true);
  CHECK(eval("starts_with(inputs.name, 'd')") == true);
  CHECK(eval("int('42') + number('0.5')") == 42.5);
  CHECK(eval("string(12)") == "12");
  CHECK(eval("env.HOME") == "/root");
  CHECK(eval("env.NOPE") == nullptr);
  CHECK(eval("run.drill") == true);
  CHECK(eval("result.json.missing") == nullptr);
}

TEST_CASE("ExprTest.SecretTaintFollowsValues") {
  bool t = false;
  eval("inputs.secret + '-suffix'", &t);
  CHECK(t);
  eval("inputs.name", &t);
  CHECK_FALSE(t);
  eval("len(inputs.secret)", &t);
  CHECK(t);
}

TEST_CASE("ExprTest.ErrorsAreValuesWithOffsets") {
  expr::Error err;
  CHECK_FALSE(expr::parse("a === b", {1, 1}, &err));
  CHECK(err.offset == 4);
  CHECK_FALSE(expr::parse("'open", {1, 1}, &err));
  CHECK(err.message == "unterminated string literal");
  CHECK_FALSE(expr::parse("len(", {1, 1}, &err));
  CHECK(eval_error("result.rows[5].n") == "index 5 is out of range (the list has 1 item)");
  CHECK(eval_error("inputs.name < 3") == "cannot compare a string with a number");
  CHECK(eval_error("1 / 0") == "division by zero");
  CHECK(eval_error("nope.x") == "unknown name 'nope'");
  CHECK(eval_error("int('x')") == "int(): 'x' is not an integer");
  CHECK(eval_error("999999999999999999 * 999999999999999999") == "integer overflow");
  CHECK(eval_error("((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))"
                   "))))))))))))))))))))))))))))))))))))))))))))") != "");
}

TEST_CASE("ExprTest.NameRefsForTheValidator") {
  expr::Error err;
  auto e = expr::parse("steps.a-b.outputs.x + inputs['y'] + len(result.rows)", {1, 1}, &err);
  REQUIRE(e);
  auto refs = expr::name_refs(*e);
  REQUIRE(refs.size() == 3);
  CHECK(refs[0].path == std::vector<std::string>{"steps", "a-b", "outputs", "x"});
  CHECK(refs[1].path == std::vector<std::string>{"inputs", "y"});
  CHECK(refs[2].path == std::vector<std::string>{"result", "rows"});
}

TEST_CASE("TemplateTest.SingleExpressionKeepsItsType") {
  expr::Error err;
  MapScope s;
  auto t = expr::parse_template("${{ inputs.n }}", {1, 1}, &err);
  REQUIRE(t);
  CHECK(t->single_expression());
  CHECK(expr::render(*t, s, &err)->value == 5);
  auto t2 = expr::parse_template("n=${{ inputs.n }} on ${{inputs.name}}", {1, 1}, &err);
  REQUIRE(t2);
  CHECK(expr::render(*t2, s, &err)->value == "n=5 on db");
  CHECK_FALSE(expr::parse_template("x ${{ unclosed", {1, 1}, &err));
}

TEST_CASE("ExprTest.BoundedDepthAndSize") {
  std::string deep = std::string(200, '(') + "1" + std::string(200, ')');
  CHECK(eval_error(deep) == "parse: expression nested too deeply (over 100 levels)");
  CHECK(eval_error(std::string(200, '!') + "true") == "parse: expression nested too deeply (over 100 levels)");
  std::string sum = "1";
  for (int i = 0; i < 150; ++i) sum += " + 1";
  CHECK(eval_error(sum) == "parse: expression nested too deeply (over 100 levels)");
  CHECK(eval_error("1e999 > 0") == "parse: number literal out of range");  // found by fuzz_expr
  CHECK(eval_error("iso_time(17954101000)").starts_with("iso_time(): time out of range"));  // fuzz_expr: UB
  CHECK(eval_error("'" + std::string(70000, 'a') + "'").starts_with("parse: expression is too long (70002 bytes"));
  // A chain of && / || is one flat node: long conditions stay valid and short-circuit.
  std::string chain = "inputs.n == 5";
  for (int i = 0; i < 3000; ++i) chain += " && inputs.n == 5";
  CHECK(eval(chain) == true);
  CHECK(eval(chain + " && inputs.n == 6") == false);
  CHECK(eval("false || false || inputs.n") == true);
  CHECK(eval("inputs.n > 1 || inputs.nope.x") == true);  // the second operand is never evaluated
}

TEST_CASE("ExprTest.MatchesIsLinear") {
  std::string big(1 << 20, 'a');
  expr::Error err;
  auto e = expr::parse("matches(result.stdout, '^a*$') && !matches(result.stdout, '(a+)+b$')", {1, 1}, &err);
  REQUIRE(e);
  MapScope s;
  s.result["stdout"] = big;
  auto r = expr::evaluate(*e, s, &err);
  REQUIRE_MESSAGE(r, err.message);
  CHECK(r->value == true);
  CHECK(eval("matches('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', '(a+)+$')") == false);
  CHECK(eval_error("matches('a', '(a')").starts_with("invalid regular expression: missing )"));
  CHECK(eval_error("matches('a', '(?=a)')").starts_with("invalid regular expression"));
  CHECK(expr::regex_error("^[a-z]+$").empty());
  CHECK(!expr::regex_error("a{2,1}").empty());
}
