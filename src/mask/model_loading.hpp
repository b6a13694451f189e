#pragma once
// Loading a segmentation model with a choice of inference engine.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <s2prep/options.hpp>

#include "mask/engine.hpp"

namespace s2prep::mask {

struct ModelWithEngine {
  std::unique_ptr<SegmentationModel> model;
  std::string engine;  // the engine that runs it: "onednn" or "opencv"
  // Why `automatic` did not pick oneDNN (empty when it did, or when the engine was forced).
  std::string fallback_reason;
};

// Chips per oneDNN forward pass. Measured on this 2-core machine with the FPN stand-ins, batch
// sizes interleaved within each run (inference_bench, docs/benchmarks.md section 2): under load
// from other processes (load averages of 8-18), with 2 threads, per chip, batch 2 took 0.77-0.88
// of the time of one chip per pass and batch 4 0.69-0.80; with 1 thread neither gained; on the
// quiet machine (four runs) batch 2 took 0.95-1.07, no gain. So the gain is oneDNN's OpenMP
// threads waiting at half as many barriers per chip when they compete for the cores -- which
// s2prep itself can cause: with two acquisitions in flight (the default) both may run a model
// at once, each with its own inference threads. The memory of a network (cloud FPN, resident after
// its first passes) grows from 185 MB at batch 1 to 384 MB at batch 2 (with the batch-1 network
// beside it for lone chips) and 551 MB at batch 4: 2 takes about two thirds of the gain of 4 under
// load for half the added memory; 1 turns batching off. OpenCV DNN 4.6 gains nothing from batching
// (measured), so its models stay at one chip.
inline constexpr int kOneDnnBatch = 2;

// Loads `file` for `kind`. `automatic` picks oneDNN, the faster engine on this machine for every
// model it implements (FPN and CheapLab: docs/benchmarks.md), and falls back to OpenCV DNN when
// oneDNN cannot run the model; errors about the file itself (missing, Git LFS pointer, corrupt,
// wrong contract) then come from the OpenCV loader, as with `opencv`.
ModelWithEngine load_model(const std::filesystem::path& file, ModelKind kind, Engine choice);

// Threads for inference, process-wide, set once at start-up before any model runs: OpenCV's
// (cv::setNumThreads) and oneDNN's (OpenMP, applied on each thread that runs a model).
// `threads` <= 0 keeps each library's default (all cores).
void set_model_threads(int threads);

}  // namespace s2prep::mask
