// Drafts → YAML text and the summary for people (see import.h). The YAML is written by
// hand, in a fixed order, with every string passed through yaml_scalar.
#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "import/import.h"

namespace rb::import {

namespace {

// Decodes one UTF-8 code point (input already checked); *n receives its length.
unsigned decode(std::string_view s, size_t i, size_t* n) {
  auto b = static_cast<unsigned char>(s[i]);
  *n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  if (i + *n > s.size()) *n = 1;
  unsigned cp = *n == 1 ? b : *n == 2 ? (b & 0x1Fu) : *n == 3 ? (b & 0x0Fu) : (b & 0x07u);
  for (size_t k = 1; k < *n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  return cp;
}

// Printable in YAML and not a line break of its own (NEL, LS, PS) nor a BOM.
bool printable(unsigned cp) {
  if (cp == '\t' || cp == '\n') return true;
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return false;
  if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) return false;
  return true;
}

std::string no_templates(std::string_view s) {
  std::string out(s);
  for (size_t p = out.find("${{"); p != std::string::npos; p = out.find("${{", p + 2)) out.insert(p + 1, " ");
  return out;
}

bool literal_ok(const std::string& s) {
  if (s.empty() || s.back() == '\n' || s.find_first_not_of('\n') == std::string::npos) return false;
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    unsigned cp = decode(s, i, &n);
    if (cp == '\t' || cp == '\r' || !printable(cp)) return false;
    if (cp == '\n' && i > 0 && s[i - 1] == ' ') return false;
  }
  return s.back() != ' ';
}

bool plain_ok(const std::string& s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  if (s.back() == ' ') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_' ||
              c == '.' || c == ',' || c == '(' || c == ')' || c == '/' || c == '-' || c == '+';
    if (!ok) return false;
  }
  std::string l;
  for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* w : {"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
    if (l == w) return false;
  return true;
}

std::string double_quoted(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0, n = 0; i < s.size(); i += n) {
    unsigned cp = decode(s, i, &n);
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (!printable(cp)) out += cp <= 0xFF ? fmt::format("\\x{:02X}", cp) : fmt::format("\\u{:04X}", cp);
        else out.append(s, i, n);
    }
  }
  return out + "\"";
}

std::string indent_of(int n) { return std::string(static_cast<size_t>(n), ' '); }

std::string q(std::string_view s, int indent = 0) { return yaml_scalar(s, indent); }

void emit_action(const DraftStep& s, std::string& y) {
  switch (s.kind) {
    case DraftStep::Kind::Manual:
      y += "    manual:\n      instructions: " + q(s.text, 8) + "\n      confirm: " + q(s.confirm) + "\n";
      break;
    case DraftStep::Kind::Approval: y += "    approval:\n      prompt: " + q(s.text, 8) + "\n"; break;
    case DraftStep::Kind::Shell: y += "    shell: " + q(s.text, 6) + "\n"; break;
    case DraftStep::Kind::Sql:
      y += "    sql:\n      url: \"${{ inputs.database_url }}\"\n";
      y += std::string("      ") + (s.statements > 1 ? "script: " : "query: ") + q(s.text, 8) + "\n";
      if (s.read_only) y += "    mutates: false\n";
      break;
    case DraftStep::Kind::Http:
      if (s.http.size() == 1) {
        y += "    http:\n      url: " + q(s.http[0].url) + "\n";
        if (!s.http[0].expect.empty()) y += "    expect: " + q(s.http[0].expect) + "\n";
      } else {
        y += "    parallel:\n";
        for (auto& h : s.http) {
          y += "      - http:\n          url: " + q(h.url) + "\n";
          if (!h.expect.empty()) y += "        expect: " + q(h.expect) + "\n";
        }
      }
      break;
  }
}

const char* kind_name(DraftStep::Kind k) {
  switch (k) {
    case DraftStep::Kind::Manual: return "manual";
    case DraftStep::Kind::Shell: return "shell";
    case DraftStep::Kind::Sql: return "sql";
    case DraftStep::Kind::Http: return "http";
    case DraftStep::Kind::Approval: return "approval";
  }
  return "?";
}

}  // namespace

std::string yaml_scalar(std::string_view raw, int indent) {
  std::string s = no_templates(raw);
  if (s.find('\n') != std::string::npos && literal_ok(s)) {
    // An explicit indentation indicator when the text starts with spaces or blank lines.
    std::string out = s[0] == ' ' || s[0] == '\n' ? "|2-" : "|-";
    size_t p = 0;
    while (p <= s.size()) {
      size_t e = s.find('\n', p);
      if (e == std::string::npos) e = s.size();
      out += "\n";
      if (e > p) out += indent_of(indent) + s.substr(p, e - p);
      p = e + 1;
    }
    return out;
  }
  return plain_ok(s) ? s : double_quoted(s);
}

std::string draft_yaml(const Draft& d) {
  std::string y;
  y += "runbook: " + q(d.id) + "\n";
  y += "title: " + q(d.title) + "\n";
  y += "description: " + q(d.description, 2) + "\n";
  if (d.rto || d.rpo) {
    y += "objectives:\n";
    if (d.rto) y += "  rto: " + format_duration(*d.rto) + "\n";
    if (d.rpo) y += "  rpo: " + format_duration(*d.rpo) + "\n";
  }
  if (d.needs_database_url)
    y += "inputs:\n  database_url:\n    description: " +
         q("Connection URL of the database the SQL steps run against (sqlite:PATH or postgres://...): the Markdown "
           "does not say; give it with --input database_url=URL") +
         "\n    required: false\n    secret: true\n";
  y += "steps:\n";
  for (auto& s : d.steps) {
    y += "  " + q(s.id) + ":\n";
    y += "    title: " + q(s.title) + "\n";
    if (!s.phase.empty()) y += "    phase: " + q(s.phase) + "\n";
    if (s.budget) y += "    budget: " + format_duration(*s.budget) + "\n";
    y += "    description: " + q(s.description, 6) + "\n";
    emit_action(s, y);
    y += "    next: " + q(s.next) + "\n";
    if (!s.on_reject.empty()) y += "    on_reject: " + q(s.on_reject) + "\n";
    y += "    on_failure: failed\n";
  }
  y += "  recovered:\n    title: Recovered\n    end: recovered\n";
  y += "  failed:\n    title: " + q("Failed: escalate") + "\n    description: " + q(d.failed_note, 6) +
       "\n    end: failed\n";
  return y;
}

std::string draft_summary(const Draft& d) {
  int counts[5] = {0, 0, 0, 0, 0};
  for (auto& s : d.steps) ++counts[static_cast<int>(s.kind)];
  std::string out = fmt::format("{}: {} steps ({} manual, {} shell, {} sql, {} http, {} decisions)", d.id,
                                d.steps.size(), counts[0], counts[1], counts[2], counts[3], counts[4]);
  out += fmt::format(", RTO {}, RPO {}\n", d.rto ? format_duration(*d.rto) : "not found",
                     d.rpo ? format_duration(*d.rpo) : "not found");
  for (auto& s : d.steps) {
    if (s.kind != DraftStep::Kind::Manual) continue;
    std::string where = s.description.substr(0, std::min(s.description.find(". "), s.description.find('\n')));
    out += fmt::format("  {} {} ({}): {}\n", kind_name(s.kind), s.id, where,
                       s.manual_reason.empty() ? "written as prose: a person does it" : s.manual_reason);
  }
  for (auto& k : d.skipped) out += "  skipped " + k + "\n";
  return out;
}

}  // namespace rb::import
