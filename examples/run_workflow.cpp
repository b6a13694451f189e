// Example: run the s2prep workflow through the library API, then read the outputs back.
//
// The program asks s2prep for every usable Sentinel-2 acquisition of a region and time range,
// then opens the catalogue (items.json) and each acquisition's raster and mask with GDAL, and
// prints one line per acquisition: its tiles, the share of valid and of clear pixels, and the
// mean NDVI of the clear pixels — the kind of time series an analysis would start from.
//
//   s2prep-example-run-workflow --geometry field.geojson --start 2023-05-01
//       --end 2023-08-31 --out out/field [--stac-url URL] [--token-url URL|none]
//       [--cloud-model builtin] ...
//
// It uses only the public API (<s2prep/s2prep.hpp>). --stac-url and --token-url default to
// S2PREP_STAC_URL / S2PREP_TOKEN_URL, else Planetary Computer; the key, when needed, comes from
// PC_SDK_SUBSCRIPTION_KEY.
#include <gdal.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <s2prep/s2prep.hpp>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DatasetCloser {
  void operator()(void* ds) const { GDALClose(static_cast<GDALDatasetH>(ds)); }
};
using Dataset = std::unique_ptr<void, DatasetCloser>;

// One band of a GeoTIFF as it is stored (band numbers start at 1).
template <class T>
std::vector<T> read_band(const fs::path& file, int band, GDALDataType type, int& width,
                         int& height) {
  Dataset ds(GDALOpen(file.c_str(), GA_ReadOnly));
  if (!ds) throw std::runtime_error("cannot open " + file.string());
  auto h = static_cast<GDALDatasetH>(ds.get());
  width = GDALGetRasterXSize(h);
  height = GDALGetRasterYSize(h);
  std::vector<T> values(std::size_t(width) * height);
  if (GDALRasterIO(GDALGetRasterBand(h, band), GF_Read, 0, 0, width, height, values.data(), width,
                   height, type, 0, 0) != CE_None) {
    throw std::runtime_error("cannot read band " + std::to_string(band) + " of " + file.string());
  }
  return values;
}

// Band numbers in the raster: s2prep writes B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12.
constexpr int kRed = 4;  // B04
constexpr int kNir = 8;  // B08

struct AcquisitionFigures {
  std::size_t pixels = 0;
  std::size_t valid = 0;  // mask != 255
  std::size_t clear = 0;  // mask == 0
  double ndvi_sum = 0;
};

AcquisitionFigures figures(const fs::path& raster, const fs::path& mask_file) {
  int w = 0, h = 0, mw = 0, mh = 0;
  const auto red = read_band<std::uint16_t>(raster, kRed, GDT_UInt16, w, h);
  const auto nir = read_band<std::uint16_t>(raster, kNir, GDT_UInt16, w, h);
  const auto mask = read_band<std::uint8_t>(mask_file, 1, GDT_Byte, mw, mh);
  if (mw != w || mh != h) throw std::runtime_error("the mask is not on the raster's grid");
  AcquisitionFigures f;
  f.pixels = mask.size();
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 255) continue;
    ++f.valid;
    if (mask[i] != 0) continue;
    ++f.clear;
    // Digital numbers are reflectance x 10000 (harmonized), so the ratio needs no scaling.
    const double r = red[i], n = nir[i];
    if (r + n > 0) f.ndvi_sum += (n - r) / (n + r);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  // Unset services and key come from the environment (S2PREP_STAC_URL, S2PREP_TOKEN_URL,
  // PC_SDK_SUBSCRIPTION_KEY), else Planetary Computer's: the library resolves them.
  s2prep::RunOptions options;
  auto& request = options.request;

  CLI::App app{"Runs the s2prep workflow through the library and summarises its outputs."};
  app.add_option("--geometry", request.geometry, "GeoJSON file, or inline GeoJSON/WKT (lon/lat)")
      ->required();
  app.add_option("--start", request.start, "First date (inclusive)")->required();
  app.add_option("--end", request.end, "Last date (inclusive)")->required();
  app.add_option("--out", options.out_dir, "Output folder")->required();
  app.add_option("--stac-url", request.services.stac_url, "STAC API root");
  app.add_option("--token-url", request.services.token_url, "SAS token service, or none");
  app.add_option("--cloud-model", request.params.cloud_model, "auto, builtin or an .onnx file");
  app.add_option("--shadow-model", request.params.shadow_model, "auto, builtin or an .onnx file");
  app.add_option("--model-dir", options.model_dir, "Folder of the reference model files");
  app.add_option("--min-tile-cover", request.params.min_tile_cover, "Fraction in (0, 1]");
  CLI11_PARSE(app, argc, argv);

  try {
    // Progress: one line whenever an acquisition enters a new stage.
    std::string last;
    const auto report = s2prep::run(options, [&](const s2prep::Progress& p) {
      const std::string now = p.acquisition + " " + p.stage;
      if (now == last) return;
      last = now;
      if (p.acquisition_count > 0) {
        std::fprintf(stderr, "[%zu/%zu] %s %s\n", p.acquisition_index + 1, p.acquisition_count,
                     p.acquisition.c_str(), p.stage.c_str());
      }
    });
    for (const auto& notice : report.notices) std::fprintf(stderr, "note: %s\n", notice.c_str());

    // Read the outputs back from disk, as any other program would: the catalogue lists each
    // acquisition's files relative to the output folder.
    GDALAllRegister();
    std::ifstream in(report.items_json);
    const json catalogue = json::parse(in);
    std::printf("%-28s %-22s %-14s %7s %7s %6s\n", "DATETIME", "OUTPUT", "TILES", "VALID", "CLEAR",
                "NDVI");
    for (const auto& item : catalogue.at("features")) {
      const auto& props = item.at("properties");
      const fs::path raster =
          options.out_dir / item.at("assets").at("raster").at("href").get<std::string>();
      const fs::path mask =
          options.out_dir / item.at("assets").at("mask").at("href").get<std::string>();
      std::string tiles;
      for (const auto& t : props.at("s2:mgrs_tiles")) {
        if (!tiles.empty()) tiles += ',';
        tiles += t.get<std::string>();
      }
      const AcquisitionFigures f = figures(raster, mask);
      const double valid = f.pixels ? 100.0 * f.valid / f.pixels : 0;
      const double clear = f.valid ? 100.0 * f.clear / f.valid : 0;
      char ndvi[16] = "-";
      if (f.clear > 0) std::snprintf(ndvi, sizeof ndvi, "%.3f", f.ndvi_sum / f.clear);
      std::printf("%-28s %-22s %-14s %6.1f%% %6.1f%% %6s\n",
                  props.at("datetime").get<std::string>().c_str(),
                  item.at("id").get<std::string>().c_str(), tiles.c_str(), valid, clear, ndvi);
    }
    std::printf("%zu acquisitions written to %s, %zu skipped\n", report.outputs.size(),
                options.out_dir.c_str(), report.skipped.size());
    return 0;
  } catch (const s2prep::Error& e) {
    // s2prep's errors are one sentence naming the input at fault, with the contract's exit code.
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
