#pragma once
// The whole workflow (the reference workflow's tasks s2 and cloud): search, select, read the region
// from the COGs, harmonize, mosaic, product mask, cloud and shadow probabilities, merged mask,
// outputs (COGs + STAC), resumable. The library entry point the CLI's `run` is a thin shell over.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mask/model_loading.hpp"
#include "pipeline/request.hpp"

namespace s2prep::pipeline {

enum class Layout { kGrid, kTile };

struct RunOptions {
  Request request;
  std::filesystem::path out_dir;
  Layout layout = Layout::kGrid;
  bool full_tile = false;           // tile layout: the whole tile, as the reference writes
  bool keep_probabilities = false;  // also write cloud and shadow probabilities
  std::filesystem::path model_dir;  // where bare model names and `auto` look
  int jobs = 0;                     // parallel reads; 0 = a sensible default
  int inference_threads = 0;        // threads of the ONNX engine; 0 = all cores
  mask::EngineChoice engine = mask::EngineChoice::automatic;  // which engine runs ONNX models
  // Acquisitions processed at once: with 2, the next acquisition is read while the current one
  // is in inference (each holds its stack in memory). Default 1: with two in flight, repeated
  // runs gave pixel-identical but not always byte-identical COGs under load (cause not found).
  int acquisitions_in_flight = 1;
  bool harmonize = true;    // subtract the 04.00 baseline offset
  bool force = false;       // recompute outputs that exist and check out complete
  int dilation_radius = 5;  // pixels
  int min_area = 0;         // pixels; 0 = off
  int context_margin = 64;  // pixels of context read around the grid for the models
  bool quicklook = false;   // PNG quicklooks, contact sheet and index.html
  // A folder holding the outputs of another request (region, catalogue, layout, grid) is
  // refused; with this set, that request's outputs are removed and the folder taken over.
  bool replace_request = false;
  // One grid and one set of outputs per feature of the geometry, each in a sub-folder of
  // out_dir named from the feature's id, else its name, else its position.
  bool per_feature = false;
  // Memory one output unit may need; 0: the machine's (or cgroup's) memory.
  std::uint64_t memory_limit_bytes = 0;
  bool allow_incomplete = false;  // start even when the catalogue search may be incomplete
};

// Figures of one output (one acquisition, or one acquisition and tile in tile layout).
struct OutputSummary {
  std::string datetime;  // ISO UTC
  std::string name;      // file stem, e.g. S2_20230601T100559
  std::vector<std::string> tiles;
  std::vector<std::string> item_ids;
  double coverage = 0;               // fraction of the region covered by the selected tiles
  double valid_fraction = 0;         // of the output grid's pixels
  double cloud_fraction = 0;         // of valid pixels: cloud probability above threshold
  double shadow_fraction = 0;        // of valid pixels: shadow probability above threshold
  double product_mask_fraction = 0;  // of valid pixels: SCL flagged (classes 1-4)
  double masked_fraction = 0;        // of valid pixels: final mask 1
  std::string cloud_model;
  std::string shadow_model;
  bool resumed = false;  // outputs were complete already and were not recomputed
};

struct RunReport {
  std::vector<OutputSummary> outputs;
  std::vector<nlohmann::json> skipped;  // acquisitions not used, with reasons
  std::filesystem::path items_json;
  std::vector<std::string> notices;  // e.g. "no reference cloud model found; using builtin"
};

// Progress of a run, for a live display or log lines. Stages: "search", "read", "inference",
// "write". `done`/`total` count band reads for "read" and chips for "inference".
struct Progress {
  std::string stage;
  std::string acquisition;  // ISO datetime
  std::size_t acquisition_index = 0;
  std::size_t acquisition_count = 0;
  double done = 0;
  double total = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

RunReport run(const RunOptions& options, const ProgressCallback& progress = {});

}  // namespace s2prep::pipeline
