// Builds a yaml::Node tree from yaml-cpp's event stream, enforcing the loader's limits.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <unordered_map>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "base/text.h"
#include "yaml/node.h"

namespace rb::yaml {

const Node* Node::get(std::string_view key) const {
  auto* e = entry(key);
  return e ? &e->second : nullptr;
}

const Entry* Node::entry(std::string_view key) const {
  if (kind != Kind::Map) return nullptr;
  for (auto& e : entries)
    if (e.first.scalar == key) return &e;
  return nullptr;
}

size_t Node::size() const {
  size_t n = 1;
  for (auto& i : items) n += i.size();
  for (auto& e : entries) n += e.first.size() + e.second.size();
  return n;
}

const char* Node::kind_name() const {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Scalar: return "a scalar";
    case Kind::Seq: return "a list";
    case Kind::Map: return "a map";
  }
  return "?";
}

bool plain_is_null(const Node& n) {
  if (n.kind == Node::Kind::Null) return true;
  if (n.kind != Node::Kind::Scalar || n.quoted) return false;
  return n.scalar == "null" || n.scalar == "Null" || n.scalar == "NULL" || n.scalar == "~" || n.scalar.empty();
}

bool plain_is_bool(const Node& n, bool* v) {
  if (n.kind != Node::Kind::Scalar || n.quoted) return false;
  const auto& s = n.scalar;
  if (s == "true" || s == "True" || s == "TRUE") { if (v) *v = true; return true; }
  if (s == "false" || s == "False" || s == "FALSE") { if (v) *v = false; return true; }
  return false;
}

bool plain_is_int(const Node& n, long long* v) {
  if (n.kind != Node::Kind::Scalar || n.quoted || n.scalar.empty()) return false;
  const std::string& s = n.scalar;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size() || s.size() - i > 18) return false;
  for (size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return false;
  if (v) *v = std::stoll(s);
  return true;
}

bool plain_is_number(const Node& n, double* v) {
  long long iv;
  if (plain_is_int(n, &iv)) { if (v) *v = static_cast<double>(iv); return true; }
  if (n.kind != Node::Kind::Scalar || n.quoted || n.scalar.empty()) return false;
  const std::string& s = n.scalar;
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno != 0 || !std::isfinite(d)) return false;
  // strtod accepts hex floats, "inf", "nan": YAML core schema numbers are decimal only.
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
      return false;
  if (v) *v = d;
  return true;
}

namespace {

struct LoadAbort {
  SourcePos pos;
  std::string message;
};

SourcePos to_pos(const YAML::Mark& m) { return SourcePos{m.line + 1, m.column + 1}; }

// Receives yaml-cpp's events and builds the tree on an explicit stack.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const LoadLimits& limits, std::string_view src) : limits_(limits), src_(src) {}

  Node root;
  bool have_root = false;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1)
      throw LoadAbort{to_pos(mark), "several YAML documents in one file; a runbook file holds exactly one"};
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node n;
    n.kind = Node::Kind::Null;
    n.pos = to_pos(mark);
    add(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end())
      throw LoadAbort{to_pos(mark), "alias refers to an anchor that is not complete (recursive alias)"};
    count(it->second.second, to_pos(mark));
    Node copy = it->second.first;
    add(std::move(copy), 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node n;
    n.kind = Node::Kind::Scalar;
    n.pos = to_pos(mark);
    n.scalar = value;
    n.quoted = (tag == "!");  // yaml-cpp tags quoted and block scalars "!", plain ones "?"
    n.offset = mark.pos;
    if (n.quoted && mark.pos >= 0 && static_cast<size_t>(mark.pos) < src_.size()) {
      char c = src_[static_cast<size_t>(mark.pos)];
      if (c == '\'' || c == '"' || c == '|' || c == '>') n.style = c;
      // yaml-cpp 0.7 accepts a quoted scalar that runs to the end of the file.
      if ((c == '\'' || c == '"') && !closed_quote(static_cast<size_t>(mark.pos), c))
        throw LoadAbort{n.pos, fmt::format("unterminated {}-quoted string (no closing {})",
                                           c == '"' ? "double" : "single", c)};
    }
    if (!tag.empty() && tag != "!" && tag != "?")
      throw LoadAbort{n.pos, fmt::format("YAML tags are not supported ('{}')", tag)};
    if (value.find("${{") != std::string::npos) find_interps(n, mark);
    add(std::move(n), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Node::Kind::Seq, mark, tag, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(Node::Kind::Map, mark, tag, anchor);
  }
  void OnMapEnd() override {
    Frame& f = stack_.back();
    if (f.has_key) throw LoadAbort{f.node.pos, "map key without a value"};
    close();
  }

 private:
  struct Frame {
    Node node;
    YAML::anchor_t anchor = 0;
    bool has_key = false;
    Node key;
    std::unordered_map<std::string, int> key_lines;  // Map: key -> line, for duplicates
  };

  void count(size_t n, SourcePos pos) {
    nodes_ += n;
    if (nodes_ > limits_.max_nodes)
      throw LoadAbort{pos, fmt::format("document expands to over {} nodes (alias expansion budget exceeded)",
                                                limits_.max_nodes)};
  }

  void open(Node::Kind kind, const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor) {
    if (!tag.empty() && tag != "?" && tag != "!")
      throw LoadAbort{to_pos(mark), fmt::format("YAML tags are not supported ('{}')", tag)};
    if (static_cast<int>(stack_.size()) >= limits_.max_depth)
      throw LoadAbort{to_pos(mark), fmt::format("nesting deeper than {} levels", limits_.max_depth)};
    Frame f;
    f.node.kind = kind;
    f.node.pos = to_pos(mark);
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.node.kind == Node::Kind::Map) merge_keys(f.node);
    add(std::move(f.node), f.anchor);
  }

  // YAML merge keys (`<<: *common`, `<<: [*a, *b]`): the merged maps' entries join the
  // map where it does not set the key itself (its own keys win, the first merged map
  // wins over later ones), as every YAML tool users know does it.
  static void merge_keys(Node& map) {
    std::vector<Entry> own, merged;
    for (auto& e : map.entries) {
      if (!(e.first.kind == Node::Kind::Scalar && e.first.style == 0 && e.first.scalar == "<<")) {
        own.push_back(std::move(e));
        continue;
      }
      std::vector<const Node*> sources;
      if (e.second.kind == Node::Kind::Map) sources.push_back(&e.second);
      if (e.second.kind == Node::Kind::Seq)
        for (const Node& item : e.second.items)
          if (item.kind == Node::Kind::Map) sources.push_back(&item);
      if (sources.empty() || (e.second.kind == Node::Kind::Seq && sources.size() != e.second.items.size()))
        throw LoadAbort{e.second.pos, "'<<' merges a map or a list of maps (e.g. <<: *common)"};
      for (const Node* src : sources)
        for (const Entry& m : src->entries) merged.push_back(m);
    }
    auto has = [](const std::vector<Entry>& v, const std::string& k) {
      for (auto& x : v)
        if (x.first.scalar == k) return true;
      return false;
    };
    for (auto& m : merged)
      if (!has(own, m.first.scalar)) own.push_back(std::move(m));
    map.entries = std::move(own);
  }

  void add(Node n, YAML::anchor_t anchor) {
    if (anchor != 0) {
      size_t sz = n.size();
      anchors_[anchor] = {n, sz};
    }
    count(1, n.pos);
    if (stack_.empty()) {
      root = std::move(n);
      have_root = true;
      return;
    }
    Frame& f = stack_.back();
    if (f.node.kind == Node::Kind::Seq) {
      f.node.items.push_back(std::move(n));
      return;
    }
    if (!f.has_key) {
      if (n.kind != Node::Kind::Scalar && !(n.kind == Node::Kind::Null))
        throw LoadAbort{n.pos, "map keys must be plain strings"};
      auto [it, fresh] = f.key_lines.emplace(n.scalar, n.pos.line);
      if (!fresh)
        throw LoadAbort{n.pos, fmt::format("duplicate key '{}' (first defined at line {})", n.scalar, it->second)};
      f.key = std::move(n);
      f.has_key = true;
      return;
    }
    f.node.entries.push_back(Entry{std::move(f.key), std::move(n)});
    f.key = Node{};
    f.has_key = false;
  }

  // Records where each `${{` of the scalar's value stands in the source: the value's k-th
  // `${{` is the source's k-th from the scalar's start (YAML folding and indentation
  // change what lies between them, never the `${{` themselves). One pass over the
  // scalar's source text.
  void find_interps(Node& n, const YAML::Mark& mark) {
    size_t want = 0;
    for (size_t p = n.scalar.find("${{"); p != std::string::npos; p = n.scalar.find("${{", p + 3)) ++want;
    if (mark.pos < 0) return;
    SourcePos pos = n.pos;
    size_t i = static_cast<size_t>(mark.pos);
    // A `${{` written as escapes in a quoted scalar has no twin in the source: the scan
    // stops within a bound proportional to the value, so such scalars cost linear time.
    size_t end = std::min(src_.size(), i + 16 * n.scalar.size() + 256);
    while (n.interps.size() < want && i < end) {
      if (src_.compare(i, 3, "${{") == 0) {
        n.interps.push_back(pos);
        i += 3;
        pos.col += 3;
        continue;
      }
      if (src_[i] == '\n') {
        ++pos.line;
        pos.col = 1;
      } else if ((static_cast<unsigned char>(src_[i]) & 0xC0) != 0x80) {
        ++pos.col;
      }
      ++i;
    }
  }

  // Whether the quoted scalar opening at `at` is closed before the end of the source.
  bool closed_quote(size_t at, char q) const {
    for (size_t i = at + 1; i < src_.size(); ++i) {
      if (q == '"' && src_[i] == '\\') {
        ++i;
        continue;
      }
      if (src_[i] == q) {
        if (q == '\'' && i + 1 < src_.size() && src_[i + 1] == '\'') {
          ++i;
          continue;
        }
        return true;
      }
    }
    return false;
  }

  const LoadLimits& limits_;
  std::string_view src_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::pair<Node, size_t>> anchors_;
  size_t nodes_ = 0;
  int documents_ = 0;
};

// yaml-cpp lets a tab pass in some indentation positions and reports others late; find
// the first tab used for indentation so the message points at it.
std::optional<SourcePos> find_indent_tab(std::string_view bytes) {
  int line = 1;
  size_t i = 0;
  while (i < bytes.size()) {
    size_t col = 1;
    while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '-')) {
      if (bytes[i] == '\t') {
        // A tab that only precedes a comment or the end of the line is harmless.
        size_t j = i;
        while (j < bytes.size() && (bytes[j] == ' ' || bytes[j] == '\t')) ++j;
        if (j < bytes.size() && bytes[j] != '\n' && bytes[j] != '#' && bytes[j] != '\r')
          return SourcePos{line, static_cast<int>(col)};
        break;
      }
      ++i;
      ++col;
    }
    size_t nl = bytes.find('\n', i);
    if (nl == std::string_view::npos) break;
    i = nl + 1;
    ++line;
  }
  return std::nullopt;
}

// Block scalars (| and >) may legitimately contain tabs after their indentation; only flag
// tabs that come before any non-blank content on lines that are not inside a block scalar.
// A simple, conservative rule: we only report an indentation tab when yaml-cpp itself
// failed, so that valid files are never rejected for a tab.

}  // namespace

bool load_string(std::string_view bytes, Node& out, Diagnostics& diag, const LoadLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    diag.error({1, 1}, fmt::format("file is {} bytes, over the {} byte limit", bytes.size(), limits.max_bytes));
    return false;
  }
  std::string why;
  if (auto bad = find_bad_utf8(bytes, &why)) {
    diag.error(*bad, why);
    return false;
  }
  std::string owned(bytes);
  std::istringstream in(owned);
  TreeBuilder builder(limits, owned);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder) || !builder.have_root) {
      diag.error({1, 1}, "empty file: expected a runbook (a map with runbook, title and steps)");
      return false;
    }
    parser.HandleNextDocument(builder);  // a second document aborts in OnDocumentStart
  } catch (const LoadAbort& e) {
    diag.error(e.pos, e.message);
    return false;
  } catch (const YAML::Exception& e) {
    SourcePos pos{e.mark.line + 1, e.mark.column + 1};
    std::string msg = e.msg;
    if (e.mark.is_null()) pos = {1, 1};
    if (auto tab = find_indent_tab(bytes); tab && (tab->line <= pos.line || msg.find("tab") != std::string::npos)) {
      diag.error(*tab, "tab character used for indentation (YAML indents with spaces)");
      return false;
    }
    if (msg.find("flow") != std::string::npos) {
      // The usual cause: an expression with [ ] or , written unquoted inside { … } or [ … ].
      msg += " (inside { } or [ ], a plain value cannot contain [ ] { } or commas: quote it, "
             "e.g. n: \"result.rows[0].n\")";
    }
    diag.error(pos, fmt::format("YAML syntax error: {}", msg));
    return false;
  } catch (const std::exception& e) {
    diag.error({1, 1}, fmt::format("YAML error: {}", e.what()));
    return false;
  }
  out = std::move(builder.root);
  return true;
}

bool load_file(const std::string& path, Node& out, Diagnostics& diag, const LoadLimits& limits,
               std::string* content) {
  // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; anything but a
  // regular file is refused below, before any read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    diag.error({}, fmt::format("cannot open file: {}", std::strerror(errno)));
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    diag.error({}, "not a regular file (a runbook, drills or inputs file must be a plain file)");
    return false;
  }
  if (static_cast<size_t>(st.st_size) > limits.max_bytes) {
    ::close(fd);
    diag.error({1, 1}, fmt::format("file is {} bytes, over the {} byte limit", st.st_size, limits.max_bytes));
    return false;
  }
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t r = ::read(fd, data.data() + got, data.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  data.resize(got);
  bool ok = load_string(data, out, diag, limits);
  if (content) *content = std::move(data);
  return ok;
}

}  // namespace rb::yaml
