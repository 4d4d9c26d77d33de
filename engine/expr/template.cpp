#include "expr/template.h"

namespace rb::expr {

bool Template::has_expressions() const {
  for (auto& p : parts)
    if (p.expr) return true;
  return false;
}

bool Template::single_expression() const {
  return parts.size() == 1 && parts[0].literal.empty() && parts[0].expr.has_value();
}

bool has_interpolation(const std::string& text) { return text.find("${{") != std::string::npos; }

std::optional<Template> parse_template(const std::string& text, SourcePos base, Error* err) {
  Template t;
  size_t i = 0;
  std::string lit;
  while (i < text.size()) {
    size_t open = text.find("${{", i);
    if (open == std::string::npos) {
      lit += text.substr(i);
      break;
    }
    lit += text.substr(i, open - i);
    size_t close = text.find("}}", open + 3);
    if (close == std::string::npos) {
      if (err) *err = Error{open, "'${{' without a closing '}}'"};
      return std::nullopt;
    }
    std::string inner = text.substr(open + 3, close - open - 3);
    size_t lead = 0;
    while (lead < inner.size() && (inner[lead] == ' ' || inner[lead] == '\t')) ++lead;
    std::string body = inner.substr(lead);
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) body.pop_back();
    size_t body_off = open + 3 + lead;
    if (body.empty()) {
      if (err) *err = Error{open, "empty '${{ }}'"};
      return std::nullopt;
    }
    // The expression's position: the template's base shifted by body_off on the same line.
    Expression probe;
    probe.text = text;
    probe.pos = base;
    SourcePos at = probe.at(body_off);
    Error e;
    auto parsed = parse(body, at, &e);
    if (!parsed) {
      if (err) *err = Error{body_off + e.offset, e.message};
      return std::nullopt;
    }
    t.parts.push_back({std::move(lit), std::move(*parsed)});
    lit.clear();
    i = close + 2;
  }
  if (!lit.empty() || t.parts.empty()) t.parts.push_back({std::move(lit), std::nullopt});
  return t;
}

std::optional<Result> render(const Template& t, const Scope& scope, Error* err) {
  if (t.single_expression()) return evaluate(*t.parts[0].expr, scope, err);
  Result out{std::string(), false};
  std::string s;
  for (auto& p : t.parts) {
    s += p.literal;
    if (!p.expr) continue;
    auto r = evaluate(*p.expr, scope, err);
    if (!r) return std::nullopt;
    s += to_text(r->value);
    out.tainted = out.tainted || r->tainted;
  }
  out.value = std::move(s);
  return out;
}

}  // namespace rb::expr
