#include "mask/model_resolution.hpp"

#include <fmt/format.h>

#include <s2prep/errors.hpp>

namespace s2prep::mask {
namespace {

std::string option_name(ModelKind kind) {
  return kind == ModelKind::cloud ? "--cloud-model" : "--shadow-model";
}

ResolvedModel builtin_model(ModelKind kind, std::string notice) {
  ResolvedModel r;
  r.kind = kind;
  r.builtin = true;
  r.name = "builtin";
  r.notice = std::move(notice);
  return r;
}

ResolvedModel from_file(const std::filesystem::path& file, ModelKind kind,
                        const ModelFileInfo& info) {
  ResolvedModel r;
  r.kind = kind;
  r.name = info.name;
  r.path = file;
  r.sha256 = info.sha256;
  r.status = info.status;
  if (info.status == ChecksumStatus::sha256_mismatch) {
    r.notice = "Model file '" + file.string() + "' is named like the reference file but its " +
               "sha256 differs (" + info.sha256 + "); it is used as given.";
  }
  return r;
}

}  // namespace

void check_model_dir(const std::filesystem::path& model_dir, std::string_view origin) {
  if (model_dir.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(model_dir, ec)) return;
  const bool exists = std::filesystem::exists(model_dir, ec);
  throw InputError(fmt::format(
      "The model folder '{}' ({}) {}: give the folder that holds {} and {}, or leave {} unset to "
      "use the built-in detector.",
      model_dir.string(), origin, exists ? "is not a folder" : "does not exist",
      default_reference_name(ModelKind::cloud), default_reference_name(ModelKind::shadow), origin));
}

ResolvedModel resolve_model(std::string_view value, ModelKind kind,
                            const std::filesystem::path& model_dir) {
  const std::string kind_text(to_string(kind));
  check_model_dir(model_dir, "--model-dir or S2PREP_MODEL_DIR");
  if (value == "builtin") return builtin_model(kind, "");

  if (value.empty() || value == "auto") {
    const std::string ref(default_reference_name(kind));
    if (model_dir.empty()) {
      return builtin_model(kind, fmt::format("No model folder is set (--model-dir or "
                                             "S2PREP_MODEL_DIR), so the built-in {} detector is "
                                             "used instead of {}.",
                                             kind_text, ref));
    }
    const std::filesystem::path file = model_dir / ref;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return builtin_model(kind, fmt::format("No {} in the model folder '{}', so the built-in {} "
                                             "detector is used.",
                                             ref, model_dir.string(), kind_text));
    }
    const ModelFileInfo info = describe_model_file(file);
    if (info.status == ChecksumStatus::git_lfs_pointer) {
      return builtin_model(kind, fmt::format("'{}' is a Git LFS pointer (run `git lfs pull` in the "
                                             "FarmVibes.AI clone to get {}), so the built-in {} "
                                             "detector is used.",
                                             file.string(), farmvibes_path(ref, kind), kind_text));
    }
    if (info.status != ChecksumStatus::reference_ok || info.reference == nullptr ||
        info.reference->name != ref) {
      return builtin_model(kind,
                           fmt::format("'{}' does not have the sha256 of the reference {}, so "
                                       "the built-in {} detector is used; pass the file "
                                       "explicitly with {} to use it anyway.",
                                       file.string(), ref, kind_text, option_name(kind)));
    }
    return from_file(file, kind, info);
  }

  const std::filesystem::path given{std::string(value)};
  std::filesystem::path file = given;
  std::error_code ec;
  if (!given.has_parent_path() && !model_dir.empty() &&
      std::filesystem::exists(model_dir / given, ec)) {
    file = model_dir / given;
  }
  if (!std::filesystem::exists(file, ec)) {
    std::string where = model_dir.empty() ? std::string("")
                                          : " nor in the model folder '" + model_dir.string() + "'";
    throw InputError(option_name(kind) + " '" + std::string(value) + "' was not found as a file" +
                     where + ": give a path to an .onnx file, a file name in the model folder, " +
                     "'builtin' or 'auto'.");
  }
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw InputError(option_name(kind) + " '" + file.string() + "' is not a regular file: give a " +
                     "path to an .onnx file.");
  }
  const ModelFileInfo info = describe_model_file(file);
  if (info.status == ChecksumStatus::git_lfs_pointer) {
    const std::string ref = info.reference ? std::string(info.reference->name)
                                           : std::string(default_reference_name(kind));
    throw InputError("Model file '" + file.string() + "' is a Git LFS pointer, not the model " +
                     "itself: run `git lfs pull` in a FarmVibes.AI clone and use the real file " +
                     farmvibes_path(ref, kind) + ".");
  }
  return from_file(file, kind, info);
}

}  // namespace s2prep::mask
