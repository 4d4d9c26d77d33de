// Lexer and recursive-descent parser of the expression language (see expr.h).
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

#include "expr/expr.h"

namespace rb::expr {

SourcePos Expression::at(size_t offset) const {
  if (!pos.known()) return pos;
  SourcePos p = pos;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.col = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++p.col;
    }
  }
  return p;
}

const std::vector<std::string>& function_names() {
  static const std::vector<std::string> names = {"len",    "contains", "matches", "starts_with", "ends_with",
                                                 "int",    "number",   "string",  "lower",       "upper",
                                                 "trim",   "seconds",  "iso_time"};
  return names;
}

const std::vector<std::string>& root_names() {
  static const std::vector<std::string> names = {"inputs", "steps", "result", "env", "run"};
  return names;
}

namespace {

enum class Tok { End, Number, String, Ident, Op, LParen, RParen, LBracket, RBracket, Dot, Comma };

struct Token {
  Tok kind = Tok::End;
  size_t offset = 0;
  std::string text;
  Value number;
};

std::string too_deep() { return fmt::format("expression nested too deeply (over {} levels)", kMaxDepth); }

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  NodePtr parse_all() {
    next();
    NodePtr n = parse_or();
    if (tok_.kind != Tok::End) fail(tok_.offset, fmt::format("unexpected '{}'", tok_.text));
    return n;
  }

 private:
  [[noreturn]] void fail(size_t off, std::string msg) { throw Error{off, std::move(msg)}; }

  static bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  void next() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    tok_ = Token{};
    tok_.offset = i_;
    if (i_ >= s_.size()) {
      tok_.kind = Tok::End;
      tok_.text = "end of expression";
      return;
    }
    char c = s_[i_];
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number();
    if (c == '\'' || c == '"') return lex_string(c);
    if (ident_start(c)) {
      size_t st = i_;
      while (i_ < s_.size() &&
             (ident_char(s_[i_]) || (s_[i_] == '-' && i_ + 1 < s_.size() && ident_char(s_[i_ + 1]) &&
                                     i_ > st)))
        ++i_;
      tok_.kind = Tok::Ident;
      tok_.text = s_.substr(st, i_ - st);
      return;
    }
    static const char* two[] = {"==", "!=", "<=", ">=", "&&", "||"};
    for (const char* op : two) {
      if (s_.compare(i_, 2, op) == 0) {
        tok_.kind = Tok::Op;
        tok_.text = op;
        i_ += 2;
        return;
      }
    }
    ++i_;
    tok_.text = std::string(1, c);
    switch (c) {
      case '(': tok_.kind = Tok::LParen; return;
      case ')': tok_.kind = Tok::RParen; return;
      case '[': tok_.kind = Tok::LBracket; return;
      case ']': tok_.kind = Tok::RBracket; return;
      case '.': tok_.kind = Tok::Dot; return;
      case ',': tok_.kind = Tok::Comma; return;
      case '<': case '>': case '!': case '+': case '-': case '*': case '/': case '%':
        tok_.kind = Tok::Op;
        return;
      case '=':
        fail(tok_.offset, "'=' is not an operator (use '==' to compare)");
      case '&':
        fail(tok_.offset, "'&' is not an operator (use '&&')");
      case '|':
        fail(tok_.offset, "'|' is not an operator (use '||')");
      default:
        fail(tok_.offset, fmt::format("unexpected character '{}'", c));
    }
  }

  void lex_number() {
    size_t st = i_;
    bool is_float = false;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    if (i_ + 1 < s_.size() && s_[i_] == '.' && std::isdigit(static_cast<unsigned char>(s_[i_ + 1]))) {
      is_float = true;
      ++i_;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t save = i_;
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        is_float = true;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
      } else {
        i_ = save;
      }
    }
    if (i_ < s_.size() && ident_start(s_[i_]))
      fail(i_, fmt::format("unexpected '{}' after number", s_[i_]));
    tok_.kind = Tok::Number;
    tok_.text = s_.substr(st, i_ - st);
    if (is_float) {
      // strtod, not stod: `1e999` is an error of the expression, not an exception.
      errno = 0;
      double d = std::strtod(tok_.text.c_str(), nullptr);
      if (errno == ERANGE || !std::isfinite(d)) fail(st, "number literal out of range");
      tok_.number = d;
    } else {
      if (tok_.text.size() > 18) fail(st, "integer literal too large");
      tok_.number = std::stoll(tok_.text);
    }
  }

  void lex_string(char q) {
    size_t st = i_++;
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
        char e = s_[i_ + 1];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case '\\': out += '\\'; break;
          case '\'': out += '\''; break;
          case '"': out += '"'; break;
          default: fail(i_, fmt::format("unknown escape '\\{}'", e));
        }
        i_ += 2;
        continue;
      }
      out += s_[i_++];
    }
    if (i_ >= s_.size()) fail(st, "unterminated string literal");
    ++i_;
    tok_.kind = Tok::String;
    tok_.text = std::move(out);
  }

  bool is_op(const char* op) const { return tok_.kind == Tok::Op && tok_.text == op; }

  // Sets n's height from its operands; refuses a tree deeper than kMaxDepth.
  NodePtr sized(std::shared_ptr<Node> n) {
    int h = 0;
    for (auto& k : n->kids) h = std::max(h, k->height);
    n->height = h + 1;
    if (n->height > kMaxDepth) fail(n->offset, too_deep());
    return n;
  }

  NodePtr binary(NodePtr l, const std::string& op, size_t off, NodePtr r) {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::Binary;
    n->name = op;
    n->offset = off;
    n->kids = {std::move(l), std::move(r)};
    return sized(std::move(n));
  }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& pp, size_t off) : p(pp) {
      if (++p.depth_ > kMaxDepth) p.fail(off, too_deep());
    }
    ~DepthGuard() { --p.depth_; }
  };

  NodePtr parse_or() {
    DepthGuard g(*this, tok_.offset);
    return chain("||", &Parser::parse_and);
  }
  NodePtr parse_and() { return chain("&&", &Parser::parse_eq); }

  // `a OP b OP c …` as one flat node with every operand (OP is && or ||).
  NodePtr chain(const char* op, NodePtr (Parser::*operand)()) {
    NodePtr first = (this->*operand)();
    if (!is_op(op)) return first;
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::Binary;
    n->name = op;
    n->offset = tok_.offset;
    n->kids.push_back(std::move(first));
    while (is_op(op)) {
      next();
      n->kids.push_back((this->*operand)());
    }
    return sized(std::move(n));
  }
  NodePtr parse_eq() {
    NodePtr l = parse_cmp();
    while (is_op("==") || is_op("!=")) {
      std::string op = tok_.text;
      size_t off = tok_.offset;
      next();
      l = binary(l, op, off, parse_cmp());
    }
    return l;
  }
  NodePtr parse_cmp() {
    NodePtr l = parse_add();
    while (is_op("<") || is_op("<=") || is_op(">") || is_op(">=")) {
      std::string op = tok_.text;
      size_t off = tok_.offset;
      next();
      l = binary(l, op, off, parse_add());
    }
    return l;
  }
  NodePtr parse_add() {
    NodePtr l = parse_mul();
    while (is_op("+") || is_op("-")) {
      std::string op = tok_.text;
      size_t off = tok_.offset;
      next();
      l = binary(l, op, off, parse_mul());
    }
    return l;
  }
  NodePtr parse_mul() {
    NodePtr l = parse_unary();
    while (is_op("*") || is_op("/") || is_op("%")) {
      std::string op = tok_.text;
      size_t off = tok_.offset;
      next();
      l = binary(l, op, off, parse_unary());
    }
    return l;
  }
  NodePtr parse_unary() {
    if (is_op("!") || is_op("-")) {
      DepthGuard g(*this, tok_.offset);
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::Unary;
      n->name = tok_.text;
      n->offset = tok_.offset;
      next();
      n->kids.push_back(parse_unary());
      return sized(std::move(n));
    }
    return parse_postfix();
  }
  NodePtr parse_postfix() {
    NodePtr n = parse_primary();
    for (;;) {
      if (tok_.kind == Tok::Dot) {
        size_t off = tok_.offset;
        next();
        if (tok_.kind != Tok::Ident) fail(tok_.offset, "expected a name after '.'");
        auto m = std::make_shared<Node>();
        m->kind = Node::Kind::Member;
        m->offset = off;
        m->name = tok_.text;
        m->kids.push_back(n);
        n = sized(std::move(m));
        next();
      } else if (tok_.kind == Tok::LBracket) {
        DepthGuard g(*this, tok_.offset);
        size_t off = tok_.offset;
        next();
        auto m = std::make_shared<Node>();
        m->kind = Node::Kind::Index;
        m->offset = off;
        m->kids.push_back(n);
        m->kids.push_back(parse_or());
        if (tok_.kind != Tok::RBracket) fail(tok_.offset, "expected ']'");
        next();
        n = sized(std::move(m));
      } else {
        return n;
      }
    }
  }
  NodePtr parse_primary() {
    auto n = std::make_shared<Node>();
    n->offset = tok_.offset;
    switch (tok_.kind) {
      case Tok::Number:
        n->kind = Node::Kind::Literal;
        n->literal = tok_.number;
        next();
        return n;
      case Tok::String:
        n->kind = Node::Kind::Literal;
        n->literal = tok_.text;
        next();
        return n;
      case Tok::LParen: {
        DepthGuard g(*this, tok_.offset);
        next();
        NodePtr inner = parse_or();
        if (tok_.kind != Tok::RParen) fail(tok_.offset, "expected ')'");
        next();
        return inner;
      }
      case Tok::Ident: {
        std::string id = tok_.text;
        next();
        if (id == "true" || id == "false") {
          n->kind = Node::Kind::Literal;
          n->literal = (id == "true");
          return n;
        }
        if (id == "null") {
          n->kind = Node::Kind::Literal;
          n->literal = nullptr;
          return n;
        }
        if (tok_.kind == Tok::LParen) {
          DepthGuard g(*this, tok_.offset);
          n->kind = Node::Kind::Call;
          n->name = id;
          next();
          if (tok_.kind != Tok::RParen) {
            for (;;) {
              n->kids.push_back(parse_or());
              if (tok_.kind == Tok::Comma) {
                next();
                continue;
              }
              break;
            }
          }
          if (tok_.kind != Tok::RParen) fail(tok_.offset, "expected ')' or ',' in function call");
          next();
          return sized(std::move(n));
        }
        n->kind = Node::Kind::Name;
        n->name = id;
        return n;
      }
      case Tok::End:
        fail(tok_.offset, "expression ends too early");
      default:
        fail(tok_.offset, fmt::format("unexpected '{}'", tok_.text));
    }
  }

  const std::string& s_;
  size_t i_ = 0;
  Token tok_;
  int depth_ = 0;
};

void collect_refs(const NodePtr& n, std::vector<NameRef>& out) {
  if (!n) return;
  // A member/index chain ending at a Name is a reference.
  if (n->kind == Node::Kind::Member || n->kind == Node::Kind::Index || n->kind == Node::Kind::Name) {
    std::vector<std::string> rev;
    const Node* cur = n.get();
    bool chain = true;
    std::vector<const Node*> index_exprs;
    while (cur->kind != Node::Kind::Name) {
      if (cur->kind == Node::Kind::Member) {
        rev.push_back(cur->name);
      } else if (cur->kind == Node::Kind::Index) {
        index_exprs.push_back(cur->kids[1].get());
        const Node* k = cur->kids[1].get();
        if (k->kind == Node::Kind::Literal && k->literal.is_string()) rev.push_back(k->literal.get<std::string>());
        else rev.clear();  // dynamic index: the path is known only up to here
      } else {
        chain = false;
        break;
      }
      cur = cur->kids[0].get();
    }
    if (chain) {
      NameRef ref;
      ref.offset = cur->offset;
      ref.path.push_back(cur->name);
      for (auto it = rev.rbegin(); it != rev.rend(); ++it) ref.path.push_back(*it);
      out.push_back(std::move(ref));
      for (const Node* ix : index_exprs) {
        // Index expressions hold references of their own. Non-owning alias for recursion.
        NodePtr alias(std::shared_ptr<const Node>{}, ix);
        collect_refs(alias, out);
      }
      return;
    }
  }
  for (auto& k : n->kids) collect_refs(k, out);
}

}  // namespace

std::optional<Expression> parse(std::string text, SourcePos pos, Error* err) {
  Expression e;
  e.text = std::move(text);
  e.pos = pos;
  if (e.text.size() > kMaxExpressionBytes) {
    if (err)
      *err = Error{0, fmt::format("expression is too long ({} bytes; the limit is {})", e.text.size(),
                                  kMaxExpressionBytes)};
    return std::nullopt;
  }
  try {
    Parser p(e.text);
    e.root = p.parse_all();
  } catch (const Error& x) {
    if (err) *err = x;
    return std::nullopt;
  }
  return e;
}

std::vector<NameRef> name_refs(const Expression& e) {
  std::vector<NameRef> out;
  collect_refs(e.root, out);
  return out;
}

}  // namespace rb::expr
