// cmark-gfm's AST → MdSection tree (see markdown.h). The only file that sees cmark-gfm.
#include "import/markdown.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <cctype>
#include <cstring>
#include <memory>

namespace rb::import {

namespace {

constexpr int kMaxDepth = 32;

struct NodeFree {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};
struct ParserFree {
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};

bool is(cmark_node* n, const char* type_string) { return std::strcmp(cmark_node_get_type_string(n), type_string) == 0; }

std::string literal(cmark_node* n) {
  const char* s = cmark_node_get_literal(n);
  return s ? s : "";
}

// Inline markup flattened to text: emphasis dropped, `code` kept with its backticks,
// links as "text (url)", breaks as newlines.
void inline_text(cmark_node* n, std::string& out, int depth = 0) {
  for (cmark_node* c = cmark_node_first_child(n); c; c = cmark_node_next(c)) {
    switch (cmark_node_get_type(c)) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_HTML_INLINE: out += literal(c); break;
      case CMARK_NODE_CODE: out += "`" + literal(c) + "`"; break;
      case CMARK_NODE_SOFTBREAK:
      case CMARK_NODE_LINEBREAK: out += "\n"; break;
      case CMARK_NODE_LINK: {
        std::string text;
        if (depth < kMaxDepth) inline_text(c, text, depth + 1);
        const char* url = cmark_node_get_url(c);
        out += text;
        if (url && *url && text != url) out += std::string(" (") + url + ")";
        break;
      }
      default:
        if (depth < kMaxDepth) inline_text(c, out, depth + 1);
    }
  }
}

std::string flatten(cmark_node* n) {
  std::string s;
  inline_text(n, s);
  return s;
}

// A paragraph's leading bold text, and the rest.
void split_lead(cmark_node* para, std::string* lead, std::string* rest) {
  cmark_node* first = cmark_node_first_child(para);
  if (first && cmark_node_get_type(first) == CMARK_NODE_STRONG) {
    *lead = flatten(first);
    for (cmark_node* c = cmark_node_next(first); c; c = cmark_node_next(c)) {
      // Re-use inline_text on a one-node span: wrap by walking siblings.
      std::string piece;
      switch (cmark_node_get_type(c)) {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_HTML_INLINE: piece = literal(c); break;
        case CMARK_NODE_CODE: piece = "`" + literal(c) + "`"; break;
        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK: piece = "\n"; break;
        default: piece = flatten(c);
      }
      *rest += piece;
    }
    size_t b = rest->find_first_not_of(" \t");
    rest->erase(0, b == std::string::npos ? rest->size() : b);
  } else {
    *rest = flatten(para);
  }
}

MdBlock convert(cmark_node* n, int depth);

std::vector<MdBlock> convert_children(cmark_node* n, int depth, cmark_node* skip = nullptr) {
  std::vector<MdBlock> out;
  for (cmark_node* c = cmark_node_first_child(n); c; c = cmark_node_next(c))
    if (c != skip) out.push_back(convert(c, depth + 1));
  return out;
}

MdItem convert_item(cmark_node* item, int depth) {
  MdItem it;
  it.line = cmark_node_get_start_line(item);
  if (is(item, "tasklist")) {
    it.task = true;
    it.checked = cmark_gfm_extensions_get_tasklist_item_checked(item);
  }
  cmark_node* first = cmark_node_first_child(item);
  cmark_node* skip = nullptr;
  if (first && cmark_node_get_type(first) == CMARK_NODE_PARAGRAPH) {
    split_lead(first, &it.lead, &it.text);
    skip = first;
  }
  it.blocks = convert_children(item, depth, skip);
  return it;
}

MdBlock convert(cmark_node* n, int depth) {
  MdBlock b;
  b.line = cmark_node_get_start_line(n);
  if (depth > kMaxDepth) {
    b.text = flatten(n);
    return b;
  }
  switch (cmark_node_get_type(n)) {
    case CMARK_NODE_PARAGRAPH:
      b.kind = MdBlock::Kind::Paragraph;
      split_lead(n, &b.lead, &b.text);
      return b;
    case CMARK_NODE_CODE_BLOCK: {
      b.kind = MdBlock::Kind::Code;
      b.text = literal(n);
      const char* info = cmark_node_get_fence_info(n);
      std::string word = info ? info : "";
      word = word.substr(0, word.find_first_of(" \t{"));
      for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      b.info = word;
      return b;
    }
    case CMARK_NODE_LIST:
      b.kind = MdBlock::Kind::List;
      b.ordered = cmark_node_get_list_type(n) == CMARK_ORDERED_LIST;
      if (b.ordered) b.start = cmark_node_get_list_start(n);
      for (cmark_node* c = cmark_node_first_child(n); c; c = cmark_node_next(c)) b.items.push_back(convert_item(c, depth + 1));
      return b;
    case CMARK_NODE_BLOCK_QUOTE:
      b.kind = MdBlock::Kind::Quote;
      b.blocks = convert_children(n, depth);
      return b;
    case CMARK_NODE_HTML_BLOCK:
      b.text = literal(n);
      return b;
    default: break;
  }
  if (is(n, "table")) {
    b.kind = MdBlock::Kind::Table;
    for (cmark_node* row = cmark_node_first_child(n); row; row = cmark_node_next(row)) {
      std::vector<std::string> cells;
      for (cmark_node* cell = cmark_node_first_child(row); cell; cell = cmark_node_next(cell)) cells.push_back(flatten(cell));
      b.rows.push_back(std::move(cells));
    }
    return b;
  }
  b.text = flatten(n);  // thematic breaks and anything unknown
  return b;
}

struct Flat {
  int level;
  int line;
  std::string title;
  std::vector<MdBlock> content;
};

// Nests the flat list: each heading owns the headings after it that are deeper.
std::vector<MdSection> nest(std::vector<Flat>& flat, size_t& i, int parent_level) {
  std::vector<MdSection> out;
  while (i < flat.size() && flat[i].level > parent_level) {
    MdSection s;
    s.level = flat[i].level;
    s.line = flat[i].line;
    s.title = std::move(flat[i].title);
    s.content = std::move(flat[i].content);
    ++i;
    s.children = nest(flat, i, s.level);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

MdSection parse_markdown(std::string_view text) {
  cmark_gfm_core_extensions_ensure_registered();
  std::unique_ptr<cmark_parser, ParserFree> parser(cmark_parser_new(CMARK_OPT_DEFAULT));
  for (const char* name : {"table", "tasklist", "strikethrough"})
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name))
      cmark_parser_attach_syntax_extension(parser.get(), ext);
  cmark_parser_feed(parser.get(), text.data(), text.size());
  std::unique_ptr<cmark_node, NodeFree> doc(cmark_parser_finish(parser.get()));

  MdSection root;
  std::vector<Flat> flat;
  for (cmark_node* c = cmark_node_first_child(doc.get()); c; c = cmark_node_next(c)) {
    if (cmark_node_get_type(c) == CMARK_NODE_HEADING) {
      flat.push_back({cmark_node_get_heading_level(c), cmark_node_get_start_line(c), flatten(c), {}});
      continue;
    }
    MdBlock b = convert(c, 0);
    if (flat.empty()) root.content.push_back(std::move(b));
    else flat.back().content.push_back(std::move(b));
  }
  size_t i = 0;
  root.children = nest(flat, i, 0);
  return root;
}

namespace {

void indent_lines(const std::string& text, const std::string& pad, std::string& out) {
  size_t p = 0;
  while (p <= text.size()) {
    size_t e = text.find('\n', p);
    if (e == std::string::npos) e = text.size();
    std::string_view line(text.data() + p, e - p);
    if (!line.empty()) out += pad;
    out += line;
    out += '\n';
    p = e + 1;
    if (e == text.size()) break;
  }
}

}  // namespace

std::string render_block(const MdBlock& b, int indent) {
  std::string pad(static_cast<size_t>(indent), ' ');
  std::string out;
  switch (b.kind) {
    case MdBlock::Kind::Paragraph:
    case MdBlock::Kind::Other:
      indent_lines(b.lead.empty() ? b.text : b.lead + (b.text.empty() ? "" : " " + b.text), pad, out);
      break;
    case MdBlock::Kind::Code: {
      std::string body = b.text;
      while (!body.empty() && body.back() == '\n') body.pop_back();
      // Fenced, as in the Markdown: people recognise it, and it keeps the language.
      out += pad + "```" + b.info + "\n";
      indent_lines(body, pad, out);
      out += pad + "```\n";
      break;
    }
    case MdBlock::Kind::List: {
      int n = b.ordered ? b.start : 1;
      for (auto& it : b.items) {
        std::string mark = b.ordered ? std::to_string(n++) + ". " : it.task ? (it.checked ? "- [x] " : "- [ ] ") : "- ";
        std::string head = it.lead.empty() ? it.text : it.lead + (it.text.empty() ? "" : " " + it.text);
        std::string cont = pad + std::string(mark.size(), ' ');
        size_t p = 0;
        for (bool first = true; p <= head.size(); first = false) {
          size_t e = head.find('\n', p);
          if (e == std::string::npos) e = head.size();
          std::string_view line(head.data() + p, e - p);
          if (first) out += pad + mark + std::string(line) + "\n";
          else if (!line.empty()) out += cont + std::string(line) + "\n";
          p = e + 1;
        }
        for (auto& sub : it.blocks) out += render_block(sub, indent + static_cast<int>(mark.size()));
      }
      break;
    }
    case MdBlock::Kind::Table:
      for (auto& row : b.rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) line += (i ? " | " : "") + row[i];
        out += pad + line + "\n";
      }
      break;
    case MdBlock::Kind::Quote:
      for (auto& sub : b.blocks) out += render_block(sub, indent);
      break;
  }
  return out;
}

}  // namespace rb::import
