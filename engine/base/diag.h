// Diagnostics: positioned errors and warnings, reported as `FILE:LINE:COL: message`.
//
// Every check of user input (runbook files, inputs files, flags) reports through a
// Diagnostics list instead of throwing, so that one pass can report every problem,
// sorted by position. Lines and columns are 1-based; 0 means "unknown".
#pragma once

#include <string>
#include <vector>

namespace rb {

struct SourcePos {
  int line = 0;  ///< 1-based; 0 = unknown
  int col = 0;   ///< 1-based; 0 = unknown
  bool known() const { return line > 0; }
  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

enum class Severity { Error, Warning };

struct Diagnostic {
  std::string file;
  SourcePos pos;
  Severity severity = Severity::Error;
  std::string message;
  /// `FILE:LINE:COL: message` for errors, `FILE:LINE:COL: warning: message` for warnings.
  std::string format() const;
};

class Diagnostics {
 public:
  explicit Diagnostics(std::string file = {}) : file_(std::move(file)) {}

  void error(SourcePos pos, std::string message);
  void warning(SourcePos pos, std::string message);
  /// Adds a diagnostic that belongs to another file (e.g. an inputs file).
  void add(Diagnostic d) { list_.push_back(std::move(d)); }

  bool has_errors() const;
  size_t error_count() const;
  const std::vector<Diagnostic>& list() const { return list_; }
  const std::string& file() const { return file_; }
  void set_file(std::string f) { file_ = std::move(f); }

  /// Stable sort by (file, line, col); duplicates (same position and text) removed.
  void sort();

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

}  // namespace rb
