#include "ingest/reader.hpp"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <gdalwarper.h>
#include <ogr_srs_api.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>

#include <s2prep/errors.hpp>
#include "ingest/gdal_env.hpp"
#include "ingest/mem_band.hpp"

namespace s2prep::ingest {

namespace {

using Clock = std::chrono::steady_clock;

template <class T>
constexpr GDALDataType gdal_type();
template <>
constexpr GDALDataType gdal_type<std::uint16_t>() {
  return GDT_UInt16;
}
template <>
constexpr GDALDataType gdal_type<std::uint8_t>() {
  return GDT_Byte;
}

struct SrsDeleter {
  void operator()(OGRSpatialReferenceH s) const noexcept { OSRRelease(s); }
};
using SrsPtr = std::unique_ptr<std::remove_pointer_t<OGRSpatialReferenceH>, SrsDeleter>;

struct WarpOptionsDeleter {
  void operator()(GDALWarpOptions* o) const noexcept { GDALDestroyWarpOptions(o); }
};
struct TransformerDeleter {
  void operator()(void* t) const noexcept { GDALDestroyTransformer(t); }
};

SrsPtr srs_from_epsg(int epsg) {
  SrsPtr srs(OSRNewSpatialReference(nullptr));
  if (OSRImportFromEPSG(srs.get(), epsg) != OGRERR_NONE) {
    throw DataError("EPSG:" + std::to_string(epsg) +
                    " is not a CRS PROJ knows: check the grid's CRS.");
  }
  OSRSetAxisMappingStrategy(srs.get(), OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

bool is_remote(const std::string& href) {
  return href.rfind("http://", 0) == 0 || href.rfind("https://", 0) == 0;
}

// One attempt failed.
struct AttemptFailure {
  std::string reason;
  int http_status = 0;
  bool opened = false;
  bool timed_out = false;  // the band's deadline passed
};

// Aborts a read once the band's time budget is spent. One Deadline spans every attempt of a band
// read, waits included; GDAL calls progress() between blocks / chunks, and a request in flight
// is cut by GDAL_HTTP_TIMEOUT, set from the time left when its attempt began.
struct Deadline {
  Clock::time_point at;
  bool expired = false;
  static int CPL_STDCALL progress(double, const char*, void* arg) {
    auto* self = static_cast<Deadline*>(arg);
    if (Clock::now() > self->at) {
      self->expired = true;
      return FALSE;
    }
    return TRUE;
  }
};

bool near_integer(double v) { return std::abs(v - std::round(v)) < 1e-6; }

template <class T>
void read_direct(GDALRasterBandH band, int file_w, int file_h, const std::array<double, 6>& src_gt,
                 const Grid& grid, T* out, Deadline& deadline) {
  const double res = grid.transform[1];
  const int col_off = static_cast<int>(std::lround((grid.transform[0] - src_gt[0]) / res));
  const int row_off = static_cast<int>(std::lround((src_gt[3] - grid.transform[3]) / res));
  // Intersection of the grid window with the file, in file pixels.
  const int c0 = std::max(0, col_off), r0 = std::max(0, row_off);
  const int c1 = std::min(file_w, col_off + grid.width),
            r1 = std::min(file_h, row_off + grid.height);
  // Where the grid leaves the file there is nothing to read: those pixels are nodata.
  if (c1 - c0 != grid.width || r1 - r0 != grid.height) {
    std::fill_n(out, std::size_t(grid.width) * grid.height, T{0});
  }
  if (c1 <= c0 || r1 <= r0) return;  // the grid lies outside the file: all nodata
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.pfnProgress = &Deadline::progress;
  extra.pProgressData = &deadline;
  T* first = out + std::size_t(r0 - row_off) * grid.width + (c0 - col_off);
  const CPLErr err =
      GDALRasterIOEx(band, GF_Read, c0, r0, c1 - c0, r1 - r0, first, c1 - c0, r1 - r0,
                     gdal_type<T>(), sizeof(T), GSpacing(sizeof(T)) * grid.width, &extra);
  if (err != CE_None)
    throw AttemptFailure{deadline.expired ? "the read timed out" : "reading the window failed", 0,
                         true, deadline.expired};
}

template <class T>
void read_warped(GDALDatasetH src, const Grid& grid, Resampling resampling, T* out,
                 Deadline& deadline) {
  // The warper's target is `out` itself (a MEM band on the caller's buffer): no second
  // full-size raster and no final copy. Zeroed first: chunks without source pixels are skipped
  // by the warper, and a failed attempt may have left pixels behind.
  std::fill_n(out, std::size_t(grid.width) * grid.height, T{0});
  GDALDriverH mem = GDALGetDriverByName("MEM");
  DatasetPtr dst(GDALCreate(mem, "", grid.width, grid.height, 0, gdal_type<T>(), nullptr));
  if (!dst) throw AttemptFailure{"could not set up the in-memory target grid"};
  {
    const std::string data_pointer = mem_data_pointer_option(out);
    char* band_options[] = {const_cast<char*>(data_pointer.c_str()), nullptr};
    if (GDALAddBand(dst.get(), gdal_type<T>(), band_options) != CE_None)
      throw AttemptFailure{"could not set up the in-memory target grid"};
  }
  auto gt = grid.transform;
  GDALSetGeoTransform(dst.get(), gt.data());
  const SrsPtr dst_srs = srs_from_epsg(grid.epsg);
  GDALSetSpatialRef(dst.get(), dst_srs.get());
  GDALSetRasterNoDataValue(GDALGetRasterBand(dst.get(), 1), 0.0);

  // The exact transformer (`gdalwarp -et 0`): every target pixel is projected on its own, so a
  // pixel's value depends only on the file and its own position. GDAL's default approximation
  // (0.125 pixel, interpolated along each scanline of the extent being warped) gives different
  // pixels for the same place when the extent differs: a grid read with more context around it,
  // or cut into other chunks, was off by hundreds of DN in textured 10 m bands across UTM zones.
  std::unique_ptr<void, TransformerDeleter> transformer(
      GDALCreateGenImgProjTransformer2(src, dst.get(), nullptr));
  if (!transformer)
    throw AttemptFailure{"no transformation exists from the file's CRS to " + grid.crs()};

  std::unique_ptr<GDALWarpOptions, WarpOptionsDeleter> wo(GDALCreateWarpOptions());
  wo->hSrcDS = src;
  wo->hDstDS = dst.get();
  wo->nBandCount = 1;
  wo->panSrcBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  wo->panSrcBands[0] = 1;
  wo->panDstBands = static_cast<int*>(CPLMalloc(sizeof(int)));
  wo->panDstBands[0] = 1;
  wo->eResampleAlg = resampling == Resampling::Bilinear ? GRA_Bilinear : GRA_NearestNeighbour;
  // Sentinel-2 nodata is 0 whether or not the file declares it: 0 pixels must not be blended
  // into valid ones at footprint edges.
  wo->padfSrcNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
  wo->padfSrcNoDataReal[0] = 0.0;
  wo->padfDstNoDataReal = static_cast<double*>(CPLMalloc(sizeof(double)));
  wo->padfDstNoDataReal[0] = 0.0;
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "0");
  // The kernel's scale from the ratio of pixel sizes, not GDAL's estimate (the bounding box of
  // the source window over the target window, per chunk): that estimate depends on the window
  // too, and for a 10 m band onto a 10 m grid rotated by the zones' meridian convergence it
  // widened the bilinear kernel by several percent, smoothing by tens of DN. Onto the 10 m grid
  // every Sentinel-2 band is upsampled or kept (scale >= 1): plain bilinear at the exact position.
  {
    std::array<double, 6> src_gt{};
    GDALGetGeoTransform(src, src_gt.data());
    const std::string x_scale = std::to_string(std::abs(src_gt[1] / grid.transform[1]));
    const std::string y_scale = std::to_string(std::abs(src_gt[5] / grid.transform[5]));
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "XSCALE", x_scale.c_str());
    wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "YSCALE", y_scale.c_str());
  }
  // Parallelism is ours (a bounded pool over bands and tiles), not the warper's.
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "NUM_THREADS", "1");
  wo->pfnTransformer = GDALGenImgProjTransform;
  wo->pTransformerArg = transformer.get();
  wo->pfnProgress = &Deadline::progress;
  wo->pProgressArg = &deadline;

  GDALWarpOperationH op = GDALCreateWarpOperation(wo.get());
  if (op == nullptr) throw AttemptFailure{"the warper could not be set up", 0, true};
  const CPLErr err = GDALChunkAndWarpImage(op, 0, 0, grid.width, grid.height);
  GDALDestroyWarpOperation(op);
  if (err != CE_None)
    throw AttemptFailure{deadline.expired ? "the read timed out" : "warping failed", 0, true};
}

template <class T>
void read_once(const std::string& href, const Grid& grid, Resampling resampling, T* out,
               Deadline& deadline, ErrorCapture& errors, ReadInfo& info) {
  ThreadConfigScope config;
  const double left_s = std::chrono::duration<double>(deadline.at - Clock::now()).count();
  if (left_s <= 0) throw AttemptFailure{"the read timed out", 0, false, true};
  // Half the time left per request (GDAL takes fractional seconds): a stalled request leaves
  // time for another attempt, and one started just before the deadline overshoots it by at most
  // half the budget.
  const std::string request_timeout = fmt::format("{:.3f}", std::max(0.1, left_s / 2));
  config.set("GDAL_HTTP_TIMEOUT", request_timeout);
  config.set("GDAL_HTTP_CONNECTTIMEOUT", request_timeout);
  // GDAL's own per-request retries (GDAL_HTTP_MAX_RETRY, set globally for other readers) would
  // multiply this attempt's time beyond the deadline: read_band_into retries instead, within it.
  config.set("GDAL_HTTP_MAX_RETRY", "0");

  const std::string path = gdal_path(href);
  DatasetPtr ds(
      GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) throw AttemptFailure{"it could not be opened", errors.http_status()};
  if (GDALGetRasterCount(ds.get()) < 1) throw AttemptFailure{"it has no bands", 0, true};
  const int file_w = GDALGetRasterXSize(ds.get()), file_h = GDALGetRasterYSize(ds.get());
  if (file_w <= 0 || file_h <= 0) throw AttemptFailure{"it has no pixels", 0, true};
  std::array<double, 6> src_gt{};
  if (GDALGetGeoTransform(ds.get(), src_gt.data()) != CE_None) {
    throw AttemptFailure{"it has no geotransform", 0, true};
  }
  OGRSpatialReferenceH src_srs = GDALGetSpatialRef(ds.get());
  if (src_srs == nullptr) throw AttemptFailure{"it has no CRS", 0, true};

  const SrsPtr dst_srs = srs_from_epsg(grid.epsg);
  const double res = grid.transform[1];
  const bool same_crs = OSRIsSame(src_srs, dst_srs.get()) != 0;
  const bool aligned = same_crs && grid.transform[2] == 0 && grid.transform[4] == 0 &&
                       src_gt[2] == 0 && src_gt[4] == 0 && std::abs(src_gt[1] - res) < 1e-9 &&
                       std::abs(src_gt[5] - grid.transform[5]) < 1e-9 &&
                       near_integer((grid.transform[0] - src_gt[0]) / res) &&
                       near_integer((src_gt[3] - grid.transform[3]) / res);
  info.warped = !aligned;
  if (aligned) {
    read_direct<T>(GDALGetRasterBand(ds.get(), 1), file_w, file_h, src_gt, grid, out, deadline);
  } else {
    read_warped<T>(ds.get(), grid, resampling, out, deadline);
  }
}

}  // namespace

std::string gdal_path(const std::string& href) {
  return is_remote(href) ? "/vsicurl/" + href : href;
}

namespace {

void require_pixels(const BandSource& source, const Grid& grid) {
  if (grid.width <= 0 || grid.height <= 0) {
    throw DataError("Cannot read asset " + source.asset_key + " of item " + source.item_id +
                    " onto an empty grid.");
  }
}

}  // namespace

template <class T>
Raster<T> read_band(const BandSource& source, const Grid& grid, Resampling resampling,
                    const ReadOptions& options, ReadInfo* info) {
  require_pixels(source, grid);  // before allocating
  Raster<T> out(grid, 1, T{0});
  read_band_into<T>(source, grid, resampling, out.data.data(), options, info);
  return out;
}

namespace {

// Full jitter: uniform in [0, cap], so that readers failing together do not retry together.
std::chrono::milliseconds jittered(std::chrono::milliseconds cap) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  if (cap.count() <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uniform_int_distribution<long long>(0, cap.count())(rng));
}

}  // namespace

// The retry policy of one band read:
// - a 403 from the storage means the token expired or was refused: the href is re-signed at once
//   (the token cache refreshes it once for all readers), at most max_resigns times;
// - connection resets, truncated answers, timeouts, 5xx and 429 get the same budget: another
//   attempt after an exponential backoff with full jitter, at most max_attempts in all;
// - a 404 or a local file that cannot be read fails at once;
// - the whole read, attempts, waits and re-signings included, is bounded by options.timeout:
//   each HTTP request is cut at half the time left when its attempt began (so a stalled request
//   leaves room for another attempt), a wait takes at most a quarter of what is left, and no
//   attempt starts after the deadline. A band read therefore ends within 1.5 times the limit at
//   worst, and a run that cannot read fails within a predictable time.
template <class T>
void read_band_into(const BandSource& source, const Grid& grid, Resampling resampling, T* out,
                    const ReadOptions& options, ReadInfo* info_out) {
  configure_gdal();
  require_pixels(source, grid);
  ReadInfo info;
  std::string href = source.href;
  Deadline deadline{Clock::now() + std::chrono::duration_cast<Clock::duration>(options.timeout)};
  auto backoff_cap = options.retry_backoff;
  for (;;) {
    ++info.attempts;
    ErrorCapture errors;
    AttemptFailure failure;
    try {
      read_once<T>(href, grid, resampling, out, deadline, errors, info);
      if (errors.has_failure()) {
        // A CE_Failure raised while the calls themselves reported success (e.g. a block that
        // could not be fetched during a fallback path): never return a possibly holed band.
        throw AttemptFailure{"GDAL reported errors during the read", errors.http_status(), true};
      }
      if (info_out) *info_out = info;
      return;
    } catch (const AttemptFailure& f) {
      failure = f;
      if (failure.http_status == 0) failure.http_status = errors.http_status();
    }
    if (deadline.expired || Clock::now() >= deadline.at) failure.timed_out = true;
    const bool remote = is_remote(href);
    const std::string detail = errors.failure_text();
    // GDAL keeps per-URL state (file size, "does not exist"): forget it before trying again.
    if (remote) VSICurlPartialClearCache(gdal_path(href).c_str());
    if (remote && failure.http_status == 403 && source.resign &&
        info.resigns < options.max_resigns && !failure.timed_out) {
      ++info.resigns;
      href = source.resign();
      continue;
    }
    const bool transient = remote && failure.http_status != 404 && failure.http_status != 403 &&
                           !(failure.http_status >= 400 && failure.http_status < 500 &&
                             failure.http_status != 408 && failure.http_status != 429);
    // Never wait away more than a quarter of what is left: the next attempt needs the rest.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline.at - Clock::now());
    const auto wait = jittered(std::min(backoff_cap, left / 4));
    const bool in_time = !failure.timed_out && Clock::now() + wait < deadline.at;
    if (!transient || !in_time || info.attempts >= options.max_attempts) {
      if (info_out) *info_out = info;
      std::string msg = "Reading asset " + source.asset_key + " of item " + source.item_id + " (" +
                        redact_urls(href) + ") failed: " + failure.reason;
      if (failure.http_status != 0) msg += " (HTTP " + std::to_string(failure.http_status) + ")";
      if (!detail.empty()) msg += " [" + detail + "]";
      if (transient) {
        msg += fmt::format(" after {} attempt{}", info.attempts, info.attempts == 1 ? "" : "s");
        if (!in_time)
          msg += fmt::format(" within the --dl-timeout of {:g} s", options.timeout.count());
      }
      msg += failure.http_status == 403
                 ? (source.resign ? "; the storage refused the signed URL even with a fresh token: "
                                    "check --token-url and --pc-key, and run again."
                                  : "; the storage refused access: the asset may need signing "
                                    "(give --token-url instead of none), and run again.")
             : failure.http_status == 404
                 ? "; the asset is missing from the storage: the catalogue may be out of date; "
                   "run again later or choose another time range."
             : remote
                 ? "; check the connection and the token, or raise --dl-timeout, and run again."
                 : "; check that the file is a readable GeoTIFF.";
      throw DataError(msg);
    }
    std::this_thread::sleep_for(wait);
    backoff_cap = std::min(backoff_cap * 2, std::chrono::milliseconds(8000));
  }
}

template void read_band_into(const BandSource&, const Grid&, Resampling, std::uint16_t*,
                             const ReadOptions&, ReadInfo*);
template void read_band_into(const BandSource&, const Grid&, Resampling, std::uint8_t*,
                             const ReadOptions&, ReadInfo*);
template Raster<std::uint16_t> read_band(const BandSource&, const Grid&, Resampling,
                                         const ReadOptions&, ReadInfo*);
template Raster<std::uint8_t> read_band(const BandSource&, const Grid&, Resampling,
                                        const ReadOptions&, ReadInfo*);

}  // namespace s2prep::ingest
