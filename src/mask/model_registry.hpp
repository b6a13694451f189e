#pragma once
// The reference model files (FarmVibes.AI op_resources/cloud_models and
// shadow_models), recognised by file name and SHA-256, and the listing behind `s2prep models`.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mask/engine.hpp"

namespace s2prep::mask {

struct ReferenceModel {
  std::string_view name;  // file name, e.g. "cloud_model2_cpu.onnx"
  ModelKind kind;
  std::string_view architecture;
  std::uint64_t size;       // bytes
  std::string_view sha256;  // lower-case hex
};

std::span<const ReferenceModel> reference_models();
const ReferenceModel* find_reference_by_name(std::string_view file_name);
const ReferenceModel* find_reference_by_sha256(std::string_view sha256);

// The reference file `auto` picks for each kind.
std::string_view default_reference_name(ModelKind kind);  // cloud_model2_cpu.onnx / shadow.onnx

// Where a reference file lives in a FarmVibes.AI clone, e.g.
// "op_resources/cloud_models/cloud_model2_cpu.onnx".
std::string farmvibes_path(std::string_view file_name, ModelKind kind);

// Lower-case hex SHA-256 (OpenSSL EVP).
std::string sha256_hex(std::span<const std::uint8_t> bytes);
// Throws InputError when the file cannot be read.
std::string sha256_file(const std::filesystem::path& file);

// A clone without Git LFS holds small text pointers instead of the models.
bool is_git_lfs_pointer(std::span<const std::uint8_t> head);
bool is_git_lfs_pointer(const std::filesystem::path& file);

enum class ChecksumStatus { reference_ok, sha256_mismatch, git_lfs_pointer, not_reference };
// "reference ok", "sha256 mismatch", "git-lfs pointer", "not a reference file"
std::string_view to_string(ChecksumStatus status);

struct ModelFileInfo {
  std::filesystem::path path;
  std::string name;               // file name
  std::optional<ModelKind> kind;  // nullopt = unknown
  std::uint64_t size = 0;         // bytes
  ChecksumStatus status = ChecksumStatus::not_reference;
  std::string sha256;                         // empty for a Git LFS pointer
  const ReferenceModel* reference = nullptr;  // the reference file it is (by sha) or claims to be
};

// "cloud", "shadow" or "unknown".
std::string_view kind_name(const std::optional<ModelKind>& kind);

// Checksum and classify one file: a file whose sha256 is a reference file's is that file
// (whatever its name); a file named like a reference file with another sha256 is a mismatch;
// other files get their kind from their name ("cloud"/"shadow" in it) or unknown.
ModelFileInfo describe_model_file(const std::filesystem::path& file);

// Every *.onnx file of `dir`, sorted by name. Throws InputError when `dir` is not a folder.
std::vector<ModelFileInfo> list_model_dir(const std::filesystem::path& dir);

}  // namespace s2prep::mask
