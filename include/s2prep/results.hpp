#pragma once
// What s2prep's calls return: the acquisitions a search selects, the outputs a plan will make,
// the figures of a run, the pixels of a load. Plain structs; times are ISO 8601 UTC strings
// ("2023-06-01T10:05:59Z").

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <s2prep/grid.hpp>

namespace s2prep {

// Progress of a call. Stages: "search", "read", "inference", "write". `done`/`total` count band
// reads for "read" and chips for "inference".
//
// Threading: the callback is called from s2prep's worker threads (not necessarily the caller's),
// one call at a time, never concurrently. It should return quickly. To stop the work, request a
// stop on ProcessingOptions::stop; an exception thrown by the callback also stops it and is
// rethrown by the call.
struct Progress {
  std::string stage;
  std::string acquisition;  // ISO datetime
  std::size_t acquisition_index = 0;
  std::size_t acquisition_count = 0;
  double done = 0;
  double total = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

// One acquisition the workflow uses: the items (tiles) that cover the region at one time.
struct Acquisition {
  std::string datetime;
  std::vector<std::string> item_ids;  // mosaic order: an earlier item wins where items overlap
  std::vector<std::string> tiles;     // MGRS tiles of the items, same order
  double coverage = 0;  // fraction of the region covered by the union of the items' footprints
  std::optional<double> cloud_cover;  // the largest eo:cloud_cover of the items, percent
};

struct SkippedAcquisition {
  std::string datetime;  // empty for a feature without any usable acquisition
  std::vector<std::string> item_ids;
  std::string reason;   // e.g. "covers 0.62 of the region, below min_tile_cover 0.99"
  std::string feature;  // the feature's sub-folder name in per-feature runs, else empty
};

struct SearchResult {
  std::vector<Acquisition> acquisitions;  // time order
  std::vector<SkippedAcquisition> skipped;
  std::size_t items_found = 0;
  // False when the catalogue may have held more items than it returned: acquisitions may be
  // missing (see warnings). load() and run() refuse such a selection unless allow_incomplete.
  bool complete = true;
  std::vector<std::string> warnings;
  // Why no acquisition can be used, in one sentence; empty when some can.
  std::string nothing_found;
  // Every item found, as the STAC Item GeoJSON the catalogue returned: pass them as
  // Request::items to plan, load or run this selection without searching again.
  std::vector<std::string> items;
  std::string region_wkt;  // the region searched, lon/lat
  std::string start, end;  // the time range searched

  // The command line's `search --json` object.
  std::string to_json() const;
};

// One output a run writes (an acquisition on the grid, or an acquisition and tile).
struct PlannedOutput {
  std::string name;  // file stem, e.g. S2_20230601T100559 or S2_20230601T100559_T33UUP
  std::string datetime;
  std::vector<std::string> item_ids;
  std::vector<std::string> tiles;
  Grid grid;
  // Estimated peak memory while this output is made.
  std::uint64_t memory_bytes = 0;
  // Local scratch disk it needs meanwhile (the 12 bands, when they stay on disk; else 0).
  std::uint64_t scratch_bytes = 0;
  // Size of its output files at most (uncompressed, with overviews); compressed files are
  // usually half of this or less.
  std::uint64_t output_bytes = 0;
};

struct Plan {
  SearchResult search;
  std::vector<PlannedOutput> outputs;  // time order, then tile
};

struct ModelInfo {
  std::string name;    // file name, or "builtin"
  std::string sha256;  // of the model file; empty for builtin
  std::string engine;  // "onednn", "opencv" or "builtin"
};

// Figures of one output.
struct OutputSummary {
  std::string datetime;
  std::string name;
  std::vector<std::string> tiles;
  std::vector<std::string> item_ids;
  double coverage = 0;               // fraction of the region covered by the selected tiles
  double valid_fraction = 0;         // of the output grid's pixels
  double cloud_fraction = 0;         // of valid pixels: cloud probability above threshold
  double shadow_fraction = 0;        // of valid pixels: shadow probability above threshold
  double product_mask_fraction = 0;  // of valid pixels: flagged by the product's SCL
  double masked_fraction = 0;        // of valid pixels: final mask 1
  std::string cloud_model;
  std::string shadow_model;
  bool resumed = false;  // outputs were complete already and were not recomputed
};

struct RunResult {
  std::vector<OutputSummary> outputs;
  std::vector<SkippedAcquisition> skipped;
  std::filesystem::path items_json;  // the catalogue (the folder when per feature)
  std::vector<std::string> notices;  // e.g. "no reference cloud model found; using builtin"
};

// The state of a plan's outputs in a folder.
struct CollectResult {
  std::size_t units = 0;              // in the plan
  std::vector<std::string> complete;  // output names
  std::vector<std::string> missing;   // output names of units not (yet) complete
  std::filesystem::path items_json;   // rewritten from the complete outputs
};

// The source items of one loaded acquisition.
struct SourceItem {
  std::string id;
  std::string processing_baseline;  // e.g. "04.00"
  bool harmonized = false;          // the baseline offset was subtracted
};

struct LoadedAcquisition {
  OutputSummary summary;
  std::vector<SourceItem> sources;
};

// load(): every acquisition on one grid, as arrays ready for analysis. The pixels are exactly
// those run() writes into its COGs for the same request.
struct LoadResult {
  Grid grid;
  std::vector<LoadedAcquisition> acquisitions;  // time order; `time` below indexes them
  std::vector<SkippedAcquisition> skipped;
  ModelInfo cloud_model;
  ModelInfo shadow_model;
  std::vector<std::string> notices;
  // Row-major cubes. Reflectance: [band][time][row][col], bands B01 B02 B03 B04 B05 B06 B07 B08
  // B8A B09 B11 B12, uint16 digital numbers (reflectance x 10000), 0 = no data.
  std::vector<std::uint16_t> reflectance;
  std::vector<std::uint8_t> mask;  // [time][row][col]: 0 clear, 1 cloud/shadow, 255 none
  // [time][row][col], from the product's SCL: 0 clear, 1 cloud, 2 cirrus, 3 cloud shadow,
  // 4 saturated or defective, 255 no data.
  std::vector<std::uint8_t> product_mask;
  // [time][row][col] in [0, 1]; empty unless keep_probabilities.
  std::vector<float> cloud_probability;
  std::vector<float> shadow_probability;
};

}  // namespace s2prep
