#include "mask/chipping.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
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

std::vector<AxisChip> context_axis_chips(int size, int first, int last, int margin, int chip) {
  if (size <= 0 || chip <= 0 || margin < 0 || 2 * margin >= chip || first < 0 || last > size ||
      first > last) {
    throw std::invalid_argument("context_axis_chips: bad sizes");
  }
  std::vector<AxisChip> out;
  if (first == last) return out;
  if (size <= chip) return {{0, size, first, last}};
  for (int w = first; w < last;) {
    const int start = std::clamp(w - margin, 0, size - chip);
    const int end = std::min(last, start + chip == size ? size : start + chip - margin);
    out.push_back({start, chip, w, end});
    w = end;
  }
  return out;
}

std::vector<Chip> plan_context_chips(int width, int height, const ByteRaster* region,
                                     const ByteRaster* no_data, int reach, int margin) {
  for (const ByteRaster* r : {region, no_data}) {
    if (r != nullptr && (r->grid.width != width || r->grid.height != height)) {
      throw std::invalid_argument("plan_context_chips: a raster is not width x height");
    }
  }
  // needed: 1 where a pixel needs a probability.
  cv::Mat needed(height, width, CV_8U, cv::Scalar(1));
  if (region != nullptr) {
    const cv::Mat inside(height, width, CV_8U, const_cast<std::uint8_t*>(region->data.data()));
    if (reach > 0) {
      // A square reaches at least as far as the mask's disk of the same radius.
      cv::dilate(inside, needed,
                 cv::getStructuringElement(cv::MORPH_RECT, {2 * reach + 1, 2 * reach + 1}));
    } else {
      inside.copyTo(needed);
    }
  }
  if (no_data != nullptr) {
    const cv::Mat empty(height, width, CV_8U, const_cast<std::uint8_t*>(no_data->data.data()));
    needed.setTo(0, empty);
  }
  const cv::Rect box = cv::boundingRect(needed);
  if (box.empty()) return {};
  const auto cols = context_axis_chips(width, box.x, box.x + box.width, margin);
  const auto rows = context_axis_chips(height, box.y, box.y + box.height, margin);
  std::vector<Chip> chips;
  for (const auto& r : rows) {
    for (const auto& c : cols) {
      const cv::Rect written(c.write_start, r.write_start, c.write_end - c.write_start,
                             r.write_end - r.write_start);
      if (cv::countNonZero(needed(written)) == 0) continue;
      chips.push_back({Window{c.read_start, r.read_start, c.read_length, r.read_length},
                       Window{written.x, written.y, written.width, written.height}});
    }
  }
  return chips;
}

void mark_unwritten(const std::vector<Chip>& chips, ByteRaster& no_data) {
  const int width = no_data.grid.width;
  std::vector<std::uint8_t> written(no_data.data.size(), 0);
  for (const auto& chip : chips) {
    const Window& w = chip.write;
    for (int r = w.row; r < w.row + w.height; ++r) {
      std::fill_n(written.begin() + std::ptrdiff_t(r) * width + w.col, w.width, 1);
    }
  }
  for (std::size_t i = 0; i < written.size(); ++i) {
    if (!written[i]) no_data.data[i] = 1;
  }
}

}  // namespace s2prep::mask
