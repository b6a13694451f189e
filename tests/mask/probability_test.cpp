#include "mask/probability.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include <s2prep/errors.hpp>
#include "mask/chipping.hpp"
#include "mask/merge.hpp"
#include "mask/opencv_engine.hpp"
#include "test_support.hpp"

namespace s2prep::mask {
namespace {

using namespace s2prep::mask::testing;

double expected_linear_cloud(const BandStack& s, int r, int c) {
  if (any_band_zero(s, r, c)) return 1.0;
  double l0 = linear_cloud_bias(0), l1 = linear_cloud_bias(1);
  for (int b = 0; b < 12; ++b) {
    l0 += linear_cloud_w(0, b) * s.at(b, r, c);
    l1 += linear_cloud_w(1, b) * s.at(b, r, c);
  }
  return std::exp(l1) / (std::exp(l0) + std::exp(l1));
}

double expected_linear_shadow(const BandStack& s, int r, int c) {
  if (any_band_zero(s, r, c)) return 1.0;
  double z = linear_shadow_bias();
  for (int b = 0; b < 12; ++b) z += linear_shadow_w(b) * (s.at(b, r, c) * 0.0001);
  return 1.0 / (1.0 + std::exp(-z));
}

// Counts chips that reach the model.
class CountingModel final : public SegmentationModel {
 public:
  explicit CountingModel(std::unique_ptr<SegmentationModel> inner) : inner_(std::move(inner)) {}
  int output_channels() const override { return inner_->output_channels(); }
  void infer(const float* in, float* out) override {
    ++calls;
    inner_->infer(in, out);
  }
  int calls = 0;

 private:
  std::unique_ptr<SegmentationModel> inner_;
};

// A streaming source: checks every read is a chip-sized window inside the raster.
class CheckingSource final : public ChipSource {
 public:
  explicit CheckingSource(const BandStack& s) : stack_(s), inner_(s) {}
  const Grid& grid() const override { return stack_.grid; }
  void read_chip(const Window& w, std::uint16_t* out) override {
    EXPECT_GE(w.col, 0);
    EXPECT_GE(w.row, 0);
    EXPECT_LE(w.col + w.width, stack_.grid.width);
    EXPECT_LE(w.row + w.height, stack_.grid.height);
    EXPECT_LE(w.width, 512);
    EXPECT_LE(w.height, 512);
    ++reads;
    inner_.read_chip(w, out);
  }
  int reads = 0;

 private:
  const BandStack& stack_;
  BandStackChipSource inner_;
};

void zero_block(BandStack& s, int col, int row, int w, int h) {
  for (int b = 0; b < 12; ++b)
    for (int r = row; r < row + h; ++r)
      for (int c = col; c < col + w; ++c) s.at(b, r, c) = 0;
}

TEST(Probability, LinearCloudModelGivesSoftmaxOfKnownLogitsEverywhere) {
  BandStack s = synthetic_stack(1000, 700);
  // Scattered single-band nodata pixels, and one chip (the bottom-right read window) with no
  // data at all, which must not reach the model.
  for (int i = 0; i < 500; ++i) s.at(i % 12, (i * 37) % 700, (i * 101) % 1000) = 0;
  zero_block(s, 488, 188, 512, 512);

  CountingModel model(load_opencv_model(model_path("cloud_linear.onnx"), ModelKind::cloud));
  BandStackChipSource source(s);
  std::vector<std::pair<int, int>> progress;
  ProbabilityOptions options;
  options.progress = [&](int done, int total) { progress.emplace_back(done, total); };
  const FloatRaster p = compute_probability(model, ModelKind::cloud, source, options);

  ASSERT_EQ(p.grid, s.grid);
  ASSERT_EQ(p.bands, 1);
  EXPECT_EQ(model.calls, 5);  // 6 chips, one without data
  ASSERT_EQ(progress.size(), 6u);
  EXPECT_EQ(progress.back(), std::make_pair(6, 6));
  double max_err = 0;
  for (int r = 0; r < 700; ++r)
    for (int c = 0; c < 1000; ++c)
      max_err = std::max(max_err, std::abs(p.at(0, r, c) - expected_linear_cloud(s, r, c)));
  EXPECT_LT(max_err, 2e-5);
  EXPECT_EQ(p.at(0, 699, 999), 1.0f);
  double lo = 1, hi = 0;
  for (int r = 0; r < 188; ++r)
    for (int c = 0; c < 488; ++c) {
      lo = std::min<double>(lo, p.at(0, r, c));
      hi = std::max<double>(hi, p.at(0, r, c));
    }
  EXPECT_GT(hi - lo, 0.1) << lo << " " << hi;
}

TEST(Probability, LinearShadowModelScalesAndUsesSigmoid) {
  BandStack s = synthetic_stack(700, 600, 7);
  for (int i = 0; i < 300; ++i) s.at((i * 5) % 12, (i * 13) % 600, (i * 29) % 700) = 0;
  auto model = load_opencv_model(model_path("shadow_linear.onnx"), ModelKind::shadow);
  CheckingSource source(s);
  const FloatRaster p = compute_probability(*model, ModelKind::shadow, source);
  EXPECT_EQ(source.reads, 4);
  double max_err = 0;
  double lo = 1, hi = 0;
  for (int r = 0; r < 600; ++r)
    for (int c = 0; c < 700; ++c) {
      const double e = expected_linear_shadow(s, r, c);
      max_err = std::max(max_err, std::abs(p.at(0, r, c) - e));
      lo = std::min(lo, e);
      hi = std::max(hi, e);
    }
  EXPECT_LT(max_err, 2e-5);
  EXPECT_GT(hi - lo, 0.1) << lo << " " << hi;  // expected values vary: the comparison has teeth
}

// The dilated 3x3 model sees pixels 200 px away, outside some chips (zero padding), so which
// chip a pixel comes from changes its value: compare with a plain per-chip convolution over
// the reference chipping.
constexpr int kDilation = 200;  // SPATIAL_DILATION of make_test_models.py
TEST(Probability, SpatialModelMatchesPlainReferenceChipping) {
  const int W = 900, H = 600;
  BandStack s = synthetic_stack(W, H, 3);
  auto model = load_opencv_model(model_path("cloud_spatial.onnx"), ModelKind::cloud);
  const PlainAxis cols = plain_axis(W), rows = plain_axis(H);
  std::vector<double> expected(std::size_t(W) * H, -1.0);
  for (std::size_t ri = 0; ri < rows.starts.size(); ++ri) {
    for (std::size_t ci = 0; ci < cols.starts.size(); ++ci) {
      const int r0 = rows.starts[ri], c0 = cols.starts[ci];
      for (int r = rows.begin[ri]; r < rows.end[ri]; ++r) {
        for (int c = cols.begin[ci]; c < cols.end[ci]; ++c) {
          double l[2] = {spatial_cloud_bias(0), spatial_cloud_bias(1)};
          for (int ch = 0; ch < 2; ++ch)
            for (int b = 0; b < 12; ++b)
              for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) {
                  const int rr = r + (ky - 1) * kDilation, cc = c + (kx - 1) * kDilation;
                  // outside the chip = the model's zero padding
                  if (rr < r0 || rr >= r0 + 512 || cc < c0 || cc >= c0 + 512) continue;
                  l[ch] += spatial_cloud_w(ch, b, ky, kx) * s.at(b, rr, cc);
                }
          expected[std::size_t(r) * W + c] = 1.0 / (1.0 + std::exp(l[0] - l[1]));
        }
      }
    }
  }
  for (bool prefetch : {true, false}) {
    CheckingSource source(s);
    ProbabilityOptions options;
    options.prefetch = prefetch;
    const FloatRaster p = compute_probability(*model, ModelKind::cloud, source, options);
    double max_err = 0;
    for (int r = 0; r < H; ++r)
      for (int c = 0; c < W; ++c)
        max_err = std::max(max_err, std::abs(p.at(0, r, c) - expected[std::size_t(r) * W + c]));
    EXPECT_LT(max_err, 2e-5) << "prefetch " << prefetch;
  }
  // The test has teeth: the pixel just right of the first column boundary, computed with the
  // left chip instead of its owner, differs.
  {
    const int r = 100, c = cols.begin[1];
    double l[2] = {spatial_cloud_bias(0), spatial_cloud_bias(1)};
    for (int ch = 0; ch < 2; ++ch)
      for (int b = 0; b < 12; ++b)
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int rr = r + (ky - 1) * kDilation, cc = c + (kx - 1) * kDilation;
            if (rr < 0 || rr >= 512 || cc < 0 || cc >= 512) continue;
            l[ch] += spatial_cloud_w(ch, b, ky, kx) * s.at(b, rr, cc);
          }
    const double wrong_chip = 1.0 / (1.0 + std::exp(l[0] - l[1]));
    EXPECT_GT(std::abs(wrong_chip - expected[std::size_t(r) * W + c]), 1e-3);
  }
}

// The spatial model's probability at (r, c) computed by a chip reading `read`.
double spatial_in_chip(const BandStack& s, int r, int c, const Window& read) {
  double l[2] = {spatial_cloud_bias(0), spatial_cloud_bias(1)};
  for (int ch = 0; ch < 2; ++ch)
    for (int b = 0; b < 12; ++b)
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          const int rr = r + (ky - 1) * kDilation, cc = c + (kx - 1) * kDilation;
          if (rr < read.row || rr >= read.row + read.height || cc < read.col ||
              cc >= read.col + read.width)
            continue;
          l[ch] += spatial_cloud_w(ch, b, ky, kx) * s.at(b, rr, cc);
        }
  return 1.0 / (1.0 + std::exp(l[0] - l[1]));
}

// True when every tap of the spatial model at (r, c) that lies on the raster lies in `read`:
// the chip then sees all the model sees, and the pixel's value does not depend on the chipping.
bool sees_receptive_field(int r, int c, const Window& read, int W, int H) {
  for (int dy : {-kDilation, 0, kDilation})
    for (int dx : {-kDilation, 0, kDilation}) {
      const int rr = r + dy, cc = c + dx;
      if (rr < 0 || rr >= H || cc < 0 || cc >= W) continue;
      if (rr < read.row || rr >= read.row + read.height || cc < read.col ||
          cc >= read.col + read.width)
        return false;
    }
  return true;
}

// Context chipping (the grid layout) against the reference chipping with the spatial model
// (receptive field 401 x 401 px): where both owning chips see the whole receptive field the
// probabilities are equal; elsewhere each follows its own chip, as computed per pixel here.
TEST(Probability, ContextChippingEqualsReferenceWhereTheContextCoversTheReceptiveField) {
  const int W = 1400, H = 900;
  BandStack s = synthetic_stack(W, H, 11);
  auto model = load_opencv_model(model_path("cloud_spatial.onnx"), ModelKind::cloud);
  const std::vector<Chip> plan = plan_context_chips(W, H, nullptr, nullptr, 0, 32);
  const std::vector<Chip> reference = plan_chips(W, H);
  BandStackChipSource source(s);
  ProbabilityOptions options;
  options.chips = &plan;
  const FloatRaster p = compute_probability(*model, ModelKind::cloud, source, options);
  const FloatRaster q = compute_probability(*model, ModelKind::cloud, source);
  auto owner = [](const std::vector<Chip>& chips, int r, int c) -> const Chip& {
    for (const auto& chip : chips) {
      const Window& w = chip.write;
      if (r >= w.row && r < w.row + w.height && c >= w.col && c < w.col + w.width) return chip;
    }
    throw std::logic_error("pixel without a chip");
  };
  double max_err = 0, max_covered_diff = 0, max_seam_diff = 0;
  int covered = 0;
  for (int r = 0; r < H; r += 3) {
    for (int c = 0; c < W; c += 3) {
      const Chip& mine = owner(plan, r, c);
      const Chip& theirs = owner(reference, r, c);
      max_err = std::max(max_err, std::abs(p.at(0, r, c) - spatial_in_chip(s, r, c, mine.read)));
      const double diff = std::abs(double(p.at(0, r, c)) - q.at(0, r, c));
      if (sees_receptive_field(r, c, mine.read, W, H) &&
          sees_receptive_field(r, c, theirs.read, W, H)) {
        ++covered;
        max_covered_diff = std::max(max_covered_diff, diff);
      } else {
        max_seam_diff = std::max(max_seam_diff, diff);
      }
    }
  }
  EXPECT_LT(max_err, 2e-5);
  EXPECT_GT(covered, 1000);
  EXPECT_LT(max_covered_diff, 2e-5);
  // The comparison has teeth: where a chip misses part of the receptive field, the two
  // chippings differ.
  EXPECT_GT(max_seam_diff, 1e-3);
}

// A 1x1 model needs no context: context chipping gives the reference's values wherever it
// writes, skips the chips over a lake and without data, and leaves 1 where it writes nothing.
TEST(Probability, ContextChippingSkipsChipsAndLeavesUnwrittenPixelsAtOne) {
  const int W = 1400, H = 1000;
  BandStack s = synthetic_stack(W, H, 13);
  zero_block(s, 928, 928, 472, 72);  // no imagery under the bottom-right chip
  Grid g = s.grid;
  ByteRaster region(g, 1, 1);
  for (int r = 480; r < 928; ++r)
    for (int c = 480; c < 928; ++c) region.at(0, r, c) = 0;  // a lake under the centre chip
  const ByteRaster no_data = no_data_of(s);
  const std::vector<Chip> plan = plan_context_chips(W, H, &region, &no_data, 0, 32);
  ASSERT_EQ(plan.size(), 7u);  // of 9 (see chipping_test.cpp)
  CountingModel model(load_opencv_model(model_path("cloud_linear.onnx"), ModelKind::cloud));
  CheckingSource source(s);
  ProbabilityOptions options;
  options.chips = &plan;
  std::vector<std::pair<int, int>> progress;
  options.progress = [&](int done, int total) { progress.emplace_back(done, total); };
  const FloatRaster p = compute_probability(model, ModelKind::cloud, source, options);
  EXPECT_EQ(model.calls, 7);
  EXPECT_EQ(source.reads, 7);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(7, 7));
  double max_err = 0;
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) {
      const bool lake = r >= 480 && r < 928 && c >= 480 && c < 928;
      const double expected = lake ? 1.0 : expected_linear_cloud(s, r, c);
      max_err = std::max(max_err, std::abs(p.at(0, r, c) - expected));
    }
  EXPECT_LT(max_err, 2e-5);
}

TEST(Probability, RasterSmallerThanAChipIsZeroPadded) {
  BandStack s = synthetic_stack(300, 200, 5);
  auto model = load_opencv_model(model_path("cloud_linear.onnx"), ModelKind::cloud);
  BandStackChipSource source(s);
  const FloatRaster p = compute_probability(*model, ModelKind::cloud, source);
  double max_err = 0;
  for (int r = 0; r < 200; ++r)
    for (int c = 0; c < 300; ++c)
      max_err = std::max(max_err, std::abs(p.at(0, r, c) - expected_linear_cloud(s, r, c)));
  EXPECT_LT(max_err, 2e-5);
}

TEST(Probability, ModelOfTheWrongKindIsRejected) {
  BandStack s = synthetic_stack(512, 512);
  auto model = load_opencv_model(model_path("shadow_linear.onnx"), ModelKind::shadow);
  BandStackChipSource source(s);
  EXPECT_THROW(compute_probability(*model, ModelKind::cloud, source), InputError);
}

TEST(Probability, CropTakesTheWindow) {
  Grid g;
  g.epsg = 32633;
  g.transform = {100, 10, 0, 1000, 0, -10};
  g.width = 5;
  g.height = 4;
  FloatRaster r(g, 1);
  for (std::size_t i = 0; i < r.data.size(); ++i) r.data[i] = float(i);
  const FloatRaster c = crop(r, Window{1, 2, 3, 2});
  EXPECT_EQ(c.grid.width, 3);
  EXPECT_EQ(c.grid.height, 2);
  EXPECT_DOUBLE_EQ(c.grid.transform[0], 110);
  EXPECT_DOUBLE_EQ(c.grid.transform[3], 980);
  EXPECT_EQ(c.at(0, 0, 0), 11.0f);
  EXPECT_EQ(c.at(0, 1, 2), 18.0f);
  EXPECT_THROW(crop(r, Window{3, 0, 3, 1}), DataError);
}

}  // namespace
}  // namespace s2prep::mask
