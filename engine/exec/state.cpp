#include "exec/state.h"

#include <cstdlib>
#include <fmt/format.h>

namespace rb::exec {

const Value* RunState::root(const std::string& name) const {
  if (name == "inputs") return &inputs;
  if (name == "result") return result;
  if (name == "steps") {
    if (steps_dirty_) {
      steps_value_ = Value::object();
      for (auto& s : rb_.steps) {
        auto it = steps.find(s.id);
        StepState st = it == steps.end() ? StepState{} : it->second;
        // A step that has not run has no outputs yet: null, so that reading one is a step
        // error ("has not run") instead of an empty value (contract §1: an unknown name is
        // a step error when it cannot be known statically).
        steps_value_[s.id] = {{"status", st.status},
                              {"outputs", st.status == "pending" ? Value(nullptr) : st.outputs},
                              {"attempts", st.attempts},
                              {"duration_ms", st.duration_ms},
                              {"error", st.error}};
      }
      steps_dirty_ = false;
    }
    return &steps_value_;
  }
  if (name == "run") {
    WallTime t = now ? now() : std::chrono::system_clock::now();
    double elapsed = static_cast<double>(to_unix_ms(t) - to_unix_ms(run_start)) / 1000.0;
    run_value_ = {{"id", run_id},
                  {"incident", incident_id},
                  {"operator", operator_name},
                  {"drill", drill},
                  {"started", rfc3339_ms(run_start)},
                  {"start_epoch", static_cast<double>(to_unix_ms(run_start)) / 1000.0},
                  {"runbook", rb_.id},
                  {"store", store},
                  {"elapsed", elapsed}};
    if (rto) {
      run_value_["rto"] = static_cast<double>(rto->count()) / 1000.0;
      run_value_["rto_remaining"] = static_cast<double>(rto->count()) / 1000.0 - elapsed;
    } else {
      run_value_["rto"] = nullptr;
      run_value_["rto_remaining"] = nullptr;
    }
    return &run_value_;
  }
  return nullptr;
}

std::optional<std::string> RunState::env(const std::string& name) const {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

bool RunState::is_secret(const std::string& dotted) const {
  if (dotted.starts_with("inputs.")) return secret_inputs.count(dotted.substr(7)) > 0;
  if (dotted.starts_with("steps.")) return secret_outputs.count(dotted) > 0;
  return false;
}

std::optional<Value> RunState::eval(const expr::Expression& e, const Value* res, std::string* err, bool* tainted) {
  const Value* saved = result;
  result = res;
  expr::Error x;
  auto r = expr::evaluate(e, *this, &x);
  result = saved;
  if (!r) {
    if (err) *err = x.message;
    return std::nullopt;
  }
  if (r->tainted) {
    if (r->value.is_string()) masker_.add(r->value.get<std::string>());
    else if (!r->value.is_null()) masker_.add(to_text(r->value));
  }
  if (tainted) *tainted = r->tainted;
  return r->value;
}

std::optional<bool> RunState::test(const expr::Expression& e, const Value* res, std::string* err) {
  auto v = eval(e, res, err);
  if (!v) return std::nullopt;
  return truthy(*v);
}

Value StateRenderer::eval(const expr::Expression& e) {
  std::string err;
  auto v = st_.eval(e, nullptr, &err);
  if (!v) throw plugin::RenderError{e.pos, masker_.mask(fmt::format("in '${{{{ {} }}}}': {}", e.text, err))};
  return *v;
}

Value StateRenderer::render_scalar(const yaml::Node& n) {
  if (!n.quoted && !expr::has_interpolation(n.scalar)) {
    long long i;
    double d;
    bool b;
    if (yaml::plain_is_null(n)) return nullptr;
    if (yaml::plain_is_int(n, &i)) return i;
    if (yaml::plain_is_bool(n, &b)) return b;
    if (yaml::plain_is_number(n, &d)) return d;
    return n.scalar;
  }
  if (!expr::has_interpolation(n.scalar)) return n.scalar;
  expr::Error err;
  auto t = expr::parse_template(n.scalar, n.pos, &err);
  if (!t) throw plugin::RenderError{n.pos, fmt::format("in '${{{{ }}}}': {}", err.message)};
  if (t->single_expression()) return eval(*t->parts[0].expr);
  std::string out;
  for (auto& p : t->parts) {
    out += p.literal;
    if (p.expr) out += to_text(eval(*p.expr));
  }
  return out;
}

std::vector<std::string> fleet_hosts_of(const Value& result) {
  std::vector<std::string> out;
  if (result.is_object() && result.contains("hosts") && result["hosts"].is_object())
    for (auto& [name, r] : result["hosts"].items()) out.push_back(name);
  return out;
}

Value StateRenderer::render(const yaml::Node& n) {
  switch (n.kind) {
    case yaml::Node::Kind::Null: return nullptr;
    case yaml::Node::Kind::Scalar: return render_scalar(n);
    case yaml::Node::Kind::Seq: {
      Value a = Value::array();
      for (auto& i : n.items) a.push_back(render(i));
      return a;
    }
    case yaml::Node::Kind::Map: {
      Value o = Value::object();
      for (auto& [k, v] : n.entries) o[k.scalar] = render(v);
      return o;
    }
  }
  return nullptr;
}

std::string StateRenderer::render_text(const std::string& text, SourcePos pos) {
  yaml::Node n;
  n.kind = yaml::Node::Kind::Scalar;
  n.scalar = text;
  n.quoted = true;
  n.pos = pos;
  return to_text(render_scalar(n));
}

}  // namespace rb::exec
