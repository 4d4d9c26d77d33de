// Secret masking: every string that leaves the engine (terminal, logs, timeline, reports,
// error messages) goes through a Masker, which replaces known secret values with `***`
// and hides the password of any URL (`postgres://user:***@host`).
//
// Thread-compatible: add() and mask() are called from the engine's one loop thread.
#pragma once

#include <vector>
#include <string>
#include <string_view>

#include "base/value.h"

namespace rb {

class Masker {
 public:
  /// Registers a secret value. Values shorter than 3 bytes are ignored (masking "1" or
  /// "a" everywhere would destroy the output and protect nothing); callers keep them
  /// out of outputs instead.
  void add(std::string_view secret);
  bool empty() const { return secrets_.empty(); }

  std::string mask(std::string_view text) const;
  /// Masks every string (and object key) inside a JSON value.
  Value mask_json(const Value& v) const;
  /// The same, in place: strings that hold nothing to mask are left untouched (no copy).
  void mask_in_place(Value& v) const;
  /// Whether mask(text) would change anything.
  bool needs_mask(std::string_view text) const;

  static constexpr std::string_view kMask = "***";

 private:
  std::vector<std::string> secrets_;  // longest first, so a secret containing another is masked whole
};

/// Replaces the password of URLs with userinfo (scheme://user:pass@host) by ***.
std::string mask_url_passwords(std::string_view text);

}  // namespace rb
