// Geometric shadow matching of the built-in detector (docs/builtin-detector.md): a potential
// shadow layer from the depth of grayscale hole filling in NIR and SWIR (Fmask), then each cloud
// object is shifted along the sun direction over a range of heights and the height whose
// projection is dark inside and not dark around is kept.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "mask/builtin_detector.hpp"
#include "mask/builtin_internal.hpp"

namespace s2prep::mask {

namespace {

constexpr int kB08 = band_index("B08");
constexpr int kB11 = band_index("B11");
constexpr double kBackgroundQuantile = 0.5;

// Grayscale hole filling (morphological reconstruction by erosion from the raster edge), the
// "imfill" of Fmask, computed with the priority-flood algorithm (Barnes et al. 2014) over a
// bucket queue: digital numbers are 16-bit, so each pixel is queued once and the cost is linear.
// Outside the raster the surface is taken to be at `outside`, so dark pixels at the edge still
// count as depressions.
std::vector<std::uint16_t> fill_holes(const std::vector<std::uint16_t>& image, int width,
                                      int height, std::uint16_t outside) {
  const std::size_t n = std::size_t(width) * height;
  std::vector<std::uint16_t> filled(n);
  std::vector<std::uint8_t> closed(n, 0);
  std::vector<std::vector<int>> buckets(65536);
  auto seed = [&](int i) {
    if (closed[i]) return;
    closed[i] = 1;
    filled[i] = std::max(image[i], outside);
    buckets[filled[i]].push_back(i);
  };
  for (int c = 0; c < width; ++c) {
    seed(c);
    seed((height - 1) * width + c);
  }
  for (int r = 0; r < height; ++r) {
    seed(r * width);
    seed(r * width + width - 1);
  }
  auto visit = [&](int q, std::uint16_t level) {
    if (closed[q]) return;
    closed[q] = 1;
    filled[q] = std::max(image[q], level);
    buckets[filled[q]].push_back(q);
  };
  for (int level = 0; level < 65536; ++level) {
    auto& bucket = buckets[level];
    while (!bucket.empty()) {
      const int p = bucket.back();
      bucket.pop_back();
      const int r = p / width, c = p % width;
      const auto lv = std::uint16_t(level);
      if (c > 0) visit(p - 1, lv);
      if (c + 1 < width) visit(p + 1, lv);
      if (r > 0) visit(p - width, lv);
      if (r + 1 < height) visit(p + width, lv);
    }
    std::vector<int>().swap(bucket);
  }
  return filled;
}

double pixel_size_of(const BandStack& stack) {
  const double size = std::fabs(stack.grid.resolution());
  if (!(size > 0)) {
    throw InputError(
        "the band stack given to the built-in detector has a grid with no pixel size; give it "
        "the grid of the acquisition.");
  }
  return size;
}

struct CloudObject {
  std::vector<int> pixels;  // row * width + col
  std::vector<int> ring;    // pixels 3..5 px outside the object
};

// Rounded pixel shift.
struct Shift {
  int col = 0;
  int row = 0;
  friend bool operator==(const Shift&, const Shift&) = default;
};

struct MatchLayers {
  int width = 0;
  int height = 0;
  const std::vector<std::uint8_t>* usable = nullptr;  // valid, not cloud, not water
  const std::vector<float>* dark = nullptr;
};

// Mean darkness of `pixels` (every `stride`-th) shifted by `s`, over the shifted pixels that
// land inside the raster on usable ground; nullopt when fewer than `min_count`.
std::optional<double> mean_evidence(const MatchLayers& m, const std::vector<int>& pixels,
                                    int stride, Shift s, int min_count) {
  double sum = 0;
  int count = 0;
  for (std::size_t k = 0; k < pixels.size(); k += std::size_t(stride)) {
    const int r = pixels[k] / m.width + s.row;
    const int c = pixels[k] % m.width + s.col;
    if (r < 0 || r >= m.height || c < 0 || c >= m.width) continue;
    const std::size_t q = std::size_t(r) * m.width + c;
    if (!(*m.usable)[q]) continue;
    sum += (*m.dark)[q];
    ++count;
  }
  if (count < std::max(1, min_count)) return std::nullopt;
  return sum / count;
}

// The shift at which `object`'s shadow is best explained, or nullopt.
std::optional<Shift> match_object(const MatchLayers& m, const CloudObject& object,
                                  const std::vector<Shift>& shifts, const BuiltinOptions& options) {
  const int samples = std::max(1, options.max_match_samples);
  const int stride = std::max<int>(1, int((object.pixels.size() + samples - 1) / samples));
  const int ring_stride = std::max<int>(1, int((object.ring.size() + samples - 1) / samples));
  const int sampled = int((object.pixels.size() + stride - 1) / stride);
  // A projection mostly hidden under clouds or beyond the edge says too little to match.
  const int min_count = std::max(1, sampled / 5);

  std::vector<double> score(shifts.size(), -1.0), inside(shifts.size(), 0.0);
  for (std::size_t h = 0; h < shifts.size(); ++h) {
    const auto in = mean_evidence(m, object.pixels, stride, shifts[h], min_count);
    if (!in) continue;
    // A projection into a large dark area (terrain, forest) is dark inside and around; a real
    // shadow is dark inside and bright around, so the ring's darkness counts against it.
    const double around = mean_evidence(m, object.ring, ring_stride, shifts[h], 1).value_or(0.5);
    inside[h] = *in;
    score[h] = *in * (1.0 - around);
  }
  const auto best_it = std::max_element(score.begin(), score.end());
  if (best_it == score.end() || *best_it < options.min_shadow_match) return std::nullopt;
  // Prefer the lowest height that matches about as well as the best (Fmask takes the first peak),
  // then climb to the top of that peak.
  std::size_t chosen = 0;
  while (score[chosen] < *best_it - 0.05) ++chosen;
  while (chosen + 1 < score.size() && score[chosen + 1] >= score[chosen]) ++chosen;
  if (inside[chosen] < options.min_shadow_match) return std::nullopt;
  return shifts[chosen];
}

}  // namespace

PixelOffset shadow_offset(SunAngles sun, double height_m, double pixel_size_m) {
  const double rad = std::numbers::pi / 180.0;
  const double distance = height_m * std::tan(sun.zenith_deg * rad) / pixel_size_m;
  // The shadow falls away from the sun (azimuth + 180 degrees); north is up, i.e. -row.
  return {-std::sin(sun.azimuth_deg * rad) * distance, std::cos(sun.azimuth_deg * rad) * distance};
}

FloatRaster builtin_darkness(const BandStack& stack, const FloatRaster& cloud, double cloud_thr) {
  detail::check_stack(stack);
  detail::check_probability(stack, cloud, "cloud");
  const int width = stack.grid.width, height = stack.grid.height;
  const std::size_t n = stack.band_size();
  const FloatRaster water = builtin_water(stack);

  std::vector<std::uint8_t> ground(n);  // valid, cloud-free
  for (std::size_t i = 0; i < n; ++i) {
    ground[i] = detail::valid_pixel(stack, i) && cloud.data[i] <= cloud_thr;
  }

  // Clouds, nodata and the outside are set to a background level of clear land so they neither
  // wall in nor drain the surrounding depressions. Fmask uses the 17.5th percentile; the median
  // is used here because shadows cut by the raster edge are otherwise lost (at the edge only
  // pixels below the background count as dark), and matching keeps the extra dark pixels
  // harmless.
  auto prepare = [&](int band, std::vector<std::uint16_t>& image, std::uint16_t& background) {
    const std::uint16_t* values = stack.band(band);
    std::vector<std::uint16_t> land;
    const std::size_t stride = std::max<std::size_t>(1, n / 1000000);
    for (std::size_t i = 0; i < n; i += stride) {
      if (ground[i] && water.data[i] < 0.5f) land.push_back(values[i]);
    }
    background = 0;
    if (!land.empty()) {
      auto nth = land.begin() + std::ptrdiff_t(kBackgroundQuantile * double(land.size() - 1));
      std::nth_element(land.begin(), nth, land.end());
      background = *nth;
    }
    image.resize(n);
    for (std::size_t i = 0; i < n; ++i) image[i] = ground[i] ? values[i] : background;
  };

  std::vector<std::uint16_t> nir_filled, swir_filled, nir, swir;
  tbb::parallel_invoke(
      [&] {
        std::uint16_t background;
        prepare(kB08, nir, background);
        nir_filled = fill_holes(nir, width, height, background);
      },
      [&] {
        std::uint16_t background;
        prepare(kB11, swir, background);
        swir_filled = fill_holes(swir, width, height, background);
      });

  FloatRaster out(stack.grid, 1, 0.0f);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 4096), [&](const auto& range) {
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      if (!ground[i]) continue;
      // Fmask 3.3: min(NIR depth, SWIR depth) > 0.02 reflectance; made soft around 0.025.
      const float depth = float(std::min(nir_filled[i] - nir[i], swir_filled[i] - swir[i])) * 1e-4f;
      out.data[i] = detail::sigmoid((depth - 0.025f) / 0.005f);
    }
  });
  return out;
}

FloatRaster builtin_shadow_probability(const BandStack& stack, const FloatRaster& cloud,
                                       SunAngles sun, double cloud_thr,
                                       const BuiltinOptions& options) {
  detail::check_stack(stack);
  detail::check_probability(stack, cloud, "cloud");
  if (!std::isfinite(sun.zenith_deg) || !std::isfinite(sun.azimuth_deg) || sun.zenith_deg < 0 ||
      sun.zenith_deg >= 89) {
    throw InputError("the solar zenith " + std::to_string(sun.zenith_deg) +
                     " given to the built-in shadow detector is not between 0 and 89 degrees; "
                     "pass the acquisition's mean solar zenith.");
  }
  if (!(options.min_cloud_height_m >= 0) ||
      !(options.max_cloud_height_m >= options.min_cloud_height_m) ||
      !(options.height_step_m >= 0)) {
    throw InputError(
        "the cloud height range of the built-in shadow detector is invalid; give 0 <= minimum "
        "<= maximum and a step >= 0.");
  }
  const double pixel = pixel_size_of(stack);
  const int width = stack.grid.width, height = stack.grid.height;
  const std::size_t n = stack.band_size();

  FloatRaster out(stack.grid, 1, 0.0f);
  std::vector<std::uint8_t> valid(n), cloud_mask(n);
  for (std::size_t i = 0; i < n; ++i) {
    valid[i] = detail::valid_pixel(stack, i);
    cloud_mask[i] = valid[i] && cloud.data[i] > cloud_thr;
    if (!valid[i]) out.data[i] = 1.0f;
  }
  if (n == 0) return out;

  const FloatRaster dark = builtin_darkness(stack, cloud, cloud_thr);
  const FloatRaster water = builtin_water(stack);
  // Water is dark in NIR and SWIR with or without a shadow: it says nothing either way, so
  // matching ignores it as it ignores clouds (a projection that falls mostly on water is
  // judged by the land it touches).
  std::vector<std::uint8_t> usable(n);
  for (std::size_t i = 0; i < n; ++i)
    usable[i] = valid[i] && !cloud_mask[i] && water.data[i] < 0.5f;

  // Cloud objects: 8-connected components of the thresholded cloud probability.
  cv::Mat mask(height, width, CV_8U, cloud_mask.data());
  cv::Mat labels, stats, centroids;
  const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  std::vector<CloudObject> objects(std::max(0, count - 1));
  for (int r = 0; r < height; ++r) {
    const int* row = labels.ptr<int>(r);
    for (int c = 0; c < width; ++c) {
      if (row[c] > 0) objects[row[c] - 1].pixels.push_back(r * width + c);
    }
  }

  // The shifts to try, one per distinct rounded pixel offset.
  std::vector<Shift> shifts;
  {
    const double tan_zenith = std::tan(sun.zenith_deg * std::numbers::pi / 180.0);
    double step = options.height_step_m;
    if (step <= 0) step = tan_zenith > 1e-6 ? pixel / tan_zenith : options.max_cloud_height_m;
    if (step > 0 && (options.max_cloud_height_m - options.min_cloud_height_m) / step > 1e5) {
      throw InputError(
          "the cloud height step of the built-in shadow detector gives over 100000 heights to "
          "try; give a step of at least a few metres (or 0 for one pixel).");
    }
    for (double h = options.min_cloud_height_m; h <= options.max_cloud_height_m + 1e-9; h += step) {
      const PixelOffset o = shadow_offset(sun, h, pixel);
      const Shift s{int(std::lround(o.col)), int(std::lround(o.row))};
      if (shifts.empty() || !(shifts.back() == s)) shifts.push_back(s);
      if (step <= 0) break;
    }
  }

  const MatchLayers layers{width, height, &usable, &dark.data};
  constexpr int kRingInner = 2, kRingOuter = 5;
  const cv::Mat inner_kernel = cv::getStructuringElement(
      cv::MORPH_ELLIPSE, cv::Size(2 * kRingInner + 1, 2 * kRingInner + 1));
  const cv::Mat outer_kernel = cv::getStructuringElement(
      cv::MORPH_ELLIPSE, cv::Size(2 * kRingOuter + 1, 2 * kRingOuter + 1));

  std::vector<std::optional<Shift>> chosen(objects.size());
  tbb::parallel_for(std::size_t(0), objects.size(), [&](std::size_t k) {
    CloudObject& object = objects[k];
    if (int(object.pixels.size()) < options.min_cloud_object_px) return;
    const int label = int(k) + 1;
    const int x0 = std::max(0, stats.at<int>(label, cv::CC_STAT_LEFT) - kRingOuter);
    const int y0 = std::max(0, stats.at<int>(label, cv::CC_STAT_TOP) - kRingOuter);
    const int x1 = std::min(width, stats.at<int>(label, cv::CC_STAT_LEFT) +
                                       stats.at<int>(label, cv::CC_STAT_WIDTH) + kRingOuter);
    const int y1 = std::min(height, stats.at<int>(label, cv::CC_STAT_TOP) +
                                        stats.at<int>(label, cv::CC_STAT_HEIGHT) + kRingOuter);
    const cv::Mat local = labels(cv::Rect(x0, y0, x1 - x0, y1 - y0)) == label;
    cv::Mat near, far;
    cv::dilate(local, near, inner_kernel);
    cv::dilate(local, far, outer_kernel);
    for (int r = 0; r < far.rows; ++r) {
      for (int c = 0; c < far.cols; ++c) {
        if (far.at<std::uint8_t>(r, c) && !near.at<std::uint8_t>(r, c)) {
          object.ring.push_back((y0 + r) * width + x0 + c);
        }
      }
    }
    chosen[k] = match_object(layers, object, shifts, options);
  });

  // Draw each matched object at its shift, widen, and keep the darkness found there.
  cv::Mat footprint = cv::Mat::zeros(height, width, CV_8U);
  for (std::size_t k = 0; k < objects.size(); ++k) {
    if (!chosen[k]) continue;
    for (const int p : objects[k].pixels) {
      const int r = p / width + chosen[k]->row, c = p % width + chosen[k]->col;
      if (r >= 0 && r < height && c >= 0 && c < width) footprint.at<std::uint8_t>(r, c) = 1;
    }
  }
  if (options.shadow_dilation_px > 0) {
    const int d = options.shadow_dilation_px;
    cv::dilate(footprint, footprint,
               cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * d + 1, 2 * d + 1)));
  }
  for (int r = 0; r < height; ++r) {
    const std::uint8_t* row = footprint.ptr<std::uint8_t>(r);
    for (int c = 0; c < width; ++c) {
      const std::size_t i = std::size_t(r) * width + c;
      if (valid[i] && row[c] && !cloud_mask[i]) out.data[i] = dark.data[i];
    }
  }
  return out;
}

}  // namespace s2prep::mask
