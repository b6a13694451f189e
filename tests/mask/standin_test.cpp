// Parity with the stand-in models of ../shared/models (real architectures, random weights):
// our full-raster probabilities against a deliberately plain re-implementation of the
// reference chipping that calls cv::dnn directly. Skipped when the folder is absent.

#include <gtest/gtest.h>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "mask/model_registry.hpp"
#include "mask/opencv_engine.hpp"
#include "mask/probability.hpp"
#include "test_support.hpp"

namespace s2prep::mask {
namespace {

using namespace s2prep::mask::testing;

std::filesystem::path standin(const std::string& name) {
  return std::filesystem::path(S2PREP_SHARED_DIR) / "models" / name;
}

#define SKIP_WITHOUT(file)                                        \
  if (!std::filesystem::exists(file)) {                           \
    GTEST_SKIP() << "stand-in model absent: " << (file).string(); \
  }

// The reference: per chip, float32 input (x 0.0001 for shadow), forward, numpy-style softmax
// (subtract the max, exp, divide by the sum) or sigmoid, nodata -> 1, midpoint split.
std::vector<float> plain_reference(const std::filesystem::path& file, bool shadow,
                                   const BandStack& s) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(file.string());
  const int W = s.grid.width, H = s.grid.height;
  std::vector<float> out(std::size_t(W) * H, -1.0f);
  const PlainAxis cols = plain_axis(W), rows = plain_axis(H);
  for (std::size_t ri = 0; ri < rows.starts.size(); ++ri) {
    for (std::size_t ci = 0; ci < cols.starts.size(); ++ci) {
      const int r0 = rows.starts[ri], c0 = cols.starts[ci];
      const int shape[] = {1, 12, 512, 512};
      cv::Mat blob(4, shape, CV_32F);
      for (int b = 0; b < 12; ++b)
        for (int y = 0; y < 512; ++y)
          for (int x = 0; x < 512; ++x) {
            float v = static_cast<float>(s.at(b, r0 + y, c0 + x));
            if (shadow) v *= 0.0001f;
            blob.ptr<float>(0, b, y)[x] = v;
          }
      net.setInput(blob);
      const cv::Mat logits = net.forward().clone();
      for (int r = rows.begin[ri]; r < rows.end[ri]; ++r) {
        for (int c = cols.begin[ci]; c < cols.end[ci]; ++c) {
          const int y = r - r0, x = c - c0;
          float p;
          if (any_band_zero(s, r, c)) {
            p = 1.0f;
          } else if (shadow) {
            p = 1.0f / (1.0f + std::exp(-logits.ptr<float>(0, 0, y)[x]));
          } else {
            const float a = logits.ptr<float>(0, 0, y)[x], b = logits.ptr<float>(0, 1, y)[x];
            const float m = std::max(a, b);
            p = std::exp(b - m) / (std::exp(a - m) + std::exp(b - m));
          }
          out[std::size_t(r) * W + c] = p;
        }
      }
    }
  }
  return out;
}

void expect_parity(const std::string& name, ModelKind kind, int width, int height) {
  const auto file = standin(name);
  const ModelFileInfo info = describe_model_file(file);
  EXPECT_EQ(to_string(info.status), "not a reference file");
  EXPECT_EQ(info.kind, kind);

  BandStack s = synthetic_stack(width, height, 11);
  for (int i = 0; i < 200; ++i) s.at(i % 12, (i * 31) % height, (i * 17) % width) = 0;
  auto model = load_opencv_model(file, kind);
  BandStackChipSource source(s);
  const FloatRaster ours = compute_probability(*model, kind, source);
  const std::vector<float> ref = plain_reference(file, kind == ModelKind::shadow, s);
  double max_err = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ASSERT_GE(ref[i], 0.0f);
    max_err = std::max(max_err, double(std::abs(ours.data[i] - ref[i])));
  }
  EXPECT_LT(max_err, 1e-4) << name;
  const auto [lo, hi] = std::minmax_element(ref.begin(), ref.end());
  std::cout << name << ": max |ours - reference| " << max_err << ", reference in [" << *lo << ", "
            << *hi << "]\n";
}

TEST(StandIn, ChecksumsOfTheFolderListing) {
  const auto dir = std::filesystem::path(S2PREP_SHARED_DIR) / "models";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  const auto list = list_model_dir(dir);
  ASSERT_EQ(list.size(), 4u);
  for (const auto& m : list) {
    EXPECT_EQ(m.status, ChecksumStatus::not_reference) << m.name;
    EXPECT_EQ(m.sha256.size(), 64u);
  }
  EXPECT_EQ(list[0].name, "standin_cloud_cheaplab_ps1.onnx");
  EXPECT_EQ(list[0].sha256, "f2a788cd4cbaa27d114a8350e44458fd1a750e4cbcb6901873b6e7271c9e4e1d");
  EXPECT_EQ(kind_name(list[3].kind), "shadow");
}

TEST(StandIn, CheapLabPreshrink1Parity) {
  SKIP_WITHOUT(standin("standin_cloud_cheaplab_ps1.onnx"));
  expect_parity("standin_cloud_cheaplab_ps1.onnx", ModelKind::cloud, 700, 600);
}

TEST(StandIn, CheapLabPreshrink2Parity) {
  SKIP_WITHOUT(standin("standin_cloud_cheaplab_ps2.onnx"));
  expect_parity("standin_cloud_cheaplab_ps2.onnx", ModelKind::cloud, 700, 600);
}

// The FPN models cost 0.5-2 s per chip on 2 shared cores: one chip each (stitching is covered
// by the CheapLab cases and the generated models).
TEST(StandIn, CloudFpnParity) {
  SKIP_WITHOUT(standin("standin_cloud_fpn.onnx"));
  expect_parity("standin_cloud_fpn.onnx", ModelKind::cloud, 512, 512);
}

TEST(StandIn, ShadowFpnParity) {
  SKIP_WITHOUT(standin("standin_shadow_fpn.onnx"));
  expect_parity("standin_shadow_fpn.onnx", ModelKind::shadow, 512, 512);
}

}  // namespace
}  // namespace s2prep::mask
