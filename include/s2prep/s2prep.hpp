#pragma once
// s2prep's library: "this field, this time range" to analysis-ready Sentinel-2 imagery, one
// 12-band 10 m raster and one cloud/shadow mask per acquisition. The command-line tool and the
// Python module are thin shells over these few calls.
//
//   s2prep::RunOptions options;
//   options.request.geometry = "field.geojson";
//   options.request.start = "2023-06-01";
//   options.request.end = "2023-06-30";
//   options.out_dir = "out";
//   s2prep::run(options);  // out/items.json, out/S2_<time>_raster.tif, ..._mask.tif
//
// Every call validates its options first (InputError naming the option) and throws only the
// types of <s2prep/errors.hpp>: InputError (bad input), NothingFoundError (nothing can cover the
// region), RemoteError (a service failed), DataError (pixels could not be read or written),
// Cancelled (a stop was requested), Error (anything else). Calls are independent: several may
// run at once in one process, each with its own options.

#include <functional>
#include <string_view>

#include <s2prep/errors.hpp>
#include <s2prep/grid.hpp>
#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

namespace s2prep {

// "0.2.0"
const char* version();

// Applies the process-wide settings (GDAL's configuration, the inference engines' threads).
// Only the first call has an effect: it returns true; later calls return false and change
// nothing. search(), plan(), load() and run() call it with the defaults when nobody has.
bool initialize(const ProcessSettings& settings = {});

enum class LogLevel { debug, info, warning, error };
// Receives s2prep's log lines (without time or level prefix), from any thread, possibly from
// several at once: it must be thread-safe. (s2prep takes no lock around it, so a handler that
// waits on a lock of its own, such as Python's GIL, cannot deadlock against s2prep's.)
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

// Where s2prep's log lines go, process-wide (like GDAL's CPLSetErrorHandler): lines at
// `min_level` and above go to `handler`; an empty handler restores the default (stderr).
void set_log_handler(LogHandler handler, LogLevel min_level = LogLevel::info);

// The acquisitions the workflow would use for the request, without reading pixels. A search that
// finds nothing returns an empty result (see `skipped`) rather than throwing.
// A stop request ends it between two catalogue pages (Cancelled).
SearchResult search(const Request& request, std::stop_token stop = {});

// The outputs run() would write (names, items and grids), without reading pixels (the tile
// layout reads each tile's COG header for its grid). Throws NothingFoundError when no
// acquisition can cover the region.
Plan plan(const ProcessingOptions& options);

// Makes every output and returns them in memory on one grid (grid layout only): the same pixels
// run() writes. Mind the memory: 12 x 2 bytes + 2 per pixel and acquisition (plus 8 with
// probabilities).
LoadResult load(const ProcessingOptions& options, const ProgressCallback& progress = {});

// Writes the outputs into options.out_dir: per output a 12-band raster and a mask (COGs), the
// product mask, optionally the probabilities, and a STAC Item; items.json catalogues every
// complete output. Resumable: outputs already complete for the same request are kept.
RunResult run(const RunOptions& options, const ProgressCallback& progress = {});

// Scale-out: plan once, run the units anywhere, collect.
//
// write_plan() searches and selects once and writes options.out_dir/plan.json: the frozen STAC
// items, the resolved parameters (never the key), the models (name and sha256) and the
// numbered units with their grids. Throws NothingFoundError as plan().
Plan write_plan(const RunOptions& options);

// Makes the plan's units of `options.shard` (skipping those complete already) in the folder of
// the plan (or options.out_dir); the files are byte-identical to a single run of the plan. A
// failed unit fails the call; nothing half-written is left. Several shards may run at once on
// the same folder (also from other machines sharing it).
RunResult run_plan(const std::filesystem::path& plan_file, const PlanRunOptions& options,
                   const ProgressCallback& progress = {});

// Rewrites out_dir/items.json from the complete outputs and lists the plan's units that are
// missing. Throws InputError when out_dir holds no plan.json.
CollectResult collect(const std::filesystem::path& out_dir);

}  // namespace s2prep
