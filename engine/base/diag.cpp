#include "base/diag.h"

#include <algorithm>
#include <fmt/format.h>

namespace rb {

std::string Diagnostic::format() const {
  std::string where = file.empty() ? std::string("<input>") : file;
  if (pos.known()) where += fmt::format(":{}:{}", pos.line, pos.col);
  if (severity == Severity::Warning) return fmt::format("{}: warning: {}", where, message);
  return fmt::format("{}: {}", where, message);
}

void Diagnostics::error(SourcePos pos, std::string message) {
  list_.push_back({file_, pos, Severity::Error, std::move(message)});
}

void Diagnostics::warning(SourcePos pos, std::string message) {
  list_.push_back({file_, pos, Severity::Warning, std::move(message)});
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(std::count_if(list_.begin(), list_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::Error;
  }));
}

void Diagnostics::sort() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.file != b.file) return a.file < b.file;
    if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
    return a.pos.col < b.pos.col;
  });
  list_.erase(std::unique(list_.begin(), list_.end(),
                          [](const Diagnostic& a, const Diagnostic& b) {
                            return a.file == b.file && a.pos == b.pos && a.message == b.message &&
                                   a.severity == b.severity;
                          }),
              list_.end());
}

}  // namespace rb
