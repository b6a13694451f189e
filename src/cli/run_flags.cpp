#include "cli/run_flags.hpp"

#include "pipeline/params.hpp"

namespace s2prep::cli {

void RunFlags::add(CLI::App& app, bool request_required) {
  auto& o = options;
  auto& p = flag_values;
  add_common_options(app, common, request_required);
  app.add_option("--params", params_file,
                 "YAML or JSON file with the workflow's parameters (min_tile_cover, "
                 "max_tiles_per_time, cloud_thr, shadow_thr, in_memory, cloud_model, "
                 "shadow_model, pc_key, dl_timeout); flags given on the command line win")
      ->check(CLI::ExistingFile);
  cloud_thr = app.add_option("--cloud-thr", p.cloud_thr,
                             "Cloud probability above which a pixel is cloud (default 0.3)");
  shadow_thr = app.add_option("--shadow-thr", p.shadow_thr,
                              "Shadow probability above which a pixel is shadow (default 0.2)");
  in_memory = app.add_flag("--in-memory", p.in_memory,
                           "Hold the whole stack in memory for inference (faster, more memory) "
                           "instead of streaming chips");
  cloud_model = app.add_option(
      "--cloud-model", p.cloud_model,
      "Cloud model: a path to an .onnx file, a file name in --model-dir, 'builtin' (spectral "
      "tests), or 'auto' (default: cloud_model2_cpu.onnx from --model-dir when present and "
      "valid, else builtin)");
  shadow_model = app.add_option(
      "--shadow-model", p.shadow_model,
      "Shadow model: a path, a file name in --model-dir, 'builtin' (geometric matching along the "
      "sun direction) or 'auto' (default: shadow.onnx from --model-dir, else builtin)");
  app.add_option("--model-dir", o.model_dir,
                 "Folder holding the ONNX model files (default from S2PREP_MODEL_DIR)");
  dl_timeout =
      app.add_option("--dl-timeout", p.dl_timeout,
                     "Seconds one band read may take, retries included: resets, timeouts and 5xx "
                     "are retried with backoff within it, and a read still failing "
                     "ends within 1.5 times this limit (default 120)");
  app.add_option("--layout", layout,
                 "grid: one raster and mask per acquisition on one grid shared by all "
                 "acquisitions (UTM zone of the region's centroid, 10 m); tile: one per "
                 "acquisition and tile on the tile's own grid, as the reference does")
      ->capture_default_str();
  app.add_flag("--full-tile", o.full_tile,
               "With --layout tile: write whole tiles (the reference's layout) instead of the "
               "region's window");
  app.add_flag("--keep-probabilities", o.keep_probabilities,
               "Also write the cloud and shadow probability rasters (float32)");
  app.add_flag("--no-harmonize", no_harmonize,
               "Keep raw digital numbers for processing baseline 04.00 and later (default: "
               "subtract the 1000 offset so all dates share one scale)");
  app.add_flag("--allow-incomplete", o.allow_incomplete,
               "Start even when the catalogue search may be incomplete (a service that gives "
               "no next link and whose pages s2prep cannot continue): acquisitions may be "
               "missing; without it such a run stops before reading anything (exit 1)");
  app.add_flag("--force", o.force, "Recompute outputs that already exist and check out complete");
  app.add_flag("--per-feature", o.per_feature,
               "One grid and one set of outputs per feature of --geometry (a FeatureCollection "
               "or a multi-feature vector file), each in a sub-folder of --out named from the "
               "feature's id, else its name, else its position");
  app.add_flag("--replace-request", o.replace_request,
               "The --out folder holds the outputs of another request (region, catalogue, "
               "layout or grid): remove them and write this request's (without this flag such "
               "a folder is refused)");
  app.add_option("--jobs,-j", o.jobs, "Parallel band reads (default: 4 x cores, at most 32)");
  app.add_option("--max-memory", o.memory_limit_bytes,
                 "Memory one output may need (e.g. 8G, 500M; default: the machine's or the "
                 "cgroup's): an output that would need more fails at once with a clear sentence "
                 "instead of being killed")
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--threads", threads, "Threads of the ONNX inference engine (default: all cores)")
      ->check(CLI::Range(1, 256));
  app.add_option("--engine", engine,
                 "Inference engine for ONNX models: auto (oneDNN where it runs the model, "
                 "else OpenCV DNN), onednn or opencv (default auto)")
      ->check(CLI::IsMember({"auto", "onednn", "opencv"}));
  app.add_option("--parallel-acquisitions", o.acquisitions_in_flight,
                 "Acquisitions processed at once (default 2: the next one is read while the "
                 "current one is in inference; grids above 16 Mpx go one at a time; the "
                 "outputs are the same whatever the number)")
      ->check(CLI::Range(1, 16));
  app.add_option("--dilation", o.dilation_radius,
                 "Radius in pixels of the disk by which the mask is dilated (default 5)")
      ->check(CLI::Range(0, 100));
  app.add_option("--min-area", o.min_area,
                 "Remove masked components and fill clear holes smaller than this many pixels "
                 "(default 0: off)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--context", o.context_margin,
                 "Pixels of real imagery read around the grid as context for the models "
                 "(default 64; the read window is also at least 512 x 512)")
      ->check(CLI::Range(0, 2048));
  app.add_flag("--quicklook", o.quicklook,
               "Write true-colour PNG quicklooks with the mask drawn over them, a contact sheet "
               "and an index.html");
}

WorkflowParams RunFlags::resolve_params() const {
  WorkflowParams params;
  if (!params_file.empty()) load_params_file(params_file, params);
  if (cloud_thr->count()) params.cloud_thr = flag_values.cloud_thr;
  if (shadow_thr->count()) params.shadow_thr = flag_values.shadow_thr;
  if (in_memory->count()) params.in_memory = flag_values.in_memory;
  if (cloud_model->count()) params.cloud_model = flag_values.cloud_model;
  if (shadow_model->count()) params.shadow_model = flag_values.shadow_model;
  if (dl_timeout->count()) params.dl_timeout = flag_values.dl_timeout;
  apply_common_options(common, params);
  params.validate();
  return params;
}

RunOptions RunFlags::resolve() const {
  RunOptions run_options = options;
  run_options.request = common.request;
  run_options.request.params = resolve_params();
  run_options.layout = parse_layout(layout);
  run_options.harmonize = !no_harmonize;
  run_options.engine = parse_engine(engine);
  return run_options;
}

ProcessSettings RunFlags::process_settings() const {
  ProcessSettings process;
  process.inference_threads = threads;
  return process;
}

}  // namespace s2prep::cli
