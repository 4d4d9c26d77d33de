// A Markdown document as the importer needs it: sections by heading, each with its
// blocks (paragraphs, lists, fenced code, tables) in source order, every block with its
// 1-based source line. Built from cmark-gfm's AST (GitHub-flavoured: tables and task
// lists), so that structure comes from a real CommonMark parser, never from regexes
// over lines. cmark-gfm stays inside markdown.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rb::import {

struct MdBlock;

/// One list item. `lead` is the bold text an item starts with ("**Detect:** …" → "Detect:"),
/// `text` the rest of its first paragraph (inline markup flattened; `code` keeps its backticks).
struct MdItem {
  int line = 0;
  std::string lead;
  std::string text;
  bool task = false;     ///< a GFM task item `- [ ]` / `- [x]`
  bool checked = false;  ///< `- [x]`
  std::vector<MdBlock> blocks;  ///< what follows the first paragraph (nested lists, code, …)
};

struct MdBlock {
  enum class Kind { Paragraph, List, Code, Table, Quote, Other };
  Kind kind = Kind::Other;
  int line = 0;            ///< first source line (for Code: the opening fence)
  std::string text;        ///< Paragraph/Other: flattened text; Code: the literal content
  std::string lead;        ///< Paragraph: leading bold text, as for items
  std::string info;        ///< Code: the fence's language word, lower-cased ("" when none)
  bool ordered = false;    ///< List
  int start = 1;           ///< List, ordered: the first item's number ("3." continues a list)
  std::vector<MdItem> items;                   ///< List
  std::vector<std::vector<std::string>> rows;  ///< Table: header row first, cells flattened
  std::vector<MdBlock> blocks;                 ///< Quote: its blocks
};

struct MdSection {
  int level = 0;  ///< heading level 1..6; 0 for the document itself
  int line = 0;
  std::string title;  ///< heading text, inline markup flattened
  std::vector<MdBlock> content;     ///< blocks before the first sub-heading
  std::vector<MdSection> children;  ///< deeper headings, in order
};

/// Parses a whole document. Never fails: any bytes are some Markdown (the caller checks
/// UTF-8 and size first). Nesting deeper than 32 blocks is flattened into text.
MdSection parse_markdown(std::string_view text);

/// The text of a block as a person reads it: lists as "- item" / "1. item" lines, code
/// fenced with its language, tables as "a | b" lines.
std::string render_block(const MdBlock& b, int indent = 0);

}  // namespace rb::import
