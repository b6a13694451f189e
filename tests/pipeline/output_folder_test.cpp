#include "pipeline/output_folder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <s2prep/errors.hpp>
#include "pipeline/catalog.hpp"
#include "temp_dir.hpp"

namespace s2prep::pipeline {
namespace {

namespace fs = std::filesystem;

FolderIdentity identity(const std::string& region) {
  FolderIdentity id;
  id.region_wkt = region;
  id.stac_url = "http://127.0.0.1:1/stac";
  id.collection = "sentinel-2-l2a";
  id.layout = "grid";
  Grid g;
  g.epsg = 32633;
  g.transform = {300000, 10, 0, 5400000, 0, -10};
  g.width = 100;
  g.height = 80;
  id.grid = g;
  return id;
}

// A complete output as the pipeline leaves it: its files, then its sidecar.
void write_output(const fs::path& folder, const std::string& name, const std::string& datetime) {
  OutputRecord r;
  r.id = name;
  r.datetime = *parse_time(datetime);
  r.grid = *identity("x").grid;
  r.cloud_model = {"builtin", "", "builtin"};
  r.shadow_model = {"builtin", "", "builtin"};
  r.fingerprint = "f";
  r.assets = {{"raster", name + "_raster.tif"}, {"mask", name + "_mask.tif"}};
  for (const auto& [key, file] : r.assets) std::ofstream(folder / file) << "pixels";
  write_text_atomically(folder / (name + ".json"), to_stac_item(r).dump());
}

std::vector<std::string> listed(const fs::path& folder) {
  std::vector<std::string> ids;
  for (const auto& item : complete_output_items(folder)) ids.push_back(item.at("id"));
  return ids;
}

TEST(OutputFolder, ListsCompleteOutputsInTimeOrderOnly) {
  testing::TempDir dir("s2prep-folder");
  write_output(dir.path(), "S2_20210710T100559", "2021-07-10T10:05:59Z");
  write_output(dir.path(), "S2_20210615T101559", "2021-06-15T10:15:59Z");
  write_output(dir.path(), "S2_20220620T101559", "2022-06-20T10:15:59Z");
  fs::remove(dir.path() / "S2_20220620T101559_mask.tif");  // a sidecar whose file is gone
  std::ofstream(dir.path() / "notes.json") << "{\"not\": \"an output\"}";
  EXPECT_EQ(listed(dir.path()),
            (std::vector<std::string>{"S2_20210615T101559", "S2_20210710T100559"}));
}

TEST(OutputFolder, AnotherRequestIsRefusedUnlessReplaced) {
  testing::TempDir dir("s2prep-folder");
  {
    OutputFolder folder(dir.path(), identity("POLYGON A"), false);
    folder.claim();
    write_output(dir.path(), "S2_20210615T101559", "2021-06-15T10:15:59Z");
    folder.refresh_catalogue();
  }
  { OutputFolder same(dir.path(), identity("POLYGON A"), false); }  // same request: fine
  EXPECT_THROW(OutputFolder(dir.path(), identity("POLYGON B"), false), InputError);
  EXPECT_EQ(listed(dir.path()).size(), 1u);
  OutputFolder replaced(dir.path(), identity("POLYGON B"), true);
  EXPECT_EQ(listed(dir.path()).size(), 1u) << "nothing is removed before the claim";
  replaced.claim();
  EXPECT_TRUE(listed(dir.path()).empty());
  EXPECT_FALSE(fs::exists(dir.path() / "S2_20210615T101559_raster.tif"));
}

TEST(OutputFolder, OneWriterAtATimeAndOnlyDeadWritersTemporariesAreRemoved) {
  testing::TempDir dir("s2prep-folder");
  // A pid that is not running (pid_max is far below this on Linux) and this process's own.
  const fs::path dead = dir.path() / ".S2_x_raster.tif.tmp-2147483646";
  const fs::path alive = dir.path() / (".S2_x_mask.tif.tmp-" + std::to_string(::getppid()));
  std::ofstream(dead) << "partial";
  std::ofstream(alive) << "partial";
  OutputFolder first(dir.path(), identity("POLYGON A"), false);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_THROW(OutputFolder(dir.path(), identity("POLYGON A"), false), Error);
}

TEST(OutputFolder, RetractingAnOutputUpdatesTheCatalogue) {
  testing::TempDir dir("s2prep-folder");
  OutputFolder folder(dir.path(), identity("POLYGON A"), false);
  folder.claim();
  EXPECT_FALSE(fs::exists(dir.path() / "items.json")) << "nothing complete, no catalogue";
  write_output(dir.path(), "S2_20210615T101559", "2021-06-15T10:15:59Z");
  folder.refresh_catalogue();
  ASSERT_TRUE(fs::exists(dir.path() / "items.json"));
  folder.retract("S2_20210615T101559");
  std::ifstream in(dir.path() / "items.json");
  EXPECT_TRUE(nlohmann::json::parse(in).at("features").empty());
}

}  // namespace
}  // namespace s2prep::pipeline
