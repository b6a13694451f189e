// items.json names the engine that ran each model, next to the model's name and checksum.

#include <gtest/gtest.h>

#include "pipeline/catalog.hpp"

namespace s2prep::pipeline {
namespace {

TEST(ModelEngineRecord, ItemNamesTheEngineOfEachModelAndReadsItBack) {
  OutputRecord r;
  r.id = "S2_20230601T100559";
  r.datetime = *parse_time("2023-06-01T10:05:59.024Z");
  r.grid.epsg = 32633;
  r.grid.transform = {309340, 10, 0, 5395610, 0, -10};
  r.grid.width = 20;
  r.grid.height = 20;
  r.platforms = {"Sentinel-2A"};
  r.cloud_model = {"cloud_model2_cpu.onnx", std::string(64, 'a'), "onednn"};
  r.shadow_model = {"builtin", "", "builtin"};
  r.fingerprint = "f00";
  const auto item = to_stac_item(r);
  const auto& p = item["properties"];
  EXPECT_EQ(p["s2prep:cloud_model"]["engine"], "onednn");
  EXPECT_EQ(p["s2prep:shadow_model"]["engine"], "builtin");
  const OutputRecord back = from_stac_item(item);
  EXPECT_EQ(back.cloud_model.engine, "onednn");
  EXPECT_EQ(back.shadow_model.engine, "builtin");

  // Items written before the engine was recorded still read.
  auto old = item;
  old["properties"]["s2prep:cloud_model"].erase("engine");
  EXPECT_EQ(from_stac_item(old).cloud_model.engine, "");
}

}  // namespace
}  // namespace s2prep::pipeline
