// A YAML document as a plain tree in which every node keeps its source position.
//
// yaml-cpp's node API forgets positions of values and silently accepts duplicate keys,
// so the loader builds this tree from yaml-cpp's event stream instead (see loader.cpp).
// Aliases are expanded into copies, within a budget (see LoadLimits).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/diag.h"

namespace rb::yaml {

struct Entry;

struct Node {
  enum class Kind { Null, Scalar, Seq, Map };
  Kind kind = Kind::Null;
  SourcePos pos;
  std::string scalar;   ///< the text of a Scalar (also set for Null written as `null`/`~`)
  bool quoted = false;  ///< Scalar written in quotes or as a block: never a number/bool/null
  char style = 0;       ///< Scalar: '\'' or '"' (quoted), '|' or '>' (block), 0 (plain)
  long offset = -1;     ///< byte offset of the node in the source
  /// Scalar: where each `${{` of the value starts in the file, in order (filled by the
  /// loader for scalars holding one; exact for block and multi-line scalars too).
  std::vector<SourcePos> interps;
  std::vector<Node> items;                     ///< Seq
  std::vector<Entry> entries;                  ///< Map, in source order (keys are Scalars)

  bool is_null() const { return kind == Kind::Null; }
  bool is_scalar() const { return kind == Kind::Scalar; }
  bool is_seq() const { return kind == Kind::Seq; }
  bool is_map() const { return kind == Kind::Map; }

  /// Map lookup by key; nullptr when absent or not a map.
  const Node* get(std::string_view key) const;
  /// Entry of a map by key (for the key's position); nullptr when absent.
  const Entry* entry(std::string_view key) const;

  /// Number of nodes in this subtree (used for the alias-expansion budget).
  size_t size() const;

  /// "a string", "a map", ... for error messages.
  const char* kind_name() const;
};

/// A map entry (a struct rather than std::pair so that Node may hold a vector of them
/// while still incomplete).
struct Entry {
  Node first;   ///< the key
  Node second;  ///< the value
};

/// Plain (unquoted) scalar typing per the YAML core schema.
bool plain_is_null(const Node& n);
bool plain_is_bool(const Node& n, bool* value);
bool plain_is_int(const Node& n, long long* value);
bool plain_is_number(const Node& n, double* value);

struct LoadLimits {
  size_t max_bytes = 8u << 20;       ///< files over this are refused before parsing
  int max_depth = 64;                ///< nesting of maps and sequences
  size_t max_nodes = 1'000'000;      ///< nodes after alias expansion (billion laughs)
};

/// Parses one YAML document. On any problem adds positioned errors to `diag` and returns
/// false; `out` is then unspecified. `label` names the file in messages.
bool load_string(std::string_view bytes, Node& out, Diagnostics& diag, const LoadLimits& limits = {});

/// Reads and parses a file, checking size, UTF-8 and NUL bytes first.
bool load_file(const std::string& path, Node& out, Diagnostics& diag, const LoadLimits& limits = {},
               std::string* content = nullptr);

}  // namespace rb::yaml
