// The shell lexer behind shell::analyze (see script.h). It follows the POSIX shell's
// token rules closely enough to know, for each `${{ }}`, whether the top-level shell
// reads it as (part of) a word; where it cannot be sure, it refuses.
#include "shell/script.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "base/text.h"
#include "shell/reparse.h"

namespace rb::plugins::shell {
namespace {

// Finds every `${{ … }}` (the rule of expr::parse_template: the first `}}` closes).
std::optional<std::pair<size_t, std::string>> find_interps(std::string_view s, std::vector<Interp>& out) {
  size_t i = 0;
  while ((i = s.find("${{", i)) != std::string_view::npos) {
    size_t close = s.find("}}", i + 3);
    if (close == std::string_view::npos) return std::make_pair(i, std::string("'${{' without a closing '}}'"));
    Interp in;
    in.open = i;
    in.end = close + 2;
    in.expr = std::string(trim(s.substr(i + 3, close - i - 3)));
    if (in.expr.empty()) return std::make_pair(i, std::string("empty '${{ }}'"));
    out.push_back(std::move(in));
    i = close + 2;
  }
  return std::nullopt;
}

// ---- the lexer ---------------------------------------------------------------------------

class Lexer {
 public:
  Lexer(std::string_view s, std::vector<Interp>& in) : s_(s), in_(in) {}

  void run() { program(false, std::nullopt, 0); }
  /// After run(): the program of a top-level command that reads the step's stdin as code.
  const std::optional<std::string>& stdin_reader() const { return stdin_reader_; }

 private:
  struct Heredoc {
    std::string delimiter;
    bool strip_tabs = false;
  };

  bool at_interp() const { return next_ < in_.size() && in_[next_].open == i_; }
  char at(size_t k) const { return k < s_.size() ? s_[k] : '\0'; }

  // Consumes the interp at i_, placed at `p` (or `forced`); returns its index. Right
  // after a `$` (`$${{ x }}`) the quoting would not hold: refused as Escaped.
  size_t take(Place p, std::optional<Place> forced) {
    size_t k = next_++;
    if (in_[k].open > 0 && s_[in_[k].open - 1] == '$') p = Place::Escaped;
    in_[k].place = forced ? *forced : p;
    i_ = in_[k].end;
    return k;
  }

  void unparsed_rest() {
    for (; next_ < in_.size(); ++next_) in_[next_].place = Place::Unparsed;
    i_ = s_.size();
  }

  static bool is_blank(char c) { return c == ' ' || c == '\t'; }
  static bool is_meta(char c) { return is_blank(c) || c == '\n' || std::string_view(";&|()<>").find(c) != std::string_view::npos; }
  static bool is_name_start(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || std::string_view("@*#?$!-").find(c) != std::string_view::npos;
  }

  // A list of commands up to the end (top level) or the `)` closing a `$(`.
  void program(bool until_paren, std::optional<Place> forced, int depth) {
    std::vector<Word> words;
    std::vector<Command> pipeline;
    auto finish = [&](bool piped) {
      if (auto cmd = command(words, forced)) pipeline.push_back(std::move(*cmd));
      if (!piped) end_pipeline(pipeline, forced);
    };
    std::vector<Heredoc> pending;
    int parens = 0, cases = 0;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (at_interp()) {
        // the start of a word: below
      } else if (is_blank(c)) {
        ++i_;
        continue;
      } else if (c == '\\' && at(i_ + 1) == '\n') {
        i_ += 2;
        continue;
      } else if (c == '\n') {
        ++i_;
        finish(false);
        heredocs(pending, forced);
        continue;
      } else if (c == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') {
          if (at_interp()) take(Place::Comment, forced);
          else ++i_;
        }
        continue;
      } else if (c == ')') {
        ++i_;
        finish(false);
        if (parens > 0) --parens;
        else if (cases == 0 && until_paren) return;
        continue;
      } else if (c == '(') {
        ++i_;
        ++parens;
        finish(false);
        continue;
      } else if (c == ';' || c == '&' || c == '|') {
        ++i_;
        bool pipe = c == '|' && at(i_) != '|';
        if (at(i_) == c || (c == ';' && at(i_) == '&') || (c == '|' && at(i_) == '&')) ++i_;
        finish(pipe);
        continue;
      } else if (c == '<' || c == '>') {
        if (redirection(pending, forced, depth)) {
          while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
          word(forced, depth);  // the target: a file name, data (never an argument)
        }
        continue;
      }
      Word w = word(forced, depth);
      bool command_position = std::all_of(words.begin(), words.end(), [](const Word& x) { return reserved(x); });
      if (command_position && w.literal && *w.literal == "case") ++cases;
      if (command_position && w.literal && *w.literal == "esac" && cases > 0) --cases;
      words.push_back(std::move(w));
    }
    finish(false);
  }

  static bool reserved(const Word& w) {
    static const std::set<std::string> words = {"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while",
                                                "until", "time"};
    return w.literal && words.count(*w.literal) > 0;
  }

  // At `<` or `>`: a redirection operator. A here-document's delimiter is read here and
  // its body queued for the end of the line (returns false); other operators are
  // followed by their target word (returns true).
  bool redirection(std::vector<Heredoc>& pending, std::optional<Place> forced, int depth) {
    char c = s_[i_++];
    if (c == '<' && at(i_) == '<' && at(i_ + 1) != '<') {
      ++i_;
      Heredoc h;
      if (at(i_) == '-') {
        h.strip_tabs = true;
        ++i_;
      }
      while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
      size_t before = next_;
      Word d = word(forced, depth);
      for (size_t k = before; k < next_; ++k) in_[k].place = forced ? *forced : Place::Heredoc;
      h.delimiter = d.literal ? *d.literal : std::string(s_.substr(d.start, i_ - d.start));
      pending.push_back(std::move(h));
      return false;
    }
    if (c == '<' && at(i_) == '<') i_ += 2;  // <<< here-string
    else if (at(i_) == '>' || at(i_) == '&' || at(i_) == '|' || (c == '<' && at(i_) == '>')) ++i_;
    return true;
  }

  // The bodies of the here-documents opened on the line just ended.
  void heredocs(std::vector<Heredoc>& pending, std::optional<Place> forced) {
    for (auto& h : pending) {
      while (i_ < s_.size()) {
        std::string line;
        while (i_ < s_.size() && s_[i_] != '\n') {
          if (at_interp()) {
            take(Place::Heredoc, forced);
            line += '\x01';  // never equal to a delimiter
          } else {
            line += s_[i_++];
          }
        }
        if (i_ < s_.size()) ++i_;
        std::string_view l(line);
        if (h.strip_tabs) l.remove_prefix(std::min(l.find_first_not_of('\t'), l.size()));
        if (l == h.delimiter) break;
      }
    }
    pending.clear();
  }

  // One word, with its quotes, escapes and expansions.
  Word word(std::optional<Place> forced, int depth) {
    Word w;
    w.start = i_;
    std::string lit;
    bool literal = true;
    while (i_ < s_.size()) {
      if (at_interp()) {
        size_t k = take(Place::Word, forced);
        if (!forced) w.interps.push_back(k);
        literal = false;
        continue;
      }
      char c = s_[i_];
      if (is_meta(c)) break;
      if (c == '\\') {
        ++i_;
        if (at(i_) == '\n') {
          ++i_;
        } else if (at_interp()) {
          take(Place::Escaped, forced);
          literal = false;
        } else if (i_ < s_.size()) {
          lit += s_[i_++];
        }
      } else if (c == '\'') {
        single_quoted(lit, forced);
      } else if (c == '"') {
        double_quoted(w, lit, literal, forced, depth);
      } else {
        expansion_or_char(lit, literal, forced, depth);
      }
    }
    if (literal) w.literal = std::move(lit);
    return w;
  }

  // `$(`, `$((`, `${`, a backquote, `$NAME`, or a plain character.
  void expansion_or_char(std::string& lit, bool& literal, std::optional<Place> forced, int depth) {
    char c = s_[i_];
    if (c == '`') {
      literal = false;
      backquoted(forced);
    } else if (c == '$' && at(i_ + 1) == '(') {
      literal = false;
      if (at(i_ + 2) == '(') return arithmetic(forced);
      i_ += 2;
      if (depth + 1 > kMaxNesting) return unparsed_rest();
      program(true, forced ? forced : Place::CommandSubst, depth + 1);
    } else if (c == '$' && at(i_ + 1) == '{') {
      literal = false;
      parameter(forced.value_or(Place::Expansion), depth);
    } else {
      if (c == '$' && is_name_start(at(i_ + 1))) literal = false;
      lit += c;
      ++i_;
    }
  }

  void single_quoted(std::string& lit, std::optional<Place> forced) {
    ++i_;
    while (i_ < s_.size()) {
      if (at_interp()) {
        take(Place::SingleQuoted, forced);
        continue;
      }
      if (s_[i_] == '\'') {
        ++i_;
        return;
      }
      lit += s_[i_++];
    }
  }

  void double_quoted(Word& w, std::string& lit, bool& literal, std::optional<Place> forced, int depth) {
    ++i_;
    while (i_ < s_.size()) {
      if (at_interp()) {
        size_t k = take(Place::DoubleQuoted, forced);
        if (!forced) w.interps.push_back(k);
        literal = false;
        continue;
      }
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return;
      }
      if (c == '\\') {
        ++i_;
        if (at_interp()) {
          take(Place::Escaped, forced);
        } else if (i_ < s_.size()) {
          if (std::string_view("$`\"\\").find(s_[i_]) == std::string_view::npos && s_[i_] != '\n') lit += '\\';
          if (s_[i_] != '\n') lit += s_[i_];
          ++i_;
        }
        continue;
      }
      expansion_or_char(lit, literal, forced, depth);
    }
  }

  void backquoted(std::optional<Place> forced) {
    ++i_;
    while (i_ < s_.size()) {
      if (at_interp()) {
        take(Place::Backquote, forced);
        continue;
      }
      if (s_[i_] == '\\') {
        i_ += 2;
        continue;
      }
      if (s_[i_++] == '`') return;
    }
  }

  void arithmetic(std::optional<Place> forced) {
    i_ += 3;
    int open = 2;
    while (i_ < s_.size() && open > 0) {
      if (at_interp()) {
        take(Place::Arithmetic, forced);
        continue;
      }
      if (s_[i_] == '(') ++open;
      else if (s_[i_] == ')') --open;
      ++i_;
    }
  }

  // `${ … }`, with nested quotes and expansions; everything inside is at `p`.
  void parameter(Place p, int depth) {
    i_ += 2;
    int open = 1;
    std::string ignored;
    bool ignored_literal = true;
    Word ignored_word;
    while (i_ < s_.size()) {
      if (at_interp()) {
        take(p, p);
        continue;
      }
      char c = s_[i_];
      if (c == '}') {
        ++i_;
        if (--open == 0) return;
      } else if (c == '$' && at(i_ + 1) == '{') {
        i_ += 2;
        ++open;
      } else if (c == '\\') {
        i_ += 2;
      } else if (c == '\'') {
        single_quoted(ignored, p);
      } else if (c == '"') {
        double_quoted(ignored_word, ignored, ignored_literal, p, depth);
      } else {
        expansion_or_char(ignored, ignored_literal, p, depth);
      }
    }
  }

  // A simple command, as a pipeline sees it.
  struct Command {
    std::vector<size_t> interps;              ///< read directly as its words
    std::optional<std::string> stdin_reader;  ///< it reads code from its standard input
  };

  // The end of a simple command: flags the interps of words a program re-parses, and
  // says whether it reads code from its input. nullopt for no command.
  std::optional<Command> command(std::vector<Word>& words, std::optional<Place> forced) {
    if (forced || words.empty()) {
      words.clear();
      return std::nullopt;
    }
    Command cmd;
    size_t c = 0;
    while (c < words.size() && reserved(words[c])) ++c;
    while (c < words.size() && is_assignment(words[c])) ++c;
    bool compound = c < words.size() && words[c].literal &&
                    (*words[c].literal == "case" || *words[c].literal == "for" || *words[c].literal == "select");
    if (!compound) {
      std::vector<std::string> raw;
      for (auto& w : words) raw.emplace_back(s_.substr(w.start, std::min<size_t>(16, s_.size() - w.start)));
      for (auto& f : code_words(words, raw, c))
        for (size_t k : words[f.word].interps) {
          in_[k].place = Place::Code;
          in_[k].reparser = f.by;
        }
      cmd.stdin_reader = shell::stdin_reader(words, c);
    }
    for (auto& w : words) cmd.interps.insert(cmd.interps.end(), w.interps.begin(), w.interps.end());
    words.clear();
    return cmd;
  }

  // The end of a pipeline: values in commands whose output flows into a program that
  // reads code from its input are code.
  void end_pipeline(std::vector<Command>& pipeline, std::optional<Place> forced) {
    for (size_t i = 1; i < pipeline.size(); ++i) {
      if (!pipeline[i].stdin_reader) continue;
      for (size_t j = 0; j < i; ++j)
        for (size_t k : pipeline[j].interps)
          if (is_safe(in_[k].place)) {
            in_[k].place = Place::Code;
            in_[k].reparser = "… | " + *pipeline[i].stdin_reader;
          }
    }
    // The step's stdin reaches whichever command reads it, through `cat |` and the like:
    // any reader of the script counts.
    for (auto& cmd : pipeline)
      if (!forced && cmd.stdin_reader && !stdin_reader_) stdin_reader_ = cmd.stdin_reader;
    pipeline.clear();
  }


  bool is_assignment(const Word& w) const {
    size_t k = w.start;
    if (k >= s_.size() || !(std::isalpha(static_cast<unsigned char>(s_[k])) || s_[k] == '_')) return false;
    while (k < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[k])) || s_[k] == '_')) ++k;
    return at(k) == '=';
  }

  std::string_view s_;
  std::vector<Interp>& in_;
  size_t i_ = 0;
  size_t next_ = 0;  // the first interp not yet placed
  std::optional<std::string> stdin_reader_;
};

}  // namespace

Analysis analyze(std::string_view command) {
  Analysis a;
  a.error = find_interps(command, a.interps);
  if (a.error) return a;
  Lexer lexer(command, a.interps);
  lexer.run();
  a.stdin_reader = lexer.stdin_reader();
  return a;
}

std::vector<Analysis> analyze_argv(const std::vector<std::string>& argv) {
  std::vector<Analysis> out(argv.size());
  std::vector<Word> words(argv.size());
  std::vector<std::string> starts;
  for (size_t k = 0; k < argv.size(); ++k) {
    out[k].error = find_interps(argv[k], out[k].interps);
    if (out[k].interps.empty()) words[k].literal = argv[k];
    else words[k].interps.push_back(k);  // the item's index: flagged items are refused whole
    starts.push_back(argv[k].substr(0, 16));
  }
  for (auto& f : code_words(words, starts, 0))
    for (auto& in : out[f.word].interps) {
      in.place = Place::Code;
      in.reparser = f.by;
    }
  auto reader = stdin_reader(words, 0);
  for (auto& a : out) a.stdin_reader = reader;
  return out;
}

bool is_safe(Place p) { return p == Place::Word || p == Place::DoubleQuoted; }

namespace {

std::string where(const Interp& i) {
  switch (i.place) {
    case Place::SingleQuoted: return "inside single quotes";
    case Place::Comment: return "in a comment";
    case Place::Heredoc: return "in a here-document";
    case Place::CommandSubst: return "inside $( )";
    case Place::Backquote: return "inside backquotes";
    case Place::Arithmetic: return "inside $(( ))";
    case Place::Expansion: return "inside a ${ } expansion";
    case Place::Escaped: return "right after a backslash or '$'";
    case Place::Code: return fmt::format("in the code argument of `{}`, which parses it as code again", i.reparser);
    case Place::Unparsed: return fmt::format("in text nested over {} levels deep", kMaxNesting);
    default: return "here";
  }
}

// A variable name to suggest: the expression's last name, upper-cased (`inputs.file` -> FILE).
std::string suggest_name(const std::string& expr) {
  std::string name;
  for (char c : expr) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    else name.clear();
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return "VALUE";
  return name;
}

}  // namespace

std::string stdin_refusal(const Interp& i, const std::string& reader) {
  std::string e = ellipsize(i.expr, 60);
  std::string name = suggest_name(i.expr);
  return fmt::format(
      "'${{{{ {} }}}}' in 'stdin', which `{}` reads as code: pass the value through 'env:' (env: {{ {}: "
      "\"${{{{ {} }}}}\" }}) and read it as \"${}\" in the code it feeds (or from the environment)",
      e, reader, name, e, name);
}

std::string refusal(const Interp& i) {
  std::string e = ellipsize(i.expr, 60);
  std::string name = suggest_name(i.expr);
  return fmt::format(
      "'${{{{ {} }}}}' {}: an interpolated value may stand only where the shell reads it as one word (unquoted or "
      "inside double quotes); pass it through 'env:' (env: {{ {}: \"${{{{ {} }}}}\" }}) and read it as \"${}\"{}",
      e, where(i), name, e, name,
      i.place == Place::Code ? " (for a script run by another program, pass it as an argument, e.g. "
                               "sh -c '… \"$1\"' sh \"$" + name + "\", or read it from the environment)"
                             : "");
}

std::string rewrite(std::string_view command, const Analysis& a, const std::vector<std::string>& names) {
  std::string out;
  size_t at = 0;
  for (size_t k = 0; k < a.interps.size(); ++k) {
    const Interp& i = a.interps[k];
    out.append(command.substr(at, i.open - at));
    if (i.place == Place::Word) out += "\"${" + names[k] + "}\"";
    else out += "${" + names[k] + "}";
    at = i.end;
  }
  out.append(command.substr(at));
  return out;
}

}  // namespace rb::plugins::shell
