// Ingestion benchmark: what s2prep's reader fetches and how long it takes,
// against the physical minimum, whole-file downloads and the GDAL command-line tools.
//
// One generated tile (s2prep-scenegen, ideally 10980 px as real tiles) is served by the local
// test server with a per-request latency, and one acquisition (12 bands + SCL) is read
//   1. for a small region (default 2 km x 2 km) onto the layout grid and onto the context grid
//      `run` reads for the models: bytes and requests counted by the server on /blob, against
//      (a) the physical minimum: the compressed size of the COG internal tiles that intersect
//          the source windows the grid needs, computed from each file's own tile offsets and
//          byte counts (GDAL's BLOCK_OFFSET_x_y / BLOCK_SIZE_x_y metadata of the local file),
//          header and IFD bytes counted apart, and
//      (b) whole-file downloads (what the reference does: the sum of the 13 file sizes);
//      and wall time against `gdalwarp` of the same windows band by band through /vsicurl/,
//      serially as a user's script would, and N at a time as `xargs -P N` would;
//   2. for the whole tile (tile layout, --full-tile): read onto the tile grid and written as a
//      COG like `run` writes the raster, in a child process (time, CPU, peak memory) against
//      `gdalbuildvrt -separate` + `gdal_translate -of COG` of the 12 bands at 10 m.
//
// Run `ingest_bench --help` for the options; bench/run.sh runs it with the defaults.

#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <fmt/format.h>
#include <gdal.h>
#include <ogr_srs_api.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <s2prep/errors.hpp>
#include "bench_util.hpp"
#include "core/bands.hpp"
#include "geo/region.hpp"
#include "ingest/acquisition_reader.hpp"
#include "ingest/gdal_env.hpp"
#include "ingest/grid.hpp"
#include "output/cog_writer.hpp"
#include "pipeline/produce.hpp"
#include "stac/item.hpp"
#include "test_server.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace s2prep;
using bench::Clock;
using bench::seconds_since;

// The GDAL configuration s2prep sets (ingest/gdal_env.cpp), given to the GDAL command-line
// tools too so that the comparison is between readers, not between configurations.
const std::vector<std::pair<std::string, std::string>> kGdalConfig = {
    {"GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"},
    {"CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif,.TIF,.tiff,.TIFF"},
    {"GDAL_HTTP_MULTIRANGE", "SERIAL"},
    {"GDAL_HTTP_MAX_RETRY", "4"},
    {"GDAL_HTTP_RETRY_DELAY", "0.5"},
    {"VSI_CACHE", "TRUE"},
};

std::vector<std::string> with_config(std::vector<std::string> argv) {
  for (const auto& [k, v] : kGdalConfig) {
    argv.insert(argv.begin() + 1, {"--config", k, v});
  }
  return argv;
}

std::string fmt_mb(double bytes) { return fmt::format("{:.2f}", bytes / 1e6); }
std::string fmt_ratio(double a, double b) {
  return b > 0 ? fmt::format("{:.2f}", a / b) : std::string("-");
}

struct SrsDeleter {
  void operator()(OGRSpatialReferenceH s) const noexcept { OSRRelease(s); }
};
using SrsPtr = std::unique_ptr<std::remove_pointer_t<OGRSpatialReferenceH>, SrsDeleter>;
struct CtDeleter {
  void operator()(OGRCoordinateTransformationH t) const noexcept {
    OCTDestroyCoordinateTransformation(t);
  }
};
using CtPtr = std::unique_ptr<std::remove_pointer_t<OGRCoordinateTransformationH>, CtDeleter>;

SrsPtr srs_of(int epsg) {
  SrsPtr s(OSRNewSpatialReference(nullptr));
  if (OSRImportFromEPSG(s.get(), epsg) != OGRERR_NONE) {
    throw DataError(fmt::format("EPSG:{} is unknown to PROJ.", epsg));
  }
  OSRSetAxisMappingStrategy(s.get(), OAMS_TRADITIONAL_GIS_ORDER);
  return s;
}

// Transforms points in place from `from` to `to` (EPSG codes; 4326 is lon/lat).
void transform_points(int from, int to, std::vector<double>& xs, std::vector<double>& ys) {
  if (from == to) return;
  const SrsPtr a = srs_of(from), b = srs_of(to);
  CtPtr ct(OCTNewCoordinateTransformation(a.get(), b.get()));
  if (!ct || !OCTTransform(ct.get(), static_cast<int>(xs.size()), xs.data(), ys.data(), nullptr)) {
    throw DataError(fmt::format("Cannot transform points from EPSG:{} to EPSG:{}.", from, to));
  }
}

// ---------------------------------------------------------------------------------------------
// The physical minimum, from the files' own TIFF tile index.

struct FileLayout {
  fs::path path;
  int epsg = 0;
  std::array<double, 6> gt{};
  int width = 0, height = 0;
  int block_w = 0, block_h = 0;
  int blocks_x = 0, blocks_y = 0;
  std::vector<std::uint64_t> offset, size;  // full-resolution tiles, row-major
  std::uint64_t header_bytes = 0;           // bytes before the first tile of any level
  std::uint64_t file_size = 0;
};

std::uint64_t tiff_item(GDALRasterBandH band, const char* what, int x, int y) {
  const char* v = GDALGetMetadataItem(band, fmt::format("{}_{}_{}", what, x, y).c_str(), "TIFF");
  return v ? std::stoull(v) : 0;
}

FileLayout read_layout(const fs::path& path) {
  FileLayout f;
  f.path = path;
  f.file_size = fs::file_size(path);
  ingest::DatasetPtr ds(
      GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) throw DataError("Cannot open " + path.string() + "; regenerate the scene.");
  GDALRasterBandH band = GDALGetRasterBand(ds.get(), 1);
  f.width = GDALGetRasterXSize(ds.get());
  f.height = GDALGetRasterYSize(ds.get());
  GDALGetGeoTransform(ds.get(), f.gt.data());
  const char* auth = OSRGetAuthorityCode(GDALGetSpatialRef(ds.get()), nullptr);
  f.epsg = auth ? std::atoi(auth) : 0;
  GDALGetBlockSize(band, &f.block_w, &f.block_h);
  f.blocks_x = (f.width + f.block_w - 1) / f.block_w;
  f.blocks_y = (f.height + f.block_h - 1) / f.block_h;
  std::uint64_t first = f.file_size;
  auto scan = [&](GDALRasterBandH b, bool keep) {
    int bw = 0, bh = 0;
    GDALGetBlockSize(b, &bw, &bh);
    const int nx = (GDALGetRasterBandXSize(b) + bw - 1) / bw;
    const int ny = (GDALGetRasterBandYSize(b) + bh - 1) / bh;
    for (int y = 0; y < ny; ++y) {
      for (int x = 0; x < nx; ++x) {
        const auto off = tiff_item(b, "BLOCK_OFFSET", x, y);
        const auto sz = tiff_item(b, "BLOCK_SIZE", x, y);
        if (off > 0 && sz > 0) first = std::min(first, off);
        if (keep) {
          f.offset.push_back(off);
          f.size.push_back(sz);
        }
      }
    }
  };
  scan(band, true);
  for (int i = 0; i < GDALGetOverviewCount(band); ++i) scan(GDALGetOverview(band, i), false);
  f.header_bytes = first;
  return f;
}

enum class Kernel { kDirect, kBilinear, kNearest };

struct Need {
  std::uint64_t bytes = 0;   // compressed tile bytes
  int tiles = 0;             // internal tiles
  int ranges = 0;            // contiguous byte ranges they form
  std::uint64_t header = 0;  // header + IFD bytes of the file
};

// The internal tiles of `f` holding the source pixels that `grid` needs: the window itself for a
// pixel-for-pixel copy; for resampling, the pixels around every target pixel centre's position
// in the file (2 x 2 for bilinear, 1 for nearest), found by mapping the centres of the grid's
// border pixels into the file (the grid is convex and the mapping smooth, so the border bounds
// the interior).
Need needed_tiles(const FileLayout& f, const Grid& grid, Kernel kernel) {
  std::vector<double> xs, ys;
  auto add = [&](int col, int row) {
    xs.push_back(grid.transform[0] + (col + 0.5) * grid.transform[1]);
    ys.push_back(grid.transform[3] + (row + 0.5) * grid.transform[5]);
  };
  for (int c = 0; c < grid.width; ++c) {
    add(c, 0);
    add(c, grid.height - 1);
  }
  for (int r = 0; r < grid.height; ++r) {
    add(0, r);
    add(grid.width - 1, r);
  }
  transform_points(grid.epsg, f.epsg, xs, ys);
  double u0 = 1e300, u1 = -1e300, v0 = 1e300, v1 = -1e300;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double u = (xs[i] - f.gt[0]) / f.gt[1], v = (ys[i] - f.gt[3]) / f.gt[5];
    u0 = std::min(u0, u), u1 = std::max(u1, u), v0 = std::min(v0, v), v1 = std::max(v1, v);
  }
  long c0, c1, r0, r1;
  if (kernel == Kernel::kBilinear) {
    c0 = std::lround(std::floor(u0 - 0.5)), c1 = std::lround(std::floor(u1 - 0.5)) + 1;
    r0 = std::lround(std::floor(v0 - 0.5)), r1 = std::lround(std::floor(v1 - 0.5)) + 1;
  } else {  // a centre at u lies in pixel floor(u), for the direct copy as for nearest
    c0 = std::lround(std::floor(u0)), c1 = std::lround(std::floor(u1));
    r0 = std::lround(std::floor(v0)), r1 = std::lround(std::floor(v1));
  }
  c0 = std::max(0L, c0), r0 = std::max(0L, r0);
  c1 = std::min<long>(f.width - 1, c1), r1 = std::min<long>(f.height - 1, r1);
  Need n;
  n.header = f.header_bytes;
  if (c1 < c0 || r1 < r0) return n;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (long by = r0 / f.block_h; by <= r1 / f.block_h; ++by) {
    for (long bx = c0 / f.block_w; bx <= c1 / f.block_w; ++bx) {
      const std::size_t i = std::size_t(by) * f.blocks_x + bx;
      if (f.size[i] == 0) continue;  // a sparse (empty) tile costs nothing
      n.bytes += f.size[i];
      ++n.tiles;
      spans.emplace_back(f.offset[i], f.offset[i] + f.size[i]);
    }
  }
  std::sort(spans.begin(), spans.end());
  // COG tiles carry a 4-byte leader and trailer: ranges closer than that are one read.
  std::uint64_t end = 0;
  for (const auto& [a, b] : spans) {
    if (n.ranges == 0 || a > end + 8) ++n.ranges;
    end = std::max(end, b);
  }
  return n;
}

// The position (fraction of the tile, the same along both axes) of the 10 m pixel edge nearest
// the tile's centre that is an internal-tile edge in as many of the files as possible.
double shared_tile_corner(const std::vector<FileLayout>& files, const Grid& tile) {
  int best = tile.width / 2, best_count = -1;
  for (int p = 1; p < tile.width; ++p) {
    int count = 0;
    for (const auto& f : files) {
      const double px = p * tile.resolution() / f.gt[1];
      if (std::abs(px - std::round(px)) < 1e-9 && std::lround(px) % f.block_w == 0) ++count;
    }
    if (count > best_count ||
        (count == best_count && std::abs(p - tile.width / 2) < std::abs(best - tile.width / 2))) {
      best = p;
      best_count = count;
    }
  }
  return double(best) / tile.width;
}

// ---------------------------------------------------------------------------------------------
// The scene.

struct Asset {
  std::string band;   // B01..B12, SCL
  std::string local;  // file path
  std::string url;    // served URL
  Kernel kernel = Kernel::kDirect;
};

struct Scene {
  json item_json;  // hrefs rewritten to the server
  stac::Item item;
  std::vector<Asset> assets;  // kBands order, then SCL
  Grid tile;                  // the tile's 10 m grid (B02)
};

Scene load_scene(const fs::path& data, const testing::TestServer& server,
                 const std::string& item_id) {
  std::ifstream in(data / "items.json");
  if (!in) {
    throw InputError("No items.json in " + data.string() +
                     "; generate a scene first (s2prep-scenegen generate --out DIR --size 10980 "
                     "--tile 33UUP --date 2023-08-12).");
  }
  const json fc = json::parse(in);
  std::string base = fc.value("scenegen:href_base", std::string());
  if (!base.empty() && base.back() != '/') base += '/';
  const json* chosen = nullptr;
  for (const auto& f : fc.at("features")) {
    if (item_id.empty() || f.value("id", "") == item_id) {
      chosen = &f;
      break;
    }
  }
  if (chosen == nullptr) throw InputError("No item " + item_id + " in " + data.string());
  Scene s;
  s.item_json = *chosen;
  for (auto& [key, asset] : s.item_json.at("assets").items()) {
    const std::string rel = asset.at("href").get<std::string>().substr(base.size());
    asset["href"] = server.blob_url(rel);
  }
  s.item = stac::Item::from_json(s.item_json);
  std::vector<std::string> bands;
  for (const auto& b : kBands) bands.emplace_back(b.name);
  bands.push_back("SCL");
  for (const auto& band : bands) {
    const std::string key = ingest::default_asset_key(s.item, band);
    const std::string rel =
        chosen->at("assets").at(key).at("href").get<std::string>().substr(base.size());
    Asset a;
    a.band = band;
    a.local = (data / rel).string();
    a.url = s.item.assets.at(key).href;
    s.assets.push_back(a);
  }
  s.tile = ingest::asset_grid(s.item, ingest::default_asset_key(s.item, "B02"), s.assets[1].local);
  return s;
}

// The region: a square of `km` on a side centred at fractions (fx, fy) of the tile's extent,
// as lon/lat WKT (what a user passes to --geometry).
std::string region_wkt(const Grid& tile, double km, double fx, double fy) {
  const double cx = tile.min_x() + fx * (tile.max_x() - tile.min_x());
  const double cy = tile.max_y() - fy * (tile.max_y() - tile.min_y());
  const double h = km * 500;
  std::vector<double> xs{cx - h, cx + h, cx + h, cx - h, cx - h};
  std::vector<double> ys{cy - h, cy - h, cy + h, cy + h, cy - h};
  transform_points(tile.epsg, 4326, xs, ys);
  std::string wkt = "POLYGON((";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    wkt += fmt::format("{}{:.9f} {:.9f}", i ? "," : "", xs[i], ys[i]);
  }
  return wkt + "))";
}

// ---------------------------------------------------------------------------------------------

struct Options {
  fs::path data;
  fs::path work;
  std::string item_id;
  int latency_ms = 20;
  double region_km = 2;
  std::vector<double> region_at;  // empty: the two default positions
  int jobs = 0;
  int reps = 3;
  int gdal_parallel = 0;
  bool no_gdal = false;
  bool whole_tile = false;
  bool whole_tile_local = false;
  fs::path json_out;
  // Internal: the child process of the whole-tile run.
  std::string child;
  std::string child_mode;  // "disk": as run streams a unit; "memory": as --in-memory holds it
  fs::path child_items, child_result, child_out;
};

int default_jobs() {
  // What `run` uses: 4 x cores, between 4 and 32.
  return std::clamp(4 * static_cast<int>(std::thread::hardware_concurrency()), 4, 32);
}

struct Measured {
  double seconds = 0;
  std::uint64_t bytes = 0;
  int requests = 0;
  int head_requests = 0;  // HEAD (GDAL asks each file's size first)
};

Measured measure_read(testing::TestServer& server, const std::vector<stac::Item>& items,
                      const Grid& grid, int jobs, int reps, ingest::AcquisitionRaster* keep) {
  std::vector<double> times;
  Measured m;
  for (int r = 0; r < reps; ++r) {
    // /vsicurl/ keeps file sizes and fetched ranges process-wide: every repetition starts cold.
    VSICurlClearCache();
    server.clear_requests();
    ingest::AcquisitionReadOptions o;
    o.jobs = jobs;
    const auto t0 = Clock::now();
    auto acq = ingest::read_acquisition(items, grid, o);
    times.push_back(seconds_since(t0));
    if (std::getenv("S2PREP_BENCH_VERBOSE")) {
      int fds = 0;
      for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++fds;
      std::cerr << "  read " << times.back() << " s, open fds " << fds << "\n";
    }
    m.bytes = server.bytes_sent("/blob");
    m.requests = server.request_count("/blob");
    m.head_requests = 0;
    for (const auto& rec : server.requests()) {
      if (rec.method == "HEAD" && rec.path.rfind("/blob", 0) == 0) ++m.head_requests;
    }
    if (keep && r == 0) *keep = std::move(acq);
  }
  m.seconds = bench::median(times);
  return m;
}

struct GdalRun {
  double serial_s = 0, parallel_s = 0;
  std::uint64_t bytes = 0;
  int requests = 0;
  int failures = 0;
};

GdalRun measure_gdalwarp(testing::TestServer& server, const Scene& scene, const Grid& grid,
                         const fs::path& work, int parallel, int reps) {
  const auto b = grid.bounds();
  std::vector<std::vector<std::string>> commands;
  for (const auto& a : scene.assets) {
    commands.push_back(with_config({"gdalwarp",
                                    "-q",
                                    "-overwrite",
                                    "-of",
                                    "GTiff",
                                    "-t_srs",
                                    grid.crs(),
                                    "-te",
                                    fmt::format("{:.3f}", b[0]),
                                    fmt::format("{:.3f}", b[1]),
                                    fmt::format("{:.3f}", b[2]),
                                    fmt::format("{:.3f}", b[3]),
                                    "-tr",
                                    fmt::format("{}", grid.resolution()),
                                    fmt::format("{}", grid.resolution()),
                                    "-r",
                                    a.band == "SCL" ? "near" : "bilinear",
                                    "-srcnodata",
                                    "0",
                                    "-dstnodata",
                                    "0",
                                    "/vsicurl/" + a.url,
                                    (work / ("gdalwarp_" + a.band + ".tif")).string()}));
  }
  const std::string log = (work / "gdal.log").string();
  GdalRun g;
  std::vector<double> serial, par;
  for (int r = 0; r < reps; ++r) {
    for (int p : {1, parallel}) {
      server.clear_requests();
      double wall = 0;
      for (const auto& u : bench::run_children(commands, p, log, &wall)) {
        if (u.exit_code != 0) ++g.failures;
      }
      (p == 1 ? serial : par).push_back(wall);
      g.bytes = server.bytes_sent("/blob");
      g.requests = server.request_count("/blob");
    }
  }
  g.serial_s = bench::median(serial);
  g.parallel_s = bench::median(par);
  return g;
}

// Peak resident memory of this process so far (VmHWM), in kB.
long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// The whole-tile child: read the 12 bands onto the tile grid and write them as the raster COG,
// as `run --layout tile --full-tile` does for its raster output: with the models streaming their
// chips (the default), the bands go to a GeoTIFF on disk strip by strip and the COG is written
// from it ("disk"); with --in-memory or the built-in detector they are held in memory ("memory").
int whole_tile_child(const Options& o) {
  std::ifstream in(o.child_items);
  const json item_json = json::parse(in);
  const stac::Item item = stac::Item::from_json(item_json);
  ingest::configure_gdal();
  const std::string key = ingest::default_asset_key(item, "B02");
  const Grid tile = ingest::asset_grid(item, key, item.assets.at(key).href);
  ingest::AcquisitionReadOptions ro;
  ro.jobs = o.jobs;
  ro.read_scl = false;  // the GDAL baseline reads the 12 bands only
  const auto t0 = Clock::now();
  double read_s = 0, write_s = 0;
  long read_peak_kb = 0;
  const Window whole{0, 0, tile.width, tile.height};
  if (o.child_mode == "disk") {
    const auto streamed = pipeline::read_acquisition_to_disk(
        {item}, tile, ro, o.child_out.parent_path() / ".whole_tile_stack.tif");
    read_s = seconds_since(t0);
    read_peak_kb = peak_rss_kb();
    const auto t1 = Clock::now();
    output::write_cog(streamed.stack_file->path(), tile, whole, o.child_out,
                      output::reflectance_cog_options());
    write_s = seconds_since(t1);
  } else {
    auto acq = ingest::read_acquisition({item}, tile, ro);
    read_s = seconds_since(t0);
    read_peak_kb = peak_rss_kb();
    const auto t1 = Clock::now();
    output::write_cog(acq.bands, whole, o.child_out, output::reflectance_cog_options());
    write_s = seconds_since(t1);
  }
  std::ofstream(o.child_result) << json{{"read_s", read_s},
                                        {"write_s", write_s},
                                        {"read_peak_rss_mb", read_peak_kb / 1024.0}}
                                       .dump()
                                << "\n";
  return 0;
}

json whole_tile(testing::TestServer& server, const Scene& scene, const Options& o, int jobs,
                std::string& report) {
  json item = scene.item_json;
  if (o.whole_tile_local) {
    for (const auto& a : scene.assets) {
      item["assets"][ingest::default_asset_key(scene.item, a.band)]["href"] = a.local;
    }
  }
  const fs::path items = o.work / "whole_item.json";
  std::ofstream(items) << item.dump() << "\n";
  const std::string log = (o.work / "whole_tile.log").string();
  const fs::path s2_out = o.work / "s2prep_tile.tif", gdal_vrt = o.work / "gdal_tile.vrt",
                 gdal_out = o.work / "gdal_tile.tif", result = o.work / "whole_result.json";
  fs::remove(s2_out);
  fs::remove(gdal_out);

  struct S2Run {
    std::string mode, label;
    bench::ChildUsage child;
    std::uint64_t bytes = 0;
    int requests = 0;
    json split;
  };
  std::vector<S2Run> runs = {
      {"disk", "s2prep, bands streamed to disk (run's default with models)", {}, 0, 0, {}},
      {"memory", "s2prep, bands held in memory (--in-memory, built-in detector)", {}, 0, 0, {}}};
  for (auto& r : runs) {
    fs::remove(s2_out);
    VSICurlClearCache();
    server.clear_requests();
    r.child = bench::run_child(
        {"/proc/self/exe", "--child", "whole-tile", "--child-mode", r.mode, "--child-items",
         items.string(), "--child-result", result.string(), "--child-out", s2_out.string(),
         "--jobs", std::to_string(jobs), "--data", o.data.string()},
        log);
    if (r.child.exit_code != 0)
      throw DataError("The s2prep whole-tile child (" + r.mode + ") failed; see " + log);
    r.bytes = server.bytes_sent("/blob");
    r.requests = server.request_count("/blob");
    std::ifstream rin(result);
    r.split = json::parse(rin);
  }
  // Both ways write the same file; keep the first for the comparison with GDAL's pixels below.
  server.clear_requests();
  const auto b = scene.tile.bounds();
  std::vector<std::string> vrt = {"gdalbuildvrt",
                                  "-q",
                                  "-overwrite",
                                  "-separate",
                                  "-r",
                                  "bilinear",
                                  "-tr",
                                  "10",
                                  "10",
                                  "-te",
                                  fmt::format("{:.3f}", b[0]),
                                  fmt::format("{:.3f}", b[1]),
                                  fmt::format("{:.3f}", b[2]),
                                  fmt::format("{:.3f}", b[3]),
                                  "-srcnodata",
                                  "0",
                                  "-vrtnodata",
                                  "0",
                                  gdal_vrt.string()};
  for (std::size_t i = 0; i < kBands.size(); ++i) {
    vrt.push_back(o.whole_tile_local ? scene.assets[i].local : "/vsicurl/" + scene.assets[i].url);
  }
  const auto g1 = bench::run_child(with_config(vrt), log);
  const std::string compression = output::cog_compression();
  const auto g2 = bench::run_child(with_config({"gdal_translate",
                                                "-q",
                                                "-of",
                                                "COG",
                                                "-co",
                                                "COMPRESS=" + compression,
                                                "-co",
                                                "PREDICTOR=YES",
                                                "-co",
                                                "BLOCKSIZE=512",
                                                "-co",
                                                "OVERVIEWS=IGNORE_EXISTING",
                                                "-co",
                                                "RESAMPLING=AVERAGE",
                                                "-co",
                                                "NUM_THREADS=ALL_CPUS",
                                                "-co",
                                                "BIGTIFF=IF_SAFER",
                                                gdal_vrt.string(),
                                                gdal_out.string()}),
                                   log);
  if (g1.exit_code != 0 || g2.exit_code != 0) {
    throw DataError("gdalbuildvrt or gdal_translate failed; see " + log);
  }
  const std::uint64_t g_bytes = server.bytes_sent("/blob");
  const int g_requests = server.request_count("/blob");
  const double g_wall = g1.wall_s + g2.wall_s, g_cpu = g1.cpu_s + g2.cpu_s;
  const long g_rss = std::max(g1.max_rss_kb, g2.max_rss_kb);

  bench::Table t({"whole tile (" + std::to_string(scene.tile.width) + " px, 12 bands -> COG)",
                  "wall s", "read s", "write s", "CPU s", "peak RSS MB", "MB fetched", "requests"});
  for (const auto& r : runs) {
    t.add({r.label, fmt::format("{:.1f}", r.child.wall_s),
           fmt::format("{:.1f}", r.split.value("read_s", 0.0)),
           fmt::format("{:.1f}", r.split.value("write_s", 0.0)),
           fmt::format("{:.1f}", r.child.cpu_s), fmt::format("{:.0f}", r.child.max_rss_kb / 1024.0),
           o.whole_tile_local ? "-" : fmt_mb(r.bytes),
           o.whole_tile_local ? "-" : std::to_string(r.requests)});
  }
  t.add({"gdalbuildvrt -separate + gdal_translate -of COG", fmt::format("{:.1f}", g_wall),
         fmt::format("{:.1f}", g1.wall_s), fmt::format("{:.1f}", g2.wall_s),
         fmt::format("{:.1f}", g_cpu), fmt::format("{:.0f}", g_rss / 1024.0),
         o.whole_tile_local ? "-" : fmt_mb(g_bytes),
         o.whole_tile_local ? "-" : std::to_string(g_requests)});
  for (const auto& r : runs) {
    t.add({"ratio s2prep (" + r.mode + ") / GDAL", fmt_ratio(r.child.wall_s, g_wall), "", "",
           fmt_ratio(r.child.cpu_s, g_cpu), fmt_ratio(r.child.max_rss_kb, g_rss),
           fmt_ratio(r.bytes, g_bytes), fmt_ratio(r.requests, g_requests)});
  }
  report += t.str();
  for (const auto& r : runs) {
    report += fmt::format("s2prep ({}) peak RSS when the read finished: {:.0f} MB", r.mode,
                          r.split.value("read_peak_rss_mb", 0.0));
    report += "\n";
  }
  report += fmt::format("(the 12-band stack alone is {:.0f} MB)\n",
                        12.0 * 2 * scene.tile.width * scene.tile.height / (1024.0 * 1024.0));
  report += fmt::format(
      "(source: {}; for gdalbuildvrt the wall column splits as VRT build / "
      "translate)\n",
      o.whole_tile_local ? "local files" : "the test server");
  json s2_json = json::object();
  for (const auto& r : runs) {
    s2_json[r.mode] = {{"wall_s", r.child.wall_s},
                       {"read_s", r.split.value("read_s", 0.0)},
                       {"write_s", r.split.value("write_s", 0.0)},
                       {"read_peak_rss_mb", r.split.value("read_peak_rss_mb", 0.0)},
                       {"cpu_s", r.child.cpu_s},
                       {"max_rss_mb", r.child.max_rss_kb / 1024.0},
                       {"bytes", r.bytes},
                       {"requests", r.requests},
                       {"memory_ratio_vs_gdal", double(r.child.max_rss_kb) / double(g_rss)},
                       {"time_ratio_vs_gdal", r.child.wall_s / g_wall}};
  }
  return {{"source", o.whole_tile_local ? "local" : "server"},
          {"s2prep", s2_json},
          {"gdal",
           {{"wall_s", g_wall},
            {"buildvrt_s", g1.wall_s},
            {"translate_s", g2.wall_s},
            {"cpu_s", g_cpu},
            {"max_rss_mb", g_rss / 1024.0},
            {"bytes", g_bytes},
            {"requests", g_requests}}}};
}

int run(const Options& o) {
  ingest::configure_gdal();
  fs::create_directories(o.work);
  const int jobs = o.jobs > 0 ? o.jobs : default_jobs();
  const int parallel = o.gdal_parallel > 0 ? o.gdal_parallel : jobs;

  testing::TestServer server;
  server.serve_directory(o.data);
  server.set_latency(std::chrono::milliseconds(o.latency_ms));
  const Scene scene = load_scene(o.data, server, o.item_id);
  std::vector<FileLayout> files;
  std::uint64_t whole_files = 0;
  for (const auto& a : scene.assets) {
    files.push_back(read_layout(a.local));
    whole_files += files.back().file_size;
  }

  // Where the region sits relative to the files' internal tiling decides how many tiles it
  // needs, so two positions are measured: inside one internal tile of every file (the best
  // case) and centred on a corner shared by the tilings of every file (the worst case).
  struct Position {
    std::string label;
    double fx, fy;
  };
  std::vector<Position> positions;
  if (!o.region_at.empty()) {
    positions.push_back({"given position", o.region_at[0], o.region_at[1]});
  } else {
    positions.push_back({"inside one internal tile per file", 0.62, 0.41});
    const double p = shared_tile_corner(files, scene.tile);
    positions.push_back({"on an internal-tile corner of every file", p, p});
  }

  std::string report = fmt::format(
      "Ingestion benchmark: item {} (tile {} x {} px, EPSG:{}), {} ms per request, {} read "
      "jobs, {} reps (median)\n",
      scene.item.id, scene.tile.width, scene.tile.height, scene.tile.epsg, o.latency_ms, jobs,
      o.reps);
  std::cout << report << std::flush;
  json out;
  out["item"] = scene.item.id;
  out["tile_px"] = scene.tile.width;
  out["latency_ms"] = o.latency_ms;
  out["jobs"] = jobs;
  out["gdal_parallel"] = parallel;
  out["reps"] = o.reps;
  out["gdal_version"] = ingest::gdal_version();
  out["whole_file_bytes"] = whole_files;

  const std::vector<stac::Item> items{scene.item};
  {
    // Untimed warm-up: the first read in a process also pays one-time set-up (GDAL drivers, the
    // PROJ database, the first connections), which is not what the figures are about.
    ingest::AcquisitionReadOptions warm;
    warm.jobs = jobs;
    const auto region = geo::Region::parse(region_wkt(scene.tile, o.region_km, 0.5, 0.5));
    (void)ingest::read_acquisition(items, ingest::layout_grid(region), warm);
  }
  out["regions"] = json::array();
  for (const auto& pos : positions) {
    const auto region = geo::Region::parse(region_wkt(scene.tile, o.region_km, pos.fx, pos.fy));
    const Grid layout = ingest::layout_grid(region);
    const Grid context = ingest::context_grid(layout);
    json region_out = {{"position", pos.label}, {"at", {pos.fx, pos.fy}}};
    const std::string heading =
        fmt::format("\n== {:g} km x {:g} km region {} (at {:.4f}, {:.4f} of the tile)\n",
                    o.region_km, o.region_km, pos.label, pos.fx, pos.fy);
    std::cout << heading;
    report += heading;
    for (const auto& [name, grid] : {std::pair{"layout", layout}, std::pair{"context", context}}) {
      // The physical minimum for this grid.
      Need need;
      std::uint64_t headers = 0;
      int min_requests = 0;
      for (std::size_t i = 0; i < scene.assets.size(); ++i) {
        const auto& f = files[i];
        const bool aligned = f.epsg == grid.epsg && std::abs(f.gt[1] - grid.resolution()) < 1e-9 &&
                             std::abs(std::remainder(grid.min_x() - f.gt[0], f.gt[1])) < 1e-6 &&
                             std::abs(std::remainder(f.gt[3] - grid.max_y(), f.gt[1])) < 1e-6;
        const Kernel k = aligned                         ? Kernel::kDirect
                         : scene.assets[i].band == "SCL" ? Kernel::kNearest
                                                         : Kernel::kBilinear;
        const Need n = needed_tiles(f, grid, k);
        need.bytes += n.bytes;
        need.tiles += n.tiles;
        headers += n.header;
        min_requests += 1 + n.ranges;  // the header, then each contiguous range of tiles
      }
      const Measured m = measure_read(server, items, grid, jobs, o.reps, nullptr);
      std::optional<GdalRun> g;
      if (!o.no_gdal) g = measure_gdalwarp(server, scene, grid, o.work, parallel, o.reps);

      const double minimum = double(need.bytes + headers);
      bench::Table t({fmt::format("{} grid {} x {} px, 13 assets", name, grid.width, grid.height),
                      "MB", "requests", "wall s", "x minimum bytes", "x s2prep time"});
      t.add({"physical minimum: intersecting COG tiles (" + std::to_string(need.tiles) + ")",
             fmt_mb(need.bytes), "", "", "", ""});
      t.add({"  + headers/IFDs (bytes before the first tile)", fmt_mb(minimum),
             std::to_string(min_requests), "", "1.00", ""});
      t.add({"s2prep read_acquisition", fmt_mb(m.bytes),
             fmt::format("{} ({} HEAD)", m.requests, m.head_requests),
             fmt::format("{:.2f}", m.seconds), fmt_ratio(m.bytes, minimum), "1.00"});
      if (g) {
        t.add({"gdalwarp per band, serial", fmt_mb(g->bytes), std::to_string(g->requests),
               fmt::format("{:.2f}", g->serial_s), fmt_ratio(g->bytes, minimum),
               fmt_ratio(g->serial_s, m.seconds)});
        t.add({fmt::format("gdalwarp per band, {} at a time", parallel), "", "",
               fmt::format("{:.2f}", g->parallel_s), "", fmt_ratio(g->parallel_s, m.seconds)});
      }
      t.add({"whole files (the reference downloads them)", fmt_mb(whole_files), "13", "",
             fmt_ratio(whole_files, minimum), ""});
      const std::string table = t.str();
      std::cout << "\n" << table << std::flush;
      report += "\n" + table;
      json j = {{"grid", {grid.width, grid.height}},
                {"minimum_tile_bytes", need.bytes},
                {"minimum_tiles", need.tiles},
                {"header_bytes", headers},
                {"minimum_requests", min_requests},
                {"s2prep",
                 {{"bytes", m.bytes},
                  {"requests", m.requests},
                  {"head_requests", m.head_requests},
                  {"wall_s", m.seconds}}}};
      if (g) {
        j["gdalwarp"] = {{"bytes", g->bytes},
                         {"requests", g->requests},
                         {"serial_s", g->serial_s},
                         {"parallel_s", g->parallel_s},
                         {"failures", g->failures}};
        if (g->failures) std::cout << g->failures << " gdalwarp runs failed; see gdal.log\n";
      }
      region_out[name] = j;
    }
    out["regions"].push_back(region_out);
  }

  if (o.whole_tile) {
    std::string t;
    out["whole_tile"] = whole_tile(server, scene, o, jobs, t);
    std::cout << "\n" << t << std::flush;
    report += "\n" + t;
  }
  if (!o.json_out.empty()) std::ofstream(o.json_out) << out.dump(1) << "\n";
  std::ofstream(o.work / "ingest_bench.txt") << report;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"s2prep ingestion benchmark"};
  Options o;
  app.add_option("--data", o.data, "Scene folder written by s2prep-scenegen generate")->required();
  app.add_option("--work", o.work, "Scratch folder for outputs (default: <data>/../ingest-work)");
  app.add_option("--item", o.item_id, "Item id to read (default: the first in items.json)");
  app.add_option("--latency-ms", o.latency_ms, "Latency the server adds to every request")
      ->capture_default_str();
  app.add_option("--region-km", o.region_km, "Side of the square region")->capture_default_str();
  app.add_option("--region-at", o.region_at,
                 "Region centre as fractions of the tile's width and height from its top-left "
                 "(default: two positions, inside one internal tile and on a tile corner)")
      ->expected(2);
  app.add_option("--jobs", o.jobs, "Parallel band reads (default: as run, 4 x cores, 4..32)");
  app.add_option("--reps", o.reps, "Repetitions of each region measurement (median reported)")
      ->capture_default_str();
  app.add_option("--gdal-parallel", o.gdal_parallel,
                 "gdalwarp processes at a time in the parallel baseline (default: --jobs)");
  app.add_flag("--no-gdal", o.no_gdal, "Skip the gdalwarp baseline");
  app.add_flag("--whole-tile", o.whole_tile,
               "Also run the whole-tile comparison (minutes and GBs at 10980 px)");
  app.add_option("--child-mode", o.child_mode)->group("");
  app.add_flag("--whole-tile-local", o.whole_tile_local,
               "Whole-tile run from the local files instead of the server");
  app.add_option("--json", o.json_out, "Write the figures as JSON here");
  app.add_option("--child", o.child)->group("");  // internal
  app.add_option("--child-items", o.child_items)->group("");
  app.add_option("--child-result", o.child_result)->group("");
  app.add_option("--child-out", o.child_out)->group("");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    if (o.child == "whole-tile") return whole_tile_child(o);
    if (o.work.empty()) o.work = o.data.parent_path() / "ingest-work";
    return run(o);
  } catch (const s2prep::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
