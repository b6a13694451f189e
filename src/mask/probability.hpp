#pragma once
// Cloud and shadow probabilities with the reference contract (the reference's cloud.cloud and
// cloud.shadow) over the reference chipping or a plan of chips given by the caller (context
// chipping, mask/chipping.hpp).
//
// Input modes: `in_memory` is a BandStackChipSource over a BandStack already in memory;
// streaming is any other ChipSource that reads each chip's window on demand (e.g. from the
// ingested GeoTIFF), so memory holds two chips of input at a time, not the raster.
//
// Threads: forward passes run one after another and the engine parallelises inside each (with
// the threads set by set_model_threads). Running chips in parallel would need one network copy
// per worker and compete for the same cores. A model whose batch_size() is N gets N chips per
// pass (oneDNN: less time per chip, see mask/model_loading.cpp; OpenCV 4.6 gains nothing from
// batching, measured); a lone chip goes through infer_one. What does overlap is I/O: the next
// chip is read on a second thread while the current pass runs.

#include <cstdint>
#include <functional>
#include <vector>

#include <s2prep/grid.hpp>
#include "core/raster.hpp"
#include "mask/chipping.hpp"
#include "mask/engine.hpp"

namespace s2prep::mask {

class ChipSource {
 public:
  virtual ~ChipSource() = default;
  // The raster the chips are cut from (probabilities come out on this grid).
  virtual const Grid& grid() const = 0;
  // Writes the 12 bands of `window` (inside grid()) band-sequentially to `out`
  // (12 x window.height x window.width digital numbers, nodata 0). Called from one thread at a
  // time, but not necessarily the thread that called compute_probability.
  virtual void read_chip(const Window& window, std::uint16_t* out) = 0;
};

// in_memory: chips are copied out of a 12-band BandStack that outlives the source.
class BandStackChipSource final : public ChipSource {
 public:
  explicit BandStackChipSource(const BandStack& stack);
  const Grid& grid() const override { return stack_.grid; }
  void read_chip(const Window& window, std::uint16_t* out) override;

 private:
  const BandStack& stack_;
};

// Called after each chip (run or skipped): chips done so far, total chips.
using ChipProgress = std::function<void(int chips_done, int chips_total)>;

struct ProbabilityOptions {
  ChipProgress progress;
  // Read the next chip on a second thread while the current one is inferred.
  bool prefetch = true;
  // The chips to run (e.g. plan_context_chips over the source's grid); null runs the reference
  // chipping (plan_chips). Pixels no chip writes keep probability 1.
  const std::vector<Chip>* chips = nullptr;
};

// Probability in [0, 1] for every pixel of source.grid(): cloud models get raw digital numbers
// and give softmax channel 1; shadow models get digital numbers x 0.0001 and give the sigmoid.
// Pixels where any band is 0 (nodata) get 1; chips with no data at all are not run (1 there).
// Throws InputError when the model's output channels do not match `kind`.
FloatRaster compute_probability(SegmentationModel& model, ModelKind kind, ChipSource& source,
                                const ProbabilityOptions& options = {});

// The part of `raster` under `window` (e.g. the output grid inside the context-margin grid).
FloatRaster crop(const FloatRaster& raster, const Window& window);

}  // namespace s2prep::mask
