#include "mask/chipping.hpp"

#include <cmath>
#include <stdexcept>

namespace s2prep::mask {
namespace {

// numpy.round: round half to even, independent of the floating-point rounding mode.
int round_half_even(double x) {
  const double f = std::floor(x);
  const double diff = x - f;
  if (diff > 0.5) return static_cast<int>(f) + 1;
  if (diff < 0.5) return static_cast<int>(f);
  const int fi = static_cast<int>(f);
  return (fi % 2 == 0) ? fi : fi + 1;
}

}  // namespace

std::vector<int> chip_starts(int size, int chip, int step) {
  if (size <= 0 || chip <= 0 || step <= 0) throw std::invalid_argument("chip_starts: bad sizes");
  if (size <= chip) return {0};
  const int span = size - chip;
  int n = static_cast<int>(std::ceil(static_cast<double>(span) / step)) + 1;
  if (n < 2) n = 2;
  // Same operations as numpy.linspace(0, span, n): i * (span / (n - 1)), last = span exactly,
  // so values that numpy sees as x.5 (or just off it) round the same way here.
  const double delta = static_cast<double>(span) / static_cast<double>(n - 1);
  std::vector<int> starts(n);
  for (int i = 0; i < n; ++i) {
    const double v = (i == n - 1) ? static_cast<double>(span) : static_cast<double>(i) * delta;
    starts[i] = round_half_even(v);
  }
  return starts;
}

std::vector<AxisChip> axis_chips(int size, int chip, int step) {
  const std::vector<int> starts = chip_starts(size, chip, step);
  const int length = size < chip ? size : chip;
  std::vector<AxisChip> out(starts.size());
  for (std::size_t i = 0; i < starts.size(); ++i) {
    out[i].read_start = starts[i];
    out[i].read_length = length;
  }
  out.front().write_start = 0;
  for (std::size_t i = 1; i < out.size(); ++i) {
    const int boundary = (out[i - 1].read_start + length + out[i].read_start) / 2;
    out[i - 1].write_end = boundary;
    out[i].write_start = boundary;
  }
  out.back().write_end = size;
  return out;
}

std::vector<Chip> plan_chips(int width, int height) {
  const auto cols = axis_chips(width);
  const auto rows = axis_chips(height);
  std::vector<Chip> chips;
  chips.reserve(cols.size() * rows.size());
  for (const auto& r : rows) {
    for (const auto& c : cols) {
      chips.push_back({Window{c.read_start, r.read_start, c.read_length, r.read_length},
                       Window{c.write_start, r.write_start, c.write_end - c.write_start,
                              r.write_end - r.write_start}});
    }
  }
  return chips;
}

}  // namespace s2prep::mask
