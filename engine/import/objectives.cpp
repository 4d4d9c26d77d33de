// RTO/RPO for each draft, and the walks over the section tree they need (see structure.h).
#include <algorithm>

#include "import/classify.h"
#include "import/scan.h"
#include "import/structure.h"

namespace rb::import {

bool runnable_language(const std::string& info) { return shell_language(info) || sql_language(info); }

std::optional<StepColumns> step_columns(const MdBlock& b) {
  if (b.kind != MdBlock::Kind::Table || b.rows.size() < 2) return std::nullopt;
  StepColumns c;
  int step_col = -1;
  auto has = [](const std::string& h, std::initializer_list<const char*> ws) {
    for (const char* w : ws)
      if (h.find(w) != std::string::npos) return true;
    return false;
  };
  for (size_t i = 0; i < b.rows[0].size(); ++i) {
    std::string h = lower(b.rows[0][i]);
    int n = static_cast<int>(i);
    if (c.command < 0 && has(h, {"command", "cmd", "script", "how to run"})) c.command = n;
    else if (c.title < 0 && has(h, {"action", "task", "activity", "description", "what to do", "instruction"}))
      c.title = n;
    else if (c.time < 0 && has(h, {"time", "duration", "budget", "eta", "estimate"})) c.time = n;
    else if (step_col < 0 && has(h, {"step"})) step_col = n;
  }
  if (c.title < 0 && step_col >= 0) {
    // A "Step" column that names the steps (not only numbers them).
    bool words = false;
    for (size_t r = 1; r < b.rows.size(); ++r)
      if (static_cast<size_t>(step_col) < b.rows[r].size())
        words = words || b.rows[r][step_col].find_first_not_of("0123456789. ") != std::string::npos;
    if (words) c.title = step_col;
  }
  if (c.title < 0 && c.command < 0) return std::nullopt;
  return c;
}

bool step_paragraph(const MdBlock& b) {
  if (b.kind != MdBlock::Kind::Paragraph) return false;
  std::string head = b.lead.empty() ? b.text.substr(0, b.text.find('\n')) : b.lead;
  if (!parse_title(head).step_word) return false;
  std::string l = lower(head);
  size_t p = l.find_first_of("0123456789");
  while (p < l.size() && l[p] >= '0' && l[p] <= '9') ++p;
  bool bold_alone = !b.lead.empty() && b.text.find_first_not_of(" \n") == std::string::npos;
  return bold_alone || p == l.size() || l[p] == ':' || l[p] == '.' || l[p] == ')' || l[p] == '-' ||
         (p + 1 < l.size() && l[p] == ' ' && l[p + 1] == '-');
}

bool content_holds_steps(const std::vector<MdBlock>& blocks) {
  for (auto& b : blocks) {
    if (step_columns(b) || step_paragraph(b)) return true;
    if (b.kind == MdBlock::Kind::List && (b.ordered || (!b.items.empty() && b.items[0].task))) return true;
    if (b.kind == MdBlock::Kind::Code && runnable_language(b.info)) return true;
  }
  return false;
}

bool holds_steps(const MdSection& s) {
  if (content_holds_steps(s.content) || parse_title(s.title).step_word) return true;
  return std::any_of(s.children.begin(), s.children.end(), [](const MdSection& c) { return holds_steps(c); });
}

namespace {

using TextFn = std::function<void(const std::string&, int)>;

void block_text(const MdBlock& b, const TextFn& fn, int depth = 0) {
  if (depth > 40) return;
  switch (b.kind) {
    case MdBlock::Kind::Paragraph:
    case MdBlock::Kind::Other: fn(b.lead.empty() ? b.text : b.lead + " " + b.text, b.line); break;
    case MdBlock::Kind::Code: {
      int n = b.line + 1;
      size_t p = 0;
      while (p < b.text.size()) {
        size_t e = b.text.find('\n', p);
        if (e == std::string::npos) e = b.text.size();
        fn(b.text.substr(p, e - p), n++);
        p = e + 1;
      }
      break;
    }
    case MdBlock::Kind::List:
      for (auto& it : b.items) {
        fn(it.lead.empty() ? it.text : it.lead + " " + it.text, it.line);
        for (auto& sub : it.blocks) block_text(sub, fn, depth + 1);
      }
      break;
    case MdBlock::Kind::Table:
      for (auto& row : b.rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) line += (i ? " | " : "") + row[i];
        fn(line, b.line);
      }
      break;
    case MdBlock::Kind::Quote:
      for (auto& sub : b.blocks) block_text(sub, fn, depth + 1);
      break;
  }
}

// Words of a label, lower-case ASCII.
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : lower(s) + " ") {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) w += c;
    else if (!w.empty()) out.push_back(std::move(w)), w.clear();
  }
  return out;
}

// Cells of a table drawn in text: ends trimmed of non-alphanumerics (box drawing, emoji),
// split on '|' or runs of two or more spaces.
std::vector<std::string> text_cells(const std::string& line) {
  auto an = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  size_t b = 0, e = line.size();
  while (b < e && !an(line[b])) ++b;
  while (e > b && !an(line[e - 1]) && line[e - 1] != ')') --e;
  std::vector<std::string> cells;
  std::string cur;
  for (size_t i = b; i < e; ++i) {
    bool split = line[i] == '|' || (line[i] == ' ' && i + 1 < e && line[i + 1] == ' ');
    if (split) {
      if (!cur.empty()) cells.push_back(cur), cur.clear();
      while (i + 1 < e && (line[i + 1] == ' ' || line[i + 1] == '|')) ++i;
    } else {
      cur += line[i];
    }
  }
  if (!cur.empty()) cells.push_back(cur);
  for (auto& c : cells) {
    size_t x = c.find_first_not_of(' '), y = c.find_last_not_of(' ');
    c = x == std::string::npos ? "" : c.substr(x, y - x + 1);
  }
  return cells;
}

struct TableRows {
  int rto_col = -1, rpo_col = -1;
  bool header(const std::vector<std::string>& cells) {
    rto_col = rpo_col = -1;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (has_word(cells[i], "RTO")) rto_col = static_cast<int>(i);
      if (has_word(cells[i], "RPO")) rpo_col = static_cast<int>(i);
    }
    return rto_col > 0 || rpo_col > 0;
  }
  // A row whose first cell names the runbook: its durations ("N/A", "Varies": none).
  bool row(const std::vector<std::string>& cells, const std::vector<std::string>& name, std::optional<Millis>* rto,
           std::optional<Millis>* rpo) const {
    if (cells.empty()) return false;
    auto label = words(cells[0]);
    if (label.empty() || name.empty()) return false;
    for (auto& w : label)
      if (std::find(name.begin(), name.end(), w) == name.end()) return false;
    auto cell = [&](int c) -> std::optional<Millis> {
      if (c < 0 || c >= static_cast<int>(cells.size())) return std::nullopt;
      size_t used = 0;
      auto d = read_duration(cells[static_cast<size_t>(c)], &used);
      return d && used == cells[static_cast<size_t>(c)].size() ? d : std::nullopt;
    };
    *rto = cell(rto_col);
    *rpo = cell(rpo_col);
    return true;
  }
};

// Rows of RTO/RPO tables (GFM tables and tables drawn in code blocks) anywhere.
bool table_row(const MdSection& s, const std::vector<std::string>& name, std::optional<Millis>* rto,
               std::optional<Millis>* rpo) {
  for (auto& b : s.content) {
    TableRows t;
    if (b.kind == MdBlock::Kind::Table && !b.rows.empty() && t.header(b.rows[0])) {
      for (size_t i = 1; i < b.rows.size(); ++i)
        if (t.row(b.rows[i], name, rto, rpo)) return true;
    }
    if (b.kind == MdBlock::Kind::Code) {
      bool in_table = false;
      size_t p = 0;
      while (p < b.text.size()) {
        size_t e = b.text.find('\n', p);
        if (e == std::string::npos) e = b.text.size();
        auto cells = text_cells(b.text.substr(p, e - p));
        p = e + 1;
        if (!in_table) in_table = t.header(cells);
        else if (t.row(cells, name, rto, rpo)) return true;
      }
    }
  }
  for (auto& c : s.children)
    if (table_row(c, name, rto, rpo)) return true;
  return false;
}

void mentions(const MdSection& s, const std::set<const MdSection*>& skip, std::optional<Millis>* rto,
              std::optional<Millis>* rpo) {
  for_each_text(s, skip, [&](const std::string& text, int) {
    if (!*rto) *rto = objective_in(text, "RTO");
    if (!*rpo) *rpo = objective_in(text, "RPO");
  });
}

}  // namespace

void for_each_text(const MdSection& s, const std::set<const MdSection*>& skip, const TextFn& fn) {
  if (skip.count(&s)) return;
  if (s.level > 0) fn(s.title, s.line);
  for (auto& b : s.content) block_text(b, fn);
  for (auto& c : s.children) for_each_text(c, skip, fn);
}

void find_objectives(const MdSection& root, const MdSection* section, const std::string& name,
                     const std::set<const MdSection*>& units, std::optional<Millis>* rto, std::optional<Millis>* rpo) {
  if (section) mentions(*section, {}, rto, rpo);
  if (*rto || *rpo) return;
  if (table_row(root, words(name), rto, rpo)) return;
  mentions(root, units, rto, rpo);
}

}  // namespace rb::import
