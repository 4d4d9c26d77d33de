// Small statistics over measured durations (drill scorecards and projections).
#pragma once

#include <algorithm>
#include <vector>

namespace rb {

/// The median (the mean of the two middle values for an even count); 0 when empty.
inline long long median(std::vector<long long> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace rb
