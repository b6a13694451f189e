// COGs written while other threads write theirs and churn GDAL's process-wide block cache (as
// acquisitions in flight do: one reads its bands while another writes its outputs) are the same
// files, byte for byte, as those written one at a time.
#include <gdal.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest/gdal_env.hpp"
#include "output/cog_writer.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using namespace s2prep;

namespace {

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Grid grid(int w, int h) {
  Grid g;
  g.epsg = 32633;
  g.transform = {500000, 10, 0, 5600000, 0, -10};
  g.width = w;
  g.height = h;
  return g;
}

// Larger than one block each way, so the files have several tiles and overviews.
BandStack reflectance(std::uint32_t seed) {
  BandStack r(grid(700, 600), 12, 0);
  std::mt19937 rng(seed);
  for (auto& v : r.data) v = static_cast<std::uint16_t>(1000 + rng() % 3000);
  return r;
}

FloatRaster probability(std::uint32_t seed) {
  FloatRaster r(grid(700, 600), 1, 0.f);
  std::mt19937 rng(seed);
  for (auto& v : r.data) v = static_cast<float>(rng() % 1000) / 1000.f;
  return r;
}

class CogWriterConcurrency : public ::testing::Test {
 protected:
  void SetUp() override {
    ingest::configure_gdal();
    dir_ = fs::temp_directory_path() / ("s2prep_cog_concurrency_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CogWriterConcurrency, FilesWrittenAtOnceEqualFilesWrittenAlone) {
  constexpr int kWriters = 2;
  std::vector<BandStack> rasters;
  std::vector<FloatRaster> probabilities;
  for (int k = 0; k < kWriters; ++k) {
    rasters.push_back(reflectance(11 + k));
    probabilities.push_back(probability(23 + k));
  }
  const auto raster_options = output::reflectance_cog_options();
  const auto probability_options = output::probability_cog_options("cloud_probability");

  // Alone: one file at a time, nothing else using GDAL.
  std::vector<std::string> raster_alone, probability_alone;
  for (int k = 0; k < kWriters; ++k) {
    const fs::path r = dir_ / ("alone_raster_" + std::to_string(k) + ".tif");
    const fs::path p = dir_ / ("alone_probability_" + std::to_string(k) + ".tif");
    output::write_cog(rasters[k], r, raster_options);
    output::write_cog(probabilities[k], p, probability_options);
    raster_alone.push_back(bytes_of(r));
    probability_alone.push_back(bytes_of(p));
  }

  // A tiled GTiff read over and over through the block cache, as band reads do.
  const fs::path churn_file = dir_ / "churn.tif";
  {
    auto options = output::reflectance_cog_options();
    options.overviews = false;
    output::write_cog(reflectance(5), churn_file, options);
  }
  const GIntBig cache_before = GDALGetCacheMax64();
  GDALSetCacheMax64(4 * 1024 * 1024);  // smaller than one file: blocks are evicted all along

  std::atomic<bool> writing{true};
  std::thread churn([&] {
    std::vector<std::uint16_t> buffer(std::size_t(700) * 600);
    while (writing) {
      ingest::DatasetPtr ds(GDALOpen(churn_file.c_str(), GA_ReadOnly));
      if (!ds) return;
      for (int b = 1; b <= GDALGetRasterCount(ds.get()) && writing; ++b) {
        if (GDALRasterIO(GDALGetRasterBand(ds.get(), b), GF_Read, 0, 0, 700, 600, buffer.data(),
                         700, 600, GDT_UInt16, 0, 0) != CE_None) {
          return;
        }
      }
    }
  });
  std::vector<std::vector<std::string>> differing(kWriters);
  auto write_repeatedly = [&](int k) {
    for (int i = 0; i < 3; ++i) {
      const std::string tag = std::to_string(k) + "_" + std::to_string(i);
      const fs::path r = dir_ / ("raster_" + tag + ".tif");
      const fs::path p = dir_ / ("probability_" + tag + ".tif");
      output::write_cog(rasters[k], r, raster_options);
      output::write_cog(probabilities[k], p, probability_options);
      if (bytes_of(r) != raster_alone[k]) differing[k].push_back(r.filename());
      if (bytes_of(p) != probability_alone[k]) differing[k].push_back(p.filename());
    }
  };
  {
    std::vector<std::jthread> writers;
    for (int k = 0; k < kWriters; ++k) writers.emplace_back(write_repeatedly, k);
  }
  writing = false;
  churn.join();
  GDALSetCacheMax64(cache_before);

  for (int k = 0; k < kWriters; ++k) {
    EXPECT_EQ(differing[k], std::vector<std::string>{}) << "writer " << k;
  }
}

// The compression is chosen from the COG driver's creation option list, which GDAL 3.6 builds
// on first query without a lock: a thread asking while another builds it found no list, and its
// outputs were written with DEFLATE instead of ZSTD (same pixels, other bytes). Only the first
// queries of a process can meet, so every attempt is a fresh process (this executable, running
// the case below) in which several threads ask at once.
constexpr const char* kChildVariable = "S2PREP_TEST_FIRST_QUERY_CHILD";

TEST(CogCompressionFirstQuery, ThreadsAskingAtOnceInAFreshProcessAllGetZstd) {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  int wrong = 0;
  std::string last_error;
  for (int attempt = 0; attempt < 12; ++attempt) {
    const auto child = s2prep::testing::run_process(
        {self, "--gtest_filter=CogCompressionFirstQuery.ChildProcess"}, {{kChildVariable, "1"}});
    if (child.exit_code != 0 || child.out.find("[  PASSED  ] 1 test") == std::string::npos) {
      ++wrong;
      last_error = child.out + child.err;
    }
  }
  EXPECT_EQ(wrong, 0) << "last failing process:\n" << last_error;
}

// Run by the case above only, in a process of its own.
TEST(CogCompressionFirstQuery, ChildProcess) {
  if (std::getenv(kChildVariable) == nullptr) GTEST_SKIP() << "run by ThreadsAskingAtOnce...";
  constexpr int kThreads = 4;
  std::atomic<int> ready{0};
  std::vector<std::string> chosen(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int k = 0; k < kThreads; ++k) {
      threads.emplace_back([&, k] {
        ++ready;
        while (ready.load() < kThreads) {
        }
        chosen[k] = output::cog_compression();
      });
    }
  }
  for (int k = 0; k < kThreads; ++k) EXPECT_EQ(chosen[k], "ZSTD") << "thread " << k;
}

}  // namespace
