// Man pages (roff with the man(7) macros) from the command table: runbook(1) and one
// page per subcommand. Written here rather than by help2man over `--help` because the
// tree knows each option's names, value and help exactly (help2man guesses them back
// from formatted text, and wants a --version per subcommand); the completions come from
// the same tree.
#include <cctype>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "cli/common.h"
#include "cli/spec.h"

namespace rb::cli {

std::string OptSpec::completes() const {
  if (value == "FILE" || value == "PATH" || value == "URL") return "files";
  if (value == "DIR") return "dirs";
  return "";
}

const CommandSpec* CommandSpec::find(const std::string& sub) const {
  for (auto& s : subcommands)
    if (s.name == sub) return &s;
  return nullptr;
}

namespace {

// Text for roff: backslashes and hyphens escaped (so that `--dry-run` pastes as typed),
// and a line never starts with a control character.
std::string esc(const std::string& s) {
  std::string out;
  bool line_start = true;
  for (char c : s) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string value_text(const OptSpec& o) {
  if (o.flag()) return "";
  std::string v;
  if (!o.choices.empty()) {
    for (size_t i = 0; i < o.choices.size(); ++i) v += (i ? "|" : "") + fmt::format("\\fI{}\\fR", esc(o.choices[i]));
  } else {
    v = fmt::format("\\fI{}\\fR", esc(o.value));
  }
  return o.optional_value ? "[=" + v + "]" : " " + v;
}

// One .TP entry: the option's names and value, then its help.
void option_entry(std::string& out, const OptSpec& o) {
  std::string names;
  for (size_t i = 0; i < o.names.size(); ++i) names += (i ? ", " : "") + fmt::format("\\fB{}\\fR", esc(o.names[i]));
  std::string help = o.help;
  if (o.repeatable && help.find("repeatable") == std::string::npos) help += " (repeatable)";
  if (o.required) help += " (required)";
  out += fmt::format(".TP\n{}{}\n{}\n", names, value_text(o), esc(help));
}

void argument_entry(std::string& out, const OptSpec& p) {
  std::string help = p.help;
  if (!p.choices.empty()) {
    help += ": ";
    for (size_t i = 0; i < p.choices.size(); ++i) help += (i ? ", " : "") + p.choices[i];
  }
  if (!p.required) help += " (optional)";
  out += fmt::format(".TP\n.I {}{}\n{}\n", esc(p.name_or_value()), p.repeatable ? " ..." : "", esc(help));
}

// "FILE", "[NAME]", "FILE..." for the synopsis.
std::string synopsis_args(const CommandSpec& c) {
  std::string s;
  if (!c.options.empty()) s += " [\\fIOPTIONS\\fR]";
  for (auto& p : c.positionals) {
    std::string one = fmt::format("\\fI{}\\fR{}", esc(p.name_or_value()), p.repeatable ? "..." : "");
    s += p.required ? " " + one : " [" + one + "]";
  }
  if (!c.subcommands.empty()) s += " \\fICOMMAND\\fR";
  return s.empty() ? s : s.substr(1);  // a roff line must not start with a space
}

void options_section(std::string& out, const char* title, const std::vector<OptSpec>& opts) {
  if (opts.empty()) return;
  out += fmt::format(".SH {}\n", title);
  for (auto& o : opts) option_entry(out, o);
}

void arguments_section(std::string& out, const std::vector<OptSpec>& args) {
  if (args.empty()) return;
  out += ".SH ARGUMENTS\n";
  for (auto& p : args) argument_entry(out, p);
}

// Paragraphs of the root's intro: the one that starts "Exit codes:" becomes EXIT STATUS.
void intro_sections(std::string& out, const std::string& intro) {
  std::vector<std::string> paras;
  size_t start = 0;
  while (start < intro.size()) {
    size_t end = intro.find("\n\n", start);
    if (end == std::string::npos) end = intro.size();
    paras.push_back(intro.substr(start, end - start));
    start = end + 2;
  }
  std::string exit_status;
  out += ".SH DESCRIPTION\n";
  for (size_t i = 1; i < paras.size(); ++i) {  // paras[0] is the NAME line
    std::string p = paras[i];
    size_t at = p.rfind("Exit codes:", 0) == 0 ? 0 : p.find("\nExit codes:");
    if (at != std::string::npos) {
      exit_status = p.substr(at == 0 ? 0 : at + 1);
      p = p.substr(0, at);
    }
    if (!p.empty()) out += fmt::format(".PP\n{}\n", esc(p));
  }
  out += ".PP\nEvery command takes \\fB\\-\\-help\\fR; each has its own page, listed below.\n";
  if (!exit_status.empty()) out += fmt::format(".SH \"EXIT STATUS\"\n{}\n", esc(exit_status));
}

// NAME line of the root: "runbook — run recovery runbooks …." -> "run recovery runbooks …".
std::string root_summary(const std::string& intro) {
  std::string first = intro.substr(0, intro.find('\n'));
  for (const char* sep : {" — ", " - "}) {
    size_t at = first.find(sep);
    if (at != std::string::npos) {
      first = first.substr(at + std::string(sep).size());
      break;
    }
  }
  while (!first.empty() && first.back() == '.') first.pop_back();
  return first;
}

std::string header(const std::string& page, const std::string& version) {
  return fmt::format(
      ".\\\" Generated by `runbook __man` from the command table (engine/cli/main.cpp), the\n"
      ".\\\" source of --help too. Do not edit.\n"
      ".TH {} 1 \"\" \"runbook {}\" \"User Commands\"\n",
      esc(upper(page)), esc(version));
}

const char* kRootTail =
    ".SH ENVIRONMENT\n"
    ".TP\n.B RUNBOOK_STORE\n"
    "The run store when \\fB\\-\\-store\\fR is not given (default \\fI.runbook/runbook.db\\fR in the "
    "current directory).\n"
    ".TP\n.B RUNBOOK_PLUGIN_PATH\n"
    "Directories (\\fB:\\fR\\-separated) searched for \\fBrunbook\\-plugin\\-\\fR\\fINAME\\fR executables after "
    "\\fB\\-\\-plugin\\-path\\fR.\n"
    ".SH FILES\n"
    ".TP\n.I ../libexec/runbook/\n"
    "Relative to the \\fBrunbook\\fR binary: the shipped external plugins, found without any flag "
    "(in a build tree: \\fIplugins/\\fR next to the binary).\n"
    ".TP\n.I ../share/runbook/\n"
    "Relative to the binary: \\fIschemas/\\fR (the runbook JSON Schema for editors), \\fIrunbooks/\\fR and "
    "\\fIexamples/\\fR.\n";

}  // namespace

std::string OptSpec::name_or_value() const { return names.empty() ? value : names.front(); }

std::string man_file_name(const CommandSpec* sub) { return sub ? "runbook-" + sub->name + ".1" : "runbook.1"; }

std::string man_page(const CommandSpec& root, const CommandSpec* sub, const std::string& version) {
  std::string out;
  if (!sub) {
    out += header("runbook", version);
    out += fmt::format(".SH NAME\nrunbook \\- {}\n", esc(root_summary(root.help)));
    out += ".SH SYNOPSIS\n.B runbook\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n";
    intro_sections(out, root.help);
    out += ".SH COMMANDS\n";
    for (auto& c : root.subcommands)
      out += fmt::format(".TP\n.BR runbook\\-{} (1)\n{}\n", esc(c.name), esc(c.help));
    options_section(out, "\"GLOBAL OPTIONS\"", root.options);
    out += kRootTail;
    out += ".SH \"SEE ALSO\"\n";
    for (size_t i = 0; i < root.subcommands.size(); ++i)
      out += fmt::format(".BR runbook\\-{} (1){}\n", esc(root.subcommands[i].name), i + 1 < root.subcommands.size() ? "," : "");
    return out;
  }
  out += header("runbook-" + sub->name, version);
  out += fmt::format(".SH NAME\nrunbook\\-{} \\- {}\n", esc(sub->name), esc(sub->help));
  out += fmt::format(".SH SYNOPSIS\n.B runbook\n[\\fIGLOBAL OPTIONS\\fR]\n.B {}\n{}\n", esc(sub->name),
                     synopsis_args(*sub));
  out += fmt::format(".SH DESCRIPTION\n{}.\n.PP\nThe global options (below) go before or after the command; "
                     "the exit status is described in\n.BR runbook (1).\n",
                     esc(sub->help));
  arguments_section(out, sub->positionals);
  options_section(out, "OPTIONS", sub->options);
  if (!sub->subcommands.empty()) {
    out += ".SH COMMANDS\n";
    for (auto& c : sub->subcommands) {
      out += fmt::format(".SS \"runbook {} {}\"\n.B runbook {} {}\n{}\n.PP\n{}\n", esc(sub->name), esc(c.name),
                         esc(sub->name), esc(c.name), synopsis_args(c), esc(c.help));
      for (auto& p : c.positionals) argument_entry(out, p);
      for (auto& o : c.options) option_entry(out, o);
    }
  }
  std::vector<OptSpec> global;  // the root's, but its own --help and --version
  for (auto& o : root.options)
    if (o.names.front() != "-h" && o.names.front() != "--version") global.push_back(o);
  options_section(out, "\"GLOBAL OPTIONS\"", global);
  out += ".SH \"SEE ALSO\"\n.BR runbook (1)\n";
  return out;
}

int cmd_man(const CommandSpec& root, const std::string& page, const std::string& dir) {
  if (dir.empty()) {
    const CommandSpec* sub = page.empty() || page == "runbook" ? nullptr : root.find(page);
    if (!sub && !(page.empty() || page == "runbook")) {
      error(fmt::format("no command '{}'", page));
      return kInvalid;
    }
    fmt::print("{}", man_page(root, sub, version()));
    return kOk;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::vector<const CommandSpec*> pages = {nullptr};
  for (auto& s : root.subcommands) pages.push_back(&s);
  for (const CommandSpec* sub : pages) {
    std::string path = dir + "/" + man_file_name(sub);
    std::ofstream out(path, std::ios::trunc);
    out << man_page(root, sub, version());
    out.close();
    if (!out) {
      error(fmt::format("cannot write {}", path));
      return kEngine;
    }
  }
  return kOk;
}

}  // namespace rb::cli
