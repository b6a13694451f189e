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
  const std::size_t logit_values = std::size_t(required) * kChipPixels;
  const int batch = std::max(1, model.batch_size());
  std::vector<std::uint16_t> current(chip_values);
  std::vector<std::uint16_t> next(chip_values);
  // The chips of the forward pass being filled: their digital numbers (for the nodata test of
  // every written pixel) and which chip each is.
  std::vector<std::vector<std::uint16_t>> held(batch, std::vector<std::uint16_t>(chip_values));
  std::vector<int> held_chip;
  std::vector<float> input(std::size_t(batch) * chip_values);
  std::vector<float> logits(std::size_t(batch) * logit_values);
  const float scale = kind == ModelKind::shadow ? 0.0001f : 1.0f;
  int done = 0;
  auto report = [&] {
    ++done;
    if (options.progress) options.progress(done, total);
  };

  auto write = [&](const Chip& chip, const std::vector<std::uint16_t>& dn, const float* out) {
    const int cw = chip.read.width;
    const std::size_t plane = std::size_t(cw) * chip.read.height;
    for (int y = chip.write.row; y < chip.write.row + chip.write.height; ++y) {
      const int ly = y - chip.read.row;
      float* out_row = prob.band(0) + std::size_t(y) * grid.width;
      for (int x = chip.write.col; x < chip.write.col + chip.write.width; ++x) {
        const int lx = x - chip.read.col;
        const std::size_t local = std::size_t(ly) * cw + lx;
        bool nodata = false;
        for (int b = 0; b < kModelBands && !nodata; ++b) nodata = dn[b * plane + local] == 0;
        if (nodata) {
          out_row[x] = 1.0f;
          continue;
        }
        const std::size_t m = std::size_t(ly) * kChipSize + lx;
        // softmax channel 1 of two = logistic of the logit difference.
        const double z = kind == ModelKind::cloud ? double(out[kChipPixels + m]) - double(out[m])
                                                  : double(out[m]);
        out_row[x] = static_cast<float>(1.0 / (1.0 + std::exp(-z)));
      }
    }
  };
  // Runs the held chips in one forward pass: a single chip alone; otherwise a pass that is not
  // full gets zero chips (nodata) in its free places, whose outputs are not used.
  auto run_held = [&] {
    if (held_chip.empty()) return;
    const std::size_t used = held_chip.size();
    if (used == 1) {
      model.infer_one(input.data(), logits.data());
    } else {
      std::fill(input.begin() + std::ptrdiff_t(used * chip_values), input.end(), 0.0f);
      model.infer(input.data(), logits.data());
    }
    for (std::size_t k = 0; k < used; ++k) {
      write(chips[held_chip[k]], held[k], logits.data() + k * logit_values);
      report();
    }
    held_chip.clear();
  };

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
      float* slot = input.data() + held_chip.size() * chip_values;
      std::fill(slot, slot + chip_values, 0.0f);
      for (int b = 0; b < kModelBands; ++b) {
        for (int r = 0; r < ch; ++r) {
          const std::uint16_t* src = current.data() + b * plane + std::size_t(r) * cw;
          float* dst = slot + b * kChipPixels + std::size_t(r) * kChipSize;
          for (int c = 0; c < cw; ++c) dst[c] = static_cast<float>(src[c]) * scale;
        }
      }
      std::swap(held[held_chip.size()], current);
      held_chip.push_back(i);
      if (static_cast<int>(held_chip.size()) == batch) run_held();
    } else {
      // Every pixel of the chip is nodata, and prob already holds 1 there.
      report();
    }
    if (i + 1 < total) {
      if (pending.valid()) {
        pending.get();
      } else {
        source.read_chip(chips[i + 1].read, next.data());
      }
      std::swap(current, next);
    }
  }
  run_held();
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
