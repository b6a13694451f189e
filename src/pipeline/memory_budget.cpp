#include "pipeline/memory_budget.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include <s2prep/errors.hpp>
#include "ingest/acquisition_reader.hpp"

namespace s2prep::pipeline {
namespace {

// Per context pixel: 12 x 2 bytes of bands, SCL, product mask, nodata, cloud and shadow
// probabilities (4 + 4), the merged mask and the merge's working copies: about 40 bytes; the
// rest of the 60 covers allocator slack and the streaming stack's chip buffers (measured peak
// of whole-tile runs: 48-72 bytes per pixel).
constexpr std::uint64_t kBytesPerContextPixel = 60;
// Each further tile of a mosaic keeps its own 12 bands and SCL until the ordered merge.
constexpr std::uint64_t kBytesPerExtraItemPixel = 25;
// Crops of mask, product mask and probabilities on the output grid, and the raster window.
constexpr std::uint64_t kBytesPerOutputPixel = 34;
// GDAL's block cache (256 MB), its download cache (CPL_VSIL_CURL_CACHE_SIZE, 256 MB) and the
// libraries' own footprint.
constexpr std::uint64_t kFixedBytes = 656ull << 20;
// Bands on disk, per context pixel: SCL, product mask and no-data mask (1 + 1 + 1), cloud and
// shadow probabilities (4 + 4) and the merge's valid, seed, dilated and merged masks (4) make 16;
// a whole 5490 px tile measured 27 (peak RSS 1612 MB, less the fixed part and the strips in
// flight: GDAL's COG writer and allocator slack), so 28.
constexpr std::uint64_t kOnDiskBytesPerContextPixel = 28;
// Bands on disk, per output pixel when the output grid is smaller than the context grid: the
// crops of mask, product mask and both probabilities next to their context rasters.
constexpr std::uint64_t kOnDiskBytesPerOutputPixel = 10;

std::uint64_t cgroup_limit() {
  std::ifstream in("/sys/fs/cgroup/memory.max");  // cgroup v2; "max" when unlimited
  std::string value;
  if (in >> value && value != "max") {
    try {
      return std::stoull(value);
    } catch (const std::exception&) {
    }
  }
  return 0;
}

double gigabytes(std::uint64_t bytes) { return double(bytes) / double(1ull << 30); }

}  // namespace

bool bands_on_disk(const WorkflowParams& params, bool cloud_is_network, bool shadow_is_network) {
  return !params.in_memory && cloud_is_network && shadow_is_network;
}

std::uint64_t estimated_unit_bytes(const Grid& context, std::int64_t output_pixels, int items,
                                   bool on_disk) {
  const auto ctx = static_cast<std::uint64_t>(std::max<std::int64_t>(context.pixel_count(), 0));
  const auto out = static_cast<std::uint64_t>(std::max<std::int64_t>(output_pixels, 0));
  if (on_disk) {
    return kFixedBytes + ingest::strip_read_bytes(context, items) +
           ctx * kOnDiskBytesPerContextPixel + (out < ctx ? out * kOnDiskBytesPerOutputPixel : 0);
  }
  const auto extra = static_cast<std::uint64_t>(std::max(items - 1, 0));
  return kFixedBytes + ctx * kBytesPerContextPixel + extra * ctx * kBytesPerExtraItemPixel +
         out * kBytesPerOutputPixel;
}

std::uint64_t usable_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  std::uint64_t physical =
      pages > 0 && page_size > 0 ? std::uint64_t(pages) * std::uint64_t(page_size) : 0;
  const std::uint64_t limit = cgroup_limit();
  if (limit > 0 && (physical == 0 || limit < physical)) physical = limit;
  return physical;
}

void check_memory(const Grid& output, const Grid& context, int items, bool on_disk,
                  std::uint64_t limit_bytes) {
  const std::uint64_t limit = limit_bytes > 0 ? limit_bytes : usable_memory_bytes();
  if (limit == 0) return;  // unknown: nothing to compare with
  const std::uint64_t need = estimated_unit_bytes(context, output.pixel_count(), items, on_disk);
  if (need <= limit) return;
  throw InputError(fmt::format(
      "The output grid of {} x {} pixels of 10 m ({:.0f} km x {:.0f} km) would need about "
      "{:.1f} GB of memory per acquisition, more than the {:.1f} GB available; choose a smaller "
      "region, give separate fields as features with --per-feature, or use --layout tile{}.",
      output.width, output.height, output.width * output.resolution() / 1000.0,
      output.height * output.resolution() / 1000.0, gigabytes(need), gigabytes(limit),
      on_disk ? ""
              : " (with ONNX models for both masks and without --in-memory, the bands stay on "
                "disk and need far less)"));
}

}  // namespace s2prep::pipeline
