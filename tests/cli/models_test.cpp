// Cloud and shadow models from the command line: builtin, missing and Git LFS pointer files
// (exit 2 with the file named), the stand-in ONNX models of ../shared/models (recorded by name
// and sha256), kept probabilities, and `s2prep models`.
#include <gtest/gtest.h>

#include <cmath>

#include "cli_support.hpp"

namespace s2prep::clitest {
namespace {

const std::array<std::string, 2> kDate{"2023-08-12", "2023-08-12"};  // cloudy, with shadows
const fs::path kSharedModels = fs::path(S2PREP_SHARED_DIR) / "models";
const std::string kStandIn = "standin_cloud_cheaplab_ps2.onnx";

const std::string kLfsPointer =
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d2c5e3a1f0b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d\n"
    "size 54673812\n";

// sha256 of a file as listed in the shared folder's SHA256SUMS.
std::string listed_sha256(const std::string& name) {
  std::istringstream in(read_text(kSharedModels / "SHA256SUMS"));
  for (std::string sum, file; in >> sum >> file;) {
    if (file == name || file == "*" + name) return sum;
  }
  return {};
}

class ModelsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_scene(); }
  ServedScene served_;
  TempDir out_{"s2prep-cli-models"};
  TempDir models_{"s2prep-cli-model-dir"};
};

// The merged mask contains every pixel whose probability passes its threshold, and every pixel
// the product mask flags (dilation only adds).
void expect_mask_contains_thresholds(const fs::path& out, const json& item) {
  const auto mask = read_band(asset_path(out, item, "mask"), 1);
  const auto product = read_band(asset_path(out, item, "product_mask"), 1);
  const auto cloud = read_band(asset_path(out, item, "cloud_probability"), 1);
  const auto shadow = read_band(asset_path(out, item, "shadow_probability"), 1);
  const double cloud_thr = item["properties"]["s2prep:cloud_thr"];
  const double shadow_thr = item["properties"]["s2prep:shadow_thr"];
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 255) continue;
    const bool flagged =
        cloud[i] > cloud_thr || shadow[i] > shadow_thr || (product[i] >= 1 && product[i] <= 4);
    if (flagged) {
      ASSERT_EQ(mask[i], 1) << "pixel " << i;
    }
  }
}

void expect_probabilities(const fs::path& out, const json& item) {
  for (const std::string key : {"cloud_probability", "shadow_probability"}) {
    ASSERT_TRUE(item["assets"].contains(key)) << key;
    const fs::path file = asset_path(out, item, key);
    const RasterInfo info = raster_info(file);
    const RasterInfo raster = raster_info(asset_path(out, item, "raster"));
    EXPECT_EQ(info.type, GDT_Float32) << key;
    EXPECT_EQ(info.bands, 1);
    EXPECT_EQ(info.width, raster.width);
    EXPECT_EQ(info.height, raster.height);
    EXPECT_EQ(info.transform, raster.transform);
    for (double v : read_band(file, 1)) {
      ASSERT_TRUE(v >= 0.0 && v <= 1.0) << key << " value " << v;
    }
  }
  expect_mask_contains_thresholds(out, item);
}

TEST_F(ModelsCli, BuiltinModelsWithKeptProbabilities) {
  const auto r = served_.run(
      demo_region(), kDate, out_.path(),
      {"--cloud-model", "builtin", "--shadow-model", "builtin", "--keep-probabilities"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 1u);
  const auto& p = items[0]["properties"];
  EXPECT_EQ(p["s2prep:cloud_model"]["name"], "builtin");
  EXPECT_EQ(p["s2prep:shadow_model"]["name"], "builtin");
  EXPECT_TRUE(p["s2prep:cloud_model"]["sha256"].is_null());
  expect_probabilities(out_.path(), items[0]);
  // This acquisition has clouds over the region: the built-in detector finds some.
  EXPECT_GT(p["s2prep:cloud_percent"].get<double>(), 1.0);
  EXPECT_GT(p["s2prep:masked_percent"].get<double>(), p["s2prep:cloud_percent"].get<double>());
}

TEST_F(ModelsCli, MissingModelFileIsExit2NamingTheFile) {
  const std::string missing = (models_.path() / "no-such-cloud-model.onnx").string();
  const auto r = served_.run(demo_region(), kDate, out_.path(), {"--cloud-model", missing});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], missing)) << errors[0];
  EXPECT_FALSE(fs::exists(out_.path() / "items.json"));
  // A bare name looked up in an empty model folder.
  const auto bare =
      served_.run(demo_region(), kDate, out_.path(),
                  {"--model-dir", models_.path().string(), "--shadow-model", "shadow_v9.onnx"});
  EXPECT_EQ(bare.exit_code, 2) << describe(bare);
  ASSERT_EQ(error_lines(bare.err).size(), 1u) << bare.err;
  EXPECT_TRUE(contains(error_lines(bare.err)[0], "shadow_v9.onnx"));
}

TEST_F(ModelsCli, GitLfsPointerIsExit2SayingGitLfs) {
  const fs::path pointer = models_.path() / "cloud_model2_cpu.onnx";
  write_text(pointer, kLfsPointer);
  const auto r =
      served_.run(demo_region(), kDate, out_.path(), {"--cloud-model", pointer.string()});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], "Git LFS")) << errors[0];
  EXPECT_TRUE(contains(errors[0], pointer.string())) << errors[0];
  EXPECT_TRUE(contains(errors[0], "git lfs pull")) << errors[0];
}

TEST_F(ModelsCli, AutoFallsBackToBuiltinWithANoticeForAPointer) {
  write_text(models_.path() / "cloud_model2_cpu.onnx", kLfsPointer);
  const auto r =
      served_.run(demo_region(), kDate, out_.path(), {"--model-dir", models_.path().string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.err, "Git LFS pointer")) << r.err;
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["properties"]["s2prep:cloud_model"]["name"], "builtin");
}

TEST_F(ModelsCli, UnloadableModelIsExit2NamingTheFile) {
  const fs::path garbage = models_.path() / "broken.onnx";
  write_text(garbage, std::string(4096, '\x07'));
  const auto r =
      served_.run(demo_region(), kDate, out_.path(), {"--cloud-model", garbage.string()});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  const auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_TRUE(contains(errors[0], garbage.string())) << errors[0];
}

TEST_F(ModelsCli, StandInCloudModelIsUsedAndRecorded) {
  if (!fs::exists(kSharedModels / kStandIn)) GTEST_SKIP() << "no " << kSharedModels;
  // The file by bare name from the model folder, the shadow detector built in.
  for (const std::string memory : {"", "--in-memory"}) {
    SCOPED_TRACE(memory);
    TempDir out("s2prep-cli-standin");
    std::vector<std::string> extra{
        "--model-dir", kSharedModels.string(), "--cloud-model", kStandIn, "--shadow-model",
        "builtin",     "--keep-probabilities"};
    if (!memory.empty()) extra.push_back(memory);
    const auto r = served_.run(demo_region(), kDate, out.path(), extra);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto items = output_items(out.path());
    ASSERT_EQ(items.size(), 1u);
    const auto& model = items[0]["properties"]["s2prep:cloud_model"];
    EXPECT_EQ(model["name"], kStandIn);
    EXPECT_EQ(model["sha256"], listed_sha256(kStandIn));
    EXPECT_EQ(items[0]["properties"]["s2prep:shadow_model"]["name"], "builtin");
    // --engine auto runs the CheapLab architecture on oneDNN and says so.
    EXPECT_EQ(model["engine"], "onednn");
    EXPECT_EQ(items[0]["properties"]["s2prep:shadow_model"]["engine"], "builtin");
    const json run = read_json(out.path() / "run.json");
    EXPECT_EQ(run["models"]["cloud"]["sha256"], listed_sha256(kStandIn));
    EXPECT_EQ(run["models"]["cloud"]["engine"], "onednn");
    expect_probabilities(out.path(), items[0]);
  }
}

TEST(ModelsCommand, ListsTheSharedStandIns) {
  if (!fs::exists(kSharedModels)) GTEST_SKIP() << "no " << kSharedModels;
  const auto r = s2prep({"models", "--model-dir", kSharedModels.string()});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (const auto& name : {"standin_cloud_cheaplab_ps1.onnx", "standin_cloud_cheaplab_ps2.onnx",
                           "standin_cloud_fpn.onnx", "standin_shadow_fpn.onnx"}) {
    EXPECT_TRUE(contains(r.out, name)) << r.out;
  }
  EXPECT_TRUE(contains(r.out, "not a reference file")) << r.out;
}

TEST(ModelsCommand, StatusOfPointersAndImpostors) {
  TempDir dir("s2prep-cli-model-dir");
  write_text(dir.path() / "cloud_model2_cpu.onnx", kLfsPointer);
  write_text(dir.path() / "shadow.onnx", "not the reference shadow model");
  write_text(dir.path() / "notes.txt", "ignored: not an .onnx file");
  const auto r = s2prep({"models", "--model-dir", dir.path().string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = json::parse(r.out);
  std::map<std::string, json> by_name;
  for (const auto& m : j.at("models")) by_name[m.at("name")] = m;
  ASSERT_EQ(by_name.size(), 2u) << j.dump(1);
  EXPECT_EQ(by_name["cloud_model2_cpu.onnx"]["status"], "git-lfs pointer");
  EXPECT_EQ(by_name["cloud_model2_cpu.onnx"]["kind"], "cloud");
  EXPECT_EQ(by_name["shadow.onnx"]["status"], "sha256 mismatch");
  EXPECT_EQ(by_name["shadow.onnx"]["kind"], "shadow");
  EXPECT_EQ(by_name["shadow.onnx"]["size"], 30);
  // The table says the same, and the folder can come from the environment.
  const auto table = s2prep({"models"}, {{"S2PREP_MODEL_DIR", dir.path().string()}});
  ASSERT_EQ(table.exit_code, 0) << describe(table);
  EXPECT_TRUE(contains(table.out, "git-lfs pointer")) << table.out;
  EXPECT_TRUE(contains(table.out, "sha256 mismatch")) << table.out;
}

TEST(ModelsCommand, NoModelFolderIsExit2) {
  const auto r = s2prep({"models"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  ASSERT_EQ(error_lines(r.err).size(), 1u) << r.err;
  EXPECT_TRUE(contains(error_lines(r.err)[0], "--model-dir"));
}

}  // namespace
}  // namespace s2prep::clitest
