// Inference benchmark: the stand-in models of ../shared/models in s2prep's two engines (oneDNN
// through load_onednn_model, OpenCV DNN through load_opencv_model) against ONNX Runtime
// (onnxruntime-node, run by bench/ort/ort_bench.mjs on the same input file), with each engine's
// probabilities compared with ONNX Runtime's;
// then the whole cloud task (cloud + shadow model over the reference chipping) for a small
// region's context grid and for a full 10980 px tile, against the reference's chipping cost
// (the reference reads whole tiles, so it runs every chip of the tile whatever the field).
//
// Run `inference_bench --help` for the options; bench/run.sh runs it with the defaults.

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <unistd.h>

#include <s2prep/errors.hpp>
#include "bench_util.hpp"
#include "ingest/grid.hpp"
#include "mask/chipping.hpp"
#include "mask/engine.hpp"
#include "mask/model_loading.hpp"
#include "mask/onednn_engine.hpp"
#include "mask/opencv_engine.hpp"
#include "mask/probability.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace s2prep;
using bench::Clock;
using bench::seconds_since;

constexpr int kChip = mask::kChipSize;
constexpr std::size_t kPlane = std::size_t(kChip) * kChip;
constexpr double kChipMegapixels = kPlane / 1e6;

struct Options {
  fs::path models = fs::path(S2PREP_SHARED_DIR) / "models";
  fs::path io;
  fs::path ort_dir = fs::path(S2PREP_BENCH_DIR) / "ort";
  std::string node = "node";
  int threads = 2;
  int reps = 5;
  int warmup = 1;
  int rounds = 3;
  std::uint64_t seed = 42;
  double region_km = 2;
  int tile_px = 10980;
  bool no_ort = false;
  bool run_full_tile = false;
  std::vector<int> batches = {1, 2, 4};
  int seam_px = 1200;  // side of the scene of the seam comparison; 0 skips it
  std::vector<int> margins = {64, 32, 16};
  fs::path json_out;
};

struct Model {
  std::string name;  // file stem
  fs::path file;
  mask::ModelKind kind = mask::ModelKind::cloud;
};

// A deterministic 12 x size x size raster of plausible L2A digital numbers (reflectance x
// 10000): 32 px patches of vegetation, bare soil, water and cloud, with per-pixel texture. At
// 512 px it is the benchmark chip, written to input_dn.bin, which the ONNX Runtime side reads,
// so both engines see the same values.
BandStack make_scene(int size, std::uint64_t seed) {
  static constexpr int kSpectra[4][12] = {
      {300, 400, 700, 400, 1200, 2800, 3300, 3500, 3600, 3600, 2000, 1000},      // vegetation
      {1000, 1200, 1500, 1800, 2100, 2300, 2500, 2600, 2700, 2700, 3200, 2800},  // soil
      {500, 600, 500, 300, 250, 200, 180, 150, 140, 130, 80, 50},                // water
      {6000, 6200, 6300, 6400, 6400, 6400, 6400, 6500, 6400, 5500, 4000, 3000},  // cloud
  };
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  auto next = [&state] {  // xorshift64*
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (state * 0x2545F4914F6CDD1DULL) >> 11;
  };
  auto uniform = [&] { return double(next()) / double(1ULL << 53); };
  constexpr int kPatch = 32;
  const int patches = (size + kPatch - 1) / kPatch;
  std::vector<int> cover(std::size_t(patches) * patches);
  for (auto& c : cover) {
    const double u = uniform();
    c = u < 0.45 ? 0 : u < 0.75 ? 1 : u < 0.87 ? 2 : 3;
  }
  Grid grid;
  grid.epsg = 32633;
  grid.transform = {500000, 10, 0, 5500000, 0, -10};
  grid.width = grid.height = size;
  BandStack stack(grid, 12, 0);
  for (int r = 0; r < size; ++r) {
    for (int c = 0; c < size; ++c) {
      const int k = cover[std::size_t(r / kPatch) * patches + c / kPatch];
      const double texture = 0.85 + 0.3 * uniform();
      for (int b = 0; b < 12; ++b) {
        const double dn = std::round(kSpectra[k][b] * texture);
        stack.at(b, r, c) = static_cast<std::uint16_t>(std::clamp(dn, 1.0, 65535.0));
      }
    }
  }
  return stack;
}

BandStack make_input(std::uint64_t seed) { return make_scene(kChip, seed); }

template <class T>
void write_binary(const fs::path& path, const std::vector<T>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
  if (!out) throw DataError("Cannot write " + path.string() + "; check the --io folder.");
}

std::vector<float> read_floats(const fs::path& path, std::size_t count) {
  std::vector<float> v(count);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), std::streamsize(count * sizeof(float)));
  if (!in) throw DataError("Cannot read " + path.string() + " (ONNX Runtime output).");
  return v;
}

// One engine run on the benchmark chip: a model with its input scaling. `timed` runs follow
// the reference contract (raw DN for cloud, DN x 0.0001 for shadow) and are timed; the
// untimed ones feed cloud models reflectance (DN x 0.0001) instead, only to compare the engines
// where the random-weight stand-ins do not saturate (see docs/benchmarks.md).
struct EngineRun {
  std::string tag;  // file name part: the model name, + "_reflectance" for the parity runs
  const Model* model = nullptr;
  float scale = 1;
  bool timed = true;
};

// s2prep's engines; files of one engine's runs start with its prefix.
enum class Engine { onednn, opencv };
constexpr Engine kEngines[] = {Engine::onednn, Engine::opencv};
std::string prefix(Engine e) { return e == Engine::onednn ? "dnn_" : "ocv_"; }
std::string label(Engine e) { return e == Engine::onednn ? "oneDNN" : "OpenCV"; }

std::unique_ptr<mask::SegmentationModel> load(Engine e, const fs::path& file, mask::ModelKind kind,
                                              int batch = 1) {
  return e == Engine::onednn ? mask::load_onednn_model(file, kind, batch)
                             : mask::load_opencv_model(file, kind);
}

struct EngineResult {
  bool ran = false;
  std::string error;  // why the engine could not load the model
  double load_s = 0;
  double infer_ms = 0;     // median engine time per chip (model->infer only)
  double pipeline_ms = 0;  // median compute_probability time for one chip (scaling, softmax)
};

// Probability from logits with the reference contract's heads.
std::vector<float> probabilities(const std::vector<float>& logits, mask::ModelKind kind) {
  std::vector<float> p(kPlane);
  for (std::size_t i = 0; i < kPlane; ++i) {
    const double z =
        kind == mask::ModelKind::cloud ? double(logits[kPlane + i]) - logits[i] : double(logits[i]);
    p[i] = static_cast<float>(1.0 / (1.0 + std::exp(-z)));
  }
  return p;
}

// Runs every run of one model in engine `e` and writes <prefix><tag>.bin (probabilities) and
// <prefix><tag>_logits.bin. The timed run's probabilities come from compute_probability, the
// pipeline's own path (scaling, softmax/sigmoid, stitching).
EngineResult bench_engine(Engine e, const Model& m, const std::vector<EngineRun>& runs,
                          const BandStack& stack, const Options& o) {
  EngineResult r;
  const auto t0 = Clock::now();
  std::unique_ptr<mask::SegmentationModel> model;
  try {
    model = load(e, m.file, m.kind);
  } catch (const InputError& err) {
    r.error = err.what();
    return r;
  }
  r.ran = true;
  r.load_s = seconds_since(t0);
  std::vector<float> input(stack.data.size());
  std::vector<float> logits(std::size_t(model->output_channels()) * kPlane);
  for (const auto& run : runs) {
    if (run.model != &m) continue;
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = float(stack.data[i]) * run.scale;
    std::vector<double> infer;
    const int warmup = run.timed ? o.warmup : 0, reps = run.timed ? o.reps : 1;
    for (int i = 0; i < warmup + reps; ++i) {
      const auto t = Clock::now();
      model->infer(input.data(), logits.data());
      if (i >= warmup) infer.push_back(seconds_since(t) * 1e3);
    }
    write_binary(o.io / (prefix(e) + run.tag + "_logits.bin"), logits);
    if (!run.timed) {
      write_binary(o.io / (prefix(e) + run.tag + ".bin"), probabilities(logits, m.kind));
      continue;
    }
    r.infer_ms = bench::median(infer);
    FloatRaster prob;
    std::vector<double> pipeline;
    for (int i = 0; i < o.reps; ++i) {
      mask::BandStackChipSource source(stack);
      const auto t = Clock::now();
      prob = mask::compute_probability(*model, m.kind, source);
      pipeline.push_back(seconds_since(t) * 1e3);
    }
    r.pipeline_ms = bench::median(pipeline);
    write_binary(o.io / (prefix(e) + run.tag + ".bin"), prob.data);
  }
  return r;
}

struct Agreement {
  double max_diff = 0;     // probabilities
  int over = 0;            // pixels differing by more than 1e-3
  double unsaturated = 0;  // fraction of pixels with 1e-6 < p < 1 - 1e-6 (OpenCV)
  double logit_rel = 0;    // max |logit difference| / max |logit|
  double logit_max = 0;    // max |logit|
};

Agreement compare(const fs::path& io, const EngineRun& run, Engine e) {
  Agreement a;
  const auto p = read_floats(io / (prefix(e) + run.tag + ".bin"), kPlane);
  const auto q = read_floats(io / ("ort_" + run.tag + ".bin"), kPlane);
  int unsaturated = 0;
  for (std::size_t i = 0; i < kPlane; ++i) {
    const double d = std::abs(double(p[i]) - double(q[i]));
    a.max_diff = std::max(a.max_diff, d);
    if (d > 1e-3) ++a.over;
    if (p[i] > 1e-6 && p[i] < 1 - 1e-6) ++unsaturated;
  }
  a.unsaturated = double(unsaturated) / kPlane;
  const std::size_t n = std::size_t(mask::required_output_channels(run.model->kind)) * kPlane;
  const auto l = read_floats(io / (prefix(e) + run.tag + "_logits.bin"), n);
  const auto k = read_floats(io / ("ort_" + run.tag + "_logits.bin"), n);
  double max_diff = 0;
  for (std::size_t i = 0; i < n; ++i) {
    max_diff = std::max(max_diff, std::abs(double(l[i]) - double(k[i])));
    a.logit_max = std::max(a.logit_max, std::abs(double(k[i])));
  }
  a.logit_rel = a.logit_max > 0 ? max_diff / a.logit_max : 0;
  return a;
}

// A raster of `size` x `size` filled by repeating the benchmark chip (for an actual full-tile
// run): every chip then has data, as on a tile inside the swath.
BandStack tiled(const BandStack& chip, int size) {
  Grid grid = chip.grid;
  grid.width = grid.height = size;
  BandStack out(grid, 12, 0);
  for (int b = 0; b < 12; ++b) {
    for (int r = 0; r < size; ++r) {
      for (int c = 0; c < size; ++c) out.at(b, r, c) = chip.at(b, r % kChip, c % kChip);
    }
  }
  return out;
}

double resident_megabytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / 1e6;
}

// oneDNN with several chips per forward pass: per-chip time of each batch size for each FPN
// stand-in, the sizes interleaved rep by rep so that load from other processes falls on all of
// them alike. Returns the table (and fills `out`).
std::string bench_batches(const std::vector<Model>& models, const BandStack& stack,
                          const Options& o, json& out) {
  bench::Table t(
      {"oneDNN batching (per chip)", "batch", "ms/chip (median)", "vs batch 1", "network MB"});
  out = json::array();
  for (const auto& m : models) {
    if (m.name.find("fpn") == std::string::npos) continue;
    const float scale = m.kind == mask::ModelKind::shadow ? 0.0001f : 1.0f;
    std::vector<std::unique_ptr<mask::SegmentationModel>> nets;
    std::vector<std::vector<float>> inputs, outputs;
    std::vector<double> megabytes;
    try {
      for (int b : o.batches) {
        std::vector<float> in(stack.data.size() * std::size_t(b));
        for (std::size_t i = 0; i < in.size(); ++i) {
          in[i] = float(stack.data[i % stack.data.size()]) * scale;
        }
        std::vector<float> logits(std::size_t(b) * mask::required_output_channels(m.kind) * kPlane);
        // Memory of the network (weights, planned activations, a batch-1 network beside a
        // batched one), as resident memory after its first pass.
        const double before = resident_megabytes();
        nets.push_back(mask::load_onednn_model(m.file, m.kind, b));
        nets.back()->infer(in.data(), logits.data());
        nets.back()->infer_one(in.data(), logits.data());
        megabytes.push_back(resident_megabytes() - before);
        inputs.push_back(std::move(in));
        outputs.push_back(std::move(logits));
      }
    } catch (const InputError& e) {
      t.add({m.name, "-", std::string("not run: ") + e.what(), "-", "-"});
      continue;
    }
    std::vector<std::vector<double>> per_chip(o.batches.size());
    for (int rep = 0; rep < o.warmup + o.reps; ++rep) {
      for (std::size_t k = 0; k < nets.size(); ++k) {
        const auto t0 = Clock::now();
        nets[k]->infer(inputs[k].data(), outputs[k].data());
        if (rep >= o.warmup) per_chip[k].push_back(seconds_since(t0) * 1e3 / o.batches[k]);
      }
    }
    const double one = bench::median(per_chip.front());
    for (std::size_t k = 0; k < nets.size(); ++k) {
      const double ms = bench::median(per_chip[k]);
      t.add({m.name, std::to_string(o.batches[k]), fmt::format("{:.1f}", ms),
             fmt::format("{:.3f}", ms / one), fmt::format("{:.0f}", megabytes[k])});
      out.push_back({{"model", m.name},
                     {"batch", o.batches[k]},
                     {"ms_per_chip", ms},
                     {"network_mb", megabytes[k]}});
    }
  }
  return t.str();
}

// How far a chipping's probabilities are from another's (same grid).
struct Difference {
  double max = 0;
  double mean = 0;
  double over = 0;   // fraction of pixels differing by more than 0.01
  double flips = 0;  // fraction of pixels on the other side of the threshold
};

Difference difference(const FloatRaster& a, const FloatRaster& b, double threshold) {
  Difference d;
  std::size_t over = 0, flips = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i) {
    const double e = std::abs(double(a.data[i]) - double(b.data[i]));
    d.max = std::max(d.max, e);
    d.mean += e;
    over += e > 0.01;
    flips += (a.data[i] > threshold) != (b.data[i] > threshold);
  }
  const double n = double(a.data.size());
  d.mean /= n;
  d.over = over / n;
  d.flips = flips / n;
  return d;
}

// Seams: the FPN stand-ins over a generated scene with the reference chipping and with context
// chipping at each margin, compared with the reference and with a 128 px margin (every written
// pixel then has at least 128 px of context wherever the scene has it: the closest to no seams
// that 512 px chips allow).
std::string bench_seams(const std::vector<Model>& models, Engine e, const Options& o, json& out) {
  const BandStack scene = make_scene(o.seam_px, o.seed + 1);
  bench::Table t({"seams", "chipping", "chips", "vs reference: max |dp|", "> 0.01", "flips",
                  "vs 128 px margin: max |dp|", "mean |dp|", "> 0.01", "flips"});
  out = json::array();
  for (const auto& m : models) {
    if (m.name.find("fpn") == std::string::npos) continue;
    // The default thresholds of the mask (--cloud-thr, --shadow-thr).
    const double threshold = m.kind == mask::ModelKind::cloud ? 0.3 : 0.2;
    std::unique_ptr<mask::SegmentationModel> model;
    try {
      model = load(e, m.file, m.kind);
    } catch (const InputError&) {
      continue;
    }
    auto probability = [&](const std::vector<mask::Chip>* chips) {
      mask::BandStackChipSource source(scene);
      mask::ProbabilityOptions options;
      options.chips = chips;
      return mask::compute_probability(*model, m.kind, source, options);
    };
    auto context_plan = [&](int margin) {
      return mask::plan_context_chips(o.seam_px, o.seam_px, nullptr, nullptr, 0, margin);
    };
    const auto wide_plan = context_plan(128);
    const FloatRaster wide = probability(&wide_plan);
    const FloatRaster reference = probability(nullptr);
    auto add = [&](const std::string& chipping, std::size_t chips, const FloatRaster& p) {
      const Difference r = difference(p, reference, threshold);
      const Difference w = difference(p, wide, threshold);
      t.add({m.name, chipping, std::to_string(chips), fmt::format("{:.2e}", r.max),
             fmt::format("{:.3f} %", 100 * r.over), fmt::format("{:.3f} %", 100 * r.flips),
             fmt::format("{:.2e}", w.max), fmt::format("{:.1e}", w.mean),
             fmt::format("{:.3f} %", 100 * w.over), fmt::format("{:.3f} %", 100 * w.flips)});
      out.push_back(
          {{"model", m.name},
           {"chipping", chipping},
           {"chips", chips},
           {"vs_reference", {{"max", r.max}, {"over_0.01", r.over}, {"flips", r.flips}}},
           {"vs_margin_128",
            {{"max", w.max}, {"mean", w.mean}, {"over_0.01", w.over}, {"flips", w.flips}}}});
    };
    add("reference", mask::plan_chips(o.seam_px, o.seam_px).size(), reference);
    for (int margin : o.margins) {
      const auto plan = context_plan(margin);
      add(fmt::format("context, margin {}", margin), plan.size(), probability(&plan));
    }
  }
  std::string text = t.str();
  text += fmt::format(
      "Seams: {} px scene, {}; flips = pixels on the other side of the mask threshold (0.3 cloud, "
      "0.2 shadow).\n",
      o.seam_px, label(e));
  return text;
}

// Chips per model over a whole tile's context grid: the reference chipping (every chip with
// data) against the grid layout's context chipping, for a tile-sized region, the same region
// with a lake, and the region on a tile whose imagery stops at a swath edge.
struct ChipCounts {
  std::string what;
  int reference = 0;
  int context = 0;
};

std::vector<ChipCounts> tile_chip_counts(int tile_px, int dilation_radius) {
  Grid tile;
  tile.epsg = 32633;
  tile.transform = {500000, 10, 0, 5500000, 0, -10};
  tile.width = tile.height = tile_px;
  const Grid context = ingest::context_grid(tile);
  const Window inner = context.window_of(tile);
  const int n = context.width;
  ByteRaster region(context, 1, 0), no_data(context, 1, 0);
  auto fill = [n](ByteRaster& r, const Window& w, std::uint8_t v) {
    for (int y = w.row; y < w.row + w.height; ++y)
      std::fill_n(r.data.begin() + std::ptrdiff_t(y) * n + w.col, w.width, v);
  };
  auto reference_chips = [&](const ByteRaster* empty) {
    int count = 0;
    for (const auto& c : mask::plan_chips(n, n)) {
      bool data = empty == nullptr;
      for (int y = c.read.row; y < c.read.row + c.read.height && !data; ++y)
        for (int x = c.read.col; x < c.read.col + c.read.width && !data; ++x)
          data = empty->data[std::size_t(y) * n + x] == 0;
      count += data;
    }
    return count;
  };
  auto context_chips = [&](const ByteRaster* empty) {
    return static_cast<int>(mask::plan_context_chips(n, n, &region, empty, dilation_radius).size());
  };
  std::vector<ChipCounts> counts;
  fill(region, inner, 1);
  counts.push_back({"tile-sized region", reference_chips(nullptr), context_chips(nullptr)});
  const int lake = tile_px / 2;
  fill(region, {inner.col + (tile_px - lake) / 2, inner.row + (tile_px - lake) / 2, lake, lake}, 0);
  counts.push_back({fmt::format("same, with a {0} x {0} px lake", lake), reference_chips(nullptr),
                    context_chips(nullptr)});
  fill(region, inner, 1);
  // Imagery only above the diagonal from the bottom-left to the top-right corner.
  for (int y = 0; y < n; ++y)
    std::fill(no_data.data.begin() + std::ptrdiff_t(y) * n + (n - y),
              no_data.data.begin() + std::ptrdiff_t(y + 1) * n, 1);
  counts.push_back({"tile-sized region, imagery on half the tile (swath edge)",
                    reference_chips(&no_data), context_chips(&no_data)});
  return counts;
}

int run(const Options& o) {
  if (!fs::is_directory(o.models)) {
    std::cout << "inference benchmark skipped: no model folder " << o.models.string()
              << " (the stand-in models live in ../shared/models)\n";
    return 0;
  }
  std::vector<Model> models;
  for (const auto& e : fs::directory_iterator(o.models)) {
    if (e.path().extension() != ".onnx") continue;
    Model m;
    m.name = e.path().stem().string();
    m.file = fs::absolute(e.path());
    m.kind = m.name.find("shadow") != std::string::npos ? mask::ModelKind::shadow
                                                        : mask::ModelKind::cloud;
    models.push_back(m);
  }
  std::sort(models.begin(), models.end(),
            [](const Model& a, const Model& b) { return a.name < b.name; });
  if (models.empty()) {
    std::cout << "inference benchmark skipped: no .onnx files in " << o.models.string() << "\n";
    return 0;
  }
  fs::create_directories(o.io);
  mask::set_model_threads(o.threads);

  const BandStack input = make_input(o.seed);
  write_binary(o.io / "input_dn.bin", input.data);
  std::vector<EngineRun> runs;
  for (const auto& m : models) {
    runs.push_back({m.name, &m, m.kind == mask::ModelKind::shadow ? 0.0001f : 1.0f, true});
  }
  for (const auto& m : models) {
    if (m.kind == mask::ModelKind::cloud)
      runs.push_back({m.name + "_reflectance", &m, 0.0001f, false});
  }
  json list = json::array();
  for (const auto& r : runs) {
    list.push_back({{"tag", r.tag},
                    {"name", r.model->name},
                    {"file", r.model->file.string()},
                    {"kind", to_string(r.model->kind)},
                    {"scale", r.scale},
                    {"timed", r.timed}});
  }
  std::ofstream(o.io / "models.json") << list.dump(1) << "\n";

  std::string report = fmt::format(
      "Inference benchmark: one 12 x 512 x 512 chip, {} threads, {} rounds of {} runs after {} "
      "warm-up, the engines taking turns in each round\n",
      o.threads, o.rounds, o.reps, o.warmup);
  std::cout << report << std::flush;

  // Per-chip timing in rounds: every engine (oneDNN, OpenCV, ONNX Runtime) runs every model once
  // per round, so that the other tenants' load on a shared machine, which comes and goes over
  // minutes, falls on all engines alike. A figure is the median of its rounds' medians; a ratio
  // is the median of the ratios within each round.
  std::map<std::string, EngineResult> results[2];  // by Engine
  auto result = [&](Engine e, const std::string& name) -> const EngineResult& {
    return results[int(e)][name];
  };
  std::map<std::string, std::vector<double>> round_ms[2];  // by Engine, model
  std::vector<std::map<std::string, double>> ort_round_ms;
  json ort;
  std::string ort_note;
  for (int round = 0; round < o.rounds; ++round) {
    for (const auto& m : models) {
      for (Engine e : kEngines) {
        EngineResult r = bench_engine(e, m, runs, input, o);
        std::cout << (r.ran ? fmt::format("  round {}: {}: {}: median {:.1f} ms per chip\n",
                                          round + 1, label(e), m.name, r.infer_ms)
                            : fmt::format("  {}: {}: not run: {}\n", label(e), m.name, r.error))
                  << std::flush;
        if (r.ran) round_ms[int(e)][m.name].push_back(r.infer_ms);
        if (round == 0) results[int(e)][m.name] = r;
      }
    }
    // ONNX Runtime, same input file, in a Node.js child.
    if (o.no_ort) {
      ort_note = "ONNX Runtime skipped (--no-ort)";
    } else if (!fs::exists(o.ort_dir / "node_modules" / "onnxruntime-node")) {
      ort_note = "ONNX Runtime skipped: run `ONNXRUNTIME_NODE_INSTALL=skip npm install` in " +
                 o.ort_dir.string();
    } else if (ort_note.empty()) {
      fs::remove(o.io / "ort_results.json");
      const auto u =
          bench::run_child({o.node, (o.ort_dir / "ort_bench.mjs").string(), "--io",
                            fs::absolute(o.io).string(), "--threads", std::to_string(o.threads),
                            "--reps", std::to_string(o.reps), "--warmup", std::to_string(o.warmup)},
                           (o.io / "ort.log").string());
      std::ifstream in(o.io / "ort_results.json");
      if (u.exit_code != 0 || !in) {
        ort_note = "ONNX Runtime failed; see " + (o.io / "ort.log").string();
        ort = json();
      } else {
        ort = json::parse(in);
        auto& ms = ort_round_ms.emplace_back();
        for (const auto& x : ort["models"]) {
          if (x.value("timed", true)) ms[x.value("tag", "")] = x.value("median_ms", 0.0);
          std::cout << fmt::format("  round {}: ORT: {}: median {:.1f} ms per chip\n", round + 1,
                                   x.value("tag", ""), x.value("median_ms", 0.0));
        }
      }
    }
  }
  for (Engine e : kEngines) {
    for (auto& [name, r] : results[int(e)]) {
      if (r.ran) r.infer_ms = bench::median(round_ms[int(e)][name]);
    }
  }
  // Median over rounds of an engine's time relative to ONNX Runtime's (0 without ORT).
  auto ratio_to_ort = [&](Engine e, const std::string& name) {
    std::vector<double> ratios;
    const auto& mine = round_ms[int(e)][name];
    for (std::size_t k = 0; k < mine.size() && k < ort_round_ms.size(); ++k) {
      auto it = ort_round_ms[k].find(name);
      if (it != ort_round_ms[k].end() && it->second > 0) ratios.push_back(mine[k] / it->second);
    }
    return ratios.empty() ? 0.0 : bench::median(ratios);
  };
  if (ort.contains("models")) {
    for (auto& x : ort["models"]) {
      std::vector<double> ms;
      for (const auto& r : ort_round_ms) {
        auto it = r.find(x.value("tag", ""));
        if (it != r.end()) ms.push_back(it->second);
      }
      if (!ms.empty()) x["median_ms"] = bench::median(ms);
      x["round_median_ms"] = ms;
    }
  }

  json batching_json, seams_json;
  std::map<std::string, double> batch_ratio;  // model -> per-chip time at kOneDnnBatch / at 1
  if (o.batches.size() > 1) {
    json batching;
    const std::string bt = bench_batches(models, input, o, batching);
    std::map<std::string, std::map<int, double>> ms;
    for (const auto& b : batching) ms[b["model"]][b["batch"]] = b["ms_per_chip"];
    for (auto& [name, by_batch] : ms) {
      if (by_batch.count(1) && by_batch.count(mask::kOneDnnBatch)) {
        batch_ratio[name] = by_batch[mask::kOneDnnBatch] / by_batch[1];
      }
    }
    std::cout << "\n" << bt << std::flush;
    report += "\n" + bt;
    batching_json = batching;
  }

  if (o.seam_px > 0) {
    json seams;
    const std::string st = bench_seams(models, Engine::onednn, o, seams);
    std::cout << "\n" << st << std::flush;
    report += "\n" + st;
    seams_json = seams;
  }

  auto ort_entry = [&ort](const std::string& tag) -> const json* {
    if (!ort.contains("models")) return nullptr;
    for (const auto& x : ort["models"]) {
      if (x.value("tag", "") == tag) return &x;
    }
    return nullptr;
  };

  json out;
  if (!batching_json.is_null()) out["onednn_batching"] = batching_json;
  if (!seams_json.is_null()) out["seams"] = seams_json;
  out["threads"] = o.threads;
  out["reps"] = o.reps;
  out["rounds"] = o.rounds;
  out["models"] = json::array();
  bench::Table t({"model (1 chip = 0.262 MP)", "oneDNN ms/chip", "oneDNN s/MP", "OpenCV ms/chip",
                  "OpenCV s/MP", "ORT ms/chip", "ORT s/MP", "oneDNN / ORT", "OpenCV / ORT",
                  "OpenCV / oneDNN"});
  std::map<std::string, double> ort_ms;
  auto ms_cells = [](const EngineResult& r) -> std::vector<std::string> {
    if (!r.ran) return {"-", "-"};
    return {fmt::format("{:.1f}", r.infer_ms),
            fmt::format("{:.2f}", r.infer_ms / 1e3 / kChipMegapixels)};
  };
  auto ratio = [](bool ok, double a, double b) {
    return ok && b > 0 ? fmt::format("{:.2f}", a / b) : std::string("-");
  };
  for (const auto& m : models) {
    const auto& d = result(Engine::onednn, m.name);
    const auto& c = result(Engine::opencv, m.name);
    json j = {{"name", m.name}, {"kind", to_string(m.kind)}};
    for (Engine e : kEngines) {
      const auto& r = result(e, m.name);
      const std::string key = e == Engine::onednn ? "onednn" : "opencv";
      if (!r.ran) {
        j[key + "_error"] = r.error;
        continue;
      }
      j[key + "_infer_ms"] = r.infer_ms;
      j[key + "_chip_ms"] = r.pipeline_ms;
      j[key + "_load_s"] = r.load_s;
    }
    std::vector<std::string> row = {m.name};
    for (const auto& cell : ms_cells(d)) row.push_back(cell);
    for (const auto& cell : ms_cells(c)) row.push_back(cell);
    if (const json* om = ort_entry(m.name)) {
      const double ms = om->value("median_ms", 0.0);
      ort_ms[m.name] = ms;
      auto round_ratio = [&](Engine e, bool ran) {
        const double r = ratio_to_ort(e, m.name);
        return ran && r > 0 ? fmt::format("{:.2f}", r) : std::string("-");
      };
      row.insert(row.end(),
                 {fmt::format("{:.1f}", ms), fmt::format("{:.2f}", ms / 1e3 / kChipMegapixels),
                  round_ratio(Engine::onednn, d.ran), round_ratio(Engine::opencv, c.ran)});
      j["ort_ms"] = ms;
      j["onednn_vs_ort"] = ratio_to_ort(Engine::onednn, m.name);
      j["opencv_vs_ort"] = ratio_to_ort(Engine::opencv, m.name);
      j["ort_load_ms"] = om->value("load_ms", 0.0);
    } else {
      row.insert(row.end(), {"-", "-", "-", "-"});
    }
    row.push_back(ratio(d.ran && c.ran, c.infer_ms, d.infer_ms));
    t.add(row);
    out["models"].push_back(j);
  }
  std::string table = t.str();
  if (!ort_note.empty()) table += ort_note + "\n";
  std::cout << "\n" << table << std::flush;
  report += "\n" + table;

  // Agreement of the two engines, per run.
  bool parity_ok = true;
  if (ort.contains("models")) {
    bench::Table g({"probabilities vs ORT", "engine", "input", "unsaturated px", "max |p diff|",
                    "px > 1e-3", "max |logit diff| / max |logit|", "within 1e-3"});
    out["agreement"] = json::array();
    for (const auto& r : runs) {
      for (Engine e : kEngines) {
        if (ort_entry(r.tag) == nullptr || !result(e, r.model->name).ran) continue;
        const Agreement a = compare(o.io, r, e);
        const bool within = a.max_diff <= 1e-3;
        // Saturated outputs compare nothing; where outputs are not saturated the engines must
        // agree (the contract-input cloud runs of random-weight stand-ins are almost all
        // saturated, see docs/benchmarks.md).
        if (!within && a.unsaturated > 0.01) parity_ok = false;
        g.add({r.tag, label(e), r.scale == 1.0f ? "DN" : "DN x 0.0001",
               fmt::format("{:.3f} %", 100 * a.unsaturated), fmt::format("{:.1e}", a.max_diff),
               std::to_string(a.over), fmt::format("{:.1e}", a.logit_rel),
               within ? "yes" : fmt::format("no ({} px)", a.over)});
        out["agreement"].push_back({{"run", r.tag},
                                    {"engine", label(e)},
                                    {"scale", r.scale},
                                    {"unsaturated_fraction", a.unsaturated},
                                    {"max_abs_diff", a.max_diff},
                                    {"pixels_over_1e-3", a.over},
                                    {"logit_max", a.logit_max},
                                    {"logit_rel_diff", a.logit_rel}});
      }
    }
    const std::string gt = g.str();
    std::cout << "\n" << gt << std::flush;
    report += "\n" + gt;
  }

  // The whole cloud task: the reference's default cloud model (FPN) and the shadow model.
  const std::string cloud = "standin_cloud_fpn", shadow = "standin_shadow_fpn";
  const bool dnn_runs_both =
      result(Engine::onednn, cloud).ran && result(Engine::onednn, shadow).ran;
  // s2prep's default engine (--engine auto) for the two models.
  const Engine task_engine = dnn_runs_both ? Engine::onednn : Engine::opencv;
  if (result(Engine::opencv, cloud).ran && result(Engine::opencv, shadow).ran) {
    const int region_px = static_cast<int>(std::ceil(o.region_km * 1000 / 10)) + 1;
    Grid output;
    output.epsg = 32633;
    output.transform = {500000, 10, 0, 5500000, 0, -10};
    output.width = output.height = region_px;
    const Grid context = ingest::context_grid(output);
    const int region_chips =
        static_cast<int>(mask::plan_chips(context.width, context.height).size());
    Grid tile = output;
    tile.width = tile.height = o.tile_px;
    const Grid tile_context = ingest::context_grid(tile);
    const int tile_chips = static_cast<int>(mask::plan_chips(tile.width, tile.height).size());
    const int tile_context_chips =
        static_cast<int>(mask::plan_chips(tile_context.width, tile_context.height).size());

    // Per chip of the pipeline (compute_probability, cloud + shadow), measured above.
    auto chip_s = [&](Engine e) {
      return (result(e, cloud).pipeline_ms + result(e, shadow).pipeline_ms) / 1e3;
    };
    // s2prep runs oneDNN models kOneDnnBatch chips per pass: the per-chip time of that batch
    // size, measured against one chip per pass in the same run, scales the engine time.
    auto batched_chip_s = [&](Engine e) {
      double s = 0;
      for (const auto* name : {&cloud, &shadow}) {
        const auto& r = result(e, *name);
        double infer_ms = r.infer_ms;
        if (e == Engine::onednn && batch_ratio.count(*name)) infer_ms *= batch_ratio[*name];
        s += (r.pipeline_ms - r.infer_ms + infer_ms) / 1e3;
      }
      return s;
    };
    const double task_chip_s = batched_chip_s(task_engine);
    const bool have_ort = ort_ms.count(cloud) && ort_ms.count(shadow);
    const double ort_chip_s = have_ort ? (ort_ms[cloud] + ort_ms[shadow]) / 1e3 : 0;

    // The region's task, measured: both models over the context grid.
    BandStack region_stack = tiled(input, context.width);
    double region_s = 0;
    for (const auto* name : {&cloud, &shadow}) {
      const auto it = std::find_if(models.begin(), models.end(),
                                   [&](const Model& m) { return m.name == *name; });
      auto model = load(task_engine, it->file, it->kind, mask::kOneDnnBatch);
      mask::BandStackChipSource source(region_stack);
      const auto t0 = Clock::now();
      mask::compute_probability(*model, it->kind, source);
      region_s += seconds_since(t0);
    }
    double tile_s = task_chip_s * tile_context_chips;
    bool tile_measured = false;
    if (o.run_full_tile) {
      std::cout << fmt::format("running the full {} px tile ({} chips per model)...\n",
                               tile_context.width, tile_context_chips)
                << std::flush;
      BandStack tile_stack = tiled(input, tile_context.width);
      tile_s = 0;
      for (const auto* name : {&cloud, &shadow}) {
        const auto it = std::find_if(models.begin(), models.end(),
                                     [&](const Model& m) { return m.name == *name; });
        auto model = load(task_engine, it->file, it->kind, mask::kOneDnnBatch);
        mask::BandStackChipSource source(tile_stack);
        const auto t0 = Clock::now();
        mask::compute_probability(*model, it->kind, source);
        tile_s += seconds_since(t0);
      }
      tile_measured = true;
    }
    // The reference: whole tile, every chip, in ONNX Runtime (its engine).
    const double reference_s = have_ort ? ort_chip_s * tile_chips : 0;

    bench::Table w({"cloud task (cloud FPN + shadow FPN)", "engine", "grid px", "chips/model",
                    "s2prep s", "reference s (ORT, whole tile)", "reference / s2prep",
                    "s2prep / reference"});
    w.add({fmt::format("{:g} km region: its context grid", o.region_km), label(task_engine),
           fmt::format("{}x{}", context.width, context.height), std::to_string(region_chips),
           fmt::format("{:.2f}", region_s), have_ort ? fmt::format("{:.1f}", reference_s) : "-",
           have_ort ? fmt::format("{:.0f}", reference_s / region_s) : "-",
           have_ort ? fmt::format("{:.4f}", region_s / reference_s) : "-"});
    w.add({fmt::format("full tile, --layout tile --full-tile ({})",
                       tile_measured ? "measured" : "extrapolated"),
           label(task_engine), fmt::format("{}x{}", tile_context.width, tile_context.height),
           std::to_string(tile_context_chips), fmt::format("{:.1f}", tile_s),
           have_ort ? fmt::format("{:.1f}", reference_s) : "-",
           have_ort ? fmt::format("{:.2f}", reference_s / tile_s) : "-",
           have_ort ? fmt::format("{:.2f}", tile_s / reference_s) : "-"});
    if (task_engine != Engine::opencv) {
      const double ocv_tile_s = chip_s(Engine::opencv) * tile_context_chips;
      w.add({"full tile, --engine opencv (extrapolated)", label(Engine::opencv),
             fmt::format("{}x{}", tile_context.width, tile_context.height),
             std::to_string(tile_context_chips), fmt::format("{:.1f}", ocv_tile_s),
             have_ort ? fmt::format("{:.1f}", reference_s) : "-",
             have_ort ? fmt::format("{:.2f}", reference_s / ocv_tile_s) : "-",
             have_ort ? fmt::format("{:.2f}", ocv_tile_s / reference_s) : "-"});
      out["cloud_task_opencv_tile_s"] = ocv_tile_s;
    }
    // The grid layout over a tile-sized region: context chipping (mask/chipping.hpp).
    const auto counts = tile_chip_counts(o.tile_px, 5);
    json count_json = json::array();
    for (const auto& c : counts) {
      const double s_context = task_chip_s * c.context;
      // The reference runs every chip of its chipping that has data.
      const double ref_s = ort_chip_s * c.reference;
      w.add({fmt::format("--layout grid, {} (extrapolated)", c.what), label(task_engine),
             fmt::format("{}x{}", tile_context.width, tile_context.height),
             fmt::format("{} (reference chipping: {})", c.context, c.reference),
             fmt::format("{:.1f}", s_context), have_ort ? fmt::format("{:.1f}", ref_s) : "-",
             have_ort ? fmt::format("{:.2f}", ref_s / s_context) : "-",
             have_ort ? fmt::format("{:.2f}", s_context / ref_s) : "-"});
      count_json.push_back({{"what", c.what},
                            {"reference_chips", c.reference},
                            {"context_chips", c.context},
                            {"context_s", s_context}});
    }
    out["grid_layout_tile_chips"] = count_json;
    std::string wt = w.str();
    wt += fmt::format(
        "The reference chips the whole {} px tile ({} chips per model) whatever the field; "
        "s2prep runs the chips of the context grid only ({} for a {:g} km region: {}x fewer).\n",
        o.tile_px, tile_chips, region_chips, o.region_km, tile_chips / region_chips);
    if (!tile_measured) {
      wt += fmt::format(
          "Full tile extrapolated from the per-chip time ({:.2f} s per chip for "
          "both models, oneDNN at batch {}); --run-full-tile runs it (~{:.0f} min).\n",
          task_chip_s, mask::kOneDnnBatch, tile_s / 60);
    }
    std::cout << "\n" << wt << std::flush;
    report += "\n" + wt;
    out["cloud_task"] = {{"region_km", o.region_km},
                         {"region_context_px", context.width},
                         {"region_chips", region_chips},
                         {"region_s", region_s},
                         {"tile_px", o.tile_px},
                         {"tile_chips", tile_chips},
                         {"tile_context_chips", tile_context_chips},
                         {"tile_s", tile_s},
                         {"tile_measured", tile_measured},
                         {"engine", label(task_engine)},
                         {"engine_chip_s", task_chip_s},
                         {"opencv_chip_s", chip_s(Engine::opencv)},
                         {"ort_chip_s", ort_chip_s},
                         {"reference_s", reference_s}};
  }
  if (!o.json_out.empty()) std::ofstream(o.json_out) << out.dump(1) << "\n";
  std::ofstream(o.io / "inference_bench.txt") << report;
  if (!parity_ok) {
    std::cerr << "error: an engine's probabilities differ from ONNX Runtime's by more than 1e-3 "
                 "where the outputs are not saturated\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"s2prep inference benchmark"};
  Options o;
  app.add_option("--models", o.models, "Folder of .onnx models")->capture_default_str();
  app.add_option("--io", o.io, "Folder for the input and output files")->required();
  app.add_option("--ort-dir", o.ort_dir, "Folder of ort_bench.mjs and its node_modules")
      ->capture_default_str();
  app.add_option("--node", o.node, "Node.js executable")->capture_default_str();
  app.add_option("--threads", o.threads, "Inference threads (every engine)")->capture_default_str();
  app.add_option("--reps", o.reps, "Timed runs per model (median reported)")->capture_default_str();
  app.add_option("--warmup", o.warmup, "Untimed runs first")->capture_default_str();
  app.add_option("--rounds", o.rounds,
                 "Rounds of the per-chip timing, the engines taking turns (ratios: median of the "
                 "rounds' ratios)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of the input chip")->capture_default_str();
  app.add_option("--region-km", o.region_km, "Side of the square region")->capture_default_str();
  app.add_option("--tile-px", o.tile_px, "Tile size for the full-tile figures")
      ->capture_default_str();
  app.add_flag("--no-ort", o.no_ort, "Skip ONNX Runtime");
  app.add_option("--batches", o.batches,
                 "oneDNN batch sizes compared per chip on the FPN models (first = baseline; one "
                 "value skips the comparison)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_flag("--run-full-tile", o.run_full_tile,
               "Run the full-tile cloud task instead of extrapolating it (~15 min at 10980 px, "
               "6 GB)");
  app.add_option("--seam-px", o.seam_px,
                 "Side of the scene whose chip seams are compared (0 skips the comparison)")
      ->capture_default_str();
  app.add_option("--margins", o.margins, "Context margins of the seam comparison")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--json", o.json_out, "Write the figures as JSON here");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    return run(o);
  } catch (const s2prep::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
