// Markdown sections → drafts: which sections are runbooks, which blocks are steps, and
// what each step does (see import.h for the rules).
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "import/import.h"
#include "import/scan.h"
#include "import/structure.h"

namespace rb::import {

namespace {

bool is_code(const MdBlock& b) { return b.kind == MdBlock::Kind::Code; }
bool is_checklist(const MdBlock& b) { return b.kind == MdBlock::Kind::List && !b.items.empty() && b.items[0].task; }
bool is_numbered(const MdBlock& b) { return b.kind == MdBlock::Kind::List && b.ordered; }

// Sections whose steps are alternatives, not a sequence ("Common Recovery Scenarios").
bool alternatives_title(const std::string& t) {
  std::string l = lower(t);
  for (const char* w : {"scenarios", "options", "alternatives", "troubleshooting", "common issues", "common problems"})
    if (l.find(w) != std::string::npos) return true;
  return false;
}

// "Step N" headings, and numbered or code-holding headings without steps inside, are steps.
bool is_heading_step(const MdSection& s) {
  for (auto& c : s.children)
    if (holds_steps(c)) return false;
  Title t = parse_title(s.title);
  if (t.step_word) return true;
  bool code = false, runnable = false, lists = false;
  for (auto& b : s.content) {
    code = code || is_code(b);
    runnable = runnable || (is_code(b) && (runnable_language(b.info) || b.info.empty()));
    lists = lists || is_numbered(b) || is_checklist(b) || step_columns(b).has_value() || step_paragraph(b);
  }
  if (t.number > 0) return code || !lists;
  return runnable && !lists;
}

// "Option A: …" as a paragraph's lead or start.
bool option_label(const MdBlock& b) {
  if (b.kind != MdBlock::Kind::Paragraph) return false;
  std::string s = lower(b.lead.empty() ? b.text : b.lead);
  return s.rfind("option ", 0) == 0 && s.size() > 8 && s.find(':') != std::string::npos && s.find(':') < 12;
}

std::string first_line_of(const std::string& s) {
  size_t e = s.find('\n');
  return e == std::string::npos ? s : s.substr(0, e);
}

// A list item's title: its bold lead, else its first clause.
std::string item_title(const MdItem& it) {
  if (!it.lead.empty()) return it.lead;
  std::string s = first_line_of(it.text);
  size_t colon = s.find(": ");
  if (colon == std::string::npos && !s.empty() && s.back() == ':') colon = s.size() - 1;
  if (colon != std::string::npos && colon > 2) s = s.substr(0, colon);
  size_t stop = s.find(". ");
  if (stop != std::string::npos && stop > 10) s = s.substr(0, stop);
  if (s.size() > 72) {
    size_t cut = s.rfind(' ', 72);
    s = s.substr(0, cut == std::string::npos ? 72 : cut) + "…";
  }
  return s;
}

// Trailing blanks of every line dropped (they only get in the way of a readable YAML
// block), except one after a backslash, which is shell syntax.
std::string tidy(std::string_view s) {
  std::string out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t e = s.find('\n', p);
    if (e == std::string_view::npos) e = s.size();
    size_t end = e;
    while (end > p && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r') &&
           !(end - 1 > p && s[end - 2] == '\\'))
      --end;
    out.append(s.substr(p, end - p));
    if (e == s.size()) break;
    out += '\n';
    p = e + 1;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// "-- If users were overcharged:" → "If users were overcharged".
std::string condition_words(std::string c) {
  size_t b = c.find_first_not_of("#- \t");
  c = b == std::string::npos ? "" : c.substr(b);
  while (!c.empty() && (c.back() == ':' || c.back() == ' ')) c.pop_back();
  return c;
}

BlockAction manual_step_because(std::string why) {
  BlockAction a;
  a.why = std::move(why);
  return a;
}

class Collector {
 public:
  Collector(const std::string& file, Draft& d) : file_(file), d_(d) { ids_ = {"recovered", "failed"}; }

  void section(const MdSection& s, const std::string& phase, bool root, bool alt) {
    if (!root && is_heading_step(s)) {
      std::vector<MdBlock> blocks;
      headings_ = 0;
      flatten(s, blocks, true);
      if (headings_ == blocks.size()) skip(s.line, fmt::format("'{}'", clean_title(s.title)), "nothing to do in it");
      else make_step(parse_title(s.title), s.line, phase, blocks, alt);
      headings_ = 0;
      return;
    }
    std::string own = root ? phase : parse_title(s.title).text;
    bool alt2 = alt || (!root && alternatives_title(own));
    blocks(s, own, alt2);
    for (auto& c : s.children) {
      if (holds_steps(c) || is_heading_step(c)) {
        section(c, own, false, alt2);
      } else if (d_.steps.empty()) {
        std::vector<MdBlock> flat;
        flatten(c, flat, false);
        for (auto& b : flat) intro_ += render_block(b);
        intro_ += "\n";
      } else {
        skip(c.line, fmt::format("section '{}'", clean_title(c.title)), "no steps in it");
      }
    }
  }

  // Budgets from "T+…" milestones: the time to the next milestone.
  void finish() {
    for (size_t i = 0; i < d_.steps.size(); ++i) {
      if (!milestones_[i] || d_.steps[i].budget) continue;
      for (size_t j = i + 1; j < d_.steps.size(); ++j)
        if (milestones_[j]) {
          if (*milestones_[j] > *milestones_[i]) d_.steps[i].budget = *milestones_[j] - *milestones_[i];
          break;
        }
    }
    std::string intro = intro_;
    while (!intro.empty() && intro.back() == '\n') intro.pop_back();
    d_.description = fmt::format("Draft imported by `runbook import` from {}:{}. Review every step before a real run.",
                                 file_, d_.line);
    if (!intro.empty()) d_.description += "\n\n" + intro;
  }

 private:
  void skip(int line, const std::string& what, const std::string& why) {
    d_.skipped.push_back(fmt::format("{}:{}: {} — {}", file_, line, what, why));
  }

  // All blocks under a section; sub-headings become paragraphs.
  void flatten(const MdSection& s, std::vector<MdBlock>& out, bool top) {
    if (!top) {
      MdBlock h;
      h.kind = MdBlock::Kind::Paragraph;
      h.line = s.line;
      h.text = clean_title(s.title) + ":";
      out.push_back(h);
      ++headings_;
    }
    for (auto& b : s.content) out.push_back(b);
    for (auto& c : s.children) flatten(c, out, false);
  }

  void blocks(const MdSection& s, const std::string& phase, bool alt) {
    int loose = 0;
    for (size_t i = 0; i < s.content.size(); ++i) {
      const MdBlock& b = s.content[i];
      if (step_paragraph(b)) {
        // "**Step 2: …**" and the blocks up to the next such paragraph: one step.
        size_t e = i + 1;
        while (e < s.content.size() && !step_paragraph(s.content[e])) ++e;
        std::vector<MdBlock> body(s.content.begin() + static_cast<long>(i), s.content.begin() + static_cast<long>(e));
        const MdBlock& head = body.front();
        make_step(parse_title(head.lead.empty() ? head.text.substr(0, head.text.find('\n')) : head.lead), head.line,
                  phase, body, alt);
        i = e - 1;
      } else if (is_numbered(b)) {
        for (auto& it : b.items) item_step(it, phase, alt);
      } else if (is_checklist(b)) {
        for (auto& it : b.items) {
          if (it.checked) skip(it.line, fmt::format("'{}'", item_title(it)), "already checked ([x])");
          else item_step(it, phase, alt, true);
        }
      } else if (auto cols = step_columns(b)) {
        table_steps(b, *cols, phase, alt);
      } else if (is_code(b) && runnable_language(b.info)) {
        Title t = parse_title(s.title);
        if (++loose > 1) t.text += fmt::format(" ({})", loose);
        make_step(t, b.line, phase, {b}, alt);
      } else if (b.kind == MdBlock::Kind::Other && b.text.find_first_not_of(" \n") == std::string::npos) {
        continue;  // a thematic break
      } else if (d_.steps.empty()) {
        intro_ += render_block(b) + "\n";
      } else {
        std::string text = first_line_of(render_block(b));
        skip(b.line, is_code(b) ? fmt::format("a '{}' block", b.info.empty() ? "plain" : b.info)
                                : fmt::format("'{}'", text.substr(0, std::min<size_t>(text.size(), 50))),
             "not a step");
      }
    }
  }

  // One step per row of a table of steps: its title from the action column, a command
  // cell in backticks as a one-line block (classified like any other), a time column as
  // the budget. Rows sit on the lines after the header and delimiter rows.
  void table_steps(const MdBlock& b, const StepColumns& c, const std::string& phase, bool alt) {
    for (size_t r = 1; r < b.rows.size(); ++r) {
      auto cell = [&](int i) { return i >= 0 && static_cast<size_t>(i) < b.rows[r].size() ? b.rows[r][i] : std::string(); };
      std::string title = cell(c.title), command = cell(c.command), time = cell(c.time);
      int line = b.line + static_cast<int>(r) + 1;
      std::vector<MdBlock> blocks;
      MdBlock head;
      head.kind = MdBlock::Kind::Paragraph;
      head.line = line;
      head.text = title;
      if (!title.empty()) blocks.push_back(head);
      std::string code = command;
      while (!code.empty() && code.back() == ' ') code.pop_back();
      if (code.size() >= 2 && code.front() == '`' && code.back() == '`' &&
          code.find('`', 1) == code.size() - 1) {
        MdBlock block;
        block.kind = MdBlock::Kind::Code;
        block.line = line - 1;  // a fence's line: its content is on the next
        block.text = code.substr(1, code.size() - 2) + "\n";
        blocks.push_back(block);
      } else if (!code.empty()) {
        head.text = title.empty() ? code : title + ": " + code;
        blocks.assign(1, head);
      }
      if (blocks.empty()) continue;
      std::string named = title.empty() ? (code.empty() ? std::string() : code) : title;
      if (!time.empty() && time.find_first_not_of(" -") != std::string::npos) named += " (" + time + ")";
      make_step(parse_title(named), line, phase, blocks, alt);
    }
  }

  void item_step(const MdItem& it, const std::string& phase, bool alt, bool task = false) {
    std::vector<MdBlock> blocks;
    MdBlock head;
    head.kind = MdBlock::Kind::Paragraph;
    head.line = it.line;
    head.lead = it.lead;
    head.text = it.text;
    blocks.push_back(head);
    for (auto& b : it.blocks) blocks.push_back(b);
    size_t before = d_.steps.size();
    make_step(parse_title(item_title(it)), it.line, phase, blocks, alt);
    if (task && d_.steps.size() > before) d_.steps.back().confirm = "Checked?";
  }

  // `id`, else `id-2`, `id-3` … (the next number to try is kept per id: thousands of
  // steps with one title stay linear).
  std::string unique(const std::string& id) {
    std::string out = id;
    int& n = suffix_[id];
    if (n == 0) n = 2;
    while (ids_.count(out)) out = fmt::format("{}-{}", id, n++);
    ids_.insert(out);
    return out;
  }

  struct Action {
    BlockAction a;
    int code_blocks = 0;
    std::vector<std::string> options;
  };

  // A step without code blocks whose text holds one inline `curl URL` (a GET, nothing a
  // shell would read) and no other code span: an `http` step, as a fenced curl line is.
  static void inline_curl(const std::vector<MdBlock>& blocks, BlockAction* a) {
    std::vector<std::pair<std::string, int>> spans;
    for (auto& b : blocks) {
      if (b.kind != MdBlock::Kind::Paragraph) continue;
      std::string t = b.lead + " " + b.text;
      for (size_t p = t.find('`'); p != std::string::npos; p = t.find('`', p + 1)) {
        size_t e = t.find('`', p + 1);
        if (e == std::string::npos) break;
        spans.push_back({t.substr(p + 1, e - p - 1), b.line});
        p = e;
      }
    }
    if (spans.size() != 1 || spans[0].first.rfind("curl ", 0) != 0) return;
    BlockAction c = classify_block("", spans[0].first + "\n", spans[0].second);
    if (c.kind == BlockAction::Kind::Http) *a = c;
  }

  Action decide(const std::vector<MdBlock>& blocks) {
    Action r;
    bool first = true;
    for (auto& b : blocks) {
      if (option_label(b)) r.options.push_back(first_line_of(b.lead.empty() ? b.text : b.lead));
      if (!is_code(b)) continue;
      ++r.code_blocks;
      BlockAction a = classify_block(b.info, b.text, b.line + 1);
      if (first) r.a = a;
      else if (r.a.kind != BlockAction::Kind::Manual) {
        if (a.kind == BlockAction::Kind::Manual) r.a = a;
        else if (a.kind != r.a.kind)
          r.a = manual_step_because(fmt::format("mixes shell, SQL and HTTP blocks (line {}): split it by hand", b.line));
        else {
          r.a.text += "\n\n" + a.text;
          r.a.statements += a.statements;
          r.a.read_only = r.a.read_only && a.read_only;
          for (auto& h : a.http) r.a.http.push_back(h);
          r.a.conditional = r.a.conditional || a.conditional;
        }
      }
      first = false;
    }
    if (r.code_blocks == 0) inline_curl(blocks, &r.a);
    if (r.options.size() >= 2)
      r.a = manual_step_because(fmt::format("a choice between {} options: a person picks one", r.options.size()));
    return r;
  }

  void make_step(const Title& t, int line, const std::string& phase, const std::vector<MdBlock>& blocks, bool alt) {
    Action act = decide(blocks);
    std::string instructions;
    for (auto& b : blocks) instructions += render_block(b) + "\n";
    while (!instructions.empty() && (instructions.back() == '\n' || instructions.back() == ' ')) instructions.pop_back();
    if (instructions.empty() && act.code_blocks == 0) {
      skip(line, fmt::format("'{}'", t.text), "nothing to do in it");
      return;
    }
    DraftStep s;
    s.title = t.text.empty() ? fmt::format("Step at line {}", line) : t.text;
    s.id = unique(slug(s.title));
    s.phase = phase;
    s.budget = t.budget;
    s.line = line;
    s.description = fmt::format("{}:{}", file_, line);
    bool conditional = t.conditional || alt || act.a.conditional;
    const BlockAction& a = act.a;
    if (a.kind == BlockAction::Kind::Manual) {
      s.kind = DraftStep::Kind::Manual;
      s.manual_reason = a.why;
      s.text = instructions.empty() ? s.title : tidy(instructions);
      s.confirm = conditional ? "Done? (answer no when it does not apply: the run goes on without it)" : "Done?";
      s.skip_on_reject = conditional;
      if (!a.why.empty()) s.description += ". Manual: " + a.why;
    } else {
      s.kind = a.kind == BlockAction::Kind::Shell ? DraftStep::Kind::Shell
               : a.kind == BlockAction::Kind::Sql ? DraftStep::Kind::Sql
                                                  : DraftStep::Kind::Http;
      s.text = tidy(a.text);
      s.statements = a.statements;
      s.read_only = a.kind == BlockAction::Kind::Http || a.read_only;
      s.http = a.http;
      if (s.kind == DraftStep::Kind::Shell && s.text.find('\n') != std::string::npos) s.text = "set -e\n" + s.text;
      d_.needs_database_url = d_.needs_database_url || s.kind == DraftStep::Kind::Sql;
      std::string prose;
      for (auto& b : blocks)
        if (!is_code(b)) prose += render_block(b);
      while (!prose.empty() && prose.back() == '\n') prose.pop_back();
      std::string bare = prose;
      while (!bare.empty() && bare.back() == ':') bare.pop_back();
      if (!prose.empty() && lower(bare) != lower(s.title)) s.description += "\n" + tidy(prose);
    }
    if (conditional && s.kind != DraftStep::Kind::Manual) add_gate(s, a.condition);
    milestones_.push_back(t.milestone);
    d_.steps.push_back(std::move(s));
  }

  // A step that runs only when it applies: an approval before it ("no" skips it).
  void add_gate(const DraftStep& s, const std::string& condition) {
    DraftStep g;
    g.kind = DraftStep::Kind::Approval;
    g.id = unique("decide-" + s.id);
    g.title = "Decide: " + s.title;
    g.phase = s.phase;
    g.line = s.line;
    g.description = fmt::format("{}:{}. The Markdown runs this only when it applies", file_, s.line);
    std::string cond = condition_words(condition);
    g.text = fmt::format("{}: the Markdown does this only when it applies{}. Run it now? (no skips it)", s.title,
                         cond.empty() ? "" : " (" + cond + ")");
    g.skip_on_reject = true;
    milestones_.push_back(std::nullopt);
    d_.steps.push_back(std::move(g));
  }

  const std::string& file_;
  Draft& d_;
  std::set<std::string> ids_;
  std::map<std::string, int> suffix_;
  std::string intro_;
  std::vector<std::optional<Millis>> milestones_;
  size_t headings_ = 0;  ///< sub-headings among the blocks flatten() gave
};

std::vector<const MdSection*> scenarios(const MdSection& s) {
  std::vector<const MdSection*> out;
  for (auto& c : s.children) {
    if (scenario_name(c.title)) out.push_back(&c);
    else for (auto* x : scenarios(c)) out.push_back(x);
  }
  return out;
}

std::string stem(const std::string& file) {
  std::string base = file.substr(file.find_last_of('/') + 1);
  size_t dot = base.rfind('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

// Links the steps: each goes to the next, the last to `recovered`; failures to `failed`.
void link(Draft& d) {
  auto& st = d.steps;
  for (size_t i = 0; i < st.size(); ++i) {
    auto after = [&](size_t k) { return k < st.size() ? st[k].id : std::string("recovered"); };
    st[i].next = after(i + 1);
    if (st[i].kind == DraftStep::Kind::Approval) st[i].on_reject = after(i + 2);
    else if (st[i].skip_on_reject) st[i].on_reject = after(i + 1);
  }
}

struct Unit {
  const MdSection* section;
  std::string name;
};

}  // namespace

namespace {

// A title that names a phase of a procedure ("Detection", "Phase 2: Recover", "Recovery
// steps", "Verification", "Post-incident", "Checklist"), not a procedure of its own
// ("Dead Job Triage", "Restore the database", "Rollback deployment"): it starts with
// "Phase"/"Stage", or every word of it is a phase word or a generic one.
bool phase_title(const std::string& raw) {
  std::vector<std::string> words;
  std::string w;
  for (char c : lower(clean_title(raw)) + " ") {
    if (c >= 'a' && c <= 'z') w += c;
    else if (!w.empty()) words.push_back(std::move(w)), w.clear();
  }
  if (words.empty()) return false;
  if (words[0] == "phase" || words[0] == "stage") return true;
  auto stem = [](const std::string& x) {
    for (const char* p : {"detect", "diagnos", "triage", "investigat", "assess", "identif", "contain", "mitigat",
                          "stabili", "recover", "restor", "remediat", "resol", "rollback", "verif", "validat",
                          "confirm", "test", "monitor", "clean", "prepar", "prerequisite", "communicat", "notif",
                          "escalat", "eradicat", "fix", "repair", "checklist", "wrap", "handoff", "failback"})
      if (x.rfind(p, 0) == 0) return true;
    return false;
  };
  auto generic = [](const std::string& x) {
    for (const char* g : {"steps", "step", "actions", "action", "plan", "procedure", "procedures", "checks", "check",
                          "tasks", "immediate", "initial", "first", "final", "post", "pre", "incident", "follow", "up",
                          "response", "items", "and", "the", "of", "then", "flight", "after", "before", "next", "you",
                          "begin", "start", "starting", "getting", "started"})
      if (x == g) return true;
    return false;
  };
  bool any_stem = false;
  for (auto& x : words) {
    if (stem(x)) any_stem = true;
    else if (!generic(x)) return false;
  }
  // All generic: a phase when it names one ("Post-incident", "Steps", "Immediate response",
  // "Follow-up", "Procedure", "Before you begin"), not a bare "Next" or "Notes".
  for (const char* anchor : {"incident", "steps", "response", "follow", "procedure", "procedures", "begin"})
    any_stem = any_stem || std::find(words.begin(), words.end(), anchor) != words.end();
  return any_stem;
}

// The first step number inside a section (a "Step N" or "N." heading under it, or where
// an ordered list starts); 0 when none.
int first_inner_number(const MdSection& s) {
  for (auto& b : s.content)
    if (b.kind == MdBlock::Kind::List && b.ordered) return b.start;
  for (auto& c : s.children) {
    if (int n = parse_title(c.title).number; n > 0) return n;
    if (int n = first_inner_number(c); n > 0) return n;
  }
  return 0;
}

// Sections that are parts of one procedure, not procedures of their own: every one is
// titled as a phase ("Detection", "Recovery", "Verification"), or the step numbers run on
// from one section to the next ("Step 3" opens the second).
bool phases_of_one_procedure(const std::vector<const MdSection*>& cands) {
  if (cands.size() < 2) return false;
  if (std::all_of(cands.begin(), cands.end(), [](const MdSection* c) { return phase_title(c->title); })) return true;
  for (size_t i = 1; i < cands.size(); ++i)
    if (first_inner_number(*cands[i]) <= 1) return false;
  return true;
}

// Which sections are runbooks: "Scenario N" headings; else the top-level sections that
// hold steps (the whole document when its top holds steps itself, has "Step N" headings
// or its sections are phases of one procedure; the document's title when only one
// section does).
std::vector<Unit> choose_units(const MdSection& root, const MdSection* top, const std::string& doc_title) {
  std::vector<Unit> units;
  for (auto* s : scenarios(root)) units.push_back({s, *scenario_name(s->title)});
  if (!units.empty()) return units;
  std::vector<const MdSection*> cands;
  for (auto& c : top->children)
    if (holds_steps(c)) cands.push_back(&c);
  bool step_headings =
      std::any_of(cands.begin(), cands.end(), [](const MdSection* c) { return parse_title(c->title).step_word; });
  if (content_holds_steps(top->content) || step_headings || phases_of_one_procedure(cands))
    units.push_back({top, doc_title});
  else if (cands.size() == 1) units.push_back({cands[0], doc_title});
  else
    for (auto* c : cands) units.push_back({c, parse_title(c->title).text});
  return units;
}

// The top-level sections no runbook came from, and why.
void report_others(const std::string& file, const MdSection* top, const std::set<const MdSection*>& units,
                   ImportResult* out) {
  if (units.count(top)) return;
  std::function<bool(const MdSection&)> has_unit = [&](const MdSection& s) {
    return units.count(&s) > 0 || std::any_of(s.children.begin(), s.children.end(), has_unit);
  };
  for (auto& c : top->children)
    if (!has_unit(c))
      out->skipped.push_back(fmt::format("{}:{}: section '{}' — {}", file, c.line, clean_title(c.title),
                                         holds_steps(c) ? "holds steps but is not a scenario: not imported"
                                                        : "no steps in it"));
}

// "FILE:LINE ('Escalation')" for the first section about escalation or contacts.
std::string escalation_section(const std::string& file, const MdSection& s) {
  std::string l = lower(s.title);
  if (s.level > 0 && (l.find("escalat") != std::string::npos || l.find("contact") != std::string::npos))
    return fmt::format("{}:{} ('{}')", file, s.line, clean_title(s.title));
  for (auto& c : s.children)
    if (auto e = escalation_section(file, c); !e.empty()) return e;
  return {};
}

}  // namespace

bool import_markdown(const std::string& file, std::string_view text, ImportResult* out, std::string* error) {
  MdSection root = parse_markdown(text);
  const MdSection* top = &root;
  if (!content_holds_steps(root.content) && root.children.size() == 1) top = &root.children[0];
  std::string doc_title = top->level > 0 ? clean_title(top->title) : stem(file);
  std::vector<Unit> units = choose_units(root, top, doc_title);
  std::set<const MdSection*> unit_set;
  for (auto& u : units) unit_set.insert(u.section);
  report_others(file, top, unit_set, out);
  std::string escalation = escalation_section(file, root);

  std::set<std::string> ids;
  for (auto& u : units) {
    Draft d;
    d.title = parse_title(u.name).text;
    d.id = slug(d.title, 48);
    for (int n = 2; ids.count(d.id); ++n) d.id = fmt::format("{}-{}", slug(d.title, 44), n);
    ids.insert(d.id);
    d.line = u.section->level > 0 ? u.section->line : 1;
    Collector c(file, d);
    c.section(*u.section, "", true, false);
    c.finish();
    if (d.steps.empty()) continue;
    find_objectives(root, u.section == &root ? nullptr : u.section, d.title, unit_set, &d.rto, &d.rpo);
    d.failed_note = "A step failed or was not done: the run ends here, protections stay as they are.";
    if (!escalation.empty()) d.failed_note += " Escalate: see " + escalation + ".";
    link(d);
    out->drafts.push_back(std::move(d));
  }
  if (out->drafts.empty()) {
    *error = "no steps found: a runbook needs numbered steps ('1. …'), 'Step N' headings, a checklist ('- [ ]') or "
             "a fenced shell or SQL block";
    return false;
  }
  return true;
}

}  // namespace rb::import
