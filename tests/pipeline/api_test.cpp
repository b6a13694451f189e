// The public C++ API (<s2prep/s2prep.hpp>) against the standard synthetic scene on the local
// test server: what a program using the library sees. The outputs are read back with GDAL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <s2prep/s2prep.hpp>
#include <set>
#include <stop_token>
#include <thread>

#include "../cli/cli_support.hpp"

namespace s2prep::clitest {
namespace {

using ::testing::HasSubstr;

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { served_ = new ServedScene(); }
  static void TearDownTestSuite() {
    delete served_;
    served_ = nullptr;
  }

  // The demo region on 2023-09-01 (two tiles, one acquisition) from the served scene.
  static RunOptions options(const fs::path& out) {
    RunOptions o;
    o.request.geometry = demo_region();
    o.request.start = "2023-08-01";
    o.request.end = "2023-09-30";
    o.request.services.stac_url = served_->server.stac_url();
    o.request.services.token_url = served_->server.token_url();
    o.out_dir = out;
    o.keep_probabilities = true;
    return o;
  }

  static ServedScene* served_;
  TempDir out_;
};

ServedScene* Api::served_ = nullptr;

TEST_F(Api, GivenItemsAreSelectedWithoutAnotherSearch) {
  const SearchResult found = search(options(out_.path()).request);
  ASSERT_FALSE(found.acquisitions.empty());
  ASSERT_TRUE(found.complete);
  EXPECT_EQ(found.items.size(), found.items_found);

  Request again = options(out_.path()).request;
  again.services.stac_url = "http://127.0.0.1:9/unreachable";  // no catalogue to ask
  again.items = found.items;
  const SearchResult reused = search(again);
  EXPECT_EQ(reused.to_json(), found.to_json());
  EXPECT_EQ(json::parse(found.to_json()).at("acquisitions").size(), found.acquisitions.size());
}

TEST_F(Api, LoadGivesThePixelsRunWrites) {
  const RunOptions o = options(out_.path());
  const s2prep::RunResult written = run(o);
  const LoadResult loaded = load(o);
  const auto items = output_items(out_.path());
  ASSERT_EQ(items.size(), written.outputs.size());
  ASSERT_EQ(loaded.acquisitions.size(), items.size());
  const std::size_t times = items.size();
  const std::size_t pixels = loaded.grid.pixel_count();
  ASSERT_EQ(loaded.reflectance.size(), 12 * times * pixels);
  for (std::size_t t = 0; t < times; ++t) {
    const json& item = items[t];
    EXPECT_EQ(loaded.acquisitions[t].summary.datetime, item["properties"]["datetime"]);
    const auto transform = item["properties"]["proj:transform"].get<std::vector<double>>();
    EXPECT_DOUBLE_EQ(transform[2], loaded.grid.transform[0]);
    EXPECT_DOUBLE_EQ(transform[5], loaded.grid.transform[3]);
    EXPECT_EQ(item["properties"]["proj:epsg"], loaded.grid.epsg);
    for (int b = 0; b < 12; ++b) {
      const auto cog = read_band(asset_path(out_.path(), item, "raster"), b + 1);
      ASSERT_EQ(cog.size(), pixels);
      const std::uint16_t* cube = loaded.reflectance.data() + (b * times + t) * pixels;
      std::size_t differ = 0;
      for (std::size_t i = 0; i < pixels; ++i) differ += cog[i] != cube[i];
      EXPECT_EQ(differ, 0u) << "band " << band_names()[b] << " of " << item["id"];
    }
    auto compare = [&](const std::string& key, const auto& cube) {
      const auto cog = read_band(asset_path(out_.path(), item, key), 1);
      std::size_t differ = 0;
      for (std::size_t i = 0; i < pixels; ++i) differ += cog[i] != double(cube[t * pixels + i]);
      EXPECT_EQ(differ, 0u) << key << " of " << item["id"];
    };
    compare("mask", loaded.mask);
    compare("product_mask", loaded.product_mask);
    compare("cloud_probability", loaded.cloud_probability);
    compare("shadow_probability", loaded.shadow_probability);
  }
  EXPECT_EQ(loaded.cloud_model.name, written.outputs.at(0).cloud_model);
}

TEST_F(Api, AStopRequestEndsTheRunWithNothingHalfWritten) {
  std::stop_source stop;
  RunOptions o = options(out_.path());
  o.stop = stop.get_token();
  std::atomic<int> reads_after_stop{0};
  EXPECT_THROW(run(o,
                   [&](const Progress& p) {
                     if (stop.stop_requested()) ++reads_after_stop;
                     if (p.stage == "read" && p.done >= 1) stop.request_stop();
                   }),
               Cancelled);
  EXPECT_EQ(reads_after_stop.load(), 0) << "progress went on after the stop";
  for (const auto& f : list_files(out_.path())) {
    EXPECT_FALSE(f.ends_with(".json") && f.rfind("S2_", 0) == 0) << f << " claims completeness";
    EXPECT_EQ(f.find("tmp"), std::string::npos) << f << " was left behind";
  }
  // The same request without the stop completes the folder.
  o.stop = {};
  const s2prep::RunResult done = run(o);
  EXPECT_FALSE(done.outputs.empty());
}

TEST_F(Api, AStopRequestEndsASearch) {
  std::stop_source stop;
  stop.request_stop();
  const int before = served_->server.request_count("/stac/search");
  EXPECT_THROW(search(options(out_.path()).request, stop.get_token()), Cancelled);
  EXPECT_EQ(served_->server.request_count("/stac/search"), before);
}

TEST_F(Api, LogLinesGoToTheCallersHandler) {
  std::mutex lines_mutex;
  std::vector<std::pair<LogLevel, std::string>> lines;
  set_log_handler(
      [&](LogLevel level, std::string_view message) {
        std::lock_guard lock(lines_mutex);
        lines.emplace_back(level, std::string(message));
      },
      LogLevel::info);
  search(options(out_.path()).request);
  set_log_handler({});
  const auto found = std::find_if(lines.begin(), lines.end(), [](const auto& line) {
    return line.first == LogLevel::info && line.second.find("items found") != std::string::npos;
  });
  EXPECT_NE(found, lines.end()) << lines.size() << " lines";
  const std::size_t seen = lines.size();
  search(options(out_.path()).request);  // back on stderr: the handler hears nothing more
  EXPECT_EQ(lines.size(), seen);
}

TEST_F(Api, ProgressCallsNeverOverlapAndComeFromWorkerThreads) {
  RunOptions o = options(out_.path());
  o.jobs = 8;
  std::atomic<int> inside{0}, most{0}, calls{0};
  std::mutex seen_mutex;
  std::set<std::thread::id> threads;
  run(o, [&](const Progress&) {
    const int now = ++inside;
    most = std::max(most.load(), now);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // widen any overlap
    {
      std::lock_guard lock(seen_mutex);
      threads.insert(std::this_thread::get_id());
    }
    ++calls;
    --inside;
  });
  EXPECT_GT(calls.load(), 20);
  EXPECT_EQ(most.load(), 1);
  EXPECT_GT(threads.size(), 1u) << "band reads report from the reading threads";
}

TEST_F(Api, EachCallHasItsOwnHttpLimits) {
  // Catalogue answers take 1.5 s: a call allowing 0.3 s per attempt and 1 s in all fails with a
  // RemoteError, while a concurrent call with the defaults succeeds.
  TestServer slow;
  serve_scene(slow, shared_scene());
  slow.inject("/stac/search", Fault::delayed(std::chrono::milliseconds(1500), 1000));
  Request patient = options(out_.path()).request;
  patient.services.stac_url = slow.stac_url();
  Request hasty = patient;
  hasty.http.request_timeout_s = 0.3;
  hasty.http.total_timeout_s = 1;
  std::optional<SearchResult> patient_result;
  std::thread other([&] { patient_result = search(patient); });
  try {
    search(hasty);
    ADD_FAILURE() << "the hasty search should have failed";
  } catch (const RemoteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/stac/search"));
  }
  other.join();
  ASSERT_TRUE(patient_result);
  EXPECT_FALSE(patient_result->acquisitions.empty());
}

TEST_F(Api, OptionsAreValidatedByTheLibrary) {
  RunOptions o = options(out_.path() / "never");
  o.full_tile = true;  // needs the tile layout
  EXPECT_THROW(run(o), InputError);
  o.full_tile = false;
  o.model_dir = out_.path() / "no-such-models";
  try {
    run(o);
    ADD_FAILURE() << "a missing model folder must be refused";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no-such-models"));
  }
  o.model_dir.clear();
  o.request.params.cloud_thr = 2;
  EXPECT_THROW(load(o), InputError);
  o.request.params.cloud_thr = 0.3;
  o.layout = Layout::tile;
  EXPECT_THROW(load(o), InputError);  // one grid for every acquisition needs the grid layout
  o.layout = Layout::grid;
  o.out_dir.clear();
  EXPECT_THROW(run(o), InputError);
  EXPECT_FALSE(fs::exists(out_.path() / "never"));
  EXPECT_THROW(parse_layout("tiles"), InputError);
  EXPECT_EQ(parse_engine("onednn"), Engine::onednn);
}

TEST_F(Api, UnsetServicesComeFromTheEnvironment) {
  Request request = options(out_.path()).request;
  request.services.stac_url.clear();
  request.services.token_url.clear();
  ::setenv("S2PREP_STAC_URL", served_->server.stac_url().c_str(), 1);
  ::setenv("S2PREP_TOKEN_URL", served_->server.token_url().c_str(), 1);
  const SearchResult result = search(request);
  ::unsetenv("S2PREP_STAC_URL");
  ::unsetenv("S2PREP_TOKEN_URL");
  EXPECT_FALSE(result.acquisitions.empty());
}

TEST_F(Api, PlanNamesTheOutputsAndGridsRunWrites) {
  RunOptions o = options(out_.path());
  o.layout = Layout::tile;
  const Plan planned = plan(o);
  const s2prep::RunResult written = run(o);
  ASSERT_EQ(planned.outputs.size(), written.outputs.size());
  const auto items = output_items(out_.path());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& output = planned.outputs[i];
    EXPECT_EQ(output.name, items[i]["id"]);
    EXPECT_EQ(output.grid.width, items[i]["properties"]["proj:shape"][1]);
    EXPECT_EQ(output.grid.height, items[i]["properties"]["proj:shape"][0]);
    EXPECT_GT(output.memory_bytes, 12u * 2u * output.grid.pixel_count());
  }
}

}  // namespace
}  // namespace s2prep::clitest
