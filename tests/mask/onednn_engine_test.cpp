// The oneDNN engine against OpenCV DNN: the same ONNX file through both engines must give the
// same probabilities (within 1e-3) and the same masks except where a probability sits within
// 1e-3 of the threshold. OpenCV's importer and kernels share no code with the oneDNN engine,
// so agreement checks the graph reading, the operator semantics and the fusions.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include <s2prep/errors.hpp>
#include "mask/model_loading.hpp"
#include "mask/onednn_engine.hpp"
#include "mask/opencv_engine.hpp"
#include "mask/probability.hpp"
#include "test_support.hpp"

namespace s2prep::mask {
namespace {

using testing::model_path;
using testing::synthetic_stack;

std::filesystem::path standin(const std::string& name) {
  return std::filesystem::path(S2PREP_SHARED_DIR) / "models" / name;
}

// One chip of the synthetic stack, scaled by `scale` (the pipeline's scaling for a model's kind
// is 1 for cloud and 0.0001 for shadow models).
std::vector<float> chip(float scale, std::uint32_t seed) {
  const BandStack s = synthetic_stack(kChipSize, kChipSize, seed);
  std::vector<float> in(std::size_t(kModelBands) * kChipSize * kChipSize);
  for (int b = 0; b < kModelBands; ++b)
    for (int r = 0; r < kChipSize; ++r)
      for (int c = 0; c < kChipSize; ++c)
        in[(std::size_t(b) * kChipSize + r) * kChipSize + c] = s.at(b, r, c) * scale;
  return in;
}

std::vector<float> probabilities(const std::vector<float>& logits, int channels) {
  const std::size_t plane = std::size_t(kChipSize) * kChipSize;
  std::vector<float> p(plane);
  for (std::size_t i = 0; i < plane; ++i) {
    if (channels == 1) {
      p[i] = 1.0f / (1.0f + std::exp(-logits[i]));
    } else {
      const double a = logits[i], b = logits[plane + i], m = std::max(a, b);
      p[i] = static_cast<float>(std::exp(b - m) / (std::exp(a - m) + std::exp(b - m)));
    }
  }
  return p;
}

struct Comparison {
  double max_prob_diff = 0;
  double max_logit_diff = 0;  // relative to the largest |logit| of the chip
  double prob_lo = 1, prob_hi = 0;
};

float contract_scale(ModelKind kind) { return kind == ModelKind::shadow ? 0.0001f : 1.0f; }

Comparison compare_engines(const std::filesystem::path& file, ModelKind kind, float scale,
                           int chips = 2) {
  auto cv = load_opencv_model(file, kind);
  auto dnn = load_onednn_model(file, kind);
  EXPECT_EQ(cv->output_channels(), dnn->output_channels());
  const int channels = cv->output_channels();
  const std::size_t n = std::size_t(channels) * kChipSize * kChipSize;
  Comparison r;
  for (int k = 0; k < chips; ++k) {
    // Two different chips through the same model objects: buffers and primitives are reused.
    const std::vector<float> in = chip(scale, 3 + k);
    std::vector<float> a(n), b(n, -12345.f);
    cv->infer(in.data(), a.data());
    dnn->infer(in.data(), b.data());
    double largest = 1e-30, diff = 0;
    for (std::size_t i = 0; i < n; ++i) {
      largest = std::max(largest, std::abs(double(a[i])));
      diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    }
    r.max_logit_diff = std::max(r.max_logit_diff, diff / largest);
    const auto pa = probabilities(a, channels), pb = probabilities(b, channels);
    for (std::size_t i = 0; i < pa.size(); ++i) {
      r.max_prob_diff = std::max(r.max_prob_diff, std::abs(double(pa[i]) - pb[i]));
      r.prob_lo = std::min(r.prob_lo, double(pa[i]));
      r.prob_hi = std::max(r.prob_hi, double(pa[i]));
    }
  }
  std::cout << file.filename().string() << ": max |p_onednn - p_opencv| " << r.max_prob_diff
            << ", max relative logit difference " << r.max_logit_diff << ", OpenCV p in ["
            << r.prob_lo << ", " << r.prob_hi << "]\n";
  return r;
}

void expect_same_answers(const std::filesystem::path& file, ModelKind kind) {
  const Comparison r = compare_engines(file, kind, contract_scale(kind));
  EXPECT_LE(r.max_prob_diff, 1e-3) << file;
  EXPECT_LE(r.max_logit_diff, 1e-4) << file;
}

TEST(OneDnnEngine, GeneratedLinearModelsMatchOpenCv) {
  expect_same_answers(model_path("cloud_linear.onnx"), ModelKind::cloud);
  expect_same_answers(model_path("shadow_linear.onnx"), ModelKind::shadow);
  expect_same_answers(model_path("cloud_spatial.onnx"), ModelKind::cloud);
}

// Every implemented operator and fusion at once; the probabilities must spread, or the
// comparison would prove little.
TEST(OneDnnEngine, GeneratedOperatorZooMatchesOpenCv) {
  for (auto [name, kind] : {std::pair{"cloud_zoo.onnx", ModelKind::cloud},
                            std::pair{"shadow_zoo.onnx", ModelKind::shadow}}) {
    const Comparison r = compare_engines(model_path(name), kind, contract_scale(kind));
    EXPECT_LE(r.max_prob_diff, 1e-3) << name;
    EXPECT_LE(r.max_logit_diff, 1e-4) << name;
    EXPECT_GT(r.prob_hi - r.prob_lo, 0.3) << name;
  }
}

TEST(OneDnnEngine, ChannelSoftmaxMatchesOpenCv) {
  expect_same_answers(model_path("cloud_softmax13.onnx"), ModelKind::cloud);
}

TEST(OneDnnEngine, UnsupportedOperatorIsNamed) {
  try {
    load_onednn_model(model_path("cloud_abs.onnx"), ModelKind::cloud);
    ADD_FAILURE() << "cloud_abs.onnx loaded";
  } catch (const UnsupportedModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cloud_abs.onnx"), std::string::npos) << msg;
    EXPECT_NE(msg.find("operator Abs"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--engine opencv"), std::string::npos) << msg;
    EXPECT_EQ(e.exit_code(), 2);
  }
  // OpenCV still runs it.
  EXPECT_EQ(load_opencv_model(model_path("cloud_abs.onnx"), ModelKind::cloud)->output_channels(),
            2);
}

TEST(OneDnnEngine, ContractViolationsAreInputErrors) {
  EXPECT_THROW(load_onednn_model(model_path("bad_in3.onnx"), ModelKind::cloud), InputError);
  EXPECT_THROW(load_onednn_model(model_path("bad_hw256.onnx"), ModelKind::cloud), InputError);
  EXPECT_THROW(load_onednn_model(model_path("bad_out3.onnx"), ModelKind::cloud), InputError);
  EXPECT_THROW(load_onednn_model(model_path("bad_truncated.onnx"), ModelKind::cloud), InputError);
  EXPECT_THROW(load_onednn_model(model_path("cloud_linear.onnx"), ModelKind::shadow), InputError);
  EXPECT_THROW(load_onednn_model(model_path("no_such_model.onnx"), ModelKind::cloud), InputError);
}

// Whole rasters through the reference chipping: probabilities within 1e-3 everywhere and the
// thresholded masks identical except where the probability is within 1e-3 of the threshold.
TEST(OneDnnEngine, ChippedProbabilitiesAndMasksMatchOpenCv) {
  for (auto [name, kind] : {std::pair{"cloud_zoo.onnx", ModelKind::cloud},
                            std::pair{"shadow_zoo.onnx", ModelKind::shadow}}) {
    BandStack s = synthetic_stack(700, 600, 5);
    for (int i = 0; i < 300; ++i) s.at(i % 12, (i * 31) % 600, (i * 17) % 700) = 0;
    auto cv = load_opencv_model(model_path(name), kind);
    auto dnn = load_onednn_model(model_path(name), kind);
    BandStackChipSource source(s);
    const FloatRaster a = compute_probability(*cv, kind, source);
    const FloatRaster b = compute_probability(*dnn, kind, source);
    ASSERT_EQ(a.data.size(), b.data.size());
    double max_diff = 0;
    std::size_t differing = 0, near = 0;
    for (std::size_t i = 0; i < a.data.size(); ++i) {
      max_diff = std::max(max_diff, double(std::abs(a.data[i] - b.data[i])));
      for (float threshold : {0.3f, 0.5f, 0.7f}) {
        if ((a.data[i] > threshold) != (b.data[i] > threshold)) {
          ++differing;
          if (std::abs(a.data[i] - threshold) <= 1e-3f) ++near;
        }
      }
    }
    EXPECT_LE(max_diff, 1e-3) << name;
    EXPECT_EQ(differing, near) << name;
  }
}

// Counts the forward passes of a (batched) model.
class CountingPasses final : public SegmentationModel {
 public:
  explicit CountingPasses(std::unique_ptr<SegmentationModel> inner) : inner_(std::move(inner)) {}
  int output_channels() const override { return inner_->output_channels(); }
  int batch_size() const override { return inner_->batch_size(); }
  void infer(const float* in, float* out) override {
    ++full;
    inner_->infer(in, out);
  }
  void infer_one(const float* in, float* out) override {
    ++single;
    inner_->infer_one(in, out);
  }
  int full = 0;
  int single = 0;

 private:
  std::unique_ptr<SegmentationModel> inner_;
};

// Several chips per forward pass give each chip's probabilities, as one chip per pass does
// (the spatial model's dilated 3 x 3 taps reach 200 px, so every pixel depends on its own
// chip's data: a chip mixed up with another of its pass would show). 1000 x 700 px: 6 chips, one
// without data, so 5 run: batch 2 makes 2 full passes and 1 single chip, batch 3 one full pass and
// one pass of 2 chips padded with a zero chip.
TEST(OneDnnEngine, BatchedPassesGiveEachChipsProbabilities) {
  const int W = 1000, H = 700;
  BandStack s = synthetic_stack(W, H, 9);
  for (int b = 0; b < 12; ++b)
    for (int r = 188; r < 700; ++r)
      for (int c = 488; c < 1000; ++c) s.at(b, r, c) = 0;
  // The zoo has a Resize with constant sizes whose batch (1) the batched network ignores.
  for (const char* name : {"cloud_spatial.onnx", "cloud_zoo.onnx"}) {
    const auto one = load_onednn_model(model_path(name), ModelKind::cloud);
    BandStackChipSource source(s);
    const FloatRaster expected = compute_probability(*one, ModelKind::cloud, source);
    for (auto [batch, full, single] : {std::tuple{2, 2, 1}, std::tuple{3, 2, 0}}) {
      CountingPasses model(load_onednn_model(model_path(name), ModelKind::cloud, batch));
      EXPECT_EQ(model.batch_size(), batch) << name;
      std::vector<int> progress;
      ProbabilityOptions options;
      options.progress = [&](int done, int total) {
        EXPECT_EQ(total, 6);
        progress.push_back(done);
      };
      const FloatRaster p = compute_probability(model, ModelKind::cloud, source, options);
      EXPECT_EQ(model.full, full) << "batch " << batch;
      EXPECT_EQ(model.single, single) << "batch " << batch;
      EXPECT_EQ(progress, (std::vector<int>{1, 2, 3, 4, 5, 6})) << "batch " << batch;
      double max_diff = 0;
      for (std::size_t i = 0; i < p.data.size(); ++i)
        max_diff = std::max(max_diff, double(std::abs(p.data[i] - expected.data[i])));
      EXPECT_LT(max_diff, 1e-5) << name << " batch " << batch;
    }
  }
}

// With the contract's raw digital numbers the random-weight cloud stand-ins give logits in the
// thousands: probabilities are saturated nearly everywhere, and where two huge logits nearly
// cancel, a relative difference of 1e-6 moves the probability by 0.1 (OpenCV and ONNX Runtime
// differ the same way, docs/benchmarks.md). So cloud stand-ins are compared on their logits with
// the contract input, and on probabilities with reflectance input (DN x 0.0001), which keeps
// them unsaturated; the shadow stand-in gets reflectance by contract.
TEST(OneDnnEngine, StandInsMatchOpenCv) {
  const std::pair<const char*, ModelKind> models[] = {
      {"standin_cloud_cheaplab_ps1.onnx", ModelKind::cloud},
      {"standin_cloud_cheaplab_ps2.onnx", ModelKind::cloud},
      {"standin_cloud_fpn.onnx", ModelKind::cloud},
      {"standin_shadow_fpn.onnx", ModelKind::shadow}};
  int ran = 0;
  for (const auto& [name, kind] : models) {
    if (!std::filesystem::exists(standin(name))) continue;
    ++ran;
    const Comparison contract = compare_engines(standin(name), kind, contract_scale(kind), 1);
    EXPECT_LE(contract.max_logit_diff, 1e-4) << name;
    if (kind == ModelKind::shadow) {
      EXPECT_LE(contract.max_prob_diff, 1e-3) << name;
    } else {
      const Comparison reflectance = compare_engines(standin(name), kind, 0.0001f, 1);
      EXPECT_LE(reflectance.max_prob_diff, 1e-3) << name;
      EXPECT_LE(reflectance.max_logit_diff, 1e-4) << name;
    }
  }
  if (ran == 0) GTEST_SKIP() << "no stand-in models in " << standin("");
}

}  // namespace
}  // namespace s2prep::mask

namespace s2prep::mask {
namespace {

TEST(ModelLoading, AutoPicksOneDnnWhereItRunsTheGraphAndOpenCvElsewhere) {
  const ModelWithEngine zoo =
      load_model(model_path("cloud_zoo.onnx"), ModelKind::cloud, Engine::automatic);
  EXPECT_EQ(zoo.engine, "onednn");
  EXPECT_TRUE(zoo.fallback_reason.empty());
  const ModelWithEngine abs =
      load_model(model_path("cloud_abs.onnx"), ModelKind::cloud, Engine::automatic);
  EXPECT_EQ(abs.engine, "opencv");
  EXPECT_NE(abs.fallback_reason.find("operator Abs"), std::string::npos) << abs.fallback_reason;
  EXPECT_EQ(load_model(model_path("cloud_zoo.onnx"), ModelKind::cloud, Engine::opencv).engine,
            "opencv");
  EXPECT_THROW(load_model(model_path("cloud_abs.onnx"), ModelKind::cloud, Engine::onednn),
               UnsupportedModelError);
}

TEST(ModelLoading, AutoReportsFileErrorsLikeTheOpenCvLoader) {
  try {
    load_model(model_path("bad_lfs_pointer.onnx"), ModelKind::cloud, Engine::automatic);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("git lfs pull"), std::string::npos) << e.what();
  }
}

TEST(ModelLoading, EngineNames) {
  EXPECT_EQ(parse_engine("auto"), Engine::automatic);
  EXPECT_EQ(parse_engine("onednn"), Engine::onednn);
  EXPECT_EQ(parse_engine("opencv"), Engine::opencv);
  EXPECT_EQ(to_string(Engine::onednn), "onednn");
  try {
    parse_engine("cuda");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'cuda'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace s2prep::mask
