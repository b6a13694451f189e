// Reading plans handed to `run --plan` and `collect`: hostile indexes found by review of what
// fuzz_plan_file reads.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <s2prep/errors.hpp>
#include "core/version.hpp"
#include "pipeline/plan_file.hpp"
#include "temp_dir.hpp"

namespace s2prep::pipeline {
namespace {

std::filesystem::path write_index(const testing::TempDir& dir, const std::string& name,
                                  const std::string& units = "1") {
  const auto file = dir / kPlanFile;
  std::ofstream(file) << R"({"s2prep_plan": 1, "s2prep_version": ")" << kVersion
                      << R"(", "features": [{"name": "north", "units": 2}, {"name": )" << name
                      << R"(, "units": )" << units << R"(}], "features_without_outputs": []})";
  return file;
}

std::string input_error_of(const std::filesystem::path& index) {
  try {
    (void)read_feature_index(index);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

// A feature name is a sub-folder of the plan's folder and of the outputs' folder: a name that
// leaves them would make a worker read a plan and write outputs anywhere.
TEST(PlanFile, IndexFeatureNamesThatLeaveTheFolderAreRejected) {
  const testing::TempDir dir;
  for (const std::string name : {R"("../../elsewhere")", R"("a/b")", R"("..")", R"("")",
                                 R"("/etc")", R"("a\\b")", R"(".hidden")"}) {
    const std::string error = input_error_of(write_index(dir, name));
    EXPECT_NE(error.find("not a plain folder name"), std::string::npos) << name << ": " << error;
    EXPECT_NE(error.find(dir.path().string()), std::string::npos) << error;
  }
}

// A unit count that is not a count (read as size_t, -1 became 2^64 - 1 units to share out).
TEST(PlanFile, IndexUnitCountsThatAreNotCountsAreRejected) {
  const testing::TempDir dir;
  for (const std::string units : {"-1", "1.5", "\"2\"", "null", "10000001", "1e18"}) {
    const std::string error = input_error_of(write_index(dir, "\"south\"", units));
    EXPECT_NE(error.find("not a whole number of units"), std::string::npos)
        << units << ": " << error;
  }
}

TEST(PlanFile, IndexFeatureNamesTheOwnerWritesAreRead) {
  const testing::TempDir dir;
  // parse_features' names: a safe name, a position, a repeat's "-N" on a name of the longest size.
  const std::string longest(64, 'x');
  for (const std::string& name :
       {std::string("field_1"), std::string("3"), std::string("field-2-2"), longest + "-2"}) {
    const auto features = read_feature_index(write_index(dir, "\"" + name + "\""));
    ASSERT_TRUE(features.has_value()) << name;
    ASSERT_EQ(features->size(), 2u);
    EXPECT_EQ((*features)[0].name, "north");
    EXPECT_EQ((*features)[1].name, name);
    EXPECT_EQ((*features)[1].units, 1u);
  }
}

}  // namespace
}  // namespace s2prep::pipeline
