// `s2prep models`: list the model folder — name, kind, size, checksum status against the
// reference model files of FarmVibes.AI.
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include <s2prep/errors.hpp>
#include "cli/common.hpp"
#include "mask/model_registry.hpp"
#include "mask/model_resolution.hpp"

namespace s2prep::cli {
namespace {

struct ModelsCommand {
  std::string model_dir;
  bool json = false;

  int execute() const {
    std::string dir = model_dir;
    const char* origin = "--model-dir";
    if (dir.empty()) {
      const char* env = std::getenv("S2PREP_MODEL_DIR");
      if (env && *env) dir = env;
      origin = "S2PREP_MODEL_DIR";
    }
    if (dir.empty()) {
      throw InputError(
          "No model folder given; pass --model-dir DIR or set S2PREP_MODEL_DIR (without one, "
          "`s2prep run` uses the built-in detector).");
    }
    mask::check_model_dir(dir, origin);
    const auto files = mask::list_model_dir(dir);
    if (json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& f : files) {
        out.push_back({{"name", f.name},
                       {"kind", std::string(mask::kind_name(f.kind))},
                       {"size", f.size},
                       {"sha256", f.sha256},
                       {"status", std::string(mask::to_string(f.status))}});
      }
      std::cout << nlohmann::json{{"model_dir", dir}, {"models", out}}.dump() << std::endl;
      return 0;
    }
    std::cout << fmt::format("Models in {}:\n", dir);
    std::cout << fmt::format("{:<36} {:<8} {:>12}  {}\n", "NAME", "KIND", "SIZE", "CHECKSUM");
    for (const auto& f : files) {
      std::cout << fmt::format("{:<36} {:<8} {:>12}  {}\n", f.name, mask::kind_name(f.kind), f.size,
                               mask::to_string(f.status));
    }
    if (files.empty()) std::cout << "(no .onnx files)\n";
    std::cout << fmt::format(
        "\n`--cloud-model auto` uses {} and `--shadow-model auto` uses {} from this folder when "
        "present and valid, otherwise the built-in detector.\n",
        mask::default_reference_name(mask::ModelKind::cloud),
        mask::default_reference_name(mask::ModelKind::shadow));
    return 0;
  }
};

}  // namespace

void register_models_command(CLI::App& app, std::function<int()>& action) {
  auto command = std::make_shared<ModelsCommand>();
  CLI::App* sub = app.add_subcommand(
      "models",
      "List the ONNX models in the model folder: name, kind (cloud/shadow), size and whether "
      "the file is a reference model with the right SHA-256, a Git LFS pointer, or another file.");
  sub->add_option("--model-dir", command->model_dir,
                  "Folder holding the model files (default from S2PREP_MODEL_DIR)");
  sub->add_flag("--json", command->json, "Print one JSON object on stdout");
  sub->callback([command, &action] { action = [command] { return command->execute(); }; });
}

}  // namespace s2prep::cli
