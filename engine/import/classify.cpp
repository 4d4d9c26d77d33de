// Code block → action or manual step (see classify.h).
#include "import/classify.h"

#include <cctype>
#include <cstring>
#include <fmt/format.h>

#include "import/scan.h"

namespace rb::import {

namespace {

bool word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool upper_word(std::string_view w) {
  if (w.empty()) return false;
  for (char c : w)
    if (!(c >= 'A' && c <= 'Z')) return false;
  return true;
}

std::string_view trim_view(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  size_t p = 0;
  while (p < s.size()) {
    size_t e = s.find('\n', p);
    if (e == std::string_view::npos) e = s.size();
    out.push_back(s.substr(p, e - p));
    p = e + 1;
  }
  return out;
}

std::string quote_line(std::string_view l) { return std::string(trim_view(l).substr(0, 60)); }

// A comment's words, without the marker and a leading "1." or "-".
std::string comment_words(std::string_view c) {
  size_t i = 0;
  while (i < c.size() && (c[i] == '#' || c[i] == '-' || c[i] == ' ' || c[i] == '\t')) ++i;
  size_t d = i;
  while (d < c.size() && c[d] >= '0' && c[d] <= '9') ++d;
  if (d > i && d < c.size() && (c[d] == '.' || c[d] == ')')) i = d + 1;
  while (i < c.size() && c[i] == ' ') ++i;
  return lower(c.substr(i));
}

bool starts_any(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (s.rfind(w, 0) == 0) return true;
  return false;
}
bool contains_any(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (s.find(w) != std::string::npos) return true;
  return false;
}

bool alternatives(const std::string& w) {
  return w == "or" || starts_any(w, {"or ", "or:", "or,", "alternatively", "otherwise"});
}
bool for_a_person(const std::string& w) {
  return starts_any(w, {"login", "log in", "log into", "sign in", "sign out", "edit ", "open ", "click", "navigate",
                        "go to", "select ", "choose", "watch ", "wait ", "look for", "compare", "note ", "copy ",
                        "paste", "contact", "call ", "notify", "ask ", "tell ", "inform", "announce", "email",
                        "update all", "enable 2fa", "review "}) ||
         contains_any(w, {"dashboard", " console", "manually", "by hand", "\xE2\x86\x92", " web ui"});
}
bool dangerous(const std::string& w) {
  return contains_any(w, {"development only", "dev only", "staging only", "do not run", "don't run", "dangerous",
                          "destructive"});
}
bool condition(const std::string& w) {
  return starts_any(w, {"if ", "only if", "when needed", "unless "}) ||
         contains_any(w, {"(if ", "if needed", "if necessary", "if applicable", "if required"});
}

const char* const kSqlWords[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP",  "ALTER",
                                 "FROM",   "WHERE",  "ORDER",  "GROUP",  "HAVING", "LIMIT", "TRUNCATE"};

std::string first_token(std::string_view l) {
  l = trim_view(l);
  size_t e = l.find_first_of(" \t(;");
  return std::string(l.substr(0, e));
}

// Why a command line of a shell block cannot run as written; empty when it can.
std::string command_problem(std::string_view line, int n, bool unlabelled) {
  std::string tok = first_token(line);
  std::string l = lower(line);
  for (const char* w : kSqlWords)
    if (tok == w) return fmt::format("SQL inside a shell block (line {}): no database to run it against", n);
  if ((tok == "const" || tok == "let" || tok == "var" || tok == "function" || tok == "import") &&
      (trim_view(line).ends_with(";") || trim_view(line).ends_with("{")))
    return fmt::format("source code to edit, not a command ('{}', line {})", quote_line(line), n);
  if (l.find("--follow") != std::string::npos || l.find("tail -f") != std::string::npos || tok == "watch" ||
      tok == "nohup" || trim_view(line).ends_with("&"))
    return fmt::format("runs until stopped ('{}', line {}): a person watches it", quote_line(line), n);
  if (unlabelled) {
    bool cmd = !tok.empty() && tok.back() != ':';
    for (char c : tok) cmd = cmd && (word_char(c) || c == '_' || c == '.' || c == '/' || c == '-' || c == '~' || c == '$');
    cmd = cmd && !upper_word(tok.substr(0, 1));
    if (!cmd) return fmt::format("an unlabelled block that does not read as shell commands (line {})", n);
  }
  return {};
}

// `curl [-sSfLi] URL` with nothing a shell would interpret: the URL, else empty. The URL
// may be quoted ('…' or "…"); unquoted, it may hold '?' and '=' but not '&'.
std::string simple_curl(std::string_view line) {
  std::string url;
  size_t p = 0;
  std::string_view l = trim_view(line);
  if (l.find_first_of("$`|;<>\\*{}") != std::string_view::npos) return {};
  bool first = true;
  while (p < l.size()) {
    size_t e = l.find(' ', p);
    if (e == std::string_view::npos) e = l.size();
    std::string_view tok = l.substr(p, e - p);
    p = e + 1;
    if (tok.empty()) continue;
    bool quoted = tok.size() >= 2 && (tok[0] == '\'' || tok[0] == '"') && tok.back() == tok[0];
    if (quoted) tok = tok.substr(1, tok.size() - 2);
    if (tok.find_first_of("'\"") != std::string_view::npos) return {};
    if (first) {
      if (tok != "curl" || quoted) return {};
      first = false;
    } else if (tok.starts_with("http://") || tok.starts_with("https://")) {
      if (!url.empty() || (!quoted && tok.find('&') != std::string_view::npos)) return {};
      url = tok;
    } else if (tok.find('&') != std::string_view::npos) {
      return {};
    } else if (!(tok == "--silent" || tok == "--fail" || tok == "--show-error" || tok == "--location" ||
                 (tok.size() >= 2 && tok[0] == '-' && tok.substr(1).find_first_not_of("sSfLi") == std::string_view::npos))) {
      return {};
    }
  }
  return url;
}

// "Expected: 200", "should return 200", "Should show maintenance page".
std::string expectation(const std::string& w) {
  for (const char* k : {"expected:", "expected", "expect", "should return", "returns", "should be"}) {
    size_t p = w.find(k);
    if (p == std::string::npos) continue;
    size_t d = w.find_first_not_of(" :", p + std::strlen(k));
    if (d != std::string::npos && d + 3 <= w.size() && std::isdigit(static_cast<unsigned char>(w[d])) &&
        std::isdigit(static_cast<unsigned char>(w[d + 1])) && std::isdigit(static_cast<unsigned char>(w[d + 2])) &&
        (d + 3 == w.size() || !std::isdigit(static_cast<unsigned char>(w[d + 3]))))
      return "result.status == " + w.substr(d, 3);
  }
  for (const char* k : {"should show ", "should display ", "should see ", "should contain "}) {
    size_t p = w.find(k);
    if (p == std::string::npos) continue;
    std::string rest = w.substr(p + std::strlen(k));
    for (const char* art : {"the ", "a ", "an "})
      if (rest.rfind(art, 0) == 0) rest.erase(0, std::strlen(art));
    std::string word;
    for (char c : rest) {
      if (!(c >= 'a' && c <= 'z')) break;
      word += c;
    }
    if (word.size() < 3) return {};
    // Case of the first letter either way ("Maintenance" or "maintenance").
    char up = static_cast<char>(word[0] - 'a' + 'A');
    return fmt::format("matches(result.body, '[{}{}]{}')", up, word[0], word.substr(1));
  }
  return {};
}

struct Lines {
  std::vector<std::string_view> all;
  bool comment(size_t i, bool sql) const {
    std::string_view t = trim_view(all[i]);
    if (sql) return t.starts_with("--");
    return t.starts_with("#") && !t.starts_with("#!");
  }
};

// Checks every comment; returns a reason for a person to do the block, else empty.
// Sets *cond to a leading condition.
std::string comment_problems(const Lines& ls, bool sql, int first_line, std::string* cond) {
  bool seen_command = false;
  for (size_t i = 0; i < ls.all.size(); ++i) {
    std::string_view t = trim_view(ls.all[i]);
    if (t.empty()) continue;
    if (!ls.comment(i, sql)) {
      seen_command = true;
      continue;
    }
    int n = first_line + static_cast<int>(i);
    std::string w = comment_words(sql ? t.substr(2) : t);
    if (alternatives(w))
      return fmt::format("offers alternatives ('{}', line {}): a person chooses one", quote_line(t), n);
    if (for_a_person(w)) return fmt::format("an instruction for a person ('{}', line {})", quote_line(t), n);
    if (dangerous(w)) return fmt::format("marked '{}' (line {})", quote_line(t), n);
    if (condition(w)) {
      if (seen_command)
        return fmt::format("part of it runs only on a condition ('{}', line {}): a person decides", quote_line(t), n);
      if (cond->empty()) *cond = std::string(trim_view(t));
    }
  }
  return {};
}

BlockAction manual(std::string why) {
  BlockAction a;
  a.why = std::move(why);
  return a;
}

// Splits SQL into statements on ';' outside quotes and comments; counts them and tells
// whether each only reads.
void sql_statements(std::string_view q, int* count, bool* read_only) {
  *count = 0;
  *read_only = true;
  std::string cur;
  auto flush = [&] {
    size_t b = cur.find_first_not_of(" \t\r\n"), e = cur.find_last_not_of(" \t\r\n");
    std::string_view t = b == std::string::npos ? std::string_view() : std::string_view(cur).substr(b, e - b + 1);
    if (!t.empty()) {
      ++*count;
      std::string l = " " + lower(t) + " ";
      for (auto& c : l)
        if (c == '\n' || c == '\t' || c == '(' || c == ')') c = ' ';
      bool reads = l.rfind(" select ", 0) == 0 || l.rfind(" with ", 0) == 0 || l.rfind(" explain ", 0) == 0 ||
                   l.rfind(" show ", 0) == 0;
      for (const char* w : {" insert ", " update ", " delete ", " into ", " drop ", " alter ", " create ", " truncate ",
                            " grant "})
        reads = reads && l.find(w) == std::string::npos;
      *read_only = *read_only && reads;
    }
    cur.clear();
  };
  char quote = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    char c = q[i];
    if (quote) {
      cur += c;
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
      cur += c;
    } else if (c == '-' && i + 1 < q.size() && q[i + 1] == '-') {
      while (i < q.size() && q[i] != '\n') ++i;
      cur += ' ';
    } else if (c == ';') {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
}

std::string strip_trailing_newlines(std::string_view s) {
  std::string out(s);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\r')) out.pop_back();
  return out;
}

BlockAction classify_shell(const Lines& ls, std::string_view code, int first_line, bool unlabelled) {
  std::vector<HttpCall> calls;
  bool all_curl = true;
  int commands = 0;
  for (size_t i = 0; i < ls.all.size(); ++i) {
    std::string_view t = trim_view(ls.all[i]);
    if (t.empty()) continue;
    int n = first_line + static_cast<int>(i);
    if (ls.comment(i, false)) {
      if (!calls.empty() && calls.back().expect.empty()) calls.back().expect = expectation(comment_words(t));
      continue;
    }
    ++commands;
    std::string why = command_problem(t, n, unlabelled);
    if (!why.empty()) return manual(why);
    std::string url = simple_curl(t);
    if (url.empty()) all_curl = false;
    else calls.push_back({url, {}, n});
  }
  if (commands == 0) return manual(fmt::format("only comments (line {}): steps for a person", first_line));
  BlockAction a;
  if (all_curl) {
    a.kind = BlockAction::Kind::Http;
    a.http = std::move(calls);
    return a;
  }
  a.kind = BlockAction::Kind::Shell;
  a.text = strip_trailing_newlines(code);
  return a;
}

bool session_language(std::string_view lang) {
  for (const char* l : {"console", "shell-session", "sh-session", "shellsession", "terminal"})
    if (lang == l) return true;
  return false;
}

bool prompt_line(std::string_view l) {
  l = trim_view(l);
  return l == "$" || l.starts_with("$ ");
}

// A terminal transcript ("$ cmd" lines, output after them) → the commands alone: a
// `console` block, or a shell block whose every command line starts with "$ ". Output
// lines become blank lines, so that line numbers in the reasons stay true.
std::string strip_prompts(std::string_view lang, std::string_view code) {
  std::vector<std::string_view> ls = lines_of(code);
  bool any = false, all = true;
  for (auto l : ls) {
    std::string_view t = trim_view(l);
    if (t.empty() || t.starts_with("#")) continue;
    any = any || prompt_line(t);
    all = all && prompt_line(t);
  }
  if (!any || !(all || session_language(lang))) return std::string(code);
  std::string out;
  bool continued = false;
  for (auto l : ls) {
    std::string_view t = trim_view(l);
    if (prompt_line(t)) {
      t = trim_view(t.substr(1));
      out.append(t);
      continued = t.ends_with("\\");
    } else if (continued || t.starts_with("#")) {
      out.append(l);
      continued = continued && t.ends_with("\\");
    } else {
      continued = false;
    }
    out += '\n';
  }
  return out;
}

}  // namespace

bool shell_language(std::string_view lang) {
  for (const char* l : {"bash", "sh", "shell", "zsh", "console", "shell-session", "sh-session", "shellsession",
                        "terminal", "shellscript"})
    if (lang == l) return true;
  return false;
}

bool sql_language(std::string_view lang) {
  for (const char* l : {"sql", "psql", "postgres", "postgresql", "pgsql", "plpgsql", "sqlite", "sqlite3", "mysql"})
    if (lang == l) return true;
  return false;
}

std::optional<std::string> find_placeholder(std::string_view t, bool code_line) {
  if (t.find("${{") != std::string_view::npos) return std::string("${{");
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    char before = i ? t[i - 1] : ' ';
    if ((c == '[' || c == '<') && !word_char(before) && before != c && before != '$' && before != ']') {
      char close = c == '[' ? ']' : '>';
      size_t e = i + 1;
      bool letter = false;
      while (e < t.size() && e - i <= 40 && (word_char(t[e]) || t[e] == '-' || t[e] == '_' || t[e] == '.')) {
        letter = letter || (t[e] >= 'A' && t[e] <= 'Z') || (t[e] >= 'a' && t[e] <= 'z');
        ++e;
      }
      if (e < t.size() && t[e] == close && e - i >= 3 && letter && (c == '[' || (t[i + 1] >= 'A' && t[i + 1] <= 'z')))
        return std::string(t.substr(i, e - i + 1));
    }
  }
  std::string l = lower(t);
  for (const char* p : {"your-", "your_", "changeme", "change_me", "replace_me", "replaceme", "example.com"}) {
    size_t at = l.find(p);
    if (at != std::string::npos && (at == 0 || !word_char(l[at - 1]))) {
      size_t e = at;
      while (e < t.size() && (word_char(t[e]) || t[e] == '-' || t[e] == '_' || t[e] == '.')) ++e;
      return std::string(t.substr(at, e - at));
    }
  }
  for (const char* w : {"YOUR", "TODO", "FIXME", "XXX", "YYYY", "YYYYMMDD"})
    if (has_word(t, w)) return std::string(w);
  if (code_line) {
    if (t.find("...") != std::string_view::npos) return std::string("...");
    if (t.find("\xE2\x80\xA6") != std::string_view::npos) return std::string("\xE2\x80\xA6");
  }
  return std::nullopt;
}

// The first character in `t` that shows differently from what runs: a C0 control other
// than tab/newline (an ANSI escape or a lone CR hides text on a terminal), DEL, or a Unicode
// format character (bidi overrides and isolates, zero-width spaces and joiners, word joiner,
// BOM, soft hyphen, Arabic letter mark, Mongolian vowel separator, interlinear annotations).
// Returned as "U+XXXX"; a draft never runs text a reviewer reads differently ("Trojan Source").
std::optional<std::string> find_invisible(std::string_view t) {
  auto at = [&](size_t i) { return static_cast<unsigned char>(t[i]); };
  for (size_t i = 0; i < t.size(); ++i) {
    unsigned c = at(i);
    if ((c < 0x20 && c != '\t' && c != '\n' && !(c == '\r' && i + 1 < t.size() && t[i + 1] == '\n')) || c == 0x7F)
      return fmt::format("U+{:04X}", c);
    unsigned cp = 0;
    if (c == 0xC2 && i + 1 < t.size()) cp = ((c & 0x1F) << 6) | (at(i + 1) & 0x3F);
    else if (c == 0xD8 && i + 1 < t.size()) cp = ((c & 0x1F) << 6) | (at(i + 1) & 0x3F);
    else if ((c == 0xE1 || c == 0xE2 || c == 0xEF) && i + 2 < t.size())
      cp = ((c & 0x0F) << 12) | ((at(i + 1) & 0x3F) << 6) | (at(i + 2) & 0x3F);
    bool hidden = (cp >= 0x80 && cp <= 0x9F) || cp == 0xAD || cp == 0x61C || cp == 0x180E ||
                  (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
                  (cp >= 0x2060 && cp <= 0x2069) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB);
    if (hidden) return fmt::format("U+{:04X}", cp);
  }
  return std::nullopt;
}

BlockAction classify_block(std::string_view lang, std::string_view raw_code, int first_line) {
  bool sql = sql_language(lang);
  bool unlabelled = lang.empty();
  if (!sql && !unlabelled && !shell_language(lang))
    return manual(fmt::format("a '{}' block is not something runbook runs (line {})", lang, first_line));
  if (auto inv = find_invisible(raw_code))
    return manual(fmt::format("holds the invisible or direction-changing character {} (block at line {}): what runs "
                              "would differ from what a reviewer reads",
                              *inv, first_line));
  std::string commands = sql ? std::string(raw_code) : strip_prompts(lang, raw_code);
  std::string_view code = commands;
  if (code.find("${{") != std::string_view::npos)
    return manual(fmt::format("holds '${{{{', another tool's template syntax (line {})", first_line));
  Lines ls{lines_of(code)};
  for (size_t i = 0; i < ls.all.size(); ++i) {
    bool is_comment = ls.comment(i, sql);
    if (auto p = find_placeholder(ls.all[i], !is_comment))
      return manual(fmt::format("holds the placeholder '{}' (line {})", *p, first_line + static_cast<int>(i)));
  }
  std::string cond;
  std::string why = comment_problems(ls, sql, first_line, &cond);
  if (!why.empty()) return manual(why);
  BlockAction a;
  if (sql) {
    sql_statements(code, &a.statements, &a.read_only);
    if (a.statements == 0) return manual(fmt::format("only comments (line {}): steps for a person", first_line));
    a.kind = BlockAction::Kind::Sql;
    a.text = strip_trailing_newlines(code);
  } else {
    a = classify_shell(ls, code, first_line, unlabelled);
  }
  if (a.kind != BlockAction::Kind::Manual && !cond.empty()) {
    a.conditional = true;
    a.condition = cond;
  }
  return a;
}

}  // namespace rb::import
