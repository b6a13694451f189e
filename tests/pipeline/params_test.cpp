#include "pipeline/params.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include <s2prep/errors.hpp>
#include "temp_dir.hpp"

namespace s2prep::pipeline {
namespace {

namespace fs = std::filesystem;

fs::path write(const fs::path& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name) << text;
  return dir / name;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(ParamsFile, YamlSetsOnlyTheKeysItHas) {
  testing::TempDir dir;
  const auto file = write(dir.path(), "p.yaml",
                          "min_tile_cover: 0.8\nmax_tiles_per_time: 2\ncloud_thr: 0.45\n"
                          "in_memory: true\ncloud_model: cloud_model3_cpu.onnx\n");
  WorkflowParams p;
  const auto keys = load_params_file(file, p);
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_DOUBLE_EQ(p.min_tile_cover, 0.8);
  EXPECT_EQ(p.max_tiles_per_time, 2);
  EXPECT_DOUBLE_EQ(p.cloud_thr, 0.45);
  EXPECT_TRUE(p.in_memory);
  EXPECT_EQ(p.cloud_model, "cloud_model3_cpu.onnx");
  EXPECT_DOUBLE_EQ(p.shadow_thr, 0.2);  // untouched default
  EXPECT_EQ(p.shadow_model, "auto");
  EXPECT_DOUBLE_EQ(p.dl_timeout, 120);
}

TEST(ParamsFile, JsonIsReadToo) {
  testing::TempDir dir;
  const auto file = write(dir.path(), "p.json",
                          R"({"shadow_thr": 0.1, "max_tiles_per_time": null, "dl_timeout": 30,
                              "pc_key": "abc"})");
  WorkflowParams p;
  p.max_tiles_per_time = 3;
  load_params_file(file, p);
  EXPECT_DOUBLE_EQ(p.shadow_thr, 0.1);
  EXPECT_FALSE(p.max_tiles_per_time);
  EXPECT_DOUBLE_EQ(p.dl_timeout, 30);
  EXPECT_EQ(p.pc_key, "abc");
}

TEST(ParamsFile, UnknownKeyAndWrongTypeNameTheKey) {
  testing::TempDir dir;
  WorkflowParams p;
  const auto unknown = write(dir.path(), "u.yaml", "cloud_threshold: 0.3\n");
  const auto msg = message_of([&] { load_params_file(unknown, p); });
  EXPECT_NE(msg.find("cloud_threshold"), std::string::npos) << msg;
  EXPECT_NE(msg.find("u.yaml"), std::string::npos) << msg;

  const auto wrong = write(dir.path(), "w.yaml", "in_memory: perhaps\n");
  const auto msg2 = message_of([&] { load_params_file(wrong, p); });
  EXPECT_NE(msg2.find("in_memory"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("perhaps"), std::string::npos) << msg2;

  const auto list = write(dir.path(), "l.yaml", "cloud_thr: [1, 2]\n");
  EXPECT_NE(message_of([&] { load_params_file(list, p); }).find("cloud_thr"), std::string::npos);

  const auto broken = write(dir.path(), "b.yaml", "cloud_thr: [1, 2\n");
  EXPECT_NE(message_of([&] { load_params_file(broken, p); }).find("not valid YAML"),
            std::string::npos);
  EXPECT_NE(
      message_of([&] { load_params_file(dir.path() / "missing.yaml", p); }).find("missing.yaml"),
      std::string::npos);
}

TEST(Params, ValidateNamesTheParameter) {
  WorkflowParams p;
  p.min_tile_cover = 0;
  EXPECT_NE(message_of([&] { p.validate(); }).find("min_tile_cover"), std::string::npos);
  p = {};
  p.cloud_thr = 1.5;
  EXPECT_NE(message_of([&] { p.validate(); }).find("cloud_thr"), std::string::npos);
  p = {};
  p.max_tiles_per_time = 0;
  EXPECT_NE(message_of([&] { p.validate(); }).find("max_tiles_per_time"), std::string::npos);
  p = {};
  p.dl_timeout = -1;
  EXPECT_NE(message_of([&] { p.validate(); }).find("dl_timeout"), std::string::npos);
  EXPECT_NO_THROW(WorkflowParams{}.validate());
}

TEST(Params, JsonNeverShowsTheKey) {
  WorkflowParams p;
  p.pc_key = "secret-key-123";
  const std::string text = params_to_json(p).dump();
  EXPECT_EQ(text.find("secret-key-123"), std::string::npos);
  EXPECT_EQ(params_to_json(p)["min_tile_cover"], 0.99);
  EXPECT_TRUE(params_to_json(p)["max_tiles_per_time"].is_null());
  for (const char* key : {"min_tile_cover", "max_tiles_per_time", "cloud_thr", "shadow_thr",
                          "in_memory", "cloud_model", "shadow_model", "pc_key", "dl_timeout"}) {
    EXPECT_TRUE(params_to_json(p).contains(key)) << key;
  }
}

}  // namespace
}  // namespace s2prep::pipeline
