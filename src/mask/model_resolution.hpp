#pragma once
// What `--cloud-model` / `--shadow-model` mean: a path to an .onnx file, a bare file name in
// the model folder, `builtin`, or `auto` (the default).

#include <filesystem>
#include <string>
#include <string_view>

#include "mask/engine.hpp"
#include "mask/model_registry.hpp"

namespace s2prep::mask {

struct ResolvedModel {
  ModelKind kind = ModelKind::cloud;
  bool builtin = false;
  std::string name;            // file name, or "builtin"
  std::filesystem::path path;  // empty for builtin
  std::string sha256;          // empty for builtin
  ChecksumStatus status = ChecksumStatus::not_reference;
  // One sentence for the user when the choice deserves a mention (auto fell back to builtin,
  // or a file named like a reference file has another checksum); empty otherwise.
  std::string notice;
};

// A model folder that was given (`origin` says how, e.g. "--model-dir" or "S2PREP_MODEL_DIR")
// must exist: a typo must not quietly turn `auto` into the built-in detector. Throws InputError
// naming the folder when it is not one; an empty path (none given) passes.
void check_model_dir(const std::filesystem::path& model_dir, std::string_view origin);

// Rules:
// - "builtin": the built-in detector.
// - `model_dir`, when not empty, must be a folder (check_model_dir).
// - "auto" or "": the reference file (cloud_model2_cpu.onnx / shadow.onnx) in `model_dir` when
//   it is there and its sha256 is the reference's; otherwise builtin, with a notice saying why.
// - a value without a directory part: `model_dir`/value when that exists, else value as a path
//   relative to the working directory;
// - anything else: a path.
// An explicitly named file that is missing or a Git LFS pointer is an InputError (the user
// asked for it); one named like a reference file with another sha256 is used, with a notice.
// The file is not loaded here (load_opencv_model does that and checks the contract).
ResolvedModel resolve_model(std::string_view value, ModelKind kind,
                            const std::filesystem::path& model_dir);

}  // namespace s2prep::mask
