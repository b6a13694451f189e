// Output locations: the names GDAL gets for object storage, and the local folder operations
// checked against std::filesystem.
#include "output/location.hpp"

#include <gdal.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <s2prep/errors.hpp>

#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace s2prep::output;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Location, ObjectStorageNamesMapToGdal) {
  EXPECT_TRUE(is_remote("s3://bucket/prefix"));
  EXPECT_TRUE(is_remote("/vsis3/bucket/prefix"));
  EXPECT_FALSE(is_remote("out/s3:"));
  EXPECT_FALSE(is_remote("/data/out"));
  EXPECT_EQ(gdal_name(fs::path("s3://bucket/prefix") / "a.tif"), "/vsis3/bucket/prefix/a.tif");
  EXPECT_EQ(gdal_name("/vsis3/bucket/prefix/a.tif"), "/vsis3/bucket/prefix/a.tif");
  EXPECT_EQ(gdal_name("/data/out/a.tif"), "/data/out/a.tif");
  // Scratch files never go to object storage.
  EXPECT_FALSE(is_remote(scratch_folder("s3://bucket/prefix")));
  EXPECT_EQ(scratch_folder("/data/out"), fs::path("/data/out"));
}

TEST(Location, LocalFolderOperations) {
  GDALAllRegister();
  s2prep::testing::TempDir dir;
  const fs::path folder = dir.path() / "out" / "nested";
  prepare_folder(folder);
  ASSERT_TRUE(fs::is_directory(folder));

  EXPECT_FALSE(file_exists(folder / "a.json"));
  EXPECT_EQ(read_text(folder / "a.json"), std::nullopt);
  write_text(folder / "a.json", "{\"a\": 1}\n");
  EXPECT_EQ(slurp(folder / "a.json"), "{\"a\": 1}\n");
  write_text(folder / "a.json", "second");
  EXPECT_EQ(read_text(folder / "a.json"), std::optional<std::string>("second"));
  EXPECT_TRUE(file_exists(folder / "a.json"));
  fs::create_directories(folder / "sub");
  std::ofstream(folder / "b.tif") << "x";

  auto names = list_files(folder);
  std::sort(names.begin(), names.end());
  // Files only, and no temporary file left by the atomic writes.
  EXPECT_EQ(names, (std::vector<std::string>{"a.json", "b.tif"}));

  EXPECT_TRUE(remove_file(folder / "b.tif"));
  EXPECT_FALSE(fs::exists(folder / "b.tif"));
  EXPECT_FALSE(remove_file(folder / "b.tif"));
  EXPECT_TRUE(list_files(dir.path() / "missing").empty());

  // A file where the folder should be.
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_THROW(prepare_folder(dir.path() / "file"), s2prep::InputError);
}

}  // namespace
