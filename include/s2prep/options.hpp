#pragma once
// What a caller asks s2prep for: the region, the time range, the services, the workflow's
// parameters (with the reference workflow's names) and how the outputs are laid out. Plain
// structs; the library validates them (InputError naming the option) when a call starts.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace s2prep {

inline constexpr const char* kDefaultStacUrl =
    "https://planetarycomputer.microsoft.com/api/stac/v1";
inline constexpr const char* kDefaultTokenUrl =
    "https://planetarycomputer.microsoft.com/api/sas/v1/token";
inline constexpr const char* kDefaultCollection = "sentinel-2-l2a";

// The services asked. Empty URLs are taken from the environment when the call starts
// (S2PREP_STAC_URL, S2PREP_TOKEN_URL), else Planetary Computer's.
struct Services {
  std::string stac_url;   // STAC API root
  std::string token_url;  // SAS token service base; "none": assets are not signed
  // Hosts besides Azure Blob Storage and the token service's own host whose asset hrefs are
  // signed ("example.com", or ".example.com" with its subdomains). A token is never appended to
  // an href on any other host.
  std::vector<std::string> sign_hosts;
  std::string collection = kDefaultCollection;
};

// HTTP settings for the catalogue, token and metadata requests of one call (band reads are
// bounded by WorkflowParams::dl_timeout). They apply to that call only: two calls in one process
// with different settings each get theirs.
struct HttpSettings {
  double connect_timeout_s = 10;
  // One attempt of one request; 0: WorkflowParams::dl_timeout.
  double request_timeout_s = 0;
  // One request with all its retries and waits.
  double total_timeout_s = 120;
  int max_attempts = 6;    // 429, 5xx, resets and timeouts are retried with backoff and jitter
  std::string user_agent;  // empty: "s2prep/<version>"
  // Sent with every request to the STAC API's origin (scheme, host, port) only, never to another
  // origin a redirect or a `next` link points at: e.g. {"Authorization", "Bearer …"} for a
  // private catalogue. Never written anywhere.
  std::vector<std::pair<std::string, std::string>> stac_headers;
};

// The workflow's parameters, named as the reference workflow names them.
struct WorkflowParams {
  double min_tile_cover = 0.99;           // (0, 1]
  std::optional<int> max_tiles_per_time;  // >= 1; none = unlimited
  double cloud_thr = 0.3;                 // [0, 1]
  double shadow_thr = 0.2;                // [0, 1]
  bool in_memory = false;                 // hold the stack in memory for inference
  std::string cloud_model = "auto";       // a path, a file name in the model folder, builtin, auto
  std::string shadow_model = "auto";
  // Planetary Computer subscription key; unset: PC_SDK_SUBSCRIPTION_KEY from the environment.
  // Never printed or written.
  std::optional<std::string> pc_key;
  double dl_timeout = 120;  // seconds one band read may take, retries included

  // Throws InputError naming the parameter when a value is out of range.
  void validate() const;
};

// Reads a YAML or JSON parameters file (the command line's --params; JSON is read as YAML, its
// superset). Keys must be the workflow's names exactly; an unknown key or a value of the wrong
// type is an InputError naming the file and the key. Only keys present in the file are set in
// `params`; returns their names.
std::vector<std::string> load_params_file(const std::filesystem::path& file,
                                          WorkflowParams& params);

struct Request {
  // A GeoJSON file or any vector file GDAL reads, or inline GeoJSON or WKT (lon/lat when no CRS
  // is given).
  std::string geometry;
  std::string start;  // ISO 8601 date or UTC date-time, inclusive
  std::string end;    // inclusive: a date means the end of that day
  Services services;
  WorkflowParams params;
  std::optional<double> max_cloud_cover;  // percent in [0, 100]
  // STAC Items (GeoJSON text) to select from instead of searching the catalogue: a selection the
  // caller already has (SearchResult::items, pystac-client, a file). The time range and the
  // region still apply.
  std::optional<std::vector<std::string>> items;
  HttpSettings http;

  // Throws InputError naming the value at fault; also validates params.
  void validate() const;
};

enum class Layout {
  grid,  // one raster and mask per acquisition, on one grid shared by every acquisition
  tile,  // one per acquisition and tile, on the tile's own grid (as the reference workflow)
};

enum class Engine { automatic, onednn, opencv };  // which engine runs ONNX models

// "grid" / "tile"; "auto" / "onednn" / "opencv". Throw InputError naming the value otherwise.
Layout parse_layout(std::string_view text);
Engine parse_engine(std::string_view text);
std::string_view to_string(Layout layout);
std::string_view to_string(Engine engine);

// How the pixels are made: everything load() and run() share.
struct ProcessingOptions {
  Request request;
  Layout layout = Layout::grid;
  bool full_tile = false;           // tile layout only: whole tiles instead of the region's window
  bool keep_probabilities = false;  // also produce the cloud and shadow probabilities
  // Where bare model names and `auto` look; empty: S2PREP_MODEL_DIR from the environment.
  std::filesystem::path model_dir;
  Engine engine = Engine::automatic;
  int jobs = 0;  // parallel band reads; 0: 4 per core, at most 32
  // Acquisitions processed at once: with 2, the next acquisition is read while the current one
  // is in inference (each holds its own rasters). Grids above 16 Mpx always go one at a time.
  // The outputs are byte-identical whatever the number.
  int acquisitions_in_flight = 2;
  bool harmonize = true;    // subtract the offset of processing baseline 04.00 and later
  int dilation_radius = 5;  // pixels
  int min_area = 0;         // pixels; 0 = off
  int context_margin = 64;  // pixels of imagery read around the grid as context for the models
  // Memory one output may need; 0: the machine's (or the cgroup's) memory.
  std::uint64_t memory_limit_bytes = 0;
  bool allow_incomplete = false;  // go on when the catalogue search may be incomplete
  // A stop request makes the call throw Cancelled soon (within one band read or one chip).
  std::stop_token stop;

  // Throws InputError naming the option; also validates request.params.
  void validate() const;
};

// What run() writes, besides the pixels.
struct RunOptions : ProcessingOptions {
  std::filesystem::path out_dir;  // created when there is something to write
  bool force = false;             // recompute outputs that exist and check out complete
  bool quicklook = false;         // PNG quicklooks, a contact sheet and index.html
  // A folder holding another request's outputs (region, catalogue, layout, grid) is refused;
  // with this set, they are removed and the folder taken over.
  bool replace_request = false;
  // One grid and one set of outputs per feature of the geometry, each in a sub-folder of out_dir
  // named from the feature's id, else its name, else its position.
  bool per_feature = false;
};

// One worker's share of a plan's units: every unit whose number modulo `count` is `index`.
struct Shard {
  int index = 0;
  int count = 1;
};

// "I/N" (0 <= I < N); throws InputError naming the value otherwise.
Shard parse_shard(std::string_view text);

// The shard a cluster engine gives this process: SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN
// with SLURM_ARRAY_TASK_COUNT (Slurm job arrays), else JOB_COMPLETION_INDEX (Kubernetes Indexed
// Jobs), else AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch), with the count from `count`, else
// S2PREP_SHARD_COUNT, where the engine gives none. Throws InputError saying what is missing.
Shard shard_from_environment(std::optional<int> count = std::nullopt);

// Running a plan written by write_plan(): what the worker decides; everything that determines
// the outputs comes from the plan.
struct PlanRunOptions {
  std::filesystem::path out_dir;  // empty: the folder that holds the plan
  Shard shard;
  // Where the plan's model names are resolved (the files must have the planned sha256); empty:
  // S2PREP_MODEL_DIR.
  std::filesystem::path model_dir;
  int jobs = 0;
  int acquisitions_in_flight = 2;
  std::uint64_t memory_limit_bytes = 0;
  bool force = false;
  std::stop_token stop;
};

// Settings that are process-wide by nature (GDAL's configuration and block cache, the
// inference engines' thread pools). initialize() applies them once; a call to search(), plan(),
// load() or run() before it initializes with the defaults.
struct ProcessSettings {
  int inference_threads = 0;  // OpenCV's and oneDNN's (OpenMP) threads; 0: all cores
  int gdal_cache_mb = 0;      // GDAL's block cache; 0: 256 MB
  int gdal_threads = 0;       // threads GDAL uses inside one operation (COG compression); 0: all
};

}  // namespace s2prep
