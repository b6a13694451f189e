#pragma once
// Helpers shared by the mask tests: the generated ONNX models, synthetic band stacks and a
// deliberately plain re-implementation of the reference chipping (independent of src/mask).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/raster.hpp"

namespace s2prep::mask::testing {

// Runs tests/mask/make_test_models.py once per test process into a temporary folder.
class GeneratedModels {
 public:
  static const std::filesystem::path& dir() {
    static GeneratedModels models;
    return models.dir_;
  }

 private:
  GeneratedModels() {
    dir_ = std::filesystem::temp_directory_path() /
           ("s2prep-mask-models-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string cmd = std::string(S2PREP_PYTHON) + " " + S2PREP_SOURCE_DIR +
                            "/tests/mask/make_test_models.py " + dir_.string();
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << "could not generate the test models with: " << cmd;
    }
  }
  ~GeneratedModels() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

inline std::filesystem::path model_path(const std::string& name) {
  return GeneratedModels::dir() / name;
}

// The weights of make_test_models.py, re-evaluated here.
inline double linear_cloud_w(int c, int b) {
  return c == 0 ? 0.0001 * (12 - b) : 0.0001 * (b + 1) - 0.00005 * (b % 3);
}
inline double linear_cloud_bias(int c) { return c == 0 ? 0.25 : -0.5; }
inline double linear_shadow_w(int b) { return 0.5 * (b - 5.5) / 5.5 + 0.1 * (b % 2); }
inline double linear_shadow_bias() { return -0.3; }
inline double spatial_cloud_w(int c, int b, int ky, int kx) {
  return c == 0 ? 0.00003 * (((b * 5 + ky + kx * 2) % 7) - 3)
                : 0.00005 * (((b * 7 + ky * 3 + kx * 5) % 11) - 5);
}
inline double spatial_cloud_bias(int c) { return c == 0 ? 0.1 : -0.1; }

// A 12-band stack of plausible digital numbers (1..6000) that differ by band and position.
inline BandStack synthetic_stack(int width, int height, std::uint32_t seed = 1) {
  Grid g;
  g.epsg = 32633;
  g.transform = {500000, 10, 0, 5000000, 0, -10};
  g.width = width;
  g.height = height;
  BandStack s(g, 12);
  std::uint32_t state = seed * 2654435761u + 12345u;
  for (int b = 0; b < 12; ++b) {
    for (int r = 0; r < height; ++r) {
      for (int c = 0; c < width; ++c) {
        state = state * 1664525u + 1013904223u;
        // smooth part (so models see structure) + noise
        const int smooth =
            1500 + int(1200 * std::sin(0.013 * c + 0.4 * b) * std::cos(0.009 * r - 0.2 * b));
        s.at(b, r, c) = static_cast<std::uint16_t>(std::max(1, smooth + int(state >> 23) - 256));
      }
    }
  }
  return s;
}

// Plain reference chipping, written from the reference's description without looking at src/mask:
// returns the chip starts and, for each chip, the [begin, end) range of output pixels it owns.
struct PlainAxis {
  std::vector<int> starts;
  std::vector<int> begin;
  std::vector<int> end;
};

inline int numpy_round(double x) {
  double r = std::round(x);                   // halves away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5) {  // exact half: go to the even neighbour
    r = 2.0 * std::round(x / 2.0);
  }
  return static_cast<int>(r);
}

inline PlainAxis plain_axis(int size) {
  PlainAxis a;
  int n = 1;
  if (size > 512) {
    n = static_cast<int>(std::ceil((size - 512) / 384.0)) + 1;
    if (n < 2) n = 2;
  }
  for (int i = 0; i < n; ++i) {
    const double v = n == 1 ? 0.0 : (i == n - 1 ? size - 512.0 : i * ((size - 512.0) / (n - 1)));
    a.starts.push_back(numpy_round(v));
  }
  for (int i = 0; i < n; ++i) {
    a.begin.push_back(i == 0 ? 0 : (a.starts[i - 1] + 512 + a.starts[i]) / 2);
    a.end.push_back(i == n - 1 ? size : (a.starts[i] + 512 + a.starts[i + 1]) / 2);
  }
  return a;
}

inline bool any_band_zero(const BandStack& s, int r, int c) {
  for (int b = 0; b < 12; ++b) {
    if (s.at(b, r, c) == 0) return true;
  }
  return false;
}

}  // namespace s2prep::mask::testing
