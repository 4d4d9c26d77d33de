#include "shell/reparse.h"

#include <cstdint>
#include <initializer_list>
#include <set>

namespace rb::plugins::shell {
namespace {

std::string base_name(const std::string& s) {
  size_t slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

class CodeScan {
 public:
  /// `raw`: each word's raw text (its first bytes suffice).
  CodeScan(const std::vector<Word>& w, std::vector<std::string> raw) : w_(w), raw_(std::move(raw)) {}

  // Words (from index c, the command name) that some program re-parses as code.
  std::vector<Flag> run(size_t c) {
    for (size_t j = c; j < w_.size(); ++j) {
      if (!w_[j].literal) continue;
      std::string name = base_name(*w_[j].literal);
      if (name == "eval" && (j == c || is(j - 1, {"command", "builtin", "exec"}))) return rest(j + 1, "eval");
      if (is_shell(name)) {
        // The words after the script are its positional parameters: data.
        if (auto k = shell_script(j)) return rest(*k, name + " -c", *k + 1);
      } else if (name == "ssh") {
        if (auto k = ssh_command(j)) return rest(*k, "ssh HOST …");
      } else if (name == "watch") {
        return rest(first_operand(j, {"-n", "--interval"}), "watch");
      } else if (name == "trap" && j == c) {
        // `trap ACTION SIGNAL…`: the action is run as code when the signal comes.
        size_t k = first_operand(j, {});
        if (k < w_.size() && !(w_[k].literal && *w_[k].literal == "-")) flag(k, "trap");
        return std::move(out_);
      } else if (name == "su" || name == "runuser" || name == "script" || name == "flock") {
        option_arg(j, {"-c", "--command"}, name + " -c");
      } else if (name.starts_with("python") || name == "pypy3") {
        option_arg(j, {"-c"}, name + " -c");
      } else if (name == "perl") {
        option_arg(j, {"-e", "-E"}, "perl -e");
      } else if (name == "ruby") {
        option_arg(j, {"-e"}, "ruby -e");
      } else if (name == "node" || name == "nodejs") {
        option_arg(j, {"-e", "--eval", "-p", "--print"}, "node -e");
      } else if (name == "php") {
        option_arg(j, {"-r"}, "php -r");
      } else if (name == "psql") {
        option_arg(j, {"-c", "--command"}, "psql -c");
      } else if (name == "mysql" || name == "mariadb") {
        option_arg(j, {"-e", "--execute"}, name + " -e");
      } else if (name == "awk" || name == "gawk" || name == "mawk" || name == "nawk") {
        program_arg(j, name, {"-F", "-v", "-f"}, "-f", {"-e", "--source"});
      } else if (name == "sed") {
        program_arg(j, name, {"-e", "-f", "-l"}, "-f", {"-e", "--expression"});
      }
    }
    return std::move(out_);
  }

  // The program reading code from standard input (see stdin_reader in reparse.h).
  std::optional<std::string> stdin_code(size_t c) const {
    static const std::set<std::string> wrappers = {"sudo",  "doas",   "env",     "exec",  "command", "nohup",
                                                   "timeout", "nice", "ionice",  "stdbuf", "setsid", "time",
                                                   "chrt",  "taskset", "xargs", "runuser", "builtin"};
    bool after_option = false;
    for (size_t j = c; j < w_.size(); ++j) {
      if (!lit(j)) return std::nullopt;
      const std::string& word = *lit(j);
      std::string name = base_name(word);
      if (auto reader = reader_at(j, name)) return reader;
      // Only a command name is looked at: the first word, or one after wrappers, their
      // options (and an option's argument), assignments and numbers.
      bool option = word.size() > 1 && word[0] == '-';
      bool skip = (j == c || wrappers.count(base_name(*lit(j - 1))) || after_option || option) &&
                  (wrappers.count(name) || option || word.find('=') != std::string::npos ||
                   word.find_first_not_of("0123456789.smhd") == std::string::npos || after_option);
      if (!skip) return std::nullopt;
      after_option = option && word.find('=') == std::string::npos;
    }
    return std::nullopt;
  }

  std::optional<std::string> reader_at(size_t j, const std::string& name) const {
    if (is_shell(name)) {
      bool has_c = false, has_s = false;
      size_t k = j + 1;
      for (; k < w_.size() && lit(k) && lit(k)->size() > 1 && ((*lit(k))[0] == '-' || (*lit(k))[0] == '+'); ++k) {
        const std::string& o = *lit(k);
        if (o == "--") {
          ++k;
          break;
        }
        if (o == "-o" || o == "+o") {
          ++k;
        } else if (o[1] != '-') {
          has_c = has_c || o.find('c') != std::string::npos;
          has_s = has_s || o.find('s') != std::string::npos;
        }
      }
      if (has_c) return std::nullopt;
      if (has_s || k >= w_.size() || is(k, {"-"})) return name;
      return std::nullopt;
    }
    bool interpreter = name.starts_with("python") || name == "perl" || name == "ruby" || name == "node" ||
                       name == "nodejs" || name == "php";
    if (interpreter) {
      size_t k = j + 1;
      for (; k < w_.size() && lit(k) && lit(k)->size() > 1 && (*lit(k))[0] == '-'; ++k)
        if (is(k, {"-c", "-e", "-E", "-r", "--eval", "-p", "--print", "-m"})) return std::nullopt;
      if (k >= w_.size() || is(k, {"-"})) return name;
      return std::nullopt;
    }
    if (name == "psql" || name == "mysql" || name == "mariadb" || name == "sqlite3") {
      size_t operands = 0;
      for (size_t k = j + 1; k < w_.size(); ++k) {
        if (is(k, {"-c", "--command", "-f", "--file", "-e", "--execute", "-cmd"})) return std::nullopt;
        if (lit(k) && (lit(k)->starts_with("--command=") || lit(k)->starts_with("--file=") ||
                       lit(k)->starts_with("--execute=")))
          return std::nullopt;
        if (!lit(k) || (*lit(k))[0] != '-') ++operands;
      }
      if (name == "sqlite3" && operands > 1) return std::nullopt;
      return name;
    }
    if (name == "ssh" && !ssh_command(j)) return std::string("ssh HOST");
    return std::nullopt;
  }

 private:
  static bool is_shell(const std::string& n) {
    static const std::set<std::string> shells = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "fish"};
    return shells.count(n) > 0;
  }
  const std::optional<std::string>& lit(size_t k) const { return w_[k].literal; }
  bool is(size_t k, std::initializer_list<const char*> names) const {
    if (!lit(k)) return false;
    for (const char* n : names)
      if (*lit(k) == n) return true;
    return false;
  }
  void flag(size_t k, std::string by) {
    if (k < w_.size()) out_.push_back({k, std::move(by)});
  }
  // Flags words [from, to) and ends the scan.
  std::vector<Flag> rest(size_t from, const std::string& by, size_t to = SIZE_MAX) {
    for (size_t k = from; k < w_.size() && k < to; ++k) flag(k, by);
    return std::move(out_);
  }

  // `sh [options] -c SCRIPT [name [args…]]`: the index of SCRIPT.
  std::optional<size_t> shell_script(size_t j) const {
    bool has_c = false;
    size_t k = j + 1;
    while (k < w_.size() && lit(k)) {
      const std::string& o = *lit(k);
      if (o == "--") {
        ++k;
        break;
      }
      if (o == "-o" || o == "+o" || o == "--rcfile" || o == "--init-file") {
        k += 2;
        continue;
      }
      if (o.size() < 2 || (o[0] != '-' && o[0] != '+')) break;
      if (o[0] == '-' && o[1] != '-' && o.find('c') != std::string::npos) has_c = true;
      ++k;
    }
    if (has_c && k < w_.size()) return k;
    return std::nullopt;
  }

  // `ssh [options] DESTINATION COMMAND…`: the index of the first word of COMMAND.
  std::optional<size_t> ssh_command(size_t j) const {
    static const std::string with_arg = "BbcDEeFIiJLlmOopQRSWw";
    size_t k = j + 1;
    while (k < w_.size() && lit(k)) {
      const std::string& o = *lit(k);
      if (o == "--") {
        ++k;
        break;
      }
      if (o.size() < 2 || o[0] != '-') break;
      size_t at = o.find_first_of(with_arg, 1);
      k += (at != std::string::npos && at == o.size() - 1) ? 2 : 1;
    }
    if (k + 1 < w_.size()) return k + 1;
    return std::nullopt;
  }

  // The first word after j that is not an option (options in `with_arg` take the next).
  size_t first_operand(size_t j, std::initializer_list<const char*> with_arg) {
    size_t k = j + 1;
    while (k < w_.size() && lit(k) && lit(k)->size() > 1 && (*lit(k))[0] == '-') {
      if (*lit(k) == "--") return k + 1;
      bool takes = false;
      for (const char* a : with_arg) takes = takes || *lit(k) == a;
      k += takes ? 2 : 1;
    }
    return k;
  }

  // `prog … OPT CODE …`, `prog … --long=CODE` or `-oCODE`: flags CODE.
  void option_arg(size_t j, std::initializer_list<const char*> opts, const std::string& by) {
    for (size_t k = j + 1; k < w_.size(); ++k) {
      for (const char* o : opts) {
        std::string_view opt(o);
        const std::string& raw = w_[k].literal ? *w_[k].literal : std::string();
        if (w_[k].literal && raw == opt) flag(k + 1, by);
        // An attached value (`--command=…`, `-c…`): the word itself is code. A word with
        // an interpolation has no literal; judge it by its raw start.
        else if (!w_[k].interps.empty() && starts_with_option(k, opt)) flag(k, by);
      }
    }
  }

  bool starts_with_option(size_t k, std::string_view opt) const { return k < raw_.size() && raw_[k].starts_with(opt); }

  // awk/sed: the program is the argument of one of `code_opts`, else the first operand
  // (unless a program file is given with `file_opt`).
  void program_arg(size_t j, const std::string& name, std::initializer_list<const char*> with_arg, const char* file_opt,
                   std::initializer_list<const char*> code_opts) {
    bool explicit_code = false, from_file = false;
    for (size_t k = j + 1; k < w_.size(); ++k) {
      for (const char* o : code_opts)
        if (is(k, {o})) {
          flag(k + 1, name + " program");
          explicit_code = true;
        }
      if (is(k, {file_opt})) from_file = true;
    }
    if (explicit_code || from_file) return;
    size_t k = j + 1;
    while (k < w_.size() && lit(k) && lit(k)->size() > 1 && (*lit(k))[0] == '-') {
      if (*lit(k) == "--") {
        ++k;
        break;
      }
      bool takes = false;
      for (const char* a : with_arg) takes = takes || *lit(k) == a;
      k += takes ? 2 : 1;
    }
    flag(k, name + " program");
  }

 private:
  const std::vector<Word>& w_;
  std::vector<std::string> raw_;
  std::vector<Flag> out_;
};

}  // namespace

std::vector<Flag> code_words(const std::vector<Word>& words, const std::vector<std::string>& raw, size_t command) {
  return CodeScan(words, raw).run(command);
}

std::optional<std::string> stdin_reader(const std::vector<Word>& words, size_t command) {
  return CodeScan(words, {}).stdin_code(command);
}

}  // namespace rb::plugins::shell
