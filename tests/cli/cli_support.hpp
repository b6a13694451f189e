#pragma once
// Helpers for the tests that run the s2prep executable as a user would: a synthetic scene
// generated once per test executable, served by an in-process TestServer; regions in the
// scene's coordinates; reading outputs back with GDAL; starting a run that can be killed.

#include <fcntl.h>
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_srs_api.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/time.hpp"
#include "geo/geometry.hpp"
#include "process.hpp"
#include "scenegen/scenegen.hpp"
#include "temp_dir.hpp"
#include "test_server.hpp"

extern char** environ;

namespace s2prep::clitest {

namespace fs = std::filesystem;
using json = nlohmann::json;
using s2prep::testing::Fault;
using s2prep::testing::RunResult;
using s2prep::testing::TempDir;
using s2prep::testing::TestServer;

inline const std::string kBin = S2PREP_BIN;

// ---------------------------------------------------------------------------------------------
// Running the binary.

// The environment every run gets: no key, model folder or service URL leaks in from the shell
// that runs the tests (an empty value counts as unset for s2prep).
inline std::map<std::string, std::string> clean_env(std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env{{"PC_SDK_SUBSCRIPTION_KEY", ""},
                                         {"S2PREP_MODEL_DIR", ""},
                                         {"S2PREP_STAC_URL", ""},
                                         {"S2PREP_TOKEN_URL", ""},
                                         {"TERM", ""}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

inline RunResult s2prep(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                        std::chrono::seconds timeout = std::chrono::seconds(120)) {
  args.insert(args.begin(), kBin);
  return s2prep::testing::run_process(args, clean_env(std::move(env)), timeout);
}

// Everything a failed expectation needs to explain itself.
inline std::string describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
         "\n--- stdout ---\n" + r.out + "\n--- stderr ---\n" + r.err;
}

// The stderr lines that are not log lines (the error sentence of a failed run).
inline std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("s2prep: error:", 0) == 0) out.push_back(line);
  }
  return out;
}

// A run started in the background, killed at a moment the test chooses. Output goes to files
// (no pipes to drain), so the child never blocks on the test.
class Background {
 public:
  Background(std::vector<std::string> args, const std::map<std::string, std::string>& extra_env,
             const fs::path& log_dir) {
    args.insert(args.begin(), kBin);
    out_path_ = log_dir / "bg.stdout";
    err_path_ = log_dir / "bg.stderr";
    std::vector<std::string> env_strings;
    const auto env = clean_env(extra_env);
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      if (!env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, argp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : args) argp.push_back(s.data());
    argp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, argp[0], &actions, nullptr, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  }
  ~Background() {
    if (pid_ > 0) kill_now();
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return false;
    }
    return true;
  }
  // SIGKILL: the process gets no chance to clean up, as after a power cut or the OOM killer.
  int kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
    }
    return exit_code_;
  }
  // Sends `sig` (e.g. SIGINT as Ctrl-C does, SIGTERM as a scheduler does).
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  int wait() {
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
    }
    return exit_code_;
  }
  // Polls `condition` until it holds (true) or the process ends or the deadline passes (false).
  // The deadline only stops a hang: callers give many times what the condition takes.
  bool wait_for(const std::function<bool()>& condition, std::chrono::seconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      if (condition()) return true;
      if (!running()) return condition();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::string err() const { return slurp(err_path_); }
  std::string out() const { return slurp(out_path_); }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  fs::path out_path_, err_path_;
};

// ---------------------------------------------------------------------------------------------
// Files.

inline std::string read_text(const fs::path& p) { return Background::slurp(p); }

inline json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("cannot open " + p.string());
  return json::parse(in);
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// Every regular file under `dir` (relative paths, sorted).
inline std::vector<std::string> list_files(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// Rasters, read back with GDAL itself.

struct GdalInit {
  GdalInit() { GDALAllRegister(); }
};

struct DatasetCloser {
  void operator()(void* ds) const {
    if (ds) GDALClose(static_cast<GDALDatasetH>(ds));
  }
};
using Dataset = std::unique_ptr<void, DatasetCloser>;

inline Dataset open_raster(const fs::path& p) {
  static GdalInit init;
  Dataset ds(GDALOpenEx(p.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!ds) throw std::runtime_error("GDAL cannot open " + p.string());
  return ds;
}

struct RasterInfo {
  int width = 0;
  int height = 0;
  int bands = 0;
  GDALDataType type = GDT_Unknown;
  std::optional<double> nodata;
  std::vector<std::string> descriptions;
  std::array<double, 6> transform{};
  std::string epsg;    // authority code of the CRS, e.g. "32633"
  std::string layout;  // IMAGE_STRUCTURE LAYOUT (COG for cloud-optimized)
};

inline RasterInfo raster_info(const fs::path& p) {
  auto ds = open_raster(p);
  auto h = static_cast<GDALDatasetH>(ds.get());
  RasterInfo info;
  info.width = GDALGetRasterXSize(h);
  info.height = GDALGetRasterYSize(h);
  info.bands = GDALGetRasterCount(h);
  GDALGetGeoTransform(h, info.transform.data());
  if (info.bands > 0) {
    auto b = GDALGetRasterBand(h, 1);
    info.type = GDALGetRasterDataType(b);
    int has = 0;
    const double nd = GDALGetRasterNoDataValue(b, &has);
    if (has) info.nodata = nd;
  }
  for (int i = 1; i <= info.bands; ++i) {
    info.descriptions.push_back(GDALGetDescription(GDALGetRasterBand(h, i)));
  }
  if (auto srs = GDALGetSpatialRef(h)) {
    if (const char* code = OSRGetAuthorityCode(srs, nullptr)) info.epsg = code;
  }
  if (const char* layout = GDALGetMetadataItem(h, "LAYOUT", "IMAGE_STRUCTURE")) {
    info.layout = layout;
  }
  return info;
}

// One band (1-based) as doubles; `window` {col, row, width, height} or the whole raster.
inline std::vector<double> read_band(const fs::path& p, int band,
                                     std::optional<std::array<int, 4>> window = std::nullopt) {
  auto ds = open_raster(p);
  auto h = static_cast<GDALDatasetH>(ds.get());
  const std::array<int, 4> w =
      window ? *window : std::array<int, 4>{0, 0, GDALGetRasterXSize(h), GDALGetRasterYSize(h)};
  std::vector<double> out(std::size_t(w[2]) * w[3]);
  if (GDALRasterIO(GDALGetRasterBand(h, band), GF_Read, w[0], w[1], w[2], w[3], out.data(), w[2],
                   w[3], GDT_Float64, 0, 0) != CE_None) {
    throw std::runtime_error("GDAL cannot read band " + std::to_string(band) + " of " + p.string());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The synthetic scene (tools/scenegen) and the server that plays Planetary Computer.

// Small tiles keep the suite fast; 480 px tiles are 4.8 km wide, the demo region ~1 km.
inline constexpr int kSceneSize = 480;

struct Scene {
  fs::path root;  // the generated files; item hrefs are relative to it
  scenegen::SceneSpec spec;
  std::vector<scenegen::GeneratedItem> items;  // only `item` is set when read from the cache
  double extent_m() const { return spec.tiles.at(0).extent_m(); }
};

// ctest runs every test in a process of its own, so the scene is cached on disk under the
// build folder, keyed by this executable's name and build time (it links the generator
// statically: a changed generator means a new key). The first process generates it under a
// lock; the others wait and reuse it. Only this executable's older scenes are removed: another
// test executable (test_examples shares this file) may be reading its own scene right now.
inline fs::path cached_scene_dir(const scenegen::SceneSpec& spec, int size, std::uint64_t seed) {
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  const auto built = fs::last_write_time(exe).time_since_epoch().count();
  const std::string prefix = "scene-" + exe.filename().string() + "-";
  const std::string key =
      prefix + std::to_string(size) + "-" + std::to_string(seed) + "-" + std::to_string(built);
  const fs::path cache = fs::path(S2PREP_BIN).parent_path() / "test-cache";
  fs::create_directories(cache);
  const fs::path dir = cache / key;
  struct Lock {
    int fd;
    explicit Lock(const fs::path& p) : fd(::open(p.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644)) {
      if (fd < 0 || ::flock(fd, LOCK_EX) != 0)
        throw std::runtime_error("cannot lock " + p.string());
    }
    ~Lock() { ::close(fd); }
  } lock(cache / "cli-scene.lock");
  if (fs::exists(dir / "items.json")) return dir;
  // Scenes of older builds are stale.
  for (const auto& e : fs::directory_iterator(cache)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove_all(e.path());
  }
  const fs::path tmp = cache / (key + ".tmp");
  fs::remove_all(tmp);
  const auto items = scenegen::generate(spec, tmp, "");
  // Written last: its presence marks the scene complete.
  write_text(tmp / "items.json", scenegen::feature_collection(items, "").dump());
  fs::rename(tmp, dir);
  return dir;
}

// The standard scene, generated once per build (the first caller pays, ~10 s on 2 cores).
inline const Scene& shared_scene() {
  static const std::unique_ptr<Scene> scene = [] {
    auto s = std::make_unique<Scene>();
    s->spec = scenegen::standard_scene(kSceneSize, 7);
    s->root = cached_scene_dir(s->spec, kSceneSize, 7);
    const json collection = read_json(s->root / "items.json");
    for (const auto& f : collection.at("features")) {
      scenegen::GeneratedItem g;
      g.item = f;
      s->items.push_back(std::move(g));
    }
    return s;
  }();
  return *scene;
}

// Serves the files under `root` and those of the generated `items` for which `keep` holds, with
// hrefs pointing at this server.
inline void serve_items(TestServer& server, const fs::path& root,
                        const std::vector<scenegen::GeneratedItem>& items,
                        const std::function<bool(const json&)>& keep = {}) {
  server.serve_directory(root);
  for (const auto& g : items) {
    if (keep && !keep(g.item)) continue;
    json item = g.item;
    for (auto& [key, asset] : item["assets"].items()) {
      asset["href"] = server.blob_url(asset["href"].get<std::string>());
    }
    server.add_item(std::move(item));
  }
}

// Serves the scene's files and those of its items for which `keep` holds.
inline void serve_scene(TestServer& server, const Scene& scene,
                        const std::function<bool(const json&)>& keep = {}) {
  serve_items(server, scene.root, scene.items, keep);
}

// The scene's items (as generated, relative hrefs) of one acquisition date ("2023-08-12").
inline std::vector<const scenegen::GeneratedItem*> items_on(const Scene& scene,
                                                            const std::string& date) {
  std::vector<const scenegen::GeneratedItem*> out;
  for (const auto& g : scene.items) {
    if (g.item["properties"]["datetime"].get<std::string>().rfind(date, 0) == 0) out.push_back(&g);
  }
  return out;
}

// The date range flags selecting exactly one date of the scene.
inline std::vector<std::string> on_date(const std::string& date) {
  return {"--start", date, "--end", date};
}

// A lon/lat WKT polygon of a rectangle given in a projected CRS (densified, so it follows the
// projection closely).
inline std::string lonlat_rectangle(int epsg, double x0, double y0, double x1, double y1) {
  geo::Transformer t("EPSG:" + std::to_string(epsg), "EPSG:4326");
  std::vector<std::array<double, 2>> ring;
  constexpr int kSteps = 4;
  for (int i = 0; i < kSteps; ++i) ring.push_back(t(x0 + (x1 - x0) * i / kSteps, y0));
  for (int i = 0; i < kSteps; ++i) ring.push_back(t(x1, y0 + (y1 - y0) * i / kSteps));
  for (int i = 0; i < kSteps; ++i) ring.push_back(t(x1 - (x1 - x0) * i / kSteps, y1));
  for (int i = 0; i < kSteps; ++i) ring.push_back(t(x0, y1 - (y1 - y0) * i / kSteps));
  ring.push_back(ring.front());
  std::string wkt = "POLYGON((";
  char buf[64];
  for (std::size_t i = 0; i < ring.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.8f %.8f", i ? ", " : "", ring[i][0], ring[i][1]);
    wkt += buf;
  }
  return wkt + "))";
}

// A region of the standard scene in fractions of a tile width, measured from 33UUP's upper-left
// corner (x to the east, y to the south), as tools/scenegen/presets.cpp places things. 33UUP
// spans x 0..1, 33UVP x 0.9..1.9, 32UQU (UTM zone 32) about x -0.5..0.5.
inline std::string scene_region(const Scene& scene, double fx0, double fy0, double fx1,
                                double fy1) {
  const auto& t = scene.spec.tiles.at(0);
  const double e = scene.extent_m();
  return lonlat_rectangle(32633, t.origin_x + fx0 * e, t.origin_y - fy1 * e, t.origin_x + fx1 * e,
                          t.origin_y - fy0 * e);
}

// ---------------------------------------------------------------------------------------------
// Outputs.

inline const std::vector<std::string>& band_names() {
  static const std::vector<std::string> names{"B01", "B02", "B03", "B04", "B05", "B06",
                                              "B07", "B08", "B8A", "B09", "B11", "B12"};
  return names;
}

// The item's asset href (as generated: relative to the scene folder) of a band.
inline fs::path band_file(const Scene& scene, const json& item, const std::string& band) {
  return scene.root / item.at("assets").at(band).at("href").get<std::string>();
}

}  // namespace s2prep::clitest

namespace s2prep::clitest {

// The standard scene behind a server that signs like Planetary Computer does.
struct ServedScene {
  explicit ServedScene(const std::function<bool(const json&)>& keep = {}) {
    server.set_require_signing(true);
    serve_scene(server, shared_scene(), keep);
  }
  // `s2prep run` over `region` and `dates` ({start, end}) into `out`, plus `extra` flags.
  RunResult run(const std::string& region, const std::array<std::string, 2>& dates,
                const fs::path& out, std::vector<std::string> extra = {},
                std::map<std::string, std::string> env = {}) const {
    return s2prep(args(region, dates, out, std::move(extra)), std::move(env));
  }
  std::vector<std::string> args(const std::string& region, const std::array<std::string, 2>& dates,
                                const fs::path& out, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a{"run",         "--geometry",       region,
                               "--start",     dates[0],           "--end",
                               dates[1],      "--stac-url",       server.stac_url(),
                               "--token-url", server.token_url(), "--out",
                               out.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  TestServer server;
};

// The demo region of the standard scene: ~1 km across the 33UUP/33UVP overlap (two tiles).
inline std::string demo_region() { return scenegen::demo_region_wkt(shared_scene().spec); }

// The outputs' STAC Items, in the order of items.json.
inline std::vector<json> output_items(const fs::path& out) {
  return read_json(out / "items.json").at("features").get<std::vector<json>>();
}

inline fs::path asset_path(const fs::path& out, const json& item, const std::string& key) {
  return out / item.at("assets").at(key).at("href").get<std::string>();
}

// The generated Item with this id.
inline const scenegen::GeneratedItem& generated_item(const std::string& id) {
  for (const auto& g : shared_scene().items) {
    if (g.item.at("id") == id) return g;
  }
  throw std::runtime_error("no generated item " + id);
}

// The files that differ between folders `a` and `b` (by name or bytes), apart from `ignore`.
// run.json and folder.json name the server's URL, so runs against different servers differ
// there.
inline std::vector<std::string> differing_files(const fs::path& a, const fs::path& b,
                                                const std::vector<std::string>& ignore = {}) {
  std::vector<std::string> diff;
  auto fa = list_files(a), fb = list_files(b);
  for (auto* list : {&fa, &fb}) {
    std::erase_if(*list, [&](const std::string& f) {
      return std::find(ignore.begin(), ignore.end(), f) != ignore.end();
    });
  }
  if (fa != fb) diff.push_back("(file lists differ)");
  for (const auto& f : fa) {
    if (!fs::exists(b / f) || read_text(a / f) != read_text(b / f)) diff.push_back(f);
  }
  return diff;
}

}  // namespace s2prep::clitest
