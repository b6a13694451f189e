// Writing a scene: COGs through GDAL's COG driver and Planetary-Computer-style STAC Items.

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include <s2prep/errors.hpp>
#include "core/bands.hpp"
#include "core/time.hpp"
#include "scenegen/detail.hpp"
#include "scenegen/scenegen.hpp"

namespace s2prep::scenegen {

namespace detail {

void TransformDeleter::operator()(OGRCoordinateTransformation* t) const {
  OGRCoordinateTransformation::DestroyCT(t);
}

TransformPtr make_transform(int from_epsg, int to_epsg) {
  OGRSpatialReference from, to;
  if (from.importFromEPSG(from_epsg) != OGRERR_NONE || to.importFromEPSG(to_epsg) != OGRERR_NONE) {
    throw InputError("EPSG:" + std::to_string(from_epsg) + " or EPSG:" + std::to_string(to_epsg) +
                     " is not a known CRS; give tiles UTM EPSG codes (326xx/327xx).");
  }
  from.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  to.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  TransformPtr t(OGRCreateCoordinateTransformation(&from, &to));
  if (!t) {
    throw DataError("No coordinate transformation from EPSG:" + std::to_string(from_epsg) +
                    " to EPSG:" + std::to_string(to_epsg) + "; check the PROJ installation.");
  }
  return t;
}

void transform_points(OGRCoordinateTransformation& t, std::vector<double>& x,
                      std::vector<double>& y, int from_epsg, int to_epsg) {
  if (!t.Transform(x.size(), x.data(), y.data())) {
    throw DataError("Transforming coordinates from EPSG:" + std::to_string(from_epsg) +
                    " to EPSG:" + std::to_string(to_epsg) + " failed; check the tile origins.");
  }
}

}  // namespace detail

namespace {

struct DatasetCloser {
  void operator()(GDALDataset* d) const { GDALClose(GDALDataset::ToHandle(d)); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

struct StringList {
  char** list = nullptr;
  StringList() = default;
  StringList(const StringList&) = delete;
  StringList& operator=(const StringList&) = delete;
  ~StringList() { CSLDestroy(list); }
  void set(const char* key, const std::string& value) {
    list = CSLSetNameValue(list, key, value.c_str());
  }
};

// The COG driver warns about blocks under 128 px but writes them correctly; small test rasters
// need them (see block_size_for), so that one warning is dropped and everything else passes on.
void CPL_STDCALL drop_small_block_warning(CPLErr level, CPLErrorNum number, const char* message) {
  if (level == CE_Warning &&
      std::string_view(message).find("BLOCKSIZE") != std::string_view::npos) {
    return;
  }
  CPLDefaultErrorHandler(level, number, message);
}

// Installs an error handler for the current thread only (GDAL keeps a per-thread stack).
struct ScopedErrorHandler {
  explicit ScopedErrorHandler(CPLErrorHandler h) { CPLPushErrorHandler(h); }
  ~ScopedErrorHandler() { CPLPopErrorHandler(); }
  ScopedErrorHandler(const ScopedErrorHandler&) = delete;
  ScopedErrorHandler& operator=(const ScopedErrorHandler&) = delete;
};

// PC's COGs use 1024-pixel internal tiles; a smaller raster gets the largest power-of-two block
// below its size (at least 16, TIFF's granule) so it still has internal tiling — reads of small
// test rasters then cross block boundaries as real ones do — and at least one overview.
int block_size_for(int size) {
  int block = 1024;
  while (block > 16 && block >= size) block /= 2;
  return block;
}

// Writes one single-band COG (atomically: temporary name, then rename).
template <class T>
void write_cog(const std::filesystem::path& path, const Raster<T>& raster, GDALDataType type,
               std::optional<double> nodata, const char* resampling,
               const std::string& description) {
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* cog = GetGDALDriverManager()->GetDriverByName("COG");
  if (mem == nullptr || cog == nullptr) {
    throw DataError("GDAL has no MEM or COG driver; install a GDAL >= 3.1 build with both.");
  }
  const Grid& g = raster.grid;
  DatasetPtr src(mem->Create("", g.width, g.height, 1, type, nullptr));
  if (!src) throw DataError("GDAL could not allocate a " + std::to_string(g.width) + " px raster.");
  std::array<double, 6> gt = g.transform;
  src->SetGeoTransform(gt.data());
  OGRSpatialReference srs;
  srs.importFromEPSG(g.epsg);
  src->SetSpatialRef(&srs);
  GDALRasterBand* band = src->GetRasterBand(1);
  if (nodata) band->SetNoDataValue(*nodata);
  band->SetDescription(description.c_str());
  if (band->RasterIO(GF_Write, 0, 0, g.width, g.height, const_cast<T*>(raster.data.data()), g.width,
                     g.height, type, 0, 0, nullptr) != CE_None) {
    throw DataError("Could not fill the in-memory raster for " + path.string() + ": " +
                    CPLGetLastErrorMsg());
  }
  StringList options;
  options.set("COMPRESS", "DEFLATE");
  options.set("BLOCKSIZE", std::to_string(block_size_for(std::max(g.width, g.height))));
  options.set("OVERVIEWS", "AUTO");
  options.set("RESAMPLING", resampling);
  options.set("NUM_THREADS", "1");  // files are written in parallel already
  const std::filesystem::path tmp = path.string() + ".tmp";
  ScopedErrorHandler quiet_small_blocks(drop_small_block_warning);
  DatasetPtr out(cog->CreateCopy(tmp.c_str(), src.get(), FALSE, options.list, nullptr, nullptr));
  if (!out) {
    throw DataError("GDAL could not write " + path.string() + ": " + CPLGetLastErrorMsg() +
                    " (check free space and permissions of the output folder).");
  }
  out.reset();
  std::filesystem::rename(tmp, path);
}

std::string compact(const std::string& iso, const char* what) {
  const auto t = parse_time(iso);
  if (!t) {
    throw InputError(std::string("The ") + what + " '" + iso +
                     "' is not an ISO 8601 date-time; give e.g. 2023-06-01T10:15:59Z.");
  }
  return format_compact(*t);
}

std::string mission(const std::string& platform) {
  // "Sentinel-2A" -> "S2A"
  if (platform.size() < 2 || platform.rfind("Sentinel-2", 0) != 0) {
    throw InputError("The platform '" + platform + "' is not Sentinel-2A/B/C; give one of those.");
  }
  return "S2" + platform.substr(platform.size() - 1);
}

std::string baseline_code(const std::string& baseline) {
  std::string digits;
  for (char ch : baseline) {
    if (ch != '.') digits += ch;
  }
  return "N" + digits;
}

std::string orbit_code(int orbit) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "R%03d", orbit);
  return buf;
}

std::string product_uri(const AcquisitionSpec& a, const TileSpec& t) {
  return mission(a.platform) + "_MSIL2A_" + compact(a.datetime, "sensing time") + "_" +
         baseline_code(a.processing_baseline) + "_" + orbit_code(a.relative_orbit) + "_T" +
         t.mgrs_tile + "_" + compact(a.processing_time, "processing time") + ".SAFE";
}

struct BandText {
  const char* title;
  const char* common_name;  // empty: none (as PC for B09)
  double fwhm_um;
};
// PC's titles and eo:bands (common names as PC publishes them).
const std::map<std::string, BandText>& band_texts() {
  static const std::map<std::string, BandText> texts{
      {"B01", {"Band 1 - Coastal aerosol", "coastal", 0.027}},
      {"B02", {"Band 2 - Blue", "blue", 0.098}},
      {"B03", {"Band 3 - Green", "green", 0.045}},
      {"B04", {"Band 4 - Red", "red", 0.038}},
      {"B05", {"Band 5 - Vegetation red edge 1", "rededge", 0.019}},
      {"B06", {"Band 6 - Vegetation red edge 2", "rededge", 0.018}},
      {"B07", {"Band 7 - Vegetation red edge 3", "rededge", 0.028}},
      {"B08", {"Band 8 - NIR", "nir", 0.145}},
      {"B8A", {"Band 8A - Vegetation red edge 4", "rededge", 0.033}},
      {"B09", {"Band 9 - Water vapor", "", 0.026}},
      {"B11", {"Band 11 - SWIR (1.6)", "swir16", 0.143}},
      {"B12", {"Band 12 - SWIR (2.2)", "swir22", 0.242}},
  };
  return texts;
}

// The valid-data outline of a tile in lon/lat: the tile square cut by the swath half-plane,
// with extra vertices along each edge so the projected outline follows the curved edges.
nlohmann::json footprint(const TileRender& render, std::array<double, 4>& bbox) {
  const Grid& g = render.grid;
  std::vector<std::array<double, 2>> ring{{g.min_x(), g.min_y()},
                                          {g.max_x(), g.min_y()},
                                          {g.max_x(), g.max_y()},
                                          {g.min_x(), g.max_y()}};  // counter-clockwise
  if (render.valid_half_plane) {
    const auto& h = *render.valid_half_plane;
    auto side = [&](const std::array<double, 2>& p) { return h[0] * p[0] + h[1] * p[1] + h[2]; };
    std::vector<std::array<double, 2>> clipped;
    for (std::size_t i = 0; i < ring.size(); ++i) {
      const auto& a = ring[i];
      const auto& b = ring[(i + 1) % ring.size()];
      const double sa = side(a), sb = side(b);
      if (sa >= 0) clipped.push_back(a);
      if ((sa >= 0) != (sb >= 0)) {
        const double t = sa / (sa - sb);
        clipped.push_back({a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])});
      }
    }
    ring = clipped;
  }
  std::vector<double> xs, ys;
  constexpr int kSteps = 10;
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const auto& a = ring[i];
    const auto& b = ring[(i + 1) % ring.size()];
    for (int s = 0; s < kSteps; ++s) {
      xs.push_back(a[0] + (b[0] - a[0]) * s / kSteps);
      ys.push_back(a[1] + (b[1] - a[1]) * s / kSteps);
    }
  }
  auto t = detail::make_transform(g.epsg, 4326);
  detail::transform_points(*t, xs, ys, g.epsg, 4326);
  bbox = {xs[0], ys[0], xs[0], ys[0]};
  nlohmann::json coords = nlohmann::json::array();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    coords.push_back({xs[i], ys[i]});
    bbox = {std::min(bbox[0], xs[i]), std::min(bbox[1], ys[i]), std::max(bbox[2], xs[i]),
            std::max(bbox[3], ys[i])};
  }
  coords.push_back(coords.front());
  return {{"type", "Polygon"}, {"coordinates", nlohmann::json::array({coords})}};
}

// Earth-Sun distance correction of the day (as in the product metadata's U factor).
double reflectance_conversion_factor(const std::string& datetime) {
  const auto t = parse_time(datetime);
  const auto days = std::chrono::floor<std::chrono::days>(*t);
  const std::chrono::year_month_day ymd{days};
  const auto jan1 = std::chrono::sys_days{ymd.year() / std::chrono::January / 1};
  const double doy = double((days - jan1).count() + 1);
  const double e = 1 - 0.01673 * std::cos(0.0172 * (doy - 4));
  return 1 / (e * e);
}

nlohmann::json asset_json(const std::string& href, const Grid& grid, const std::string& title) {
  const double res = grid.transform[1];
  return {{"href", href},
          {"proj:bbox", {grid.min_x(), grid.min_y(), grid.max_x(), grid.max_y()}},
          {"proj:shape", {grid.height, grid.width}},
          {"proj:transform", {res, 0.0, grid.transform[0], 0.0, -res, grid.transform[3]}},
          {"gsd", res},
          {"type", "image/tiff; application=geotiff; profile=cloud-optimized"},
          {"roles", {"data"}},
          {"title", title}};
}

// Minimal SAFE metadata documents with the elements readers use: the granule's mean sun angles
// and CRS (MTD_TL.xml), the product's baseline, quantification and, from 04.00, the
// BOA_ADD_OFFSET of every band (MTD_MSIL2A.xml). Element names and nesting follow ESA's PSD.
std::string granule_xml(const AcquisitionSpec& a, const TileSpec& t, const std::string& tile_id) {
  char angles[256];
  std::snprintf(
      angles, sizeof angles,
      "      <Mean_Sun_Angle>\n        <ZENITH_ANGLE unit=\"deg\">%.10g</ZENITH_ANGLE>\n"
      "        <AZIMUTH_ANGLE unit=\"deg\">%.10g</AZIMUTH_ANGLE>\n      </Mean_Sun_Angle>\n",
      a.sun_zenith_deg, a.sun_azimuth_deg);
  return std::string(
             "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
             "<n1:Level-2A_Tile_ID "
             "xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/"
             "S2_PDI_Level-2A_Tile_Metadata.xsd\">\n  <n1:General_Info>\n"
             "    <TILE_ID metadataLevel=\"Brief\">") +
         tile_id + "</TILE_ID>\n    <SENSING_TIME metadataLevel=\"Standard\">" +
         format_time(*parse_time(a.datetime)) +
         "</SENSING_TIME>\n  </n1:General_Info>\n  <n1:Geometric_Info>\n"
         "    <Tile_Geocoding metadataLevel=\"Brief\">\n      <HORIZONTAL_CS_CODE>EPSG:" +
         std::to_string(t.epsg) + "</HORIZONTAL_CS_CODE>\n    </Tile_Geocoding>\n" +
         "    <Tile_Angles metadataLevel=\"Standard\">\n" + angles +
         "    </Tile_Angles>\n  </n1:Geometric_Info>\n</n1:Level-2A_Tile_ID>\n";
}

std::string product_xml(const AcquisitionSpec& a, const std::string& uri, double u) {
  std::string offsets;
  if (baseline_has_offset(a.processing_baseline)) {
    offsets = "      <BOA_ADD_OFFSET_VALUES_LIST>\n";
    for (int b = 0; b <= 12; ++b) {
      offsets +=
          "        <BOA_ADD_OFFSET band_id=\"" + std::to_string(b) + "\">-1000</BOA_ADD_OFFSET>\n";
    }
    offsets += "      </BOA_ADD_OFFSET_VALUES_LIST>\n";
  }
  char factor[64];
  std::snprintf(factor, sizeof factor, "%.15g", u);
  return std::string(
             "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
             "<n1:Level-2A_User_Product "
             "xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd\">\n"
             "  <n1:General_Info>\n    <Product_Info>\n      <PRODUCT_START_TIME>") +
         format_time(*parse_time(a.datetime)) + "</PRODUCT_START_TIME>\n      <PRODUCT_URI>" + uri +
         "</PRODUCT_URI>\n      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>\n"
         "      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>\n      <PROCESSING_BASELINE>" +
         a.processing_baseline + "</PROCESSING_BASELINE>\n      <GENERATION_TIME>" +
         format_time(*parse_time(a.processing_time)) +
         "</GENERATION_TIME>\n    </Product_Info>\n    <Product_Image_Characteristics>\n"
         "      <QUANTIFICATION_VALUES_LIST>\n"
         "        <BOA_QUANTIFICATION_VALUE unit=\"none\">10000</BOA_QUANTIFICATION_VALUE>\n"
         "      </QUANTIFICATION_VALUES_LIST>\n" +
         offsets + "      <Reflectance_Conversion>\n        <U>" + factor +
         "</U>\n      </Reflectance_Conversion>\n    </Product_Image_Characteristics>\n"
         "  </n1:General_Info>\n</n1:Level-2A_User_Product>\n";
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) throw DataError("Could not write " + path.string() + "; check the output folder.");
  }
  std::filesystem::rename(tmp, path);
}

std::string join_href(const std::string& base, const std::string& rel) {
  if (base.empty()) return rel;
  return base.back() == '/' ? base + rel : base + "/" + rel;
}

// Writes one item's files and returns its Item; nullopt when the tile lies wholly outside the
// acquisition's swath (Planetary Computer has no item then either).
std::optional<GeneratedItem> write_item(const SceneSpec& scene, std::size_t ai, std::size_t ti,
                                        const std::filesystem::path& out_dir,
                                        const std::string& href_base, int threads) {
  const AcquisitionSpec& acq = scene.acquisitions[ai];
  const TileSpec& tile = scene.tiles[ti];
  const TileRender render = render_tile(scene, ai, ti);
  const ByteRaster scl = scl_20m(render);

  std::array<std::int64_t, 12> counts{};
  for (std::uint8_t v : scl.data) counts[std::min<std::size_t>(v, 11)]++;
  const auto total = std::int64_t(scl.data.size());
  const std::int64_t valid = total - counts[0];
  if (valid == 0) return std::nullopt;

  const std::string uri = product_uri(acq, tile);
  const std::string sensing = compact(acq.datetime, "sensing time");
  const std::string id = item_id(acq, tile);
  const std::string tile_path = tile.mgrs_tile.substr(0, 2) + "/" + tile.mgrs_tile.substr(2, 1) +
                                "/" + tile.mgrs_tile.substr(3);
  const std::string rel_dir = tile_path + "/" + sensing.substr(0, 4) + "/" + sensing.substr(4, 2) +
                              "/" + sensing.substr(6, 2) + "/" + uri;
  const std::string granule = "GRANULE/L2A_T" + tile.mgrs_tile + "_" + sensing + "/IMG_DATA";
  GeneratedItem gi;
  gi.dir = out_dir / rel_dir;
  gi.relative_dir = rel_dir;
  gi.acquisition = ai;
  gi.tile = ti;
  for (int res : {10, 20, 60}) {
    std::error_code ec;
    std::filesystem::create_directories(gi.dir / granule / ("R" + std::to_string(res) + "m"), ec);
    if (ec) {
      throw DataError("Could not create " + (gi.dir / granule).string() + " (" + ec.message() +
                      "); choose an output folder you can write to.");
    }
  }

  // One job per file; each is independent, so they run in parallel.
  struct Job {
    std::string key;  // asset key, empty for truth rasters
    std::string rel;  // relative to the item dir
  };
  std::vector<Job> jobs;
  auto band_rel = [&](const std::string& name, int res) {
    const std::string r = std::to_string(res) + "m";
    return granule + "/R" + r + "/T" + tile.mgrs_tile + "_" + sensing + "_" + name + "_" + r +
           ".tif";
  };
  for (const BandInfo& b : kBands)
    jobs.push_back({std::string(b.name), band_rel(std::string(b.name), b.resolution_m)});
  jobs.push_back({"SCL", band_rel("SCL", 20)});
  for (const char* t :
       {"truth_cloud.tif", "truth_shadow.tif", "truth_dark.tif", "truth_cover.tif"}) {
    jobs.push_back({"", t});
  }
  std::mutex error_mutex;
  std::string first_error;
  detail::parallel_for(int(jobs.size()), threads, [&](int begin, int end) {
    for (int j = begin; j < end; ++j) {
      const Job& job = jobs[std::size_t(j)];
      const std::filesystem::path path = gi.dir / job.rel;
      try {
        const int bi = band_index(job.key);
        if (bi >= 0) {
          write_cog(path, band_dn(render, bi), GDT_UInt16, 0.0, "AVERAGE", job.key);
        } else if (job.key == "SCL") {
          write_cog(path, scl, GDT_Byte, 0.0, "NEAREST", "SCL");
        } else if (job.rel == "truth_cloud.tif") {
          write_cog(path, render.truth_cloud, GDT_Byte, 255.0, "NEAREST", "cloud truth");
        } else if (job.rel == "truth_shadow.tif") {
          write_cog(path, render.truth_shadow, GDT_Byte, 255.0, "NEAREST", "shadow truth");
        } else if (job.rel == "truth_dark.tif") {
          write_cog(path, render.truth_dark, GDT_Byte, 255.0, "NEAREST", "terrain-dark truth");
        } else {
          write_cog(path, render.cover, GDT_Byte, 0.0, "NEAREST", "land cover");
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        if (first_error.empty()) first_error = e.what();
      }
    }
  });
  if (!first_error.empty()) throw DataError(first_error);

  // --- The Item ---
  auto pct = [&](int cls) { return 100.0 * double(counts[std::size_t(cls)]) / double(valid); };
  std::array<double, 4> bbox{};
  nlohmann::json geometry = footprint(render, bbox);
  const std::string mission_code = mission(acq.platform);
  const std::string baseline_dotted = acq.processing_baseline;
  const std::string proc = compact(acq.processing_time, "processing time");
  const double cloud_cover = pct(8) + pct(9) + pct(10);
  nlohmann::json props = {
      {"datetime", format_time(*parse_time(acq.datetime))},
      {"platform", acq.platform},
      {"proj:epsg", tile.epsg},
      {"instruments", {"msi"}},
      {"s2:mgrs_tile", tile.mgrs_tile},
      {"constellation", "Sentinel 2"},
      {"s2:granule_id", mission_code + "_OPER_MSI_L2A_TL_SGEN_" + proc + "_T" + tile.mgrs_tile +
                            "_N" + baseline_dotted},
      {"eo:cloud_cover", cloud_cover},
      {"s2:datatake_id", "G" + mission_code + "_" + sensing + "_N" + baseline_dotted},
      {"s2:product_uri", uri},
      {"s2:datastrip_id",
       mission_code + "_OPER_MSI_L2A_DS_SGEN_" + proc + "_S" + sensing + "_N" + baseline_dotted},
      {"s2:product_type", "S2MSI2A"},
      {"sat:orbit_state", acq.orbit_state},
      {"s2:datatake_type", "INS-NOBS"},
      {"s2:generation_time", format_time(*parse_time(acq.processing_time))},
      {"sat:relative_orbit", acq.relative_orbit},
      {"s2:water_percentage", pct(6)},
      {"s2:mean_solar_zenith", acq.sun_zenith_deg},
      {"s2:mean_solar_azimuth", acq.sun_azimuth_deg},
      {"s2:processing_baseline", baseline_dotted},
      {"s2:snow_ice_percentage", pct(11)},
      {"s2:vegetation_percentage", pct(4)},
      {"s2:thin_cirrus_percentage", pct(10)},
      {"s2:cloud_shadow_percentage", pct(3)},
      {"s2:nodata_pixel_percentage", 100.0 * double(counts[0]) / double(total)},
      {"s2:unclassified_percentage", pct(7)},
      {"s2:dark_features_percentage", pct(2)},
      {"s2:not_vegetated_percentage", pct(5)},
      {"s2:degraded_msi_data_percentage", 0.0},
      {"s2:high_proba_clouds_percentage", pct(9)},
      {"s2:reflectance_conversion_factor", reflectance_conversion_factor(acq.datetime)},
      {"s2:medium_proba_clouds_percentage", pct(8)},
      {"s2:saturated_defective_pixel_percentage", pct(1)},
  };
  nlohmann::json assets = nlohmann::json::object();
  for (const Job& job : jobs) {
    if (job.key.empty()) continue;
    const std::string href = join_href(href_base, rel_dir + "/" + job.rel);
    if (job.key == "SCL") {
      assets["SCL"] = asset_json(href, tile_grid(tile, 20), "Scene classfication map (SCL)");
      continue;
    }
    const BandInfo& b = kBands[std::size_t(band_index(job.key))];
    const BandText& text = band_texts().at(job.key);
    nlohmann::json a =
        asset_json(href, tile_grid(tile, b.resolution_m),
                   std::string(text.title) + " - " + std::to_string(b.resolution_m) + "m");
    nlohmann::json eo = {{"name", job.key},
                         {"description", text.title},
                         {"center_wavelength", b.centre_nm / 1000.0},
                         {"full_width_half_max", text.fwhm_um}};
    if (*text.common_name) eo["common_name"] = text.common_name;
    a["eo:bands"] = nlohmann::json::array({eo});
    assets[job.key] = a;
  }
  const std::string granule_id = props["s2:granule_id"];
  write_text(gi.dir / "GRANULE" / ("L2A_T" + tile.mgrs_tile + "_" + sensing) / "MTD_TL.xml",
             granule_xml(acq, tile, granule_id));
  write_text(gi.dir / "MTD_MSIL2A.xml",
             product_xml(acq, uri, props["s2:reflectance_conversion_factor"].get<double>()));
  assets["granule-metadata"] = {
      {"href", join_href(href_base, rel_dir + "/GRANULE/L2A_T" + tile.mgrs_tile + "_" + sensing +
                                        "/MTD_TL.xml")},
      {"type", "application/xml"},
      {"roles", {"metadata"}},
      {"title", "Granule metadata"}};
  assets["product-metadata"] = {{"href", join_href(href_base, rel_dir + "/MTD_MSIL2A.xml")},
                                {"type", "application/xml"},
                                {"roles", {"metadata"}},
                                {"title", "Product metadata"}};
  const std::string pc = "https://planetarycomputer.microsoft.com/api/stac/v1";
  gi.item = {
      {"type", "Feature"},
      {"stac_version", "1.0.0"},
      {"stac_extensions",
       {"https://stac-extensions.github.io/eo/v1.0.0/schema.json",
        "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
        "https://stac-extensions.github.io/projection/v1.0.0/schema.json"}},
      {"id", id},
      {"collection", "sentinel-2-l2a"},
      {"bbox", bbox},
      {"geometry", geometry},
      {"properties", props},
      {"assets", assets},
      {"links",
       {{{"rel", "collection"},
         {"type", "application/json"},
         {"href", pc + "/collections/sentinel-2-l2a"}}}},
  };
  return gi;
}

}  // namespace

std::string item_id(const AcquisitionSpec& a, const TileSpec& t) {
  return mission(a.platform) + "_MSIL2A_" + compact(a.datetime, "sensing time") + "_" +
         orbit_code(a.relative_orbit) + "_T" + t.mgrs_tile + "_" +
         compact(a.processing_time, "processing time");
}

std::vector<GeneratedItem> generate(const SceneSpec& scene, const std::filesystem::path& out_dir,
                                    const std::string& href_base, GenerateOptions options) {
  GDALAllRegister();
  if (scene.tiles.empty()) throw InputError("The scene has no tiles; give at least one tile.");
  const int threads = options.threads > 0 ? options.threads : detail::default_threads();
  std::vector<GeneratedItem> items;
  for (std::size_t a = 0; a < scene.acquisitions.size(); ++a) {
    const AcquisitionSpec& acq = scene.acquisitions[a];
    for (std::size_t t = 0; t < scene.tiles.size(); ++t) {
      const TileSpec& tile = scene.tiles[t];
      if (!acq.tiles.empty() &&
          std::find(acq.tiles.begin(), acq.tiles.end(), tile.mgrs_tile) == acq.tiles.end()) {
        continue;
      }
      if (auto item = write_item(scene, a, t, out_dir, href_base, threads)) {
        items.push_back(std::move(*item));
      }
    }
  }
  return items;
}

std::filesystem::path item_dir(const nlohmann::json& item, const std::filesystem::path& out_dir,
                               const std::string& href_base) {
  const std::string id = item.value("id", std::string("(no id)"));
  const auto assets = item.find("assets");
  if (assets == item.end() || !assets->contains("product-metadata")) {
    throw InputError("Item " + id +
                     " has no product-metadata asset; give an Item from generate().");
  }
  const std::string href = (*assets)["product-metadata"].value("href", std::string());
  std::string base = href_base;
  if (!base.empty() && base.back() != '/') base += '/';
  if (href.rfind(base, 0) != 0) {
    throw InputError("Item " + id + " has hrefs outside '" + href_base +
                     "'; give the href base it was generated with.");
  }
  return (out_dir / href.substr(base.size())).parent_path();
}

nlohmann::json feature_collection(const std::vector<GeneratedItem>& items,
                                  const std::string& href_base) {
  nlohmann::json features = nlohmann::json::array();
  for (const GeneratedItem& i : items) features.push_back(i.item);
  return {{"type", "FeatureCollection"}, {"features", features}, {"scenegen:href_base", href_base}};
}

}  // namespace s2prep::scenegen
