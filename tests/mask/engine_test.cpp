#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <s2prep/errors.hpp>
#include "mask/model_registry.hpp"
#include "mask/model_resolution.hpp"
#include "mask/opencv_engine.hpp"
#include "test_support.hpp"

namespace s2prep::mask {
namespace {

using testing::model_path;
const auto& model = model_path;

std::string load_error(const std::filesystem::path& file, ModelKind kind) {
  try {
    load_opencv_model(file, kind);
  } catch (const InputError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  ADD_FAILURE() << "no InputError for " << file;
  return {};
}

class TempFolder {
 public:
  TempFolder() {
    path_ = std::filesystem::temp_directory_path() /
            ("s2prep-mask-dir-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(Engine, LoadsModelsWithTheReferenceContract) {
  EXPECT_EQ(load_opencv_model(model("cloud_linear.onnx"), ModelKind::cloud)->output_channels(), 2);
  EXPECT_EQ(
      load_opencv_model(model("cloud_linear_dynbatch.onnx"), ModelKind::cloud)->output_channels(),
      2);
  EXPECT_EQ(load_opencv_model(model("shadow_linear.onnx"), ModelKind::shadow)->output_channels(),
            1);
}

TEST(Engine, MissingFile) {
  const auto msg = load_error(model("no_such_model.onnx"), ModelKind::cloud);
  EXPECT_NE(msg.find("no_such_model.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
}

TEST(Engine, GitLfsPointerSaysHowToFetchTheRealFile) {
  const auto msg = load_error(model("bad_lfs_pointer.onnx"), ModelKind::cloud);
  EXPECT_NE(msg.find("Git LFS pointer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("git lfs pull"), std::string::npos) << msg;
  EXPECT_NE(msg.find("op_resources/cloud_models/"), std::string::npos) << msg;
  const auto shadow_msg = load_error(model("bad_lfs_pointer.onnx"), ModelKind::shadow);
  EXPECT_NE(shadow_msg.find("op_resources/shadow_models/shadow.onnx"), std::string::npos)
      << shadow_msg;
}

TEST(Engine, TruncatedFileIsNotLoadable) {
  const auto msg = load_error(model("bad_truncated.onnx"), ModelKind::cloud);
  EXPECT_NE(msg.find("cannot be loaded"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;
}

TEST(Engine, GarbageFileIsNotLoadable) {
  TempFolder dir;
  const auto file = dir.path() / "garbage.onnx";
  std::ofstream(file) << "this is not a model at all";
  const auto msg = load_error(file, ModelKind::cloud);
  EXPECT_NE(msg.find("cannot be loaded"), std::string::npos) << msg;
}

TEST(Engine, WrongInputShape) {
  const auto in3 = load_error(model("bad_in3.onnx"), ModelKind::cloud);
  EXPECT_NE(in3.find("1x3x512x512"), std::string::npos) << in3;
  EXPECT_NE(in3.find("not Nx12x512x512"), std::string::npos) << in3;
  const auto hw = load_error(model("bad_hw256.onnx"), ModelKind::cloud);
  EXPECT_NE(hw.find("1x12x256x256"), std::string::npos) << hw;
  EXPECT_NE(hw.find("not Nx12x512x512"), std::string::npos) << hw;
}

TEST(Engine, WrongOutputChannels) {
  const auto three = load_error(model("bad_out3.onnx"), ModelKind::cloud);
  EXPECT_NE(three.find("outputs 3 channels"), std::string::npos) << three;
  EXPECT_NE(three.find("must output 2"), std::string::npos) << three;
  const auto cloud_as_shadow = load_error(model("cloud_linear.onnx"), ModelKind::shadow);
  EXPECT_NE(cloud_as_shadow.find("must output 1"), std::string::npos) << cloud_as_shadow;
  const auto shadow_as_cloud = load_error(model("shadow_linear.onnx"), ModelKind::cloud);
  EXPECT_NE(shadow_as_cloud.find("outputs 1 channel,"), std::string::npos) << shadow_as_cloud;
}

TEST(Registry, Sha256) {
  const std::string abc = "abc";
  EXPECT_EQ(sha256_hex({reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  TempFolder dir;
  std::ofstream(dir.path() / "abc.txt") << "abc";
  EXPECT_EQ(sha256_file(dir.path() / "abc.txt"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Registry, ReferenceTableOfSpec) {
  ASSERT_EQ(reference_models().size(), 6u);
  const auto* m2 = find_reference_by_name("cloud_model2_cpu.onnx");
  ASSERT_NE(m2, nullptr);
  EXPECT_EQ(m2->size, 56973507u);
  EXPECT_EQ(m2->kind, ModelKind::cloud);
  EXPECT_EQ(
      find_reference_by_sha256("88fae46b0afb6a83ccc27862fee312f8a562925b051b5a6dce2b5a91c81008e9"),
      find_reference_by_name("shadow.onnx"));
  EXPECT_EQ(find_reference_by_name("cloud_model9_cpu.onnx"), nullptr);
}

TEST(Registry, ListModelDir) {
  TempFolder dir;
  const auto& d = dir.path();
  std::filesystem::copy_file(model("cloud_linear.onnx"), d / "cloud_model2_cpu.onnx");
  std::filesystem::copy_file(model("bad_lfs_pointer.onnx"), d / "shadow.onnx");
  std::filesystem::copy_file(model("cloud_linear.onnx"), d / "my_cloud.onnx");
  std::filesystem::copy_file(model("shadow_linear.onnx"), d / "other.onnx");
  std::ofstream(d / "notes.txt") << "not a model";

  const auto list = list_model_dir(d);
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].name, "cloud_model2_cpu.onnx");
  EXPECT_EQ(to_string(list[0].status), "sha256 mismatch");
  EXPECT_EQ(kind_name(list[0].kind), "cloud");
  EXPECT_EQ(list[0].sha256, sha256_file(model("cloud_linear.onnx")));
  EXPECT_EQ(list[0].size, std::filesystem::file_size(model("cloud_linear.onnx")));
  EXPECT_EQ(list[1].name, "my_cloud.onnx");
  EXPECT_EQ(to_string(list[1].status), "not a reference file");
  EXPECT_EQ(kind_name(list[1].kind), "cloud");
  EXPECT_EQ(list[2].name, "other.onnx");
  EXPECT_EQ(kind_name(list[2].kind), "unknown");
  EXPECT_EQ(list[3].name, "shadow.onnx");
  EXPECT_EQ(to_string(list[3].status), "git-lfs pointer");
  EXPECT_EQ(kind_name(list[3].kind), "shadow");

  EXPECT_THROW(list_model_dir(d / "missing"), InputError);
}

TEST(Resolution, BuiltinAndAuto) {
  auto b = resolve_model("builtin", ModelKind::cloud, "");
  EXPECT_TRUE(b.builtin);
  EXPECT_EQ(b.name, "builtin");
  EXPECT_EQ(b.sha256, "");
  EXPECT_TRUE(b.notice.empty());

  auto no_dir = resolve_model("auto", ModelKind::cloud, "");
  EXPECT_TRUE(no_dir.builtin);
  EXPECT_NE(no_dir.notice.find("cloud_model2_cpu.onnx"), std::string::npos) << no_dir.notice;

  TempFolder dir;
  auto absent = resolve_model("auto", ModelKind::shadow, dir.path());
  EXPECT_TRUE(absent.builtin);
  EXPECT_NE(absent.notice.find("No shadow.onnx"), std::string::npos) << absent.notice;

  std::filesystem::copy_file(model("bad_lfs_pointer.onnx"), dir.path() / "shadow.onnx");
  auto pointer = resolve_model("", ModelKind::shadow, dir.path());
  EXPECT_TRUE(pointer.builtin);
  EXPECT_NE(pointer.notice.find("Git LFS pointer"), std::string::npos) << pointer.notice;

  std::filesystem::copy_file(model("cloud_linear.onnx"), dir.path() / "cloud_model2_cpu.onnx");
  auto mismatch = resolve_model("auto", ModelKind::cloud, dir.path());
  EXPECT_TRUE(mismatch.builtin);
  EXPECT_NE(mismatch.notice.find("sha256"), std::string::npos) << mismatch.notice;
}

TEST(Resolution, AGivenModelFolderMustExist) {
  TempFolder dir;
  const auto missing = dir.path() / "no-such-folder";
  // Before any model is chosen: `auto` must not turn a typo into the built-in detector.
  for (const char* value : {"auto", "builtin", "cloud_model2_cpu.onnx"}) {
    try {
      resolve_model(value, ModelKind::cloud, missing);
      ADD_FAILURE() << value << ": a missing model folder was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
    }
  }
  try {
    check_model_dir(missing, "S2PREP_MODEL_DIR");
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("S2PREP_MODEL_DIR"), std::string::npos) << e.what();
  }
  std::filesystem::copy_file(model("cloud_linear.onnx"), dir.path() / "file.onnx");
  EXPECT_THROW(check_model_dir(dir.path() / "file.onnx", "--model-dir"), InputError);
  EXPECT_NO_THROW(check_model_dir(dir.path(), "--model-dir"));
  EXPECT_NO_THROW(check_model_dir("", "--model-dir"));
}

TEST(Resolution, NamesAndPaths) {
  TempFolder dir;
  std::filesystem::copy_file(model("cloud_linear.onnx"), dir.path() / "my_cloud.onnx");
  std::filesystem::copy_file(model("cloud_linear.onnx"), dir.path() / "cloud_model2_cpu.onnx");
  std::filesystem::copy_file(model("bad_lfs_pointer.onnx"), dir.path() / "ptr.onnx");

  auto bare = resolve_model("my_cloud.onnx", ModelKind::cloud, dir.path());
  EXPECT_FALSE(bare.builtin);
  EXPECT_EQ(bare.name, "my_cloud.onnx");
  EXPECT_EQ(bare.path, dir.path() / "my_cloud.onnx");
  EXPECT_EQ(bare.sha256, sha256_file(model("cloud_linear.onnx")));
  EXPECT_TRUE(bare.notice.empty());

  auto path = resolve_model(model("shadow_linear.onnx").string(), ModelKind::shadow, dir.path());
  EXPECT_EQ(path.path, model("shadow_linear.onnx"));
  EXPECT_EQ(path.sha256, sha256_file(model("shadow_linear.onnx")));

  // Named like the reference but another checksum: used when asked for explicitly, noted.
  auto named = resolve_model("cloud_model2_cpu.onnx", ModelKind::cloud, dir.path());
  EXPECT_FALSE(named.builtin);
  EXPECT_EQ(named.status, ChecksumStatus::sha256_mismatch);
  EXPECT_NE(named.notice.find("sha256 differs"), std::string::npos) << named.notice;

  EXPECT_THROW(resolve_model("nothing.onnx", ModelKind::cloud, dir.path()), InputError);
  try {
    resolve_model("ptr.onnx", ModelKind::cloud, dir.path());
    ADD_FAILURE() << "pointer accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("git lfs pull"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace s2prep::mask
