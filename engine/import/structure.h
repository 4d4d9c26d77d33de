// Internal to the import layer: questions about the section tree shared by importer.cpp
// (steps) and objectives.cpp (RTO/RPO).
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/duration.h"
#include "import/markdown.h"

namespace rb::import {

/// Fence languages that hold commands (shell or SQL): what makes a section hold steps.
bool runnable_language(const std::string& info);

/// The columns of a table of steps ("| # | Action | Command | Time |"): indexes into its
/// rows, -1 when absent. A table is one when its header names an action/task/step column
/// or a command column, and it has a row under the header.
struct StepColumns {
  int title = -1, command = -1, time = -1;
};
std::optional<StepColumns> step_columns(const MdBlock& table);

/// A paragraph that opens a step: "**Step 2: Fail over**" or "Step 2: Fail over" (the
/// number followed by ':', '.', ')' or '-', or the whole paragraph bold).
bool step_paragraph(const MdBlock& b);

/// True when the blocks hold a numbered list, a checklist, a table of steps or a
/// shell/SQL block.
bool content_holds_steps(const std::vector<MdBlock>& blocks);

/// True when the section or any section under it holds steps, or it is a "Step N" heading.
bool holds_steps(const MdSection& s);

/// Calls `fn(text, line)` for every piece of text under `s` (titles, paragraphs, list items,
/// table rows as "a | b", code lines), skipping the sections in `skip`.
void for_each_text(const MdSection& s, const std::set<const MdSection*>& skip,
                   const std::function<void(const std::string&, int)>& fn);

/// The objectives for a runbook made from `section` named `name`: what the section says,
/// else its row in an RTO/RPO table anywhere in the document (matched by name), else what
/// the document says outside every runbook (`units`).
void find_objectives(const MdSection& root, const MdSection* section, const std::string& name,
                     const std::set<const MdSection*>& units, std::optional<Millis>* rto, std::optional<Millis>* rpo);

}  // namespace rb::import
