// Spectral cloud tests of the built-in detector (docs/builtin-detector.md). Each Fmask-style
// test is turned into a bounded score whose sign says "cloud-like" or not; the scores are added
// as logits, so a pixel passing every test is near 1, clear land near 0, and thin cloud (which
// passes some tests weakly) in between.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "mask/builtin_detector.hpp"
#include "mask/builtin_internal.hpp"

namespace s2prep::mask {

namespace {

constexpr int kB02 = band_index("B02");
constexpr int kB03 = band_index("B03");
constexpr int kB04 = band_index("B04");
constexpr int kB08 = band_index("B08");
constexpr int kB8A = band_index("B8A");
constexpr int kB11 = band_index("B11");
constexpr int kB12 = band_index("B12");

float clampf(float v, float lo, float hi) { return std::min(hi, std::max(lo, v)); }

float ratio_index(float a, float b) { return (a + b) > 0 ? (a - b) / (a + b) : 0.0f; }

// Water membership from one pixel's reflectance: low NIR and green above NIR (NDWI > 0).
// Shadowed land keeps NIR above green, so it is not taken for water.
float water_of(float green, float nir) {
  return detail::sigmoid(ratio_index(green, nir) / 0.05f) * detail::sigmoid((0.11f - nir) / 0.02f);
}

float cloud_logit(const float r[kBandCount]) {
  const float blue = r[kB02], green = r[kB03], red = r[kB04];
  const float nir = r[kB08], nir_narrow = r[kB8A], swir1 = r[kB11], swir2 = r[kB12];

  // Brightness and whiteness (Gomez-Chova 2007; Fmask's whiteness on the visible bands): clouds
  // are bright and spectrally flat in the visible.
  const float visible = (blue + green + red) / 3.0f;
  const float whiteness =
      visible > 0
          ? (std::fabs(blue - visible) + std::fabs(green - visible) + std::fabs(red - visible)) /
                (3.0f * visible)
          : 1.0f;
  // Haze-optimised transform (Zhang et al. 2002): clear surfaces lie on the blue-red line; haze
  // and cloud raise blue above it.
  const float hot = blue - 0.5f * red - 0.08f;
  // Bright soil and sand rise steadily from blue to SWIR; clouds are flat or fall (ice absorbs
  // in the SWIR). The blue-SWIR normalised difference measures that slope.
  const float slope = ratio_index(swir1, blue);
  // Fmask's NIR/SWIR ratio test (B8A/B11 > 0.75), centred higher at 1: bright soil and sand
  // have B11 above B8A, clouds have B11 at or below it.
  const float nir_swir = swir1 > 0 ? nir_narrow / swir1 : 4.0f;

  const float t_hot = clampf(hot / 0.05f, -2.0f, 2.0f);
  const float t_bright = clampf((visible - 0.15f) / 0.08f, -2.0f, 3.0f);
  const float t_white = clampf((0.12f - whiteness) / 0.05f, -3.0f, 2.0f);
  const float t_slope = clampf((0.15f - slope) / 0.1f, -2.0f, 2.0f);
  const float t_ratio = clampf((nir_swir - 1.0f) / 0.08f, -3.0f, 2.0f);
  // The bias puts a pixel passing the tests only weakly (a cloud of opacity ~0.25 over
  // vegetation) near 0.5.
  const float land = -4.0f + t_hot + t_bright + t_white + t_slope + t_ratio;

  // Over water the land tests fail for thin cloud (water is dark everywhere); water itself is
  // black in the SWIR, so SWIR brightness alone separates cloud over water (Fmask's water
  // cloud probability uses the same idea).
  // The visible must brighten too: at a shoreline the 20 m SWIR pixel mixes in land, which
  // would otherwise read as cloud over the 10 m water pixel.
  const float over_water = std::min(clampf((swir1 - 0.06f) / 0.015f, -6.0f, 6.0f),
                                    clampf((visible - 0.1f) / 0.025f, -6.0f, 6.0f));
  const float water = water_of(green, nir);
  float z = (1.0f - water) * land + water * over_water;

  // Snow (Dozier 1989; Fmask 3.3 thresholds NDSI > 0.15, NIR > 0.11, green > 0.1): bright and
  // white like cloud but black in the SWIR. The NDSI threshold is raised to 0.3 softly because
  // without a thermal band ice clouds with NDSI just above 0.15 must stay cloud.
  const float ndsi = ratio_index(green, swir1);
  const float snow = detail::sigmoid((ndsi - 0.3f) / 0.06f) *
                     detail::sigmoid((nir - 0.11f) / 0.02f) *
                     detail::sigmoid((green - 0.1f) / 0.02f);
  z -= 10.0f * snow;

  // Fmask's basic test: clouds are not black in SWIR2 (B12 > 0.03) and have NDVI and NDSI
  // below 0.8.
  const float ndvi = ratio_index(nir, red);
  z -= 6.0f * detail::sigmoid((0.03f - swir2) / 0.005f);
  z -= 6.0f * detail::sigmoid((std::max(ndvi, ndsi) - 0.8f) / 0.03f);
  return z;
}

}  // namespace

namespace detail {

void check_stack(const BandStack& stack) {
  if (stack.bands != kBandCount) {
    throw InputError("the band stack given to the built-in detector has " +
                     std::to_string(stack.bands) + " bands; pass the 12 L2A bands B01..B12.");
  }
  if (stack.data.size() != stack.band_size() * std::size_t(kBandCount)) {
    throw InputError(
        "the band stack given to the built-in detector holds fewer values than its grid needs; "
        "pass a stack whose data matches its grid.");
  }
}

void check_probability(const BandStack& stack, const FloatRaster& probability, const char* what) {
  if (probability.grid.width != stack.grid.width || probability.grid.height != stack.grid.height ||
      probability.bands != 1 || probability.data.size() != stack.band_size()) {
    throw InputError(std::string("the ") + what +
                     " probability given to the built-in shadow detector is not one band on "
                     "the stack's grid; compute it from the same stack.");
  }
}

bool valid_pixel(const BandStack& stack, std::size_t i) {
  const std::size_t n = stack.band_size();
  for (int b = 0; b < kBandCount; ++b) {
    if (stack.data[b * n + i] == 0) return false;
  }
  return true;
}

}  // namespace detail

FloatRaster builtin_cloud_probability(const BandStack& stack, const BuiltinOptions&) {
  detail::check_stack(stack);
  FloatRaster out(stack.grid, 1, 1.0f);
  const std::size_t n = stack.band_size();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 4096), [&](const auto& range) {
    float r[kBandCount];
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      bool valid = true;
      for (int b = 0; b < kBandCount; ++b) {
        const std::uint16_t dn = stack.data[b * n + i];
        valid = valid && dn != 0;
        r[b] = float(dn) * 1e-4f;
      }
      out.data[i] = valid ? detail::sigmoid(cloud_logit(r)) : 1.0f;
    }
  });
  // The 20 m and 60 m bands mix neighbouring surfaces over two or six 10 m pixels, so at the
  // edge of bright soil or sand a thin rim passes the SWIR tests that the surface itself fails.
  // A 3 x 3 grayscale opening removes features under three pixels wide (such rims, isolated
  // pixels) and leaves clouds, which are far larger, as they were.
  if (stack.grid.width >= 3 && stack.grid.height >= 3) {
    cv::Mat p(stack.grid.height, stack.grid.width, CV_32F, out.data.data());
    cv::morphologyEx(p, p, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_RECT, {3, 3}),
                     {-1, -1}, 1, cv::BORDER_REPLICATE);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 4096), [&](const auto& range) {
      for (std::size_t i = range.begin(); i != range.end(); ++i) {
        if (!detail::valid_pixel(stack, i)) out.data[i] = 1.0f;
      }
    });
  }
  return out;
}

FloatRaster builtin_water(const BandStack& stack) {
  detail::check_stack(stack);
  FloatRaster out(stack.grid, 1, 0.0f);
  const std::size_t n = stack.band_size();
  const std::uint16_t* green = stack.band(kB03);
  const std::uint16_t* nir = stack.band(kB08);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 4096), [&](const auto& range) {
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      out.data[i] = water_of(float(green[i]) * 1e-4f, float(nir[i]) * 1e-4f);
    }
  });
  return out;
}

BuiltinResult builtin_detect(const BandStack& stack, SunAngles sun, double cloud_thr,
                             const BuiltinOptions& options) {
  BuiltinResult result;
  result.cloud = builtin_cloud_probability(stack, options);
  result.shadow = builtin_shadow_probability(stack, result.cloud, sun, cloud_thr, options);
  return result;
}

}  // namespace s2prep::mask
