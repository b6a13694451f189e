#pragma once
// The cloud and shadow models of a call: resolved (a file, a name in the model folder, builtin or
// auto), loaded on an engine, and run over an acquisition's stack to give a probability raster.

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "core/raster.hpp"
#include "mask/builtin_detector.hpp"
#include "mask/model_resolution.hpp"
#include "mask/probability.hpp"

namespace s2prep::pipeline {

class StackFile;

// A model as a call uses it: a loaded ONNX network, or the built-in detector.
struct LoadedModel {
  mask::ResolvedModel resolved;
  std::unique_ptr<mask::SegmentationModel> network;  // null for builtin
  std::string engine = "builtin";                    // "onednn", "opencv" or "builtin"
  // A network is not safe to run from two threads; acquisitions in flight take turns on it
  // (while one infers, the next one reads).
  std::unique_ptr<std::mutex> busy = std::make_unique<std::mutex>();

  ModelInfo info() const { return {resolved.name, resolved.sha256, engine}; }
};

// Resolves and loads `spec` (see mask::resolve_model); a notice (e.g. auto falling back to the
// built-in detector) is logged and appended to `notices`.
LoadedModel load_model(const std::string& spec, mask::ModelKind kind,
                       const std::filesystem::path& model_dir, Engine engine,
                       std::vector<std::string>& notices);

// The chips the networks run over a unit's `context` grid (its output grid at `inner`):
// - the tile layout (with or without --full-tile) promises the reference's probabilities: none
//   here, which runs the reference chipping of the whole context grid;
// - the grid layout: context chipping (mask::plan_context_chips) of the pixels that have data
//   (`no_data` zero) within the mask's dilation radius of the region (`options.request.geometry`)
//   and inside the output grid. What the chips leave out is merged as no data
//   (mask::mark_unwritten): beyond the dilation radius it cannot change the mask inside the
//   region, and as no data it is not counted as clear in the output's figures either.
std::optional<std::vector<mask::Chip>> network_chips(const ProcessingOptions& options,
                                                     const Grid& context, const Window& inner,
                                                     const ByteRaster& no_data);

// The model's probability over `stack`'s grid. A network reads its chips from `stack_file`
// when set (streaming; the stack may then be released), else from `stack`, and runs `chips`
// (null: the reference chipping); the built-in detectors work on `stack` and, for shadows, on
// the cloud probability (`cloud`, computed when null) and the sun. `chip_done(done, total)` is
// called after every chip.
FloatRaster model_probability(LoadedModel& model, mask::ModelKind kind, const BandStack& stack,
                              const StackFile* stack_file, const FloatRaster* cloud,
                              const mask::SunAngles& sun, double cloud_thr,
                              const std::function<void(int, int)>& chip_done,
                              const std::vector<mask::Chip>* chips = nullptr);

}  // namespace s2prep::pipeline
