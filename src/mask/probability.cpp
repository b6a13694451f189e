#include "mask/probability.hpp"

#include <algorithm>
#include <cmath>
#include <future>
#include <string>
#include <vector>

#include <s2prep/errors.hpp>
#include "mask/chipping.hpp"

namespace s2prep::mask {
namespace {

constexpr std::size_t kChipPixels = std::size_t(kChipSize) * kChipSize;

bool all_nodata(const std::vector<std::uint16_t>& chip, std::size_t count) {
  return std::all_of(chip.begin(), chip.begin() + static_cast<std::ptrdiff_t>(count),
                     [](std::uint16_t v) { return v == 0; });
}

}  // namespace

BandStackChipSource::BandStackChipSource(const BandStack& stack) : stack_(stack) {
  if (stack.bands != kModelBands) {
    throw DataError("The band stack has " + std::to_string(stack.bands) +
                    " bands, the cloud and shadow models need all 12.");
  }
}

void BandStackChipSource::read_chip(const Window& w, std::uint16_t* out) {
  for (int b = 0; b < kModelBands; ++b) {
    const std::uint16_t* band = stack_.band(b);
    for (int r = 0; r < w.height; ++r) {
      const std::uint16_t* src = band + std::size_t(w.row + r) * stack_.grid.width + w.col;
      std::copy(src, src + w.width, out + (std::size_t(b) * w.height + r) * w.width);
    }
  }
}

FloatRaster compute_probability(SegmentationModel& model, ModelKind kind, ChipSource& source,
                                const ProbabilityOptions& options) {
  const int required = required_output_channels(kind);
  if (model.output_channels() != required) {
    throw InputError("The " + std::string(to_string(kind)) + " model outputs " +
                     std::to_string(model.output_channels()) + " channels, expected " +
                     std::to_string(required) + ": choose a " + std::string(to_string(kind)) +
                     " model.");
  }
  const Grid& grid = source.grid();
  FloatRaster prob(grid, 1, 1.0f);
  const std::vector<Chip> reference =
      options.chips ? std::vector<Chip>{} : plan_chips(grid.width, grid.height);
  const std::vector<Chip>& chips = options.chips ? *options.chips : reference;
  const int total = static_cast<int>(chips.size());
  if (total == 0) return prob;

  const std::size_t chip_values = std::size_t(kModelBands) * kChipPixels;
  std::vector<std::uint16_t> current(chip_values);
  std::vector<std::uint16_t> next(chip_values);
  std::vector<float> input(chip_values);
  std::vector<float> logits(std::size_t(required) * kChipPixels);
  const float scale = kind == ModelKind::shadow ? 0.0001f : 1.0f;

  auto read = [&source](const Window& w, std::uint16_t* out) { source.read_chip(w, out); };
  source.read_chip(chips.front().read, current.data());
  for (int i = 0; i < total; ++i) {
    std::future<void> pending;
    if (i + 1 < total) {
      if (options.prefetch) {
        pending = std::async(std::launch::async, read, chips[i + 1].read, next.data());
      }
    }
    const Chip& chip = chips[i];
    const int cw = chip.read.width;
    const int ch = chip.read.height;
    const std::size_t plane = std::size_t(cw) * ch;
    if (!all_nodata(current, plane * kModelBands)) {
      // Zero padding only happens for rasters smaller than a chip; zero is nodata, as outside
      // a real raster.
      std::fill(input.begin(), input.end(), 0.0f);
      for (int b = 0; b < kModelBands; ++b) {
        for (int r = 0; r < ch; ++r) {
          const std::uint16_t* src = current.data() + b * plane + std::size_t(r) * cw;
          float* dst = input.data() + b * kChipPixels + std::size_t(r) * kChipSize;
          for (int c = 0; c < cw; ++c) dst[c] = static_cast<float>(src[c]) * scale;
        }
      }
      model.infer(input.data(), logits.data());
      for (int y = chip.write.row; y < chip.write.row + chip.write.height; ++y) {
        const int ly = y - chip.read.row;
        float* out_row = prob.band(0) + std::size_t(y) * grid.width;
        for (int x = chip.write.col; x < chip.write.col + chip.write.width; ++x) {
          const int lx = x - chip.read.col;
          const std::size_t local = std::size_t(ly) * cw + lx;
          bool nodata = false;
          for (int b = 0; b < kModelBands && !nodata; ++b) nodata = current[b * plane + local] == 0;
          if (nodata) {
            out_row[x] = 1.0f;
            continue;
          }
          const std::size_t m = std::size_t(ly) * kChipSize + lx;
          // softmax channel 1 of two = logistic of the logit difference.
          const double z = kind == ModelKind::cloud
                               ? double(logits[kChipPixels + m]) - double(logits[m])
                               : double(logits[m]);
          out_row[x] = static_cast<float>(1.0 / (1.0 + std::exp(-z)));
        }
      }
    }
    // else: every pixel of the chip is nodata, and prob already holds 1 there.
    if (i + 1 < total) {
      if (pending.valid()) {
        pending.get();
      } else {
        source.read_chip(chips[i + 1].read, next.data());
      }
      std::swap(current, next);
    }
    if (options.progress) options.progress(i + 1, total);
  }
  return prob;
}

FloatRaster crop(const FloatRaster& raster, const Window& w) {
  if (w.col < 0 || w.row < 0 || w.col + w.width > raster.grid.width ||
      w.row + w.height > raster.grid.height) {
    throw DataError("The crop window lies outside the probability raster.");
  }
  FloatRaster out(raster.grid.sub_grid(w), raster.bands);
  for (int b = 0; b < raster.bands; ++b) {
    for (int r = 0; r < w.height; ++r) {
      const float* src = raster.band(b) + std::size_t(w.row + r) * raster.grid.width + w.col;
      std::copy(src, src + w.width, out.band(b) + std::size_t(r) * w.width);
    }
  }
  return out;
}

}  // namespace s2prep::mask
