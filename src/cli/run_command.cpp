// `s2prep run`: the whole workflow, writing rasters, masks and STAC records to --out.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include <s2prep/s2prep.hpp>
#include "cli/common.hpp"
#include "cli/interrupt.hpp"
#include "cli/progress_display.hpp"
#include "pipeline/params.hpp"
#include "pipeline/session.hpp"
#include "pipeline/summary.hpp"

namespace s2prep::cli {
namespace {

struct RunCommand {
  CommonOptions common;
  RunOptions options;
  std::string params_file;
  std::string layout = "grid";
  bool print_params = false;
  bool no_harmonize = false;
  std::string engine = "auto";
  int threads = 0;
  bool quiet = false;
  // Flags that are also parameters-file keys: applied over the file only when given.
  CLI::Option* cloud_thr = nullptr;
  CLI::Option* shadow_thr = nullptr;
  CLI::Option* in_memory = nullptr;
  CLI::Option* cloud_model = nullptr;
  CLI::Option* shadow_model = nullptr;
  CLI::Option* dl_timeout = nullptr;
  WorkflowParams flag_values;

  WorkflowParams resolve_params() const {
    WorkflowParams params;
    if (!params_file.empty()) pipeline::load_params_file(params_file, params);
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

  int execute(bool quiet_logging) {
    RunOptions run_options = options;
    run_options.request = common.request;
    run_options.request.params = resolve_params();
    if (print_params) {
      const auto resolved = pipeline::with_environment_defaults(run_options.request);
      std::cout << pipeline::params_to_json(resolved.params).dump(2) << std::endl;
      return 0;
    }
    run_options.layout = parse_layout(layout);
    run_options.harmonize = !no_harmonize;
    run_options.engine = parse_engine(engine);
    ProcessSettings process;
    process.inference_threads = threads;
    initialize(process);
    set_interrupt_cleanup_folder(run_options.out_dir);
    ProgressDisplay display(quiet_logging);
    const auto report = s2prep::run(run_options, display.callback());
    display.finish();
    if (!quiet_logging) {
      std::cout << pipeline::summary_table(report) << std::flush;
      std::cout << fmt::format("\nOutputs in {} (catalogue: {})\n", run_options.out_dir.string(),
                               report.items_json.string());
    }
    return 0;
  }
};

}  // namespace

void register_run_command(CLI::App& app, std::function<int()>& action) {
  auto c = std::make_shared<RunCommand>();
  CLI::App* sub = app.add_subcommand(
      "run",
      "Run the workflow: for every selected acquisition, write a 12-band 10 m raster and a "
      "cloud/shadow mask (Cloud-Optimized GeoTIFFs) and a STAC catalogue items.json to --out.");
  add_common_options(*sub, c->common);
  auto& o = c->options;
  auto& p = c->flag_values;
  sub->add_option("--out", o.out_dir, "Output folder (created if missing)")->required();
  sub->add_option("--params", c->params_file,
                  "YAML or JSON file with the workflow's parameters (min_tile_cover, "
                  "max_tiles_per_time, cloud_thr, shadow_thr, in_memory, cloud_model, "
                  "shadow_model, pc_key, dl_timeout); flags given on the command line win")
      ->check(CLI::ExistingFile);
  sub->add_flag("--print-params", c->print_params,
                "Print the resolved parameters as JSON (without the key) and exit");
  c->cloud_thr = sub->add_option("--cloud-thr", p.cloud_thr,
                                 "Cloud probability above which a pixel is cloud (default 0.3)");
  c->shadow_thr = sub->add_option("--shadow-thr", p.shadow_thr,
                                  "Shadow probability above which a pixel is shadow (default 0.2)");
  c->in_memory = sub->add_flag("--in-memory", p.in_memory,
                               "Hold the whole stack in memory for inference (faster, more memory) "
                               "instead of streaming chips");
  c->cloud_model = sub->add_option(
      "--cloud-model", p.cloud_model,
      "Cloud model: a path to an .onnx file, a file name in --model-dir, 'builtin' (spectral "
      "tests), or 'auto' (default: cloud_model2_cpu.onnx from --model-dir when present and "
      "valid, else builtin)");
  c->shadow_model = sub->add_option(
      "--shadow-model", p.shadow_model,
      "Shadow model: a path, a file name in --model-dir, 'builtin' (geometric matching along the "
      "sun direction) or 'auto' (default: shadow.onnx from --model-dir, else builtin)");
  sub->add_option("--model-dir", o.model_dir,
                  "Folder holding the ONNX model files (default from S2PREP_MODEL_DIR)");
  c->dl_timeout =
      sub->add_option("--dl-timeout", p.dl_timeout,
                      "Seconds one band read may take, retries included: resets, timeouts and 5xx "
                      "are retried with backoff within it, and a read still failing "
                      "ends within 1.5 times this limit (default 120)");
  sub->add_option("--layout", c->layout,
                  "grid: one raster and mask per acquisition on one grid shared by all "
                  "acquisitions (UTM zone of the region's centroid, 10 m); tile: one per "
                  "acquisition and tile on the tile's own grid, as the reference does")
      ->capture_default_str();
  sub->add_flag("--full-tile", o.full_tile,
                "With --layout tile: write whole tiles (the reference's layout) instead of the "
                "region's window");
  sub->add_flag("--keep-probabilities", o.keep_probabilities,
                "Also write the cloud and shadow probability rasters (float32)");
  sub->add_flag("--no-harmonize", c->no_harmonize,
                "Keep raw digital numbers for processing baseline 04.00 and later (default: "
                "subtract the 1000 offset so all dates share one scale)");
  sub->add_flag("--allow-incomplete", o.allow_incomplete,
                "Start even when the catalogue search may be incomplete (a service that gives "
                "no next link and whose pages s2prep cannot continue): acquisitions may be "
                "missing; without it such a run stops before reading anything (exit 1)");
  sub->add_flag("--force", o.force, "Recompute outputs that already exist and check out complete");
  sub->add_flag("--per-feature", o.per_feature,
                "One grid and one set of outputs per feature of --geometry (a FeatureCollection "
                "or a multi-feature vector file), each in a sub-folder of --out named from the "
                "feature's id, else its name, else its position");
  sub->add_flag("--replace-request", o.replace_request,
                "The --out folder holds the outputs of another request (region, catalogue, "
                "layout or grid): remove them and write this request's (without this flag such "
                "a folder is refused)");
  sub->add_option("--jobs,-j", o.jobs, "Parallel band reads (default: 4 x cores, at most 32)");
  sub->add_option("--threads", c->threads,
                  "Threads of the ONNX inference engine (default: all cores)")
      ->check(CLI::Range(1, 256));
  sub->add_option("--engine", c->engine,
                  "Inference engine for ONNX models: auto (oneDNN where it runs the model, "
                  "else OpenCV DNN), onednn or opencv (default auto)")
      ->check(CLI::IsMember({"auto", "onednn", "opencv"}));
  sub->add_option("--parallel-acquisitions", o.acquisitions_in_flight,
                  "Acquisitions processed at once (default 1; 2 reads the next one while the "
                  "current one is in inference: faster with ONNX models, twice the memory)")
      ->check(CLI::Range(1, 16));
  sub->add_option("--dilation", o.dilation_radius,
                  "Radius in pixels of the disk by which the mask is dilated (default 5)")
      ->check(CLI::Range(0, 100));
  sub->add_option("--min-area", o.min_area,
                  "Remove masked components and fill clear holes smaller than this many pixels "
                  "(default 0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--context", o.context_margin,
                  "Pixels of real imagery read around the grid as context for the models "
                  "(default 64; the read window is also at least 512 x 512)")
      ->check(CLI::Range(0, 2048));
  sub->add_flag("--quicklook", o.quicklook,
                "Write true-colour PNG quicklooks with the mask drawn over them, a contact sheet "
                "and an index.html");
  sub->callback([c, &action, &app] {
    const bool quiet = app.get_option("--quiet")->as<bool>();
    action = [c, quiet] { return c->execute(quiet); };
  });
}

}  // namespace s2prep::cli
