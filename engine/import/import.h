// `runbook import`: a Markdown runbook → YAML drafts that validate (contract section 9).
//
// The document is parsed by cmark-gfm (markdown.h). Runbooks: one per "Scenario N"
// heading; without those, one per top-level section that holds steps (the sections under
// a single title heading); the whole document when only one does, or when those sections
// are phases of one procedure (all titled as phases — "Detection", "Recovery",
// "Checklist" — or their step numbers run on from one to the next). Steps, in order: "Step
// N" headings, numbered headings, numbered list items, checklist items, fenced blocks;
// the headings around them give `phase`. Each step's action comes from its code blocks
// (classify.h): `shell`, `sql`, `http`, else `manual` quoting the text with the reason.
// Every step cites FILE:LINE in its description; every draft ends in `recovered` and
// `failed` steps, every step's failure goes to `failed`, so drafts validate and plan.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/duration.h"
#include "import/classify.h"

namespace rb::import {

struct DraftStep {
  enum class Kind { Manual, Shell, Sql, Http, Approval };
  Kind kind = Kind::Manual;
  std::string id;
  std::string title;
  std::string phase;                ///< empty: none
  std::optional<Millis> budget;
  std::string description;          ///< starts with FILE:LINE
  std::string text;                 ///< Shell: script; Sql: statements; Manual: instructions; Approval: prompt
  std::string confirm;              ///< Manual: the question
  int statements = 0;               ///< Sql
  bool read_only = false;           ///< Sql/Http: `mutates: false`
  std::vector<HttpCall> http;       ///< Http: one call, or parallel branches
  std::string next;                 ///< filled when the draft is linked
  std::string on_reject;            ///< Approval gate / optional manual step: where "no" goes
  std::string manual_reason;        ///< why a person does it (empty: prose only)
  bool skip_on_reject = false;      ///< "no" skips to the following step instead of failing
  int line = 0;
};

struct Draft {
  std::string id;
  std::string title;
  std::string description;
  int line = 0;                     ///< where its section starts (0: the whole document)
  std::optional<Millis> rto, rpo;
  std::vector<DraftStep> steps;     ///< in order; the two end steps are added when emitted
  std::vector<std::string> skipped; ///< "FILE:LINE: what — why", for the person who finishes it
  std::string failed_note;          ///< description of the `failed` end (e.g. where escalation is)
  bool needs_database_url = false;  ///< some step is `sql`: the draft declares inputs.database_url
};

struct ImportResult {
  std::vector<Draft> drafts;
  std::vector<std::string> skipped;  ///< document-level: sections that are not runbooks
};

/// Imports Markdown `text` (the caller has checked size and UTF-8). `file` is what
/// descriptions cite. Returns false with *error when the document holds no step.
bool import_markdown(const std::string& file, std::string_view text, ImportResult* out, std::string* error);

/// The draft as a YAML document: runbook, title, description, objectives, inputs, steps
/// (title, phase, budget, description, action, next, on_failure), ending in `recovered`
/// and `failed`. Every string is quoted so that it reads back as the same text.
std::string draft_yaml(const Draft& d);

/// What a person must finish: steps made, how many manual and why, what was skipped.
std::string draft_summary(const Draft& d);

/// A YAML scalar for `s`: plain when safe, else double-quoted with escapes, or a literal
/// block (`|-`, `|2-`) for multi-line text, its lines at `indent`, which must be the
/// indentation of the key it is the value of plus two. The loaded value never holds `${{`: the
/// engine would read it as an expression, so a `${{` of the source is written `$ {{`.
std::string yaml_scalar(std::string_view s, int indent);

}  // namespace rb::import
