#include "output/cog_writer.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <fcntl.h>
#include <gdal.h>
#include <gdal_vrt.h>
#include <ogr_srs_api.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <type_traits>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "ingest/gdal_env.hpp"
#include "ingest/mem_band.hpp"
#include "output/location.hpp"

namespace s2prep::output {

namespace {

struct SrsDeleter {
  void operator()(OGRSpatialReferenceH s) const noexcept { OSRRelease(s); }
};

struct CslDeleter {
  void operator()(char** l) const noexcept { CSLDestroy(l); }
};
using CslPtr = std::unique_ptr<char*, CslDeleter>;

using ingest::DatasetPtr;
using ingest::ErrorCapture;

// " (GDAL's failure text)" or nothing.
std::string failure_suffix(const ErrorCapture& errors) {
  const std::string text = errors.failure_text();
  return text.empty() ? std::string() : " (" + text + ")";
}

GDALDataType gdal_type(PixelType t) {
  switch (t) {
    case PixelType::Byte:
      return GDT_Byte;
    case PixelType::UInt16:
      return GDT_UInt16;
    case PixelType::Float32:
      return GDT_Float32;
  }
  return GDT_Unknown;
}

void remove_quietly(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::remove(p, ec);
}

// The COG driver's own scratch files are named after the file it writes.
void remove_temporaries(const std::filesystem::path& tmp) {
  remove_quietly(tmp);
  for (const char* suffix : {".ovr.tmp", ".tmp"}) remove_quietly(tmp.string() + suffix);
}

void fsync_path(const std::filesystem::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool close_enough(const std::array<double, 6>& a, const std::array<double, 6>& b, double res) {
  const double tol = std::abs(res) * 1e-6 + 1e-9;
  for (int i = 0; i < 6; ++i) {
    if (std::abs(a[i] - b[i]) > tol) return false;
  }
  return true;
}

// Structure only: what a just-written file must show before it may take its final name.
bool check_structure(GDALDatasetH ds, const Grid& grid, int bands, GDALDataType type,
                     std::string& reason) {
  if (GDALGetRasterXSize(ds) != grid.width || GDALGetRasterYSize(ds) != grid.height) {
    reason = "its size is " + std::to_string(GDALGetRasterXSize(ds)) + "x" +
             std::to_string(GDALGetRasterYSize(ds)) + ", expected " + std::to_string(grid.width) +
             "x" + std::to_string(grid.height);
    return false;
  }
  if (GDALGetRasterCount(ds) != bands) {
    reason = "it has " + std::to_string(GDALGetRasterCount(ds)) + " bands, expected " +
             std::to_string(bands);
    return false;
  }
  for (int b = 1; b <= bands; ++b) {
    if (GDALGetRasterDataType(GDALGetRasterBand(ds, b)) != type) {
      reason = "band " + std::to_string(b) + " has type " +
               GDALGetDataTypeName(GDALGetRasterDataType(GDALGetRasterBand(ds, b)));
      return false;
    }
  }
  std::array<double, 6> gt{};
  if (GDALGetGeoTransform(ds, gt.data()) != CE_None ||
      !close_enough(gt, grid.transform, grid.transform[1])) {
    reason = "its geotransform differs from the expected grid";
    return false;
  }
  OGRSpatialReferenceH srs = GDALGetSpatialRef(ds);
  const char* code = srs ? OSRGetAuthorityCode(srs, nullptr) : nullptr;
  if (code == nullptr || std::atoi(code) != grid.epsg) {
    reason = "its CRS is not EPSG:" + std::to_string(grid.epsg);
    return false;
  }
  const char* layout = GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE");
  if (layout == nullptr || std::string(layout) != "COG") {
    reason = "it is not laid out as a Cloud-Optimized GeoTIFF";
    return false;
  }
  return true;
}

}  // namespace

CogOptions reflectance_cog_options() {
  CogOptions o;
  for (const auto& b : kBands) o.band_descriptions.emplace_back(b.name);
  o.nodata = 0;
  o.scale = 0.0001;
  o.offset = 0.0;
  o.overview_resampling = "AVERAGE";
  return o;
}

CogOptions mask_cog_options(const std::string& description) {
  CogOptions o;
  o.band_descriptions = {description};
  o.nodata = 255;
  o.overview_resampling = "NEAREST";
  return o;
}

CogOptions probability_cog_options(const std::string& description) {
  CogOptions o;
  o.band_descriptions = {description};
  o.overview_resampling = "AVERAGE";
  return o;
}

std::string cog_compression() {
  // Decided once per process, so every output of a run is compressed alike.
  static const std::string compression = [] {
    ingest::configure_gdal();
    GDALDriverH cog = GDALGetDriverByName("COG");
    const char* list =
        cog ? GDALGetMetadataItem(cog, GDAL_DMD_CREATIONOPTIONLIST, nullptr) : nullptr;
    return list != nullptr && std::string(list).find("<Value>ZSTD</Value>") != std::string::npos
               ? std::string("ZSTD")
               : std::string("DEFLATE");
  }();
  return compression;
}

template <class T>
void write_cog(const Raster<T>& raster, const std::filesystem::path& path,
               const CogOptions& options) {
  write_cog(raster, Window{0, 0, raster.grid.width, raster.grid.height}, path, options);
}

namespace {

// Georeferencing and band properties of a source about to be copied into a COG. Everything the
// file will carry is set here, so a window of a GeoTIFF and a buffer in memory become the same
// bytes.
void describe_source(GDALDatasetH src, const Grid& grid, int bands, const CogOptions& options,
                     const std::string& where) {
  auto gt = grid.transform;
  GDALSetGeoTransform(src, gt.data());
  std::unique_ptr<std::remove_pointer_t<OGRSpatialReferenceH>, SrsDeleter> srs(
      OSRNewSpatialReference(nullptr));
  if (OSRImportFromEPSG(srs.get(), grid.epsg) != OGRERR_NONE) {
    throw DataError("Cannot write " + where + ": EPSG:" + std::to_string(grid.epsg) +
                    " is unknown to PROJ.");
  }
  GDALSetSpatialRef(src, srs.get());
  for (int b = 0; b < bands; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(src, b + 1);
    if (options.nodata) GDALSetRasterNoDataValue(band, *options.nodata);
    if (!options.band_descriptions.empty())
      GDALSetDescription(band, options.band_descriptions[b].c_str());
    if (options.scale) {
      GDALSetRasterScale(band, *options.scale);
      GDALSetRasterOffset(band, options.offset.value_or(0.0));
    }
  }
}

// Copies `src` (described by describe_source) into a COG at `path`: under a temporary name that
// takes the final one only once the file is complete and checked (locally), or straight under its
// name in object storage, where an object appears only once uploaded whole.
void copy_to_cog(GDALDatasetH src, const Grid& grid, int bands, GDALDataType type,
                 const std::filesystem::path& path, const CogOptions& options,
                 const ErrorCapture& errors) {
  const std::string where = path.string();
  GDALDriverH cog = GDALGetDriverByName("COG");
  if (cog == nullptr) throw DataError("This GDAL has no COG driver: install GDAL 3.1 or later.");
  CslPtr co(nullptr);
  auto set = [&co](const char* k, const std::string& v) {
    co.reset(CSLSetNameValue(co.release(), k, v.c_str()));
  };
  set("COMPRESS", cog_compression());
  set("PREDICTOR", "YES");  // the COG driver picks 2 for integers, 3 for floating point
  set("BLOCKSIZE", std::to_string(options.block_size));
  set("OVERVIEWS", options.overviews ? "AUTO" : "NONE");
  set("RESAMPLING", options.overview_resampling);
  set("NUM_THREADS", options.threads > 0 ? std::to_string(options.threads) : "ALL_CPUS");
  set("BIGTIFF", "IF_SAFER");

  const bool remote = is_remote(path);
  const std::filesystem::path tmp =
      remote ? std::filesystem::path(gdal_name(path))
             : std::filesystem::path(path.string() + ".tmp-" + std::to_string(::getpid()));
  AccessScope access(path);
  if (!remote) remove_temporaries(tmp);
  auto fail = [&](const std::string& what) {
    if (remote) {
      remove_file(path);
    } else {
      remove_temporaries(tmp);
    }
    throw DataError("Writing " + where + " failed: " + what + failure_suffix(errors) +
                    (remote ? "; check the bucket's write permission, the AWS_* settings and "
                              "free space in the local temporary folder (CPL_TMPDIR)."
                            : "; check free space and permissions of the output folder."));
  };
  {
    DatasetPtr out(GDALCreateCopy(cog, tmp.c_str(), src, FALSE, co.get(), nullptr, nullptr));
    if (!out) fail("GDAL could not create the file");
  }  // closing flushes the last blocks (and uploads the object)
  if (errors.has_failure()) fail("GDAL reported an error while writing");
  {
    DatasetPtr check(
        GDALOpenEx(tmp.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
    std::string reason;
    if (!check) fail("the written file cannot be reopened");
    if (!check_structure(check.get(), grid, bands, type, reason))
      fail("the written file is wrong: " + reason);
  }
  if (remote) return;
  fsync_path(tmp, false);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("renaming the temporary file failed (" + ec.message() + ")");
  fsync_path(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path(), true);
}

}  // namespace

template <class T>
void write_cog(const Raster<T>& raster, const Window& window, const std::filesystem::path& path,
               const CogOptions& options) {
  ingest::configure_gdal();
  const std::string where = path.string();
  constexpr PixelType ptype = pixel_type_of<T>();
  const GDALDataType type = gdal_type(ptype);
  if (raster.grid.width <= 0 || raster.grid.height <= 0 || raster.bands <= 0 ||
      raster.data.size() != std::size_t(raster.bands) * raster.band_size()) {
    throw DataError("Refusing to write " + where +
                    ": the raster is empty or its size does not match its grid.");
  }
  if (window.empty() || window.col < 0 || window.row < 0 ||
      window.col + window.width > raster.grid.width ||
      window.row + window.height > raster.grid.height) {
    throw DataError("Refusing to write " + where +
                    ": the window to write is empty or leaves the raster.");
  }
  const Grid grid = raster.grid.sub_grid(window);
  if (!options.band_descriptions.empty() && int(options.band_descriptions.size()) != raster.bands) {
    throw DataError("Refusing to write " + where + ": " +
                    std::to_string(options.band_descriptions.size()) + " band descriptions for " +
                    std::to_string(raster.bands) + " bands.");
  }
  GDALDriverH mem = GDALGetDriverByName("MEM");
  if (mem == nullptr) throw DataError("GDAL's MEM driver is missing.");

  ErrorCapture errors;
  // The MEM bands point at the window's first pixel in the raster's own buffer, rows
  // raster.grid.width apart: a whole tile is not copied once more.
  DatasetPtr src(GDALCreate(mem, "", grid.width, grid.height, 0, type, nullptr));
  if (!src)
    throw DataError("Could not prepare " + where + " in memory" + failure_suffix(errors) + ".");
  const std::string line_offset =
      "LINEOFFSET=" + std::to_string(std::size_t(raster.grid.width) * sizeof(T));
  const std::string pixel_offset = "PIXELOFFSET=" + std::to_string(sizeof(T));
  for (int b = 0; b < raster.bands; ++b) {
    const T* first = raster.band(b) + std::size_t(window.row) * raster.grid.width + window.col;
    const std::string data_pointer = ingest::mem_data_pointer_option(first);
    CslPtr band_options(CSLAddString(nullptr, data_pointer.c_str()));
    band_options.reset(CSLAddString(band_options.release(), pixel_offset.c_str()));
    band_options.reset(CSLAddString(band_options.release(), line_offset.c_str()));
    if (GDALAddBand(src.get(), type, band_options.get()) != CE_None) {
      throw DataError("Could not prepare " + where + " in memory" + failure_suffix(errors) + ".");
    }
  }
  describe_source(src.get(), grid, raster.bands, options, where);
  copy_to_cog(src.get(), grid, raster.bands, type, path, options, errors);
}

void write_cog(const std::filesystem::path& source, const Grid& source_grid, const Window& window,
               const std::filesystem::path& path, const CogOptions& options) {
  ingest::configure_gdal();
  const std::string where = path.string();
  if (window.empty() || window.col < 0 || window.row < 0 ||
      window.col + window.width > source_grid.width ||
      window.row + window.height > source_grid.height) {
    throw DataError("Refusing to write " + where +
                    ": the window to write is empty or leaves the raster.");
  }
  ErrorCapture errors;
  DatasetPtr file(GDALOpen(source.c_str(), GA_ReadOnly));
  if (!file || GDALGetRasterXSize(file.get()) != source_grid.width ||
      GDALGetRasterYSize(file.get()) != source_grid.height || GDALGetRasterCount(file.get()) < 1) {
    throw DataError("Cannot write " + where + ": its source " + source.string() +
                    " cannot be read as a raster of the expected size" + failure_suffix(errors) +
                    ".");
  }
  const int bands = GDALGetRasterCount(file.get());
  const GDALDataType type = GDALGetRasterDataType(GDALGetRasterBand(file.get(), 1));
  if (!options.band_descriptions.empty() && int(options.band_descriptions.size()) != bands) {
    throw DataError("Refusing to write " + where + ": " +
                    std::to_string(options.band_descriptions.size()) + " band descriptions for " +
                    std::to_string(bands) + " bands.");
  }
  // A virtual raster of the window, read block by block from the file as the COG driver asks for
  // it: memory holds GDAL's block cache, never the raster. Built empty and given only the
  // properties describe_source sets, so nothing of the source file's own metadata reaches the COG.
  const Grid grid = source_grid.sub_grid(window);
  GDALDriverH vrt_driver = GDALGetDriverByName("VRT");
  if (vrt_driver == nullptr) throw DataError("GDAL's VRT driver is missing.");
  DatasetPtr vrt(GDALCreate(vrt_driver, "", grid.width, grid.height, 0, type, nullptr));
  if (!vrt) throw DataError("Could not prepare " + where + failure_suffix(errors) + ".");
  for (int b = 0; b < bands; ++b) {
    if (GDALAddBand(vrt.get(), type, nullptr) != CE_None ||
        VRTAddSimpleSource(GDALGetRasterBand(vrt.get(), b + 1),
                           GDALGetRasterBand(file.get(), b + 1), window.col, window.row,
                           window.width, window.height, 0, 0, window.width, window.height, "near",
                           VRT_NODATA_UNSET) != CE_None) {
      throw DataError("Could not prepare " + where + failure_suffix(errors) + ".");
    }
  }
  describe_source(vrt.get(), grid, bands, options, where);
  copy_to_cog(vrt.get(), grid, bands, type, path, options, errors);
}

template void write_cog(const Raster<std::uint8_t>&, const std::filesystem::path&,
                        const CogOptions&);
template void write_cog(const Raster<std::uint16_t>&, const std::filesystem::path&,
                        const CogOptions&);
template void write_cog(const Raster<float>&, const std::filesystem::path&, const CogOptions&);
template void write_cog(const Raster<std::uint8_t>&, const Window&, const std::filesystem::path&,
                        const CogOptions&);
template void write_cog(const Raster<std::uint16_t>&, const Window&, const std::filesystem::path&,
                        const CogOptions&);
template void write_cog(const Raster<float>&, const Window&, const std::filesystem::path&,
                        const CogOptions&);

bool verify_cog(const std::filesystem::path& path, const Grid& grid, int bands, PixelType ptype,
                std::string* reason) {
  ingest::configure_gdal();
  std::string why;
  auto result = [&](bool ok) {
    if (!ok && reason) *reason = why;
    return ok;
  };
  if (!file_exists(path)) {
    why = "it does not exist";
    return result(false);
  }
  AccessScope access(path);
  ErrorCapture errors;
  DatasetPtr ds(GDALOpenEx(gdal_name(path).c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr,
                           nullptr, nullptr));
  if (!ds) {
    why = "it cannot be opened as a raster" + failure_suffix(errors);
    return result(false);
  }
  const GDALDataType type = gdal_type(ptype);
  if (!check_structure(ds.get(), grid, bands, type, why)) return result(false);
  // Every pixel, strip by strip: a file cut short by a kill still has a valid header.
  const int strip = 512;
  std::vector<unsigned char> buffer(std::size_t(grid.width) * strip *
                                    GDALGetDataTypeSizeBytes(type));
  for (int b = 1; b <= bands; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(ds.get(), b);
    for (int row = 0; row < grid.height; row += strip) {
      const int rows = std::min(strip, grid.height - row);
      if (GDALRasterIO(band, GF_Read, 0, row, grid.width, rows, buffer.data(), grid.width, rows,
                       type, 0, 0) != CE_None ||
          errors.has_failure()) {
        why = "band " + std::to_string(b) + " cannot be read completely" + failure_suffix(errors);
        return result(false);
      }
    }
  }
  return result(true);
}

}  // namespace s2prep::output
