// String templates: any string may embed `${{ expression }}`.
//
// A template that is exactly one `${{ … }}` (nothing around it) renders to the typed value
// of its expression (so `params: ["${{ inputs.count }}"]` binds an integer); otherwise
// each expression is rendered as text (see to_text) and concatenated.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "expr/expr.h"

namespace rb::expr {

struct Template {
  struct Part {
    std::string literal;                 ///< text before the expression
    std::optional<Expression> expr;      ///< absent for a trailing literal
  };
  std::vector<Part> parts;
  bool has_expressions() const;
  bool single_expression() const;  ///< exactly `${{ e }}` with nothing around
};

/// Finds every `${{ … }}` in `text`. `pos_of(offset)` maps a byte offset of `text` to a
/// file position (for error messages). On a syntax error returns nullopt, *err filled with
/// an offset into `text`.
std::optional<Template> parse_template(const std::string& text, SourcePos base, Error* err);

/// True when `text` contains `${{`.
bool has_interpolation(const std::string& text);

/// Renders. Errors return nullopt with *err (offset into that expression's text).
std::optional<Result> render(const Template& t, const Scope& scope, Error* err);

}  // namespace rb::expr
