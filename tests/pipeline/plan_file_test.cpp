// Reading plans handed to `run --plan` and `collect`: hostile indexes found by review of what
// fuzz_plan_file reads.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
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

// A plan of two units as `s2prep plan` writes it (the fuzzing seed fuzz/corpus/plan_file/
// plan_two_units, written by fuzz/make_corpus.py), made this version's.
nlohmann::json two_unit_plan() {
  std::ifstream in(std::filesystem::path(S2PREP_SOURCE_DIR) /
                   "fuzz/corpus/plan_file/plan_two_units");
  std::stringstream text;
  text << in.rdbuf();
  auto plan = nlohmann::json::parse(text.str());
  plan["s2prep_version"] = kVersion;
  return plan;
}

std::string plan_error_of(const testing::TempDir& dir, const nlohmann::json& plan) {
  const auto file = dir / kPlanFile;
  std::ofstream(file) << plan.dump();
  try {
    (void)read_plan(file);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

// nlohmann's get<int>() casts any number: a double beyond int's range is undefined behaviour (found
// by fuzz_plan_file: {"s2prep_plan": -8.02e27}) and a fraction would be cut. Every whole number a
// plan holds is checked before it is used.
TEST(PlanFile, NumbersThatAreNotWholeNumbersInRangeAreRejected) {
  const testing::TempDir dir;
  const nlohmann::json good = two_unit_plan();
  ASSERT_EQ(plan_error_of(dir, good), "(no InputError)");
  EXPECT_EQ(read_plan(dir / kPlanFile).units.size(), 2u);

  nlohmann::json bad = good;
  bad["s2prep_plan"] = -8.0215028005188e27;
  EXPECT_NE(plan_error_of(dir, bad).find("is not a plan of this s2prep version"),
            std::string::npos);

  using Pointer = nlohmann::json::json_pointer;
  for (const std::string field :
       {"/units/0/grid/width", "/units/1/grid/height", "/units/0/grid/epsg", "/options/dilation",
        "/options/min_area", "/options/context", "/parameters/max_tiles_per_time",
        "/units/0/memory_bytes", "/units/1/scratch_bytes"}) {
    for (const nlohmann::json& value : {nlohmann::json(1e300), nlohmann::json(-8.02e27),
                                        nlohmann::json(2.5), nlohmann::json(-1e19)}) {
      bad = good;
      bad[Pointer(field)] = value;
      const std::string error = plan_error_of(dir, bad);
      EXPECT_NE(error.find("not a whole number in range"), std::string::npos)
          << field << " = " << value.dump() << ": " << error;
      EXPECT_NE(error.find((dir / kPlanFile).string()), std::string::npos) << error;
    }
  }
  // A whole number written as a double is what it says.
  bad = good;
  bad[Pointer("/units/0/grid/width")] = good[Pointer("/units/0/grid/width")].get<double>();
  EXPECT_EQ(plan_error_of(dir, bad), "(no InputError)");
  // Unsigned fields refuse negative numbers, and int fields numbers past 2^31 - 1.
  bad = good;
  bad[Pointer("/units/0/memory_bytes")] = -1;
  EXPECT_NE(plan_error_of(dir, bad).find("not a whole number in range"), std::string::npos);
  bad = good;
  bad[Pointer("/units/0/grid/width")] = 2147483648LL;
  EXPECT_NE(plan_error_of(dir, bad).find("not a whole number in range"), std::string::npos);
}

}  // namespace
}  // namespace s2prep::pipeline
