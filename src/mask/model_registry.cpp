#include "mask/model_registry.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <memory>

#include <s2prep/errors.hpp>

namespace s2prep::mask {
namespace {

constexpr std::array<ReferenceModel, 6> kReferenceModels{{
    {"cloud_model1_cpu.onnx", ModelKind::cloud, "FPN, ResNet-18 encoder, 12 in, 2 classes",
     56973507, "45786f149f2cd0820846ad22336126a8a4d71d9e7d9cda02e0c3d58c3c5a1cd1"},
    {"cloud_model2_cpu.onnx", ModelKind::cloud, "FPN, ResNet-18 encoder, 12 in, 2 classes",
     56973507, "45de808bfa418d9fe31f7f4bdd656acdd20101fdc9219b901415e0e007e2db06"},
    {"cloud_model3_cpu.onnx", ModelKind::cloud, "CheapLab", 26225,
     "9ed62734bde0250af30e0085a37c1b81615c3ab286469d5a4b2709963153c329"},
    {"cloud_model4_cpu.onnx", ModelKind::cloud, "CheapLab", 29269,
     "3b5638e37571e320e3625c163df2e250330d2f3d79e03216fc92f7899bbc909f"},
    {"cloud_model5_cpu.onnx", ModelKind::cloud, "CheapLab", 29269,
     "ad93ee817eb724405760130ffe368c6d76932a0d6c6a6407de03f1abd7995229"},
    {"shadow.onnx", ModelKind::shadow, "FPN segmentation, 1 logit", 52302553,
     "88fae46b0afb6a83ccc27862fee312f8a562925b051b5a6dce2b5a91c81008e9"},
}};

constexpr std::string_view kLfsPointerPrefix = "version https://git-lfs.github.com/spec/v1";

struct EvpCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using EvpCtx = std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter>;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      throw Error("OpenSSL could not initialise SHA-256.");
    }
  }
  void update(const void* data, std::size_t n) {
    if (EVP_DigestUpdate(ctx_.get(), data, n) != 1) throw Error("OpenSSL SHA-256 update failed.");
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md.data(), &len) != 1) {
      throw Error("OpenSSL SHA-256 final failed.");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  EvpCtx ctx_;
};

std::optional<ModelKind> kind_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("shadow") != std::string::npos) return ModelKind::shadow;
  if (lower.find("cloud") != std::string::npos) return ModelKind::cloud;
  return std::nullopt;
}

}  // namespace

std::span<const ReferenceModel> reference_models() { return kReferenceModels; }

const ReferenceModel* find_reference_by_name(std::string_view file_name) {
  for (const auto& m : kReferenceModels) {
    if (m.name == file_name) return &m;
  }
  return nullptr;
}

const ReferenceModel* find_reference_by_sha256(std::string_view sha256) {
  for (const auto& m : kReferenceModels) {
    if (m.sha256 == sha256) return &m;
  }
  return nullptr;
}

std::string_view default_reference_name(ModelKind kind) {
  return kind == ModelKind::cloud ? "cloud_model2_cpu.onnx" : "shadow.onnx";
}

std::string farmvibes_path(std::string_view file_name, ModelKind kind) {
  return std::string(kind == ModelKind::cloud ? "op_resources/cloud_models/"
                                              : "op_resources/shadow_models/") +
         std::string(file_name);
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex();
}

std::string sha256_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError("Model file '" + file.string() + "' cannot be opened: check the path.");
  Sha256 sha;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = in.gcount();
    if (n > 0) sha.update(buffer.data(), static_cast<std::size_t>(n));
  }
  if (in.bad())
    throw InputError("Model file '" + file.string() + "' could not be read to the end.");
  return sha.hex();
}

bool is_git_lfs_pointer(std::span<const std::uint8_t> head) {
  if (head.size() < kLfsPointerPrefix.size()) return false;
  return std::equal(kLfsPointerPrefix.begin(), kLfsPointerPrefix.end(), head.begin(),
                    [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
}

bool is_git_lfs_pointer(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::array<std::uint8_t, kLfsPointerPrefix.size()> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  return in.gcount() == static_cast<std::streamsize>(head.size()) && is_git_lfs_pointer(head);
}

std::string_view to_string(ChecksumStatus status) {
  switch (status) {
    case ChecksumStatus::reference_ok:
      return "reference ok";
    case ChecksumStatus::sha256_mismatch:
      return "sha256 mismatch";
    case ChecksumStatus::git_lfs_pointer:
      return "git-lfs pointer";
    case ChecksumStatus::not_reference:
      break;
  }
  return "not a reference file";
}

std::string_view kind_name(const std::optional<ModelKind>& kind) {
  return kind ? to_string(*kind) : std::string_view("unknown");
}

ModelFileInfo describe_model_file(const std::filesystem::path& file) {
  ModelFileInfo info;
  info.path = file;
  info.name = file.filename().string();
  std::error_code ec;
  info.size = std::filesystem::file_size(file, ec);
  if (ec)
    throw InputError("Model file '" + file.string() + "' cannot be read: " + ec.message() + ".");
  const ReferenceModel* by_name = find_reference_by_name(info.name);
  if (is_git_lfs_pointer(file)) {
    info.status = ChecksumStatus::git_lfs_pointer;
    info.reference = by_name;
    info.kind = by_name ? std::optional(by_name->kind) : kind_from_name(info.name);
    return info;
  }
  info.sha256 = sha256_file(file);
  if (const ReferenceModel* by_sha = find_reference_by_sha256(info.sha256)) {
    info.status = ChecksumStatus::reference_ok;
    info.reference = by_sha;
    info.kind = by_sha->kind;
  } else if (by_name) {
    info.status = ChecksumStatus::sha256_mismatch;
    info.reference = by_name;
    info.kind = by_name->kind;
  } else {
    info.kind = kind_from_name(info.name);
  }
  return info;
}

std::vector<ModelFileInfo> list_model_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw InputError("Model folder '" + dir.string() +
                     "' is not a folder: set --model-dir or S2PREP_MODEL_DIR to the folder that "
                     "holds the .onnx files.");
  }
  std::vector<ModelFileInfo> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".onnx") continue;
    out.push_back(describe_model_file(entry.path()));
  }
  std::sort(out.begin(), out.end(),
            [](const ModelFileInfo& a, const ModelFileInfo& b) { return a.name < b.name; });
  return out;
}

}  // namespace s2prep::mask
