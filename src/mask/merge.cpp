#include "mask/merge.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"

namespace s2prep::mask {
namespace {

const Grid& common_grid(const MergeInputs& in) {
  const Grid* grid = nullptr;
  auto check = [&grid](const Grid& g, const char* what) {
    if (!grid) {
      grid = &g;
    } else if (!(g == *grid)) {
      throw DataError(std::string("The ") + what + " is not on the grid of the other mask inputs.");
    }
  };
  if (in.cloud) check(in.cloud->grid, "cloud probability");
  if (in.shadow) check(in.shadow->grid, "shadow probability");
  if (in.product_mask) check(in.product_mask->grid, "product mask");
  if (in.no_data) check(in.no_data->grid, "nodata mask");
  if (!grid) throw DataError("merge_mask needs at least one input raster.");
  return *grid;
}

// Sets `value` on the pixels of components of `fg` (0/1) smaller than min_area.
void set_small_components(const cv::Mat& fg, int min_area, cv::Mat& target, std::uint8_t value) {
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(fg, labels, stats, centroids, 8, CV_32S);
  std::vector<char> small(n, 0);
  for (int i = 1; i < n; ++i) small[i] = stats.at<int>(i, cv::CC_STAT_AREA) < min_area;
  for (int r = 0; r < labels.rows; ++r) {
    const int* l = labels.ptr<int>(r);
    std::uint8_t* t = target.ptr<std::uint8_t>(r);
    for (int c = 0; c < labels.cols; ++c) {
      if (small[l[c]]) t[c] = value;
    }
  }
}

}  // namespace

ByteRaster no_data_of(const BandStack& stack) {
  ByteRaster out(stack.grid, 1, 1);
  const std::size_t n = stack.band_size();
  for (int b = 0; b < stack.bands; ++b) {
    const std::uint16_t* band = stack.band(b);
    for (std::size_t i = 0; i < n; ++i) {
      if (band[i] != 0) out.data[i] = 0;
    }
  }
  return out;
}

std::vector<std::uint8_t> disk_footprint(int radius) {
  const int size = 2 * radius + 1;
  std::vector<std::uint8_t> k(std::size_t(size) * size, 0);
  for (int y = -radius; y <= radius; ++y) {
    for (int x = -radius; x <= radius; ++x) {
      if (x * x + y * y <= radius * radius) k[std::size_t(y + radius) * size + (x + radius)] = 1;
    }
  }
  return k;
}

ByteRaster merge_mask(const MergeInputs& in, const MergeOptions& options) {
  const Grid& grid = common_grid(in);
  const int w = grid.width;
  const int h = grid.height;
  const std::size_t n = std::size_t(w) * h;
  cv::Mat valid(h, w, CV_8U, cv::Scalar(1));
  cv::Mat seed(h, w, CV_8U, cv::Scalar(0));
  std::uint8_t* v = valid.ptr<std::uint8_t>();
  std::uint8_t* s = seed.ptr<std::uint8_t>();
  for (std::size_t i = 0; i < n; ++i) {
    if (in.no_data && in.no_data->data[i] != 0) v[i] = 0;
    if (in.product_mask) {
      const int cls = in.product_mask->data[i];
      if (cls == product_mask::kNoData) {
        v[i] = 0;
      } else if (cls >= product_mask::kCloud && cls <= product_mask::kSaturatedDefective) {
        s[i] = 1;
      }
    }
    // float comparisons, as the reference compares float32 rasters with the thresholds.
    if (in.cloud && in.cloud->data[i] > options.cloud_thr) s[i] = 1;
    if (in.shadow && in.shadow->data[i] > options.shadow_thr) s[i] = 1;
    if (!v[i]) s[i] = 0;
  }

  cv::Mat mask;
  if (options.dilation_radius <= 0) {
    mask = seed.clone();
  } else {
    const int size = 2 * options.dilation_radius + 1;
    std::vector<std::uint8_t> disk = disk_footprint(options.dilation_radius);
    cv::Mat kernel(size, size, CV_8U, disk.data());
    cv::dilate(seed, mask, kernel, cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  }
  mask &= valid;

  if (options.min_area > 0) {
    set_small_components(mask, options.min_area, mask, 0);
    const cv::Mat clear = (mask == 0) & valid;  // 255 & 1: 0/1
    set_small_components(clear, options.min_area, mask, 1);
  }

  ByteRaster out(grid, 1, mask_value::kClear);
  const std::uint8_t* m = mask.ptr<std::uint8_t>();
  for (std::size_t i = 0; i < n; ++i) {
    out.data[i] = !v[i] ? mask_value::kNoData : (m[i] ? mask_value::kMasked : mask_value::kClear);
  }
  return out;
}

}  // namespace s2prep::mask
