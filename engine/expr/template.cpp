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

namespace {

// Positions of increasing byte offsets of one text, each found from the previous one (a
// template with many expressions costs one pass, not one pass per expression).
class Cursor {
 public:
  Cursor(const std::string& text, SourcePos base) : text_(text), pos_(base) {}
  SourcePos at(size_t offset) {
    if (!pos_.known()) return pos_;
    for (; off_ < offset && off_ < text_.size(); ++off_) {
      if (text_[off_] == '\n') {
        ++pos_.line;
        pos_.col = 1;
      } else if ((static_cast<unsigned char>(text_[off_]) & 0xC0) != 0x80) {
        ++pos_.col;
      }
    }
    return pos_;
  }

 private:
  const std::string& text_;
  SourcePos pos_;
  size_t off_ = 0;
};

}  // namespace

std::optional<Template> parse_template(const std::string& text, SourcePos base, Error* err) {
  Template t;
  Cursor cursor(text, base);
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
    SourcePos at = cursor.at(body_off);
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
